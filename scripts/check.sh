#!/usr/bin/env bash
# The one check command: lint, format, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The twin's Numba kernels compiled and cached once, on the other core while lint and types are
# checked: on a new checkout every test process (and every process `compare` spawns) would
# otherwise compile them itself, about a minute of CPU each.
.venv/bin/python -c 'from fangkong.sim.compare import compare, local_mapper
compare(policies=["none", "cn-2022-06-28"], seeds=1, mapper=local_mapper(1), population=2000, days=3)' \
  > "${TMPDIR:-/tmp}/fangkong-kernels.log" 2>&1 &
kernels=$!
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
if ! wait "$kernels"; then
  cat "${TMPDIR:-/tmp}/fangkong-kernels.log" >&2
  echo "compiling the twin's kernels failed (above)" >&2
  exit 1
fi
# test files spread over the cores (a file's tests stay together: its module fixtures are built
# once), in the order collected (the files with slow tests first: tests/conftest.py); at most 4
# workers, the number the suite's memory was sized for
.venv/bin/pytest -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder \
  --durations=20 "$@"
