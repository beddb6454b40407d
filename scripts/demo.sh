#!/usr/bin/env bash
# Installs fangkong and runs the demo on the embedded store (no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/fangkong demo "$@"
