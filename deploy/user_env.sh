#!/usr/bin/env bash
# Build the users' environment from the student kit: a world-readable virtual environment
# (not under /root: other users must be able to run its Python) holding the kit's wheel and
# what a hub user server needs (user-requirements.txt).
#   usage: deploy/user_env.sh KIT_DIR [VENV_DIR]      (VENV_DIR defaults to /opt/cnnlab-hub/venv)
# KIT_DIR is what `python -m cnnlab.course student-kit --out KIT_DIR` wrote. Re-running with the
# same wheel does nothing (the wheel's sha256 is kept in VENV_DIR/.cnnlab-kit).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kit="${1:?usage: user_env.sh KIT_DIR [VENV_DIR]}"
venv="${2:-/opt/cnnlab-hub/venv}"
python="${CNNLAB_USER_PYTHON:-/usr/bin/python3}"
wheel="$(find "$kit" -maxdepth 2 -name 'cnnlab-*.whl' | sort | tail -n 1)"
[ -n "$wheel" ] || { echo "no cnnlab-*.whl in $kit: build it with python -m cnnlab.course student-kit --out $kit" >&2; exit 1; }
# the users' JupyterHub is the hub's own version (CNNLAB_HUB_VERSION, else the repository's .venv)
hub_version="${CNNLAB_HUB_VERSION:-$("$here/../.venv/bin/python" -c 'import jupyterhub; print(jupyterhub.__version__)')}"
stamp="$( (sha256sum "$wheel" "$here/user-requirements.txt"; echo "jupyterhub==$hub_version") | sha256sum | cut -c1-16)"
if [ -x "$venv/bin/jupyterhub-singleuser" ] && [ "$(cat "$venv/.cnnlab-kit" 2>/dev/null)" = "$stamp" ]; then
  echo "users' environment $venv is up to date"; exit 0
fi
case "$(readlink -f "$venv")" in /root/*) echo "refusing $venv: other users cannot read /root" >&2; exit 1;; esac
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# --force-reinstall of the wheel only: a new kit with the same version number still replaces the old one.
"$venv/bin/python" -m pip install --quiet -r "$here/user-requirements.txt" "jupyterhub==$hub_version" "$wheel"
"$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$wheel"
chmod -R a+rX "$venv"
echo "$stamp" > "$venv/.cnnlab-kit"
echo "users' environment ready: $venv (kit $(basename "$wheel"))"
