#!/usr/bin/env bash
# Create .venv with Python 3.10 (Lava needs exactly 3.10) and install neurolearn with
# every extra. Finds python3.10 on PATH, or a pyenv-installed 3.10.
set -euo pipefail
cd "$(dirname "$0")/.."
find_python() {
    for c in "${PYTHON:-}" python3.10; do
        [ -n "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' \
            2>/dev/null && { command -v "$c"; return; }
    done
    for c in "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /root/.pyenv/versions/3.10*/bin/python3.10 \
             /usr/bin/python3.10 /usr/local/bin/python3.10; do
        [ -x "$c" ] && { echo "$c"; return; }
    done
    echo "neurolearn setup: no Python 3.10 found (Lava needs it); set PYTHON=/path/to/python3.10" >&2
    exit 1
}
PY=$(find_python)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[all]"
echo "neurolearn installed in .venv ($(.venv/bin/python --version))"
