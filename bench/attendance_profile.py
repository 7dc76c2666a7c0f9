"""Where an attendance batch's time goes, in process (results in docs/benchmarks.md, "Sixth pass").

    .venv/bin/python bench/attendance_profile.py --database-url postgresql://postgres@127.0.0.1/lms_bench_prof \
        --broker-url redis://127.0.0.1:6379/12 --batches 300 --yes [--profile out.pstats] [--statements]

Rebuilds its own PostgreSQL database (as ``bench/attendance_load.py`` does: one commune, one class of 40 enrolled
learners, one API token), then calls the app's WSGI entry point directly — no HTTP, no gunicorn: the same environ
gunicorn would build — for ``--batches`` first uploads and as many re-syncs, alternated (each new session is
first uploaded, then re-synced by another device), after a warm-up. Prints the median time of the WSGI call per
kind, and with ``--statements`` the median time of each statement and of the commit (SQLAlchemy's cursor events
and the connection's commit event) and what is left outside them. ``--profile FILE`` writes a cProfile of the
measured calls (the timing then includes the profiler's overhead: read it for shares, not times).
``--claim-apart`` alternates batch by batch between the ``Idempotency-Key``'s claim sent with the batch's read and
the claim as a statement of its own before the read (the sequence before ADR 28's sixth pass), in the same process.
``--eighth-apart`` alternates batch by batch between this code and the sequence before ADR 28's eighth pass: the locked
session loaded by the ORM, Flask-Limiter's check before every request, the answer parsed and checked by SpecTree,
every user's generation read twice, the cached user and token merged into the request's session.

The app runs in production mode (``LMS_ENV`` as gunicorn's) on the benchmark's database and broker; no worker
runs, and the queued completion tasks are purged at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import attendance_load as load  # noqa: E402
from bench._common import reset_database  # noqa: E402


def _environ(session_id: int, secret: str, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/api/v1/sessions/{session_id}/attendance",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {secret}",
        "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4()),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


class Statements:
    """Times each statement (by its first words) and each commit, per batch."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.current: dict[str, float] = {}
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        do_commit = engine.dialect.do_commit

        def timed_commit(dbapi_connection: Any) -> None:
            started = time.perf_counter()
            do_commit(dbapi_connection)
            self.current["commit"] = self.current.get("commit", 0.0) + time.perf_counter() - started

        engine.dialect.do_commit = timed_commit  # type: ignore[method-assign]

    @staticmethod
    def _name(statement: str) -> str:
        text = " ".join(statement.split())
        for prefix, name in (
            ("SELECT api_token", "token"),
            ("SELECT class_session", "session"),
            ("SELECT course_class", "session"),  # with its class (before the sixth pass)
            ("WITH claim AS", "claim+read"),
            ("INSERT INTO idempotent_request", "claim"),
            ("SELECT attendance", "read"),
            ("WITH marks AS", "write"),
            ("SELECT 1", "ping"),
        ):
            if text.startswith(prefix):
                return name
        return text[:40]

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        name = self._name(statement)
        self.current[name] = self.current.get(name, 0.0) + time.perf_counter() - self._started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/lms_bench_prof")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", default="")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--claim-apart", action="store_true")
    parser.add_argument("--eighth-apart", action="store_true")
    parser.add_argument("--yes", action="store_true")
    args = parser.parse_args()
    args.requests, args.classes = args.batches, 0
    load._check_targets(args)
    reset_database(load.SCRIPT, args.database_url, yes=args.yes)

    os.environ["LMS_ENV"] = "production"
    os.environ["LMS_DATABASE_URL"] = args.database_url
    os.environ["LMS_BROKER_URL"] = args.broker_url
    os.environ["LMS_RESULT_BACKEND"] = args.broker_url
    os.environ.setdefault("LMS_SECRET_KEY", "bench-" + uuid.uuid4().hex)
    os.environ.setdefault("LMS_PII_KEY", "bench-pii-" + uuid.uuid4().hex)
    os.environ.setdefault("LMS_CREDENTIALS_KEY", "bench-credentials-" + uuid.uuid4().hex)
    os.environ.setdefault("LMS_CREDENTIALS_DOMAIN", "lms.bench.invalid")
    os.environ.setdefault("LMS_RATELIMIT_STORAGE_URL", args.broker_url)
    setup = load._app(args)
    load._migrate(setup)
    (device,) = load._load_devices(setup, 1, 40, random.Random(1))  # noqa: S311 - test data
    load._add_sessions(setup, [device], args.batches + args.warmup)

    from lms import create_app
    from lms.extensions import db

    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == args.database_url
    with app.app_context():
        engine = db.engine
    timer = Statements(engine)
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    cpu: dict[bool, list[float]] = {}

    def call(session_id: int, resync: bool, kind_apart: bool = False) -> tuple[float, dict[str, float]]:
        body = load._batch(device, resync)
        environ = _environ(session_id, device.secret, body)
        timer.current = {}
        started, cpu_started = time.perf_counter(), time.thread_time()
        result = app.wsgi_app(environ, start_response)
        out = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        elapsed = time.perf_counter() - started
        # The process's own CPU (Python, psycopg2's encoding and decoding), not the waits for PostgreSQL: the part of
        # the call that other processes on the machine move least.
        cpu.setdefault((resync, kind_apart), []).append(time.thread_time() - cpu_started)
        answer = json.loads(out)
        expected = "updated" if resync else "created"
        if not statuses[-1].startswith("200") or answer.get(expected) != 40:
            raise SystemExit(f"unexpected answer: {statuses[-1]} {out[:300]!r}")
        return elapsed, dict(timer.current)

    from sqlalchemy import text as sql_text

    from lms.api import idempotency

    real_claimed = idempotency.claimed

    def claimed_separately():  # main's sequence: the claim as its own statement, before the read
        claim = idempotency.pending_claim()
        if claim is not None:
            claim.settle(db.session.execute(sql_text(idempotency.CLAIM_INSERT), claim.params()).scalar())
        return real_claimed()

    from courses import services
    from lms.extensions import limiter

    hooks = app.before_request_funcs[None]
    new_hook = next(h for h in hooks if getattr(h, "__name__", "") == "check_where_limited")
    real_get_session, real_model_json = services.get_session, idempotency._model_json

    def orm_get_session(session_id, user, permission, *, for_update=False):  # before the eighth pass
        if not for_update:
            return real_get_session(session_id, user, permission)
        from sqlalchemy import bindparam, select

        from courses.models import ClassSession, CourseClass
        from lms.auth.permissions import scope_paths, scoped_to

        key = tuple(scope_paths(user, permission))
        stmt = orm_statements.get(key)
        if stmt is None:
            stmt = orm_statements[key] = (
                scoped_to(
                    select(ClassSession).join(CourseClass, CourseClass.id == ClassSession.class_id),
                    CourseClass.commune_id,
                    key,
                )
                .where(ClassSession.id == bindparam("session_id"))
                .with_for_update(of=ClassSession)
                .execution_options(populate_existing=True)
            )
        return db.session.scalar(stmt, {"session_id": session_id})

    orm_statements: dict[Any, Any] = {}

    from lms.auth import usercache

    real_load, real_attach = usercache.load, usercache._attach

    def merged(obj: Any, graph: list[Any]) -> Any:  # before the eighth pass: always a merge
        return db.session.merge(obj, load=False)

    def before_eighth(on: bool) -> None:
        services.get_session = orm_get_session if on else real_get_session
        usercache.load = (lambda user_id, everyone=None: real_load(user_id)) if on else real_load
        usercache._attach = merged if on else real_attach
        idempotency._model_json = (
            (lambda model: app.response_class(model.model_dump_json(), mimetype="application/json"))
            if on
            else real_model_json
        )
        old_hook = limiter._check_request_limit
        hooks[:] = [(old_hook if on else new_hook) if h in (old_hook, new_hook) else h for h in hooks]

    sessions = iter(device.session_ids)
    for _ in range(args.warmup):
        session_id = next(sessions)
        call(session_id, False)
        call(session_id, True)
    cpu.clear()
    profiler = cProfile.Profile() if args.profile else None
    times: dict[Any, list[float]] = {}
    parts: dict[Any, dict[str, list[float]]] = {}
    if profiler:
        profiler.enable()
    for index in range(args.batches):
        separate = (args.claim_apart or args.eighth_apart) and index % 2 == 1
        if args.eighth_apart:
            before_eighth(separate)
        else:
            idempotency.claimed = claimed_separately if separate else real_claimed
        session_id = next(sessions)
        for resync in (False, True):
            elapsed, statements = call(session_id, resync, separate)
            times.setdefault((resync, separate), []).append(elapsed)
            for name, value in statements.items():
                parts.setdefault((resync, separate), {}).setdefault(name, []).append(value)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(f"load average {os.getloadavg()[0]:.1f}")
    for resync, separate in sorted(times):
        kind = ("re-sync" if resync else "first upload") + (
            (" claim apart" if separate else " claim w/ read")
            if args.claim_apart
            else (" before 8th" if separate else " 8th pass")
            if args.eighth_apart
            else ""
        )
        median = statistics.median(times[(resync, separate)]) * 1000
        line = f"{kind:27} WSGI call p50 {median:.2f} ms"
        inside = 0.0
        for name, values in sorted(parts[(resync, separate)].items() if args.statements else ()):
            value = statistics.median(values) * 1000
            inside += value
            line += f"; {name[:16]} {value:.3f}"
        if args.statements:
            line += f"; outside the statements {median - inside:.2f} ms"
        if not args.claim_apart:
            line += f"; Python CPU p50 {statistics.median(cpu[(resync, separate)]) * 1000:.2f} ms"
        print(line)
    with setup.app_context():
        load._clean_broker(setup, args.broker_url)


if __name__ == "__main__":
    main()
