#!/usr/bin/env bash
# Make (or refresh) the separate virtualenv that runs the Open Badges 2.0 validator.
#
#   interop/ob2/setup.sh [VENV_DIR]   install; VENV_DIR defaults to <repo>/.venv-ob2. Quick no-op when up to date.
#   interop/ob2/setup.sh --lock       re-resolve requirements.txt from requirements.in + overrides.txt (registry needed)
#
# Never point VENV_DIR at the project's .venv: openbadges 1.1.2 needs old pins that would clash with it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3.11}"

if [ "${1:-}" = "--lock" ]; then
    LOCKENV="${TMPDIR:-/tmp}/practicum-ob2-lock"
    [ -x "$LOCKENV/bin/uv" ] || { "$PYTHON" -m venv "$LOCKENV" && "$LOCKENV/bin/pip" install --quiet uv; }
    cd "$HERE"
    "$LOCKENV/bin/uv" pip compile --python-version 3.11 --generate-hashes \
        --override overrides.txt requirements.in -o requirements.txt
    exit 0
fi

VENV="${1:-$REPO/.venv-ob2}"
case "$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/$(basename "$VENV")" in
    "$REPO/.venv") echo "setup.sh: refusing to install the validator into the project's .venv" >&2; exit 2 ;;
esac

STAMP="$VENV/.ob2-requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup.sh: $VENV is not a Python 3.11 virtualenv; remove it or pass another path" >&2
    exit 2
fi

# --no-deps: requirements.txt is the complete, hash-pinned set. openbadges' own metadata still pins the old
# versions that overrides.txt replaces, so letting pip resolve would only re-raise that conflict.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --require-hashes -r "$HERE/requirements.txt"

# openbadges hands python-jose a pycryptodome key object; with `cryptography` importable, python-jose
# switches to a backend that rejects it and every signed assertion would fail verification.
if "$VENV/bin/python" -c 'import cryptography' 2>/dev/null; then
    echo "setup.sh: 'cryptography' is installed in $VENV; remove it (pip uninstall cryptography)" >&2
    exit 1
fi
"$VENV/bin/python" -c 'from openbadges import verify; from jose.backends import RSAKey; assert "pycrypto" in RSAKey.__module__'

echo "$WANT" > "$STAMP"
echo "OB 2.0 validator ready: $VENV/bin/python $HERE/validate.py"
