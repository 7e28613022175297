#!/usr/bin/env bash
# Create or update a throwaway virtualenv with Apache Airflow, for the Airflow example
# in examples/airflow/ and its test (test/airflow.test.ts). batchscore itself does not
# need Airflow.
#
# Usage: scripts/airflow-env.sh
#   Prints the virtualenv's airflow executable as the last line of stdout.
#   BATCHSCORE_AIRFLOW_VENV=DIR sets the virtualenv folder. The default is
#   .cache/airflow/.venv in the repository root, where the test looks for it.
#   The folder is named .venv because eslint's configuration skips **/.venv/:
#   Airflow's own JavaScript inside the virtualenv would fail `npm run lint`.
#   PYTHON=/path/to/python3.11 selects the interpreter. The default is
#   python3.11, then python3.
#
# Airflow is installed at the version pinned in examples/airflow/constraints-3.11.txt,
# with every dependency pinned by that file, as Airflow's constraints files do.
# Running the script again is cheap: it reinstalls only when the constraints file or
# the interpreter version changed since the last successful install.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
constraints="$root/examples/airflow/constraints-3.11.txt"
venv="${BATCHSCORE_AIRFLOW_VENV:-$root/.cache/airflow/.venv}"
stamp="$venv/.constraints.sha256"

# The Airflow version is the constraints file's own pin, so the two cannot disagree.
airflow_pin="$(grep -E '^apache-airflow==' "$constraints")"
if [[ -z "$airflow_pin" ]]; then
  echo "airflow-env.sh: no apache-airflow pin in $constraints" >&2
  exit 1
fi

# Pick the interpreter. The constraints were resolved on Python 3.11.
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then
    python=python3.11
  else
    python=python3
  fi
fi
if ! command -v "$python" >/dev/null 2>&1; then
  echo "airflow-env.sh: interpreter '$python' not found;" \
    "install Python 3.11 or set PYTHON." >&2
  exit 1
fi
version_script='import platform; print(platform.python_version())'
python_version="$("$python" -c "$version_script")"
if [[ "$python_version" != 3.11.* ]]; then
  echo "airflow-env.sh: expected Python 3.11, got $python_version from" \
    "'$python'; the pins in $constraints are for 3.11. Set PYTHON." >&2
  exit 1
fi

# Serialize concurrent runs, because two installs into one virtualenv corrupt
# it. The lock is on the constraints file, so no lock file is left behind.
if command -v flock >/dev/null 2>&1; then
  exec 9<"$constraints"
  flock 9
fi

# The stamp records what the current install was made from.
expected_stamp="$(
  { cat "$constraints"; echo "python $python_version"; } |
    sha256sum | cut -d' ' -f1
)"
if [[ -x "$venv/bin/airflow" && -f "$stamp" ]] &&
  [[ "$(cat "$stamp")" == "$expected_stamp" ]]; then
  echo "$venv/bin/airflow"
  exit 0
fi

# Start from an empty virtualenv so that packages from older pins do not
# linger.
rm -f "$stamp"
mkdir -p "$(dirname "$venv")"
"$python" -m venv --clear "$venv"

# Binary wheels only, so that no install step compiles anything.
"$venv/bin/python" -m pip install \
  --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  --constraint "$constraints" "$airflow_pin"
pip_check=("$venv/bin/python" -m pip check --disable-pip-version-check)
if ! check_output="$("${pip_check[@]}")"; then
  echo "airflow-env.sh: installed packages conflict:" >&2
  echo "$check_output" >&2
  exit 1
fi

# Airflow writes its configuration and database into AIRFLOW_HOME on first use, so
# the check runs with a temporary one.
check_home="$(mktemp -d)"
trap 'rm -rf "$check_home"' EXIT
AIRFLOW_HOME="$check_home" AIRFLOW__CORE__LOAD_EXAMPLES=False \
  "$venv/bin/airflow" version >/dev/null

echo "$expected_stamp" >"$stamp"
echo "$venv/bin/airflow"
