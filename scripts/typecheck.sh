#!/usr/bin/env bash
# Type-check glc with mypy (config: [tool.mypy] in pyproject.toml). Exits non-zero on any error.
#
# The sources are not laid out as they import: setuptools installs the top-level folders compiler/
# and runners/ as glc.compiler and glc.runners (package-dir in pyproject.toml), and mypy cannot
# follow that mapping (nor the editable install's import hook). So this builds a mirror tree of
# symlinks, target/typecheck/glc/ = every entry of glc/ + compiler -> compiler/ + runners ->
# runners/, checks the package there, and rewrites the reported paths back to repo paths
# (glc/compiler/plan.py -> compiler/plan.py) so they can be clicked.
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=target/typecheck
# rm -rf removes the symlinks themselves, never what they point at
rm -rf "$mirror/glc"
mkdir -p "$mirror/glc"
for entry in glc/* compiler runners; do
  name=$(basename "$entry")
  [ "$name" = __pycache__ ] && continue
  if [ -e "$mirror/glc/$name" ]; then
    echo "typecheck: glc/$name collides with the mirror of $entry" >&2
    exit 2
  fi
  ln -s "../../../$entry" "$mirror/glc/$name"
done

# mypy from the active environment; fall back to the project's .venv when none is active
python=python3
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then python="$PWD/.venv/bin/python"; fi  # absolute: mypy runs from the mirror

# Run from inside the mirror so that the only glc mypy can find is the mirror's (mypy puts the
# working directory first on its search path); paths then come out as glc/..., and the sed maps
# glc/compiler/ and glc/runners/ back to the folders they mirror.
status=0
(cd "$mirror" && "$python" -m mypy --config-file ../../pyproject.toml --cache-dir .mypy_cache glc) 2>&1 |
  sed -E 's#^(target/typecheck/)?glc/(compiler|runners)/#\2/#; s#^target/typecheck/glc/#glc/#' ||
  status=$?
exit "$status"
