"""Bench steps that run inside one service: its settings, its database, its code.

`DJANGO_SETTINGS_MODULE=hms.settings.grants python -m bench.inside grow-applications --total 1000`
Each command prints one JSON document on its last line. The bench starts these with the
environment of the running platform's service (`bench.platform.run_inside`), so they use the very
database and broker the service processes use. They are not management commands: the bench is
not an app of any service, and nothing here ships with one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

import django

# The scale dataset's applicants: 10 applications each on average at 1,000,000 applications. The
# measured applicant (a demo identity) keeps exactly the applications the demo seed gave them.
BENCH_APPLICANT_BASE = 1_000_000
BENCH_APPLICANTS = 100_000
# The event-bus benchmark's applications belong to applicants of their own.
BUS_APPLICANT_BASE = 3_000_000

# Status mix of the generated applications, by (row number mod 20): 10 % drafts, the rest spread
# over the review workflow roughly as a busy program would have them.
STATUS_BY_SLOT = (
    ["draft"] * 2
    + ["submitted"] * 6
    + ["under_review"] * 4
    + ["changes_requested", "approved"]
    + ["rejected"] * 3
    + ["awarded"] * 2
    + ["withdrawn"]
)


def _grants_tables():
    from apps.grants.models import Applicant, Application, BudgetLine, Program

    return Applicant._meta.db_table, Application._meta.db_table, BudgetLine._meta.db_table, Program


def grow_applications(total: int) -> dict:
    """Add generated applications until the grants database holds `total` of them.

    One INSERT ... SELECT FROM generate_series per table: PostgreSQL makes the rows itself, so a
    million take seconds, not the minutes that ORM objects or even COPY from Python would.
    """
    from django.db import DatabaseError, connections

    from hms.db import database_for

    applicant_table, application_table, _, program_model = _grants_tables()
    connection = connections[database_for("grants")]
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(max(id), 0) FROM {application_table}")  # noqa: S608
        existing, max_id = cursor.fetchone()
        missing = total - existing
        if missing > 0:
            program_ids = list(program_model.objects.order_by("id").values_list("id", flat=True))
            if not program_ids:
                raise SystemExit("the grants database has no program: seed it first")
            cursor.execute(
                f"""
                INSERT INTO {applicant_table} (user_id, kind, display_name, verification_status, synced_at)
                SELECT %(base)s + g, CASE WHEN g %% 3 = 0 THEN 'business' ELSE 'individual' END,
                       'Bench applicant ' || g, 'verified', now()
                FROM generate_series(0, least(%(applicants)s, %(needed)s) - 1) AS g
                ON CONFLICT (user_id) DO NOTHING
                """,  # noqa: S608 - table names come from the models, values are parameters
                {"base": BENCH_APPLICANT_BASE, "applicants": BENCH_APPLICANTS, "needed": total},
            )
            cursor.execute(
                f"""
                INSERT INTO {application_table} (
                    program_id, applicant_id, title, project_summary, requested_amount,
                    awarded_amount, status, tracking_number, assignee_id, status_reason, award_id,
                    version, submitted_at, decided_at, created_at, updated_at)
                SELECT
                    (%(programs)s::bigint[])[1 + g %% cardinality(%(programs)s::bigint[])],
                    %(base)s + (g %% least(%(applicants)s, %(total)s)),
                    'Bench application ' || g,
                    'Generated for the scale benchmark.',
                    1000 + (g %% 50000),
                    CASE WHEN (%(statuses)s::text[])[1 + g %% 20] IN ('approved', 'awarded')
                         THEN 1000 + (g %% 50000) END,
                    (%(statuses)s::text[])[1 + g %% 20],
                    CASE WHEN g %% 20 >= 2 THEN 'B-' || lpad(g::text, 12, '0') END,
                    CASE WHEN (%(statuses)s::text[])[1 + g %% 20] = 'under_review' THEN 2 END,
                    '',
                    NULL,
                    1,
                    CASE WHEN g %% 20 >= 2
                         THEN now() - make_interval(mins => g %% 1000000) + interval '1 day' END,
                    CASE WHEN g %% 20 >= 12 THEN now() - make_interval(mins => g %% 1000000)
                                                    + interval '2 days' END,
                    now() - make_interval(mins => g %% 1000000),
                    now() - make_interval(mins => g %% 1000000) + interval '2 days'
                FROM generate_series(%(first)s, %(last)s) AS g
                """,  # noqa: S608
                {
                    "programs": program_ids,
                    "statuses": STATUS_BY_SLOT,
                    "base": BENCH_APPLICANT_BASE,
                    "applicants": BENCH_APPLICANTS,
                    "total": total,
                    "first": max_id + 1,
                    "last": max_id + missing,
                },
            )
        loaded = time.monotonic() - started
        # Fresh statistics and visibility map, as a database that grew over months would have.
        cursor.execute(f"VACUUM (ANALYZE) {application_table}")
        cursor.execute(f"VACUUM (ANALYZE) {applicant_table}")
        # Write the load's dirty pages now, not as a checkpoint in the middle of the measurement.
        with contextlib.suppress(DatabaseError):  # CHECKPOINT needs a superuser (or pg_checkpoint)
            cursor.execute("CHECKPOINT")
        cursor.execute(f"SELECT count(*) FROM {application_table}")  # noqa: S608
        (count,) = cursor.fetchone()
    return {
        "applications": count,
        "added": max(missing, 0),
        "load_s": round(loaded, 2),
        "total_s": round(time.monotonic() - started, 2),
    }


def admin_session(service: str, platform_user_id: int, role: str) -> dict:
    """A signed-in admin session for a demo staff member, as `hms.staff` leaves one after sign-in
    (no password relay on every bench run): the Cookie header the load generator sends."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from hms.staff.models import StaffAccount
    from hms.staff.permissions import staff_permissions_sync

    email = f"bench-{role}-{platform_user_id}@hms.example"
    user, _ = get_user_model().objects.get_or_create(username=email, defaults={"is_staff": True})
    StaffAccount.objects.get_or_create(
        user=user, defaults={"platform_user_id": platform_user_id, "role": role, "email": email}
    )
    staff_permissions_sync(user, role)
    client = Client()
    client.force_login(user, backend="hms.staff.sign_on.StaffSignOnBackend")
    # As the sign-on's callback leaves it: good for the run (hms.staff.sign_on.SignOnExpiry).
    session = client.session
    session["oidc_id_token_expiration"] = time.time() + 24 * 3600
    session.save()
    return {
        "cookie": f"Cookie: {settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    }


def _auth_headers(credential: str) -> dict[str, str]:
    """A bearer token, or an admin session's "Cookie: ..." header."""
    if not credential:
        return {}
    if credential.startswith("Cookie: "):
        return {"Cookie": credential.removeprefix("Cookie: ")}
    return {"Authorization": f"Bearer {credential}"}


def count_queries(service: str, requests: list[tuple[str, str]]) -> dict:
    """SQL queries each request makes, through the service's real URLconf and middleware.

    Each request is made twice and the second is counted, so that one-off work (the first
    connection, a cache filled once per process) is not mistaken for per-request cost.
    """
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hms.db import database_for

    connection = connections[database_for(service)]
    client = Client(HTTP_HOST="127.0.0.1")
    counts = {}
    for path, token in requests:
        headers = _auth_headers(token)
        client.get(path, headers=headers)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, headers=headers)
        counts[path] = {"status": response.status_code, "queries": len(captured.captured_queries)}
    return counts


def prepare_approvals(count: int) -> dict:
    """Applications under review, ready to be approved by `publish_approvals`."""
    from django.db import connections

    from hms.db import database_for

    applicant_table, application_table, budget_table, program_model = _grants_tables()
    program_id = program_model.objects.order_by("id").values_list("id", flat=True).first()
    connection = connections[database_for("grants")]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {applicant_table} (user_id, kind, display_name, verification_status, synced_at)
            SELECT %(base)s + g, 'business', 'Bus applicant ' || g, 'verified', now()
            FROM generate_series(1, %(count)s) AS g ON CONFLICT (user_id) DO NOTHING
            """,  # noqa: S608
            {"base": BUS_APPLICANT_BASE, "count": count},
        )
        cursor.execute(
            f"""
            INSERT INTO {application_table} (
                program_id, applicant_id, title, project_summary, requested_amount, status,
                tracking_number, assignee_id, status_reason, version, submitted_at, created_at,
                updated_at)
            SELECT %(program)s, %(base)s + g, 'Bus application ' || g, 'For the bus benchmark.',
                   10000, 'under_review', 'E-' || %(run)s || '-' || g, 2, '', 1, now(), now(), now()
            FROM generate_series(1, %(count)s) AS g
            RETURNING id
            """,  # noqa: S608
            {
                "program": program_id,
                "base": BUS_APPLICANT_BASE,
                "count": count,
                "run": int(time.time()),
            },
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            f"""
            INSERT INTO {budget_table} (application_id, category, description, amount, position)
            SELECT id, 'personnel', 'Salaries', 6000, 0 FROM unnest(%(ids)s::bigint[]) AS id
            UNION ALL
            SELECT id, 'equipment', 'Equipment', 4000, 1 FROM unnest(%(ids)s::bigint[]) AS id
            """,  # noqa: S608
            {"ids": ids},
        )
    return {"ids": ids}


def publish_approvals(ids: list[int], rate: float | None) -> dict:
    """Approve each application in its own transaction, publishing grant.approved with it.

    At `rate` per second (a steady, open-loop schedule), or as fast as this producer can when no
    rate is given (the bench runs several at once). The commit time of each is taken by an on-commit callback registered before
    the event's own, so it is the moment the transaction committed, before the send to the broker.
    """
    from decimal import Decimal

    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from apps.grants.models import Application
    from hms.bus.outbox import publish
    from hms.db import database_for, service_atomic
    from hms.events.grants import BudgetLine, GrantApproved

    alias = database_for("grants")
    committed: dict[int, float] = {}
    lines = [
        BudgetLine(category="personnel", description="Salaries", amount=Decimal("6000.00")),
        BudgetLine(category="equipment", description="Equipment", amount=Decimal("4000.00")),
    ]
    started = time.monotonic()
    for index, application_id in enumerate(ids):
        if rate:
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        with service_atomic("grants"):
            transaction.on_commit(
                lambda application_id=application_id: committed.__setitem__(
                    application_id, time.time()
                ),
                using=alias,
            )
            Application.objects.filter(pk=application_id).update(
                status="approved",
                awarded_amount=Decimal("10000.00"),
                decided_at=timezone.now(),
                version=F("version") + 1,
            )
            application = Application.objects.select_related("program").get(pk=application_id)
            publish(
                GrantApproved(
                    application_id=application.pk,
                    applicant_id=application.applicant_id,
                    program_code=application.program.code,
                    tracking_number=application.tracking_number,
                    awarded_amount=application.awarded_amount,
                    budget_lines=lines,
                )
            )
    return {"committed": committed, "seconds": round(time.monotonic() - started, 3)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inside")
    commands = parser.add_subparsers(dest="command", required=True)
    grow = commands.add_parser("grow-applications")
    grow.add_argument("--total", type=int, required=True)
    queries = commands.add_parser("count-queries")
    queries.add_argument("--service", required=True)
    queries.add_argument("--request", nargs=2, action="append", metavar=("PATH", "TOKEN"))
    session = commands.add_parser("admin-session")
    session.add_argument("--service", required=True)
    session.add_argument("--user-id", type=int, required=True)
    session.add_argument("--role", required=True)
    prepare = commands.add_parser("prepare-approvals")
    prepare.add_argument("--count", type=int, required=True)
    approve = commands.add_parser("publish-approvals")
    approve.add_argument("--ids", required=True, help="application ids, comma-separated")
    approve.add_argument("--rate", type=float)
    args = parser.parse_args(argv)

    django.setup()
    if args.command == "grow-applications":
        result = grow_applications(args.total)
    elif args.command == "count-queries":
        result = count_queries(args.service, [tuple(pair) for pair in args.request or []])
    elif args.command == "admin-session":
        result = admin_session(args.service, args.user_id, args.role)
    elif args.command == "prepare-approvals":
        result = prepare_approvals(args.count)
    else:
        result = publish_approvals([int(value) for value in args.ids.split(",")], args.rate)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
