#!/usr/bin/env bash
# The one check command: lint, format, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
# test files spread over the cores (a file's tests stay together: its module fixtures are built
# once), in the order collected (the files with slow tests first: tests/conftest.py); at most 4
# workers, the number the suite's memory was sized for
.venv/bin/pytest -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder \
  --durations=20 "$@"
