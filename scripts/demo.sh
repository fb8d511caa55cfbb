#!/usr/bin/env bash
# Set up (idempotent) and run the end-to-end demo on the built-in simulated cohort.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/vp demo "$@"
