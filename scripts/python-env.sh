#!/usr/bin/env bash
# Creates (once) and prints the path of a Python virtual environment for a requirements file.
# Environments live outside the clone, in ${MODELPLANE_PY_CACHE:-~/.cache/modelplane}/venv-<name>-<hash>,
# keyed by the requirements file's content, so CI and later runs reuse them and a change rebuilds them.
#   usage: scripts/python-env.sh python/requirements-test.txt   → prints the venv directory
# A line `#pip-args: …` in the file adds pip options that requirements files cannot carry (e.g. --no-deps for a
# complete lock).
set -euo pipefail
requirements=${1:?usage: python-env.sh <requirements.txt>}
python=${MODELPLANE_PYTHON:-python3}
cache=${MODELPLANE_PY_CACHE:-$HOME/.cache/modelplane}
hash=$( (cat "$requirements"; "$python" --version) | sha256sum | cut -c1-16)
name=$(basename "$requirements" .txt)
venv="$cache/venv-$name-$hash"
if [ ! -f "$venv/.complete" ]; then
  echo "creating Python environment $venv from $requirements" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  # shellcheck disable=SC2046 # word splitting of the directive's options is intended
  "$venv/bin/pip" install --quiet --disable-pip-version-check --progress-bar off $(sed -n 's/^#pip-args://p' "$requirements") -r "$requirements" >&2
  touch "$venv/.complete"
fi
echo "$venv"
