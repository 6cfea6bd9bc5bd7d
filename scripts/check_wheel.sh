#!/usr/bin/env bash
# Build the wheel, install it (core dependencies only) in a fresh venv outside the source tree,
# and run a program with it: proves grammars, prompts and visprog.tools ship in the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$tmp/dist" .
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check "$tmp"/dist/visprog-*.whl
cd "$tmp"
"$tmp/venv/bin/visprog" check "$root/demos/programs/crop_face_region.vp"
"$tmp/venv/bin/visprog" tools > /dev/null
"$tmp/venv/bin/python" -c "import sys, visprog; assert 'torch' not in sys.modules"
"$tmp/venv/bin/visprog" run -q --program "$root/demos/programs/coffee_halves.vp" \
    "$root/demos/images/coffee.jpg" --out "$tmp/out.png" --json "$tmp/trace.json"
"$tmp/venv/bin/python" -c "
import visprog
t = visprog.Trace.load('$tmp/trace.json')
assert t.ok and len(t.steps) >= 3, t
print('wheel ok:', len(t.steps), 'steps, result', t.result)
"
