#!/usr/bin/env bash
# Installs fangkong with its test tools and runs every check: ruff, mypy, pytest (slow tests too).
# The PostgreSQL tests use FANGKONG_TEST_PG (default: the local server, database `test`);
# with CI=true a missing server fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
exec bash scripts/check.sh "$@"
