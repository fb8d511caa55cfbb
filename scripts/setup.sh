#!/usr/bin/env bash
# Set up a fresh clone: a virtual environment with the CPU build of torch, vp with its test extra,
# and NCBI BLAST+ when apt-get can install it. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# torch first and pinned: the CPU build; an unpinned torch pulls a multi-GB CUDA build.
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[test]'

if ! command -v blastn >/dev/null 2>&1 || ! command -v makeblastdb >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    if command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq ncbi-blast+ >/dev/null; } \
            || echo "setup: could not install ncbi-blast+; BLAST comparisons will be skipped" >&2
    else
        echo "setup: no apt-get; install BLAST+ with 'conda install -c bioconda blast' for vp evaluate --blast" >&2
    fi
fi
