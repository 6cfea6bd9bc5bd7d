#!/usr/bin/env bash
# Set up ./.venv with visprog (editable) and everything its tests use. Safe to rerun: a second
# run only checks that everything is present.
#   EXTRAS=all,dev by default; EXTRAS=faces bash scripts/setup.sh for a smaller install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-all,dev}
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)" >&2
    "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
    echo "setup: installing PyTorch (a large download on a fresh machine)" >&2
    "${PIP[@]}" install --quiet "torch>=2.1" "torchvision>=0.16" "setuptools>=69" wheel
fi
if [[ ",$EXTRAS," == *",all,"* || ",$EXTRAS," == *",seg,"* ]] && ! .venv/bin/python -c "import sam2" 2>/dev/null; then
    # sam2 ships as source only. Build it against the torch just installed (no isolated build
    # env, which would download another torch) and without its optional CUDA extension.
    echo "setup: building sam2 from source" >&2
    SAM2_BUILD_CUDA=0 "${PIP[@]}" install --quiet --no-build-isolation "sam2>=1.1"
fi
# llama-cpp-python (extra llmserver) compiles llama.cpp; a portable build can be cached and reused.
export CMAKE_ARGS=${CMAKE_ARGS:--DGGML_NATIVE=OFF}
echo "setup: installing visprog[$EXTRAS] into .venv" >&2
"${PIP[@]}" install --quiet -e ".[$EXTRAS]"
echo "setup: done; run .venv/bin/visprog --help" >&2
