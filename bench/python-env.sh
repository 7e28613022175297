#!/usr/bin/env bash
# Create or update bench/.venv, the virtualenv of the Python baseline
# (bench/python_baseline.py), from bench/requirements.txt.
#
# Usage: bench/python-env.sh
#   Prints the virtualenv's python path as the last line of stdout.
#   PYTHON=/path/to/python3.11 picks the interpreter; the default is python3.11, then python3.
#
# A second run reinstalls only when bench/requirements.txt or the interpreter version
# changed since the last successful install.
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements="$bench/requirements.txt"
venv="$bench/.venv"
stamp="$venv/.requirements.sha256"

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then python=python3.11; else python=python3; fi
fi
if ! command -v "$python" >/dev/null 2>&1; then
  echo "python-env.sh: interpreter '$python' not found; install Python 3.11 or set PYTHON." >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  found="$("$python" -c 'import platform; print(platform.python_version())')"
  echo "python-env.sh: expected Python 3.11 or newer, got $found from '$python'." >&2
  exit 1
fi

# Two installs into one virtualenv at the same time corrupt it, so runs take turns.
if command -v flock >/dev/null 2>&1; then
  exec 9<"$requirements"
  flock 9
fi

version="$("$python" -c 'import platform; print(platform.python_version())')"
wanted="$({ cat "$requirements"; echo "python $version"; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

rm -f "$stamp"
"$python" -m venv --clear "$venv"
# Binary wheels only, so that nothing is compiled during the install.
"$venv/bin/python" -m pip install \
  --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  --requirement "$requirements"
if ! problems="$("$venv/bin/python" -m pip check --disable-pip-version-check)"; then
  echo "python-env.sh: installed packages conflict:" >&2
  echo "$problems" >&2
  exit 1
fi
"$venv/bin/python" -c 'import dask.dataframe, numpy, pandas, pyarrow, sklearn'

echo "$wanted" >"$stamp"
echo "$venv/bin/python"
