#!/usr/bin/env bash
# Start the course's JupyterHub on this machine (`make hub`). Run as root.
#   .venv/bin/python deploy/hubctl.py roster import roster.csv --passwords first-passwords.csv
#   make hub
# The class comes from the roster kept in $CNNLAB_HUB_DIR/roster.csv (and/or CNNLAB_INSTRUCTORS /
# CNNLAB_STUDENTS, comma-separated local Unix users); deploy/jupyterhub_config.py lists every other
# setting (port, HTTPS, memory limit, culling, ...).
# What it does: installs configurable-http-proxy under deploy/.chp (npm), builds the student kit
# into $CNNLAB_KIT and the users' environment $CNNLAB_USER_ENV from it, then runs the hub
# (`deploy/hub.sh --prepare` stops before running it: the systemd units run the hub themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "the hub starts servers as the students' Unix users: run it as root" >&2; exit 1; }
roster="${CNNLAB_ROSTER:-${CNNLAB_HUB_DIR:-/srv/cnnlab-hub}/roster.csv}"
if [ -z "${CNNLAB_INSTRUCTORS:-}${CNNLAB_STUDENTS:-}" ] && [ ! -f "$roster" ]; then
  echo "no class yet: .venv/bin/python deploy/hubctl.py roster import roster.csv (or CNNLAB_INSTRUCTORS=alice CNNLAB_STUDENTS=bob make hub)" >&2; exit 1
fi
instructors="${CNNLAB_INSTRUCTORS:-}" students="${CNNLAB_STUDENTS:-}"
for u in ${instructors//,/ } ${students//,/ }; do
  id "$u" >/dev/null 2>&1 || { echo "no Unix user $u: useradd -m $u && passwd $u" >&2; exit 1; }
done
export CNNLAB_KIT="${CNNLAB_KIT:-/opt/cnnlab-hub/kit}"
export CNNLAB_USER_ENV="${CNNLAB_USER_ENV:-/opt/cnnlab-hub/venv}"
PY=.venv/bin/python
if [ ! -x deploy/.chp/node_modules/.bin/configurable-http-proxy ] && ! command -v configurable-http-proxy >/dev/null; then
  npm install --prefix deploy/.chp --no-audit --no-fund --loglevel=error configurable-http-proxy@4
fi
rm -rf "$CNNLAB_KIT.new"
mkdir -p "$(dirname "$CNNLAB_KIT")"
"$PY" -m cnnlab.course student-kit --out "$CNNLAB_KIT.new"
rm -rf "$CNNLAB_KIT" && mv "$CNNLAB_KIT.new" "$CNNLAB_KIT" && chmod -R a+rX "$CNNLAB_KIT" "$(dirname "$CNNLAB_KIT")"
bash deploy/user_env.sh "$CNNLAB_KIT" "$CNNLAB_USER_ENV"
[ "${1:-}" = "--prepare" ] && { echo "prepared: $CNNLAB_KIT, $CNNLAB_USER_ENV"; exit 0; }
exec .venv/bin/jupyterhub -f deploy/jupyterhub_config.py
