#!/usr/bin/env bash
# Set up ./.venv with visprog (editable) and everything its tests use. Safe to rerun.
#   EXTRAS=all,dev by default; e.g. EXTRAS=faces bash scripts/setup.sh for a smaller install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-all,dev}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)" >&2
    "$PYTHON" -m venv .venv
fi
echo "setup: installing visprog[$EXTRAS] into .venv (the first run downloads PyTorch and models' code)" >&2
# sam2 is source-only: skip its CUDA extension (it is optional) and build it against our torch.
export SAM2_BUILD_CUDA=${SAM2_BUILD_CUDA:-0}
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$EXTRAS]"
echo "setup: done" >&2
