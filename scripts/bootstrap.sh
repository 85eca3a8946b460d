#!/usr/bin/env bash
# Create .venv with the pinned dependencies. Called by make whenever a requirements file changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: Python 3.10 or newer is needed as '$python' (set PYTHON=/path/to/python3.x)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $("$python" --version)..."
    "$python" -m venv .venv
fi
echo "Installing pinned dependencies into .venv (first run takes a minute)..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
touch .venv/.installed
