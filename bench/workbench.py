"""Worklist and dashboard response times with a long history in PostgreSQL.

Loads a synthetic history straight into PostgreSQL with generate_series (the ORM would take
hours for a million rows), then times the real views through Django's test client, in this
process, as a police clerk and as a centre supervisor. Prints p50 / p95 in milliseconds and
the number of SQL queries per page.

The history is synthetic: each application has five sub-tasks whose items are taken in turn
from the catalogue (not always those of its bundle); 2 % of the applications are still open,
with deadlines around today; a third of the finished ones are rated.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")


def create_database():
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_catalogue", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def people():
    from accounts.models import User
    from departments.models import Department

    clerk, _ = User.objects.get_or_create(username="bench_police", defaults={"role": "clerk"})
    clerk.departments.set([Department.objects.get(code="police")])
    boss, _ = User.objects.get_or_create(
        username="bench_centre", defaults={"role": "centre_supervisor"}
    )
    citizen, _ = User.objects.get_or_create(username="bench_citizen", defaults={"real_name": "甲"})
    return clerk, boss, citizen


LOAD_SQL = """
WITH bundles AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM bundles_bundle WHERE state = 'published'
)
INSERT INTO applications_application (
    number, bundle_id, applicant_id, form, chosen_items, delivery, status, outcome_reason,
    deadline, deadline_note, created_at, updated_at, submitted_at, finished_at, advanced_at,
    tracking_number, pending_materials, pending_due, working_days_taken, paused_days
)
SELECT
    'B' || lpad(g::text, 12, '0'),
    (SELECT ids[1 + g %% array_length(ids, 1)] FROM bundles),
    %(citizen)s, '{}'::jsonb, '[]'::jsonb, '{"method": "electronic"}'::jsonb,
    CASE WHEN g %% 50 = 0 THEN 'in_progress' WHEN g %% 97 = 0 THEN 'partially_completed'
         ELSE 'completed' END,
    '',
    (now() - make_interval(days => (g * 730 / %(total)s)::int))::date + 7,
    '',
    now() - make_interval(days => (g * 730 / %(total)s)::int),
    now() - make_interval(days => (g * 730 / %(total)s)::int),
    now() - make_interval(days => (g * 730 / %(total)s)::int),
    CASE WHEN g %% 50 = 0 THEN NULL
         ELSE now() - make_interval(days => (g * 730 / %(total)s)::int - 4) END,
    now(),
    '', '[]'::jsonb, NULL,
    CASE WHEN g %% 50 = 0 THEN NULL ELSE 2 + g %% 5 END,
    0
FROM generate_series(%(first)s, %(last)s) AS g
"""

SUBTASK_SQL = """
WITH items AS (
    SELECT array_agg(id ORDER BY id) AS ids, array_agg(department_id ORDER BY id) AS departments,
           count(*) AS n
    FROM bundles_serviceitem
)
INSERT INTO applications_subtask (
    application_id, item_id, department_id, depends_on, handling, status, idempotency_key,
    case_ref, inputs, outputs, reason, supplement_materials, supplement_requested_at, attempts,
    last_error, deadline, time_limit_days, paused_days, working_days_taken, ready_at,
    finished_at, claimed_by_id, claimed_at, next_attempt_at, polled_at, created_at, updated_at
)
SELECT
    a.id,
    items.ids[1 + (a.id + k) %% items.n],
    items.departments[1 + (a.id + k) %% items.n],
    '[]'::jsonb, 'manual',
    CASE WHEN a.status = 'in_progress' THEN (ARRAY['dispatched', 'accepted', 'waiting',
         'supplement_requested', 'approved'])[1 + k] ELSE 'approved' END,
    gen_random_uuid(), '', '{}'::jsonb, '{"证书编号": "X"}'::jsonb, '', '[]'::jsonb, NULL, 1, '',
    CASE WHEN a.status = 'in_progress' THEN current_date + ((a.id %% 7) - 3)::int
         ELSE a.submitted_at::date + 3 END,
    1 + (a.id + k) %% 3, 0,
    CASE WHEN a.status = 'in_progress' THEN NULL ELSE 1 + (a.id + k) %% 4 END,
    a.submitted_at, a.finished_at, NULL, NULL, NULL, NULL, a.submitted_at, a.submitted_at
FROM applications_application a CROSS JOIN generate_series(0, 4) AS k CROSS JOIN items
WHERE a.number LIKE 'B%%' AND a.id BETWEEN %(low)s AND %(high)s
"""

RATING_SQL = """
INSERT INTO feedback_rating (application_id, score, comment, created_at)
SELECT id, 1 + id %% 5, '', finished_at FROM applications_application
WHERE number LIKE 'B%%' AND finished_at IS NOT NULL AND id %% 3 = 0
  AND id BETWEEN %(low)s AND %(high)s
"""


def load(first: int, last: int, citizen_id: int, total: int) -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM applications_application")
        low = cursor.fetchone()[0] + 1
        cursor.execute(
            LOAD_SQL, {"citizen": citizen_id, "first": first, "last": last, "total": total}
        )
        cursor.execute("SELECT max(id) FROM applications_application")
        high = cursor.fetchone()[0]
        cursor.execute(SUBTASK_SQL, {"low": low, "high": high})
        cursor.execute(RATING_SQL, {"low": low, "high": high})
    with connection.cursor() as cursor:
        # Index-only scans need the visibility map: as autovacuum would have it by now.
        cursor.execute("VACUUM ANALYZE")
    print(f"  loaded applications {first}–{last} in {time.perf_counter() - started:.1f} s")


def counts() -> tuple[int, int]:
    from applications.models import Application, SubTask

    return Application.objects.count(), SubTask.objects.count()


def measure(client, url: str, runs: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm: caches, connection
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, len(queries)


PAGES = [
    ("worklist (open, by deadline)", "clerk", "/staff/"),
    ("worklist (overdue)", "clerk", "/staff/?due=overdue"),
    ("worklist (approved history)", "clerk", "/staff/?status=approved"),
    ("dashboard (30 days)", "boss", "/staff/dashboard/?period=30"),
    ("dashboard (1 year)", "boss", "/staff/dashboard/?period=365"),
    ("dashboard (all time)", "boss", "/staff/dashboard/?period=all"),
    ("dashboard computed live (30 d)", "boss", "/staff/dashboard/?period=30&fresh=1"),
    ("dashboard computed live (1 y)", "boss", "/staff/dashboard/?period=365&fresh=1"),
    ("dashboard computed live (all)", "boss", "/staff/dashboard/?period=all&fresh=1"),
]


def report(clients, runs):
    from supervision.tasks import refresh_dashboards

    applications, subtasks = counts()
    started = time.perf_counter()
    refresh_dashboards()  # what the beat job does every few minutes
    refreshed = time.perf_counter() - started
    print(f"\n{applications:,} applications, {subtasks:,} sub-tasks")
    print(f"  {'page':32} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, who, url in PAGES:
        p50, p95, queries = measure(clients[who], url, runs)
        print(f"  {label:32} {p50:8.1f} {p95:8.1f} {queries:8d}")
    print(f"  refreshing every dashboard snapshot (beat job): {refreshed:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="reuse the data already loaded")
    args = parser.parse_args()
    create_database()
    setup_django()
    from django.test import Client

    from applications.models import Application

    clerk, boss, citizen = people()
    import portal.wsgi  # noqa: F401  (as a web worker starts: it freezes the start-up heap)

    clients = {"clerk": Client(), "boss": Client()}
    clients["clerk"].force_login(clerk)
    clients["boss"].force_login(boss)
    total = args.applications
    if not args.keep:
        Application.objects.filter(number__startswith="B").delete()
        tenth = total // 10
        load(1, tenth, citizen.pk, total)
        report(clients, args.runs)
        load(tenth + 1, total, citizen.pk, total)
    report(clients, args.runs)


if __name__ == "__main__":
    main()
