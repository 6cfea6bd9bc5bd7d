#!/usr/bin/env bash
# Run the test suite (sets up ./.venv first if needed). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also use a real llama.cpp server (extra llmserver) for the HTTP backend.
EXTRAS=${EXTRAS:-all,dev,llmserver} bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
