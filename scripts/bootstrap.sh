#!/usr/bin/env bash
# Create .venv with exactly the locked dependencies and the `ft42` command. Called by make
# whenever the lock, pyproject.toml or this script changes.
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
echo "Installing the locked dependencies into .venv (first run takes a minute)..."
# requirements.lock pins every package, direct or not, with its hashes: every install gets the
# combination the test-suite ran on, or fails.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
# The checkout itself, editable, for the `ft42` command; its dependencies are all installed above,
# and setuptools (to build it) comes from the lock too.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
touch .venv/.installed
