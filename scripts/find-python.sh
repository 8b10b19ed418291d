#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter: Rasa 3.6 runs on Python 3.8-3.10 only and
# the project is tested on 3.10. Looks at $PYTHON, then `python3.10` on PATH, then pyenv's
# versions directory. Exits 1 with what to install when none is found.
set -uo pipefail

is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

for candidate in "${PYTHON:-}" python3.10; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if is_310 "$path"; then echo "$path"; exit 0; fi
done

roots=()
if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
for root in "${roots[@]}"; do
  for path in "$root"/versions/3.10*/bin/python3.10; do
    if [ -x "$path" ] && is_310 "$path"; then echo "$path"; exit 0; fi
  done
done

cat >&2 <<'MSG'
error: no Python 3.10 found (Rasa 3.6 needs Python 3.8-3.10; this project uses 3.10).
Install one of:
  - pyenv:  pyenv install 3.10
  - Debian/Ubuntu: apt-get install python3.10 python3.10-venv (where the release offers it)
or point to an existing interpreter: make PYTHON=/path/to/python3.10 run
MSG
exit 1
