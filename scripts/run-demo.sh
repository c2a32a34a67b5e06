#!/usr/bin/env bash
# The portal with demo data: the department simulator, a Celery worker with beat, and the
# web server, on whatever DATABASE_URL / CELERY_BROKER_URL say (SQLite and a file broker
# when unset). Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export DEBUG=${DEBUG:-1}
PORT=${PORT:-8000}
SIMULATOR_PORT=${SIMULATOR_PORT:-8765}
export DEPARTMENT_SIMULATOR_URL=${DEPARTMENT_SIMULATOR_URL:-http://127.0.0.1:$SIMULATOR_PORT}
export DEPARTMENT_SIMULATOR_SECRET=${DEPARTMENT_SIMULATOR_SECRET:-simulator-shared-secret}
export PORTAL_BASE_URL=${PORTAL_BASE_URL:-http://127.0.0.1:$PORT}
export POLL_INTERVAL_SECONDS=${POLL_INTERVAL_SECONDS:-10}
export RECONCILE_INTERVAL_SECONDS=${RECONCILE_INTERVAL_SECONDS:-30}

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_demo

# The simulator's control API (/_control, /_cases, …) takes a bearer token: the one given in
# SIMULATOR_CONTROL_TOKEN, or a fresh one kept in a file only this user can read.
if [ -n "${SIMULATOR_CONTROL_TOKEN:-}" ]; then
  token_note="its token is \$SIMULATOR_CONTROL_TOKEN"
else
  token_file="${PORTAL_VAR_DIR:-var}/simulator-control-token"
  SIMULATOR_CONTROL_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
  (umask 077 && printf '%s\n' "$SIMULATOR_CONTROL_TOKEN" >"$token_file")
  token_note="its token is in $token_file"
fi

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
# Secrets through the environment, not the command line, where any user's `ps` shows them.
SIMULATOR_SECRET="$DEPARTMENT_SIMULATOR_SECRET" SIMULATOR_CONTROL_TOKEN="$SIMULATOR_CONTROL_TOKEN" \
  "$PY" -m departments.simulator --host 127.0.0.1 --port "$SIMULATOR_PORT" --delay 5 &
pids+=($!)
# beat keeps its schedule where the settings say (PORTAL_VAR_DIR), which they create.
"$PY" -m celery -A portal worker --beat --loglevel INFO --pool threads --concurrency 4 &
pids+=($!)
echo "portal: http://127.0.0.1:$PORT/   API docs: http://127.0.0.1:$PORT/api/docs/   admin: http://127.0.0.1:$PORT/admin/"
echo "department simulator control: http://127.0.0.1:$SIMULATOR_PORT/_control (Authorization: Bearer <token>; $token_note)"
"$PY" manage.py runserver "127.0.0.1:$PORT"
