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

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
"$PY" -m departments.simulator --host 127.0.0.1 --port "$SIMULATOR_PORT" \
  --secret "$DEPARTMENT_SIMULATOR_SECRET" --delay 5 &
pids+=($!)
# beat keeps its schedule where the settings say (PORTAL_VAR_DIR), which they create.
"$PY" -m celery -A portal worker --beat --loglevel INFO --pool threads --concurrency 4 &
pids+=($!)
echo "portal: http://127.0.0.1:$PORT/   API docs: http://127.0.0.1:$PORT/api/docs/   admin: http://127.0.0.1:$PORT/admin/"
"$PY" manage.py runserver "127.0.0.1:$PORT"
