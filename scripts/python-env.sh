#!/usr/bin/env bash
# Create or update the Python virtualenv at .venv/ in the repository root. The
# fixture generators, the churn example's training script and the cross-checks
# use it. The library itself needs only Node.
#
# Usage: scripts/python-env.sh
#   Prints the virtualenv's python path as the last line of stdout.
#   PYTHON=/path/to/python3.11 selects the interpreter. The default is
#   python3.11, then python3.
#
# Running it again is cheap: it reinstalls only when
# scripts/requirements-fixtures.txt or the interpreter version changed since
# the last successful install.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/scripts/requirements-fixtures.txt"
venv="$root/.venv"
stamp="$venv/.requirements-fixtures.sha256"

# Pick the interpreter.
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then
    python=python3.11
  else
    python=python3
  fi
fi
if ! command -v "$python" >/dev/null 2>&1; then
  echo "python-env.sh: interpreter '$python' not found;" \
    "install Python 3.11 or set PYTHON." >&2
  exit 1
fi
version_script='import platform; print(platform.python_version())'
python_version="$("$python" -c "$version_script")"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "python-env.sh: expected Python 3.11 or newer," \
    "got $python_version from '$python'; set PYTHON to a 3.11 interpreter." >&2
  exit 1
fi

# Serialize concurrent runs, because two installs into one virtualenv corrupt
# it. The lock is on the requirements file, so no lock file is left behind.
if command -v flock >/dev/null 2>&1; then
  exec 9<"$requirements"
  flock 9
fi

# The stamp records what the current install was made from.
expected_stamp="$(
  { cat "$requirements"; echo "python $python_version"; } |
    sha256sum | cut -d' ' -f1
)"
if [[ -x "$venv/bin/python" && -f "$stamp" ]] &&
  [[ "$(cat "$stamp")" == "$expected_stamp" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

# Start from an empty virtualenv so that packages from older pins do not
# linger.
rm -f "$stamp"
"$python" -m venv --clear "$venv"

# Binary wheels only, so that no install step compiles anything.
"$venv/bin/python" -m pip install \
  --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  --requirement "$requirements"
pip_check=("$venv/bin/python" -m pip check --disable-pip-version-check)
if ! check_output="$("${pip_check[@]}")"; then
  echo "python-env.sh: installed packages conflict:" >&2
  echo "$check_output" >&2
  exit 1
fi
"$venv/bin/python" -c \
  'import numpy, pandas, sklearn, skl2onnx, onnx, onnxruntime, pyarrow'

echo "$expected_stamp" >"$stamp"
echo "$venv/bin/python"
