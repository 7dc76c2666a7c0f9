"""Evaluation of a province on PostgreSQL with real Celery workers (results in docs/benchmarks.md).

    # 1. the province population (kept), then millions of learning records on top of it
    .venv/bin/flask --app lms bench generate --scale province --keep --yes \\
        --database-url postgresql://postgres@127.0.0.1/lms_bench6
    .venv/bin/python bench/titles_eval.py records --database-url postgresql://postgres@127.0.0.1/lms_bench6
    # 2. the measurement
    .venv/bin/python bench/titles_eval.py run --database-url postgresql://postgres@127.0.0.1/lms_bench6 \\
        --broker-url redis://127.0.0.1:6379/6 --workers 1 2

``records`` bulk-inserts learning records for the year (Core ``insert()`` of complete rows in batches; 0–10 per
person, ~5 on average, seeded) and ANALYZEs the tables.

``run``, on the same data in one go:

1. the **floor**: one grouped scan of the year's learning records, ``SELECT person_id, count(*), sum(hours) …
   GROUP BY person_id`` (rows fetched by the client; best of 3, the first run warms the cache);
2. for each worker count: the year's results deleted (eligibility, share counts, evaluation states: every run is a
   first evaluation from the same state; the persons' metrics stay, as the writers of records keep them), N worker
   processes started (``--pool solo``: one process each, so a worker's peak memory is its process's VmHWM), a
   province run started and timed from its commit to its close, as the CLI and the page see it;
3. a re-run with the last worker count (nothing changed: every commune is left as it is, ADR 41);
4. the **latency** from a new learning record to its updated eligibility: a record written and announced as
   courses does, committed, then the person's eligibility polled every 20 ms, five times;
5. where the time goes: the engine run in this process on the largest commune with every statement timed, and
   ``EXPLAIN (ANALYZE, BUFFERS)`` of the slowest one (in a transaction rolled back).

Only a database and a Redis on 127.0.0.1, never the test suite's (``test``; Redis 14/15).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import case, delete, event, func, insert, select, text  # noqa: E402

from bench._common import check_broker, check_database, refuse  # noqa: E402

SCRIPT = "titles_eval"
BATCH = 10_000
KINDS = [  # kind, category, module code, hours low–high, weight
    ("class_completion", "literacy", None, 20, 60, 2),
    ("class_completion", "needs_based", None, 8, 30, 4),
    ("class_completion", "technology_transfer", None, 8, 24, 3),
    ("class_completion", "digital_skills", None, 8, 20, 2),
    ("it_module", "it_skills", "IU", 4, 8, 2),
    ("policy_study", "policy_study", None, 2, 8, 3),
    ("self_study", None, None, 1, 20, 4),
]


def _refuse(message: str) -> None:
    refuse(SCRIPT, message)


def _check(args: argparse.Namespace) -> None:
    check_database(SCRIPT, args.database_url)
    broker = getattr(args, "broker_url", None)
    if broker is not None:
        check_broker(SCRIPT, broker)


def _app(args: argparse.Namespace) -> Flask:
    from lms import create_app

    celery: dict[str, Any] = {"task_always_eager": False}
    if getattr(args, "broker_url", None):
        celery.update(broker_url=args.broker_url, result_backend=args.broker_url)
    from config import Config

    return create_app(
        {"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": args.database_url, "CELERY": {**Config.CELERY, **celery}}
    )


# --- learning records ----------------------------------------------------------------------------------------


def generate_records(args: argparse.Namespace) -> None:
    from courses.models import LearningRecord
    from lms.extensions import db, utcnow
    from lms.registry.models import AdminUnit, Person

    app = _app(args)
    rng = random.Random(args.seed)  # noqa: S311 - reproducible data, not secrets
    weights = [k[5] for k in KINDS]
    first = date(args.year, 1, 1)
    with app.app_context():
        existing = db.session.scalar(
            select(func.count()).select_from(LearningRecord).where(LearningRecord.year == args.year)
        )
        if existing and not args.replace:
            _refuse(f"{existing:,} learning records of {args.year} exist already; --replace deletes them first")
        if existing:
            db.session.execute(delete(LearningRecord).where(LearningRecord.year == args.year))
            db.session.commit()
        commune = case((AdminUnit.level == "village", AdminUnit.parent_id), else_=AdminUnit.id)
        stmt = (
            select(Person.id, commune.label("commune_id"))
            .join(AdminUnit, AdminUnit.id == Person.unit_id)
            .order_by(Person.id)
        )
        started = time.perf_counter()
        rows: list[dict[str, Any]] = []
        written = persons = 0
        insert_seconds = 0.0
        connection = db.session.connection()
        now = utcnow()
        for person_id, commune_id in db.session.execute(stmt.execution_options(yield_per=20_000)):
            persons += 1
            for index in range(min(rng.choices(range(11), weights=[9, 8, 9, 10, 11, 11, 10, 9, 9, 8, 6])[0], 10)):
                kind, category, module, low, high, _ = rng.choices(KINDS, weights=weights)[0]
                rows.append(
                    {
                        "person_id": person_id,
                        "year": args.year,
                        "kind": kind,
                        "category": category,
                        "module_code": f"IU{rng.randint(1, 15):02d}" if module else None,
                        "hours": Decimal(rng.randint(low * 2, high * 2)) / 2,
                        "completed_on": first + timedelta(days=rng.randrange(330)),
                        "commune_id": commune_id,
                        "source_key": f"bench:{args.year}:{person_id}:{index}",
                        "class_id": None,
                        "evidence": "",
                        "created_at": now,
                    }
                )
            if len(rows) >= BATCH:
                t = time.perf_counter()
                connection.execute(insert(LearningRecord.__table__), rows)
                insert_seconds += time.perf_counter() - t
                written += len(rows)
                rows = []
                if written % 500_000 < BATCH:
                    print(f"  {written:,} records for {persons:,} persons", file=sys.stderr)
        if rows:
            t = time.perf_counter()
            connection.execute(insert(LearningRecord.__table__), rows)
            insert_seconds += time.perf_counter() - t
            written += len(rows)
        db.session.commit()
        wall = time.perf_counter() - started
        db.session.commit()
        print(
            f"{written:,} learning records of {args.year} for {persons:,} persons in {wall:.1f} s "
            f"({written / wall:,.0f} rows/s; INSERTs {insert_seconds:.1f} s)"
        )
    analyze(args.database_url)


#: The assessed indicators an evaluator fills in for a household (Learning Family, Decision 448 part A) and for a
#: person (Learning Citizen, Decision 324) of the shipped criteria sets.
FAMILY_ASSESSED = ["a1", "a2", "a3", "a4", "a6", "a7", "a8", "a9", "a10"]
CITIZEN_ASSESSED = ["c3", "c6", "c8", "c9", "c10"]
_ASSESS = (
    "INSERT INTO assessment (subject_type, subject_id, year, indicator, value, source, evidence_ref, note,"
    " commune_id, assessed_at)"
    " SELECT :subject, s.id, :year, i.code, :low + floor(random() * (11 - :low)), 'evaluator', 'biên bản họp thôn',"
    " '', u.parent_id, now()"
)
_CHOSEN = " CROSS JOIN unnest(CAST(:codes AS text[])) AS i(code) WHERE (hashtext(s.id::text) & 1023) < :bar"
ASSESSMENTS_SQL = {
    "household": _ASSESS + " FROM household s JOIN admin_unit u ON u.id = s.village_id" + _CHOSEN,
    "person": _ASSESS + " FROM person s JOIN admin_unit u ON u.id = s.unit_id" + _CHOSEN,
}


def generate_assessments(args: argparse.Namespace) -> None:
    """Evaluators' assessments, as a province that works towards Plan 1514's targets holds them: every assessed
    indicator of the Learning Family set for ``--households`` of the households (Plan 1514: 80 % recognised), of the
    Learning Citizen set for ``--persons`` of the persons; values 6–10 and 5–10 points, drawn independently (the
    worst case for the engine, which scores alike the subjects whose values are alike). Chosen by a hash of the id:
    the same subjects every time."""
    from lms.extensions import db

    app = _app(args)
    started = time.perf_counter()
    with app.app_context():
        existing = db.session.scalar(text("SELECT count(*) FROM assessment WHERE year = :y"), {"y": args.year})
        if existing:
            _refuse(f"{existing:,} assessments of {args.year} exist already")
        db.session.execute(text("SELECT setseed(0.25)"))
        for subject, codes, share, low in (
            ("household", FAMILY_ASSESSED, args.households, 6),
            ("person", CITIZEN_ASSESSED, args.persons, 5),
        ):
            db.session.execute(
                text(ASSESSMENTS_SQL[subject]),
                {"subject": subject, "year": args.year, "low": low, "codes": codes, "bar": round(share * 1024)},
            )
        db.session.commit()
        counts = db.session.execute(
            text("SELECT subject_type, count(*) FROM assessment WHERE year = :y GROUP BY 1 ORDER BY 1"),
            {"y": args.year},
        ).all()
    print(
        ", ".join(f"{n:,} {kind} assessments" for kind, n in counts)
        + f" of {args.year} in {time.perf_counter() - started:.1f} s"
    )
    analyze(args.database_url)


def analyze(url: str) -> None:
    """ANALYZE the whole database, as after any bulk load: ``bench generate`` does not, and without statistics
    the planner takes the subtree of a commune for 2 rows and joins eligibility by nested loops (see
    docs/benchmarks.md)."""
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


# --- the measurement -------------------------------------------------------------------------------------------


@contextmanager
def workers(args: argparse.Namespace, count: int, log_dir: Path) -> Iterator[list[subprocess.Popen]]:
    env = {
        **os.environ,
        "LMS_ENV": "development",
        "LMS_INSTANCE_PATH": str(log_dir),
        "LMS_DATABASE_URL": args.database_url,
        "LMS_BROKER_URL": args.broker_url,
        "LMS_RESULT_BACKEND": args.broker_url,
    }
    processes = []
    try:
        for index in range(count):
            log = (log_dir / f"worker-{count}-{index}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "lms.worker",
                        "worker",
                        "--pool",
                        "solo",
                        "--loglevel",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "-n",
                        f"bench{count}-{index}@%h",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_alive(app: Flask, processes: list[subprocess.Popen]) -> None:
    """Until every worker answers a ping (the broker connection is up, tasks are registered)."""
    celery = app.extensions["celery"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                _refuse(f"a worker exited with {process.returncode}")
        replies = celery.control.ping(timeout=1.0) or []
        if len(replies) >= len(processes):
            return
    _refuse("the workers did not answer within 90 s")


def floor(app: Flask, year: int) -> dict[str, float]:
    from lms.extensions import db

    grouped = "SELECT person_id, count(*), sum(hours) FROM learning_record WHERE year = :year GROUP BY person_id"
    sql = text(grouped)
    times = []
    with app.app_context():
        for _ in range(3):
            started = time.perf_counter()
            rows = db.session.execute(sql, {"year": year}).all()
            times.append(time.perf_counter() - started)
            db.session.rollback()
        server = []
        for _ in range(3):
            started = time.perf_counter()
            counted = text("SELECT count(*) FROM (" + grouped + ") g")  # noqa: S608 - a constant
            db.session.execute(counted, {"year": year}).scalar()
            server.append(time.perf_counter() - started)
            db.session.rollback()
    return {"fetched": min(times), "server": min(server), "first": times[0], "persons": len(rows)}


def evaluate_province(app: Flask, province_code: str, year: int, *, reset: bool) -> dict[str, Any]:
    from lms.extensions import db
    from lms.registry import services as registry
    from lms.titles import runs
    from lms.titles.models import Eligibility, EvaluationRun, EvaluationState, PersonMetric, ShareCount

    with app.app_context():
        metrics = db.session.scalar(select(func.count()).select_from(PersonMetric).where(PersonMetric.year == year))
        if reset:
            # A first evaluation: no results, no counts and no state for the year (a run leaves a commune whose state
            # says nothing changed since its last evaluation, ADR 41). The persons' metrics stay: in production the
            # writers of learning records keep them (ADR 29); `records` wrote behind their back, so the first run on
            # fresh records builds them too (said below: compare runs that found them).
            for model in (Eligibility, ShareCount, EvaluationState):
                db.session.execute(delete(model).where(model.year == year))
            db.session.commit()
        unit = registry.find_unit(province_code, "province")
        assert unit is not None, province_code
        run = runs.start_run(unit, year)
        db.session.commit()
        started = time.perf_counter()
        run_id = run.id
        seen = -1
        while True:
            db.session.expire_all()
            current = db.session.get(EvaluationRun, run_id)
            assert current is not None
            if current.done + current.failed != seen:
                seen = current.done + current.failed
                print(f"  run #{run_id}: {seen}/{current.total}", file=sys.stderr)
            if current.status in runs.FINISHED:
                break
            db.session.rollback()
            time.sleep(0.2)
        wall = time.perf_counter() - started
        rows = db.session.scalar(select(func.count()).select_from(Eligibility).where(Eligibility.year == year))
        return {
            "run_id": run_id,
            "wall": wall,
            "status": current.status,
            "total": current.total,
            "failed": current.failed,
            "summary": current.summary,
            "eligibility_rows": rows,
            "metrics_before": metrics,
            "server": (current.finished_at - current.started_at).total_seconds()
            if current.finished_at and current.started_at
            else float("nan"),
        }


def latency(app: Flask, year: int, samples: int) -> list[float]:
    """A new learning record, announced as courses does (its commune and its person), committed; then the person's
    eligibility polled."""
    from courses.models import LearningRecord
    from lms.core.signals import learning_records_changed
    from lms.extensions import db, utcnow
    from lms.titles.models import Eligibility

    results = []
    with app.app_context():
        persons = db.session.execute(
            select(Eligibility.subject_id, Eligibility.commune_id)
            .where(Eligibility.year == year, Eligibility.title == "citizen")
            .order_by(Eligibility.subject_id)
            .limit(samples)
        ).all()
        if not persons:
            _refuse("no citizen eligibility to follow: is the engine merged and were criteria loaded?")
        db.session.rollback()
        for person_id, commune_id in persons:
            before = utcnow()
            db.session.add(
                LearningRecord(
                    person_id=person_id,
                    year=year,
                    kind="self_study",
                    hours=Decimal(3),
                    completed_on=date(year, 6, 1),
                    commune_id=commune_id,
                    source_key=f"bench-latency:{uuid.uuid4().hex}",
                )
            )
            # As courses announces it: where, and whose (the incremental path, ADR 29).
            learning_records_changed.send(None, pairs={(commune_id, year)}, persons={(person_id, year)})
            db.session.commit()
            started = time.perf_counter()
            deadline = started + 120
            while time.perf_counter() < deadline:
                computed = db.session.scalar(
                    select(Eligibility.computed_at).where(
                        Eligibility.subject_type == "person",
                        Eligibility.subject_id == person_id,
                        Eligibility.title == "citizen",
                        Eligibility.year == year,
                    )
                )
                db.session.rollback()
                if computed is not None and computed >= before:
                    break
                time.sleep(0.02)
            results.append(time.perf_counter() - started)
            time.sleep(0.5)
    return results


def writes_alone(app: Flask, year: int) -> dict[str, tuple[int, float]]:
    """The first evaluation's writes alone: the rows it wrote — the year's eligibility, the persons' metrics, the
    breakdowns — inserted again into an empty copy of each table (same columns, indexes and constraints) by one
    ``INSERT … SELECT`` in one session, in a transaction rolled back. No engine that stores those rows goes below
    it; the ratio of the evaluation to the scan floor minus this one is what computing the rows costs."""
    from lms.extensions import db

    found: dict[str, tuple[int, float]] = {}
    with app.app_context(), db.engine.connect() as connection:
        for table, where in (
            ("eligibility", "year = :year"),
            ("title_person_metric", "year = :year"),
            ("eligibility_breakdown", "true"),
        ):
            transaction = connection.begin()
            connection.execute(text(f"CREATE TABLE bench_writes_alone (LIKE {table} INCLUDING ALL)"))
            started = time.perf_counter()
            rows = connection.execute(
                text(f"INSERT INTO bench_writes_alone SELECT * FROM {table} WHERE {where}"),  # noqa: S608 - constants
                {"year": year},
            ).rowcount
            found[table] = (rows, time.perf_counter() - started)
            transaction.rollback()
    return found


def where_the_time_goes(app: Flask, year: int) -> tuple[int, float, list[tuple[float, str]], str]:
    """The engine on the largest commune, in this process, with every statement timed; the slowest explained."""
    from lms.extensions import db
    from lms.registry.models import AdminUnit, Person
    from lms.titles import engine

    timings: list[tuple[float, str, Any]] = []
    with app.app_context():
        commune = case((AdminUnit.level == "village", AdminUnit.parent_id), else_=AdminUnit.id)
        biggest = db.session.execute(
            select(commune, func.count())
            .select_from(Person)
            .join(AdminUnit, AdminUnit.id == Person.unit_id)
            .group_by(commune)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        db.session.rollback()
        bind = db.engine

        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            conn.info.setdefault("t", []).append(time.perf_counter())

        def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            timings.append((time.perf_counter() - conn.info["t"].pop(), statement, parameters))

        event.listen(bind, "before_cursor_execute", before)
        event.listen(bind, "after_cursor_execute", after)
        started = time.perf_counter()
        try:
            engine.evaluate_commune(biggest[0], year)
        finally:
            total = time.perf_counter() - started
            db.session.rollback()
            event.remove(bind, "before_cursor_execute", before)
            event.remove(bind, "after_cursor_execute", after)
        timings.sort(key=lambda t: t[0], reverse=True)
        plan = ""
        # The slowest statement that can be explained afterwards (the metrics table is temporary: dropped by then).
        explainable = [t for t in timings if "tmp_title_metrics" not in t[1] and not t[1].lstrip().startswith("COPY")]
        if explainable:
            _, statement, parameters = explainable[0]
            conn = db.session.connection()
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            db.session.rollback()
    return biggest[1], total, [(t, s) for t, s, _ in timings[:8]], plan


def run(args: argparse.Namespace) -> None:
    app = _app(args)  # first: importing a feature before the app package is loaded runs into an import cycle
    from lms.extensions import db
    from lms.titles.criteria import load_shipped_criteria

    with app.app_context():
        load_shipped_criteria()
        db.session.commit()
        records = db.session.scalar(text("SELECT count(*) FROM learning_record WHERE year = :y"), {"y": args.year})
        persons = db.session.scalar(text("SELECT count(*) FROM person"))
        households = db.session.scalar(text("SELECT count(*) FROM household"))
        version = db.session.scalar(text("SHOW server_version"))
    if args.analyze:
        analyze(args.database_url)
    print(
        f"data: {persons:,} persons, {households:,} households, {records:,} learning records of {args.year}; "
        f"PostgreSQL {version}; {os.cpu_count()} CPUs; Python {platform.python_version()}"
    )
    import redis

    redis.Redis.from_url(args.broker_url).flushdb()  # the benchmark's own Redis database
    base = floor(app, args.year)
    print(
        f"floor (grouped scan, {base['persons']:,} groups): fetched {base['fetched']:.2f} s (first "
        f"{base['first']:.2f} s), server only {base['server']:.2f} s"
    )
    log_dir = Path(tempfile.mkdtemp(prefix="lms-titles-bench-"))
    results = []
    for count in args.workers:
        with workers(args, count, log_dir) as processes:
            _wait_alive(app, processes)
            result = evaluate_province(app, args.province, args.year, reset=True)
            result["workers"] = count
            if count == args.workers[-1]:
                rerun = evaluate_province(app, args.province, args.year, reset=False)
                result["rerun"] = rerun
                result["latency"] = latency(app, args.year, args.samples)
            result["peak_mib"] = [_peak_mib(p.pid) for p in processes]
        results.append(result)
        print(
            f"{count} worker(s): {result['status']}, {result['total']} communes, {result['failed']} failed, "
            f"wall {result['wall']:.1f} s (run {result['server']:.1f} s), ratio to floor "
            f"{result['wall'] / base['fetched']:.1f}×, {result['eligibility_rows']:,} eligibility rows, "
            f"peak RSS per worker {', '.join(f'{m:.0f}' for m in result['peak_mib'])} MiB"
            + ("" if result["metrics_before"] else "; title_person_metric was empty: this run built it too")
        )
        if "rerun" in result:
            rerun = result["rerun"]
            print(
                f"  re-run: wall {rerun['wall']:.1f} s, ratio to floor {rerun['wall'] / base['fetched']:.1f}×, "
                f"changed {rerun['summary'].get('changed')}, drift {rerun['summary'].get('drift')}, "
                f"communes evaluated {rerun['summary'].get('evaluated')}, unchanged {rerun['summary'].get('unchanged')}"
            )
            samples = result["latency"]
            print(
                f"  latency record → eligibility: median {statistics.median(samples):.2f} s, "
                f"max {max(samples):.2f} s ({len(samples)} samples)"
            )
        print(f"  summary: {result['summary']}")
    first = results[-1]
    if first["eligibility_rows"] and not first["metrics_before"]:
        # The second floor: what writing the first evaluation's rows costs by itself, whatever computes them.
        writes = writes_alone(app, args.year)
        total = sum(seconds for _, seconds in writes.values())
        print(
            "writes alone (the rows the first evaluation wrote, inserted again into empty copies of their tables "
            "with their indexes, one session): "
            + ", ".join(f"{table} {rows:,} rows {seconds:.2f} s" for table, (rows, seconds) in writes.items())
            + f"; together {total:.2f} s = {total / base['fetched']:.1f}× the floor (the first evaluation with "
            f"{first['workers']} worker(s): {first['wall'] / base['fetched']:.1f}×)"
        )
    persons_biggest, engine_seconds, slowest, plan = where_the_time_goes(app, args.year)
    print(
        f"\nlargest commune ({persons_biggest:,} persons): engine {engine_seconds:.2f} s in this process; "
        "slowest statements:"
    )
    for seconds, statement in slowest:
        print(f"  {seconds:7.3f} s  {' '.join(statement.split())[:160]}")
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the slowest:\n" + plan)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    records = sub.add_parser("records", help="bulk-insert learning records on a province database")
    records.add_argument("--database-url", required=True)
    records.add_argument("--year", type=int, default=2026)
    records.add_argument("--seed", type=int, default=2025)
    records.add_argument("--replace", action="store_true", help="delete the year's records first")
    assessed = sub.add_parser("assessments", help="add evaluators' assessments of households and persons")
    assessed.add_argument("--database-url", required=True)
    assessed.add_argument("--year", type=int, default=2026)
    assessed.add_argument("--households", type=float, default=0.8, help="share of households assessed")
    assessed.add_argument("--persons", type=float, default=0.3, help="share of persons assessed")
    measure = sub.add_parser("run", help="floor, full evaluation with N workers, re-run, latency")
    measure.add_argument("--database-url", required=True)
    measure.add_argument("--broker-url", default="redis://127.0.0.1:6379/6")
    measure.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    measure.add_argument("--year", type=int, default=2026)
    measure.add_argument("--province", default="51", help="code of the generated province (Quảng Ngãi: 51)")
    measure.add_argument("--samples", type=int, default=5)
    measure.add_argument(
        "--no-analyze", dest="analyze", action="store_false", help="do not ANALYZE the database before measuring"
    )
    args = parser.parse_args(argv)
    _check(args)
    if args.command == "records":
        generate_records(args)
    elif args.command == "assessments":
        generate_assessments(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
