#!/usr/bin/env bash
# The one check command: lint, format, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/pytest --durations=20 "$@"
