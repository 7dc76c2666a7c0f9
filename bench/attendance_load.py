"""Bulk attendance under load, and completion recomputation, on PostgreSQL (results in docs/benchmarks.md).

    .venv/bin/python bench/attendance_load.py --clients 4 8 --requests 400 --yes

1. Rebuilds the schema of a database of its own (``lms_bench`` by default; created if missing) from the
   migrations and loads the official units.
2. HTTP: for each client count, N device threads (one class of 40 learners and one API token each) POST
   whole-session batches (40 marks, a fresh ``Idempotency-Key``) to the app run by gunicorn, a fixed number of
   requests in all: first to sessions never marked (inserts), then to the same sessions again with later marks
   from another device (updates); prints p50/p95/p99 latency and throughput. Only successful answers that
   created (or updated) all 40 marks count; anything else is reported as an error.
3. Completion: bulk-inserts CLASSES classes × LEARNERS learners × SESSIONS held sessions with their attendance,
   then times ``services.recompute_class`` for one class and for all of them (one transaction per class, as
   the Celery task does), then again (nothing left to write).

Everything runs on 127.0.0.1 only; every loop is bounded. The schema is emptied again at the end (``--keep``
keeps the data). Messages the requests queue for the completion task go to the broker (Redis db 13 by default)
and are purged at the end: no worker runs, so the measurement is the API's alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bench._common import check_broker, check_database, empty_schema, gunicorn, percentile, refuse, reset_database  # noqa: E402

SCRIPT = "attendance_load"
COMMUNE = "23293"  # Phường Kon Tum
MAX_REQUESTS = 20_000
MAX_CLASSES = 5_000


# --- safety and set-up ---------------------------------------------------------------------------------------


def _refuse(message: str) -> None:
    refuse(SCRIPT, message)


def _check_targets(args: argparse.Namespace) -> None:
    check_database(SCRIPT, args.database_url)
    check_broker(SCRIPT, args.broker_url)
    if args.requests > MAX_REQUESTS or args.classes > MAX_CLASSES:
        _refuse(f"at most {MAX_REQUESTS} requests and {MAX_CLASSES} classes")


def _app(args: argparse.Namespace) -> Flask:
    from lms import create_app

    return create_app(
        {
            "ENV_NAME": "development",
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "CELERY": {
                "broker_url": args.broker_url,
                "result_backend": None,
                "task_always_eager": False,
                "task_ignore_result": True,
            },
        }
    )


def _migrate(app: Flask) -> float:
    from flask_migrate import upgrade

    from lms.extensions import db
    from lms.registry import services as registry

    started = time.perf_counter()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        registry.load_reference_units()
        db.session.commit()
    return time.perf_counter() - started


# --- data ----------------------------------------------------------------------------------------------------


def _village(commune: Any, label: str) -> Any:
    from lms.extensions import db
    from lms.registry.models import AdminUnit, UnitLevel

    village = AdminUnit(
        code=f"BENCH-{label}",
        name=f"Thôn {label}",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path=f"tmp:{label}",
        valid_from=commune.valid_from,
        area_class="standard",
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    db.session.flush()
    return village


def _people(village_id: int, count: int, rng: random.Random) -> list[int]:
    """Bulk-insert ``count`` persons of a village; their ids in order."""
    from lms.extensions import db
    from lms.registry.models import Person
    from lms.registry.text import fold, person_sort_key

    families = ["Nguyễn", "Trần", "Lê", "Phạm", "A", "Y", "Đinh", "Hồ"]
    middles = ["Văn", "Thị", "Đức", "Minh", "Thu", ""]
    given = ["An", "Bình", "Chi", "Dũng", "Hà", "Hiên", "Khánh", "Lan", "Mai", "Nam", "Phúc", "Tuấn"]
    rows = []
    for _ in range(count):
        name = " ".join(w for w in (rng.choice(families), rng.choice(middles), rng.choice(given)) if w)
        rows.append(
            {"full_name": name, "name_folded": fold(name), "sort_key": person_sort_key(name), "unit_id": village_id}
        )
    first = db.session.scalar(select(func.coalesce(func.max(Person.id), 0)))
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Person), rows[start : start + 5000])
    return list(
        db.session.scalars(select(Person.id).where(Person.unit_id == village_id, Person.id > first).order_by(Person.id))
    )


@dataclass
class Device:
    class_id: int
    person_ids: list[int]
    secret: str
    session_ids: list[int] = field(default_factory=list)


def _load_devices(app: Flask, clients: int, learners: int, rng: random.Random) -> list[Device]:
    """One centre, and for each device a class of ``learners`` enrolled learners and an API token."""
    from courses import services
    from lms.auth.models import ApiToken, Role
    from lms.auth.services import assign_role, create_user
    from lms.extensions import db
    from lms.registry import services as registry
    from lms.registry.models import Clc

    with app.app_context():
        commune = registry.find_unit(COMMUNE, "commune")
        assert commune is not None
        clc = Clc(commune_id=commune.id, name=f"Trung tâm học tập cộng đồng {commune.name}")
        db.session.add(clc)
        db.session.flush()
        course = services.create_course(
            unit=commune,
            code="BENCH-HTTP",
            name="Kỹ thuật trồng cà phê",
            category="technology_transfer",
            planned_hours=Decimal(12),
        )
        user = create_user("bench.manager@example.vn", "Bench manager", "bench-password-long-enough")
        assign_role(user, Role.CENTRE_MANAGER, commune)
        devices = []
        for index in range(clients):
            village = _village(commune, f"H{index}")
            people = _people(village.id, learners, rng)
            course_class = services.create_class(
                course=course,
                clc=clc,
                name=f"Lớp {index + 1}",
                capacity=learners,
                starts_on=date(2026, 1, 5),
                ends_on=date(2026, 12, 31),
            )
            services.enrol(course_class, people)
            _, secret = ApiToken.issue(user, f"phone-{index}")
            devices.append(Device(course_class.id, people, secret))
        db.session.commit()
    return devices


def _add_sessions(app: Flask, devices: list[Device], per_device: int) -> None:
    """Fresh sessions, never marked, for the next run (bulk-inserted: scheduling is not what is measured)."""
    from courses.models import ClassSession
    from lms.extensions import db

    with app.app_context():
        for device in devices:
            offset = len(device.session_ids)
            base = datetime(2026, 1, 5, 7)  # noqa: DTZ001 - session times are naive local wall-clock times
            rows = [
                {
                    "class_id": device.class_id,
                    "starts_at": base + timedelta(hours=3 * (offset + i)),
                    "ends_at": base + timedelta(hours=3 * (offset + i) + 2),
                    "status": "scheduled",
                    "place": "",
                    "note": "",
                }
                for i in range(per_device)
            ]
            db.session.execute(insert(ClassSession), rows)
            device.session_ids = list(
                db.session.scalars(
                    select(ClassSession.id)
                    .where(ClassSession.class_id == device.class_id)
                    .order_by(ClassSession.starts_at)
                )
            )
        db.session.commit()


# --- the HTTP run --------------------------------------------------------------------------------------------


def _gunicorn(args: argparse.Namespace, log: Path, access_log: Path) -> AbstractContextManager[None]:
    # The access log, to a file, gives the server's own time per request (%(D)s, microseconds): the client's
    # latency adds its own Python and the loopback, which no change to the endpoint removes. gunicorn reads
    # GUNICORN_CMD_ARGS from the environment it inherits.
    os.environ["GUNICORN_CMD_ARGS"] = f"--access-logfile {access_log} --access-logformat '%(m)s %(U)s %(s)s %(D)s'"
    return gunicorn(
        SCRIPT,
        database_url=args.database_url,
        broker_url=args.broker_url,
        workers=args.workers,
        port=args.port,
        log=log,
    )


STATUSES = ["present"] * 34 + ["late"] * 3 + ["excused", "absent", "absent"]


def _batch(device: Device, resync: bool) -> bytes:
    """A whole session's marks. A re-sync is a second device's later marks for the same session, most of them
    different: every mark updates the stored one and most overwrite a status (kept in the audit trail)."""
    at = datetime.now().astimezone() - timedelta(seconds=1 if resync else 300)
    shift = 5 if resync else 0
    return json.dumps(
        {
            "device": "bench-tablet" if resync else "bench-phone",
            "marks": [
                {
                    "client_mark_id": str(uuid.uuid4()),
                    "person_id": person_id,
                    "status": STATUSES[(index + shift) % len(STATUSES)]
                    if not resync
                    else ["present", "late", "absent", "excused"][index % 4],
                    "recorded_at": at.isoformat(timespec="seconds"),
                }
                for index, person_id in enumerate(device.person_ids)
            ],
        }
    ).encode()


def _post(port: int, device: Device, session_id: int, resync: bool = False) -> tuple[float, int, dict[str, Any]]:
    body = _batch(device, resync)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {device.secret}",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", f"/api/v1/sessions/{session_id}/attendance", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = {"raw": payload[:200].decode(errors="replace")}
    return elapsed, response.status, answer


@dataclass
class RunResult:
    kind: str
    clients: int
    requests: int
    errors: int
    wall: float
    latencies: list[float]
    first_error: str = ""
    server: list[float] = field(default_factory=list)  # seconds, from gunicorn's access log
    floor: list[float] = field(default_factory=list)  # seconds, the raw upsert of the same marks, interleaved


def _server_times(access_log: Path, offset: int) -> list[float]:
    """The server time of every attendance POST logged after ``offset`` (bytes into the access log)."""
    with access_log.open("rb") as fh:
        fh.seek(offset)
        lines = fh.read().decode(errors="replace").splitlines()
    times = []
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[0] == "POST" and parts[1].endswith("/attendance") and parts[2] == "200":
            times.append(int(parts[3]) / 1e6)
    return times


def _run(
    args: argparse.Namespace,
    app: Flask,
    devices: list[Device],
    clients: int,
    *,
    resync: bool,
    access_log: Path,
    floor_device: Device,
) -> RunResult:
    """``clients`` devices at once, each posting its share of the requests to its own latest sessions: new
    sessions (inserts), or, with ``resync``, the same sessions again with later marks (updates)."""
    per_client, warmup = args.requests // clients, args.warmup
    expected = "updated" if resync else "created"
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    clock: dict[str, float] = {}

    # Every client warms up, then waits here; the clock starts when the last one is ready.
    def started() -> None:
        clock.setdefault("start", time.perf_counter())
        clock.setdefault("log_offset", access_log.stat().st_size)

    start = threading.Barrier(clients, action=started)

    floor: list[float] = []
    floor_sessions = iter(floor_device.session_ids[-per_client:])

    def client(index: int) -> None:
        device = devices[index]
        sessions = iter(device.session_ids[-(per_client + warmup) :])
        for _ in range(warmup):
            _post(args.port, device, next(sessions), resync)
        start.wait()
        for _ in range(per_client):
            elapsed, status, answer = _post(args.port, device, next(sessions), resync)
            if status == 200 and answer.get(expected) == len(device.person_ids):
                latencies[index].append(elapsed)
            else:
                errors[index].append(f"{status} {str(answer)[:200]}")
            if index == 0:
                # The floor, interleaved with the requests, so that both see the same load on a shared machine:
                # inserts during first uploads, updates of the same rows during re-syncs.
                floor.append(_floor_once(raw, floor_device, next(floor_sessions), resync))

    from lms.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=3600)
    finally:
        raw.close()
    wall = time.perf_counter() - clock["start"]
    time.sleep(0.2)  # gunicorn writes the access log line after the answer
    flat = [value for chunk in latencies for value in chunk]
    all_errors = [e for chunk in errors for e in chunk]
    return RunResult(
        "re-sync (40 updates)" if resync else "first upload (40 inserts)",
        clients,
        per_client * clients,
        len(all_errors),
        wall,
        flat,
        all_errors[0] if all_errors else "",
        _server_times(access_log, int(clock["log_offset"])),
        floor,
    )


FLOOR_SQL = (
    "INSERT INTO attendance (session_id, person_id, status, recorded_at, device, client_mark_id, received_at) "
    "VALUES %s ON CONFLICT (session_id, person_id) DO UPDATE SET status = excluded.status, recorded_at = "
    "excluded.recorded_at, device = excluded.device, client_mark_id = excluded.client_mark_id, received_at = "
    "excluded.received_at WHERE excluded.recorded_at > attendance.recorded_at"
)


def _floor_once(raw: Any, device: Device, session_id: int, resync: bool = False) -> float:
    """The floor of one batch: the same marks as one raw multi-row ``INSERT … ON CONFLICT DO UPDATE`` and a commit
    on a psycopg2 connection, into a fresh session of a class of its own (so it inserts, as a first upload does);
    with ``resync``, later marks for the same session again, most of them another status (so it updates, as a
    re-sync does). No Flask, no ORM: what the database alone needs for the batch."""
    from psycopg2.extras import execute_values

    at = datetime.now()  # noqa: DTZ005 - the floor only needs a time
    shift = 5 if resync else 0
    rows = [
        (session_id, pid, STATUSES[(i + shift) % len(STATUSES)], at, "bench-floor", str(uuid.uuid4()), at)
        for i, pid in enumerate(device.person_ids)
    ]
    started = time.perf_counter()
    with raw.cursor() as cursor:
        execute_values(cursor, FLOOR_SQL, rows, page_size=len(rows))
    raw.commit()
    return time.perf_counter() - started


def _clean_broker(app: Flask, url: str) -> None:
    """Drop the completion tasks nobody consumed, and kombu's queue bindings: leave the Redis database empty."""
    import redis

    app.extensions["celery"].control.purge()
    client = redis.Redis.from_url(url)
    keys = [*client.scan_iter("_kombu.binding*"), *client.scan_iter("celery")]
    if keys:
        client.delete(*keys)
    client.close()


# --- completion ----------------------------------------------------------------------------------------------


@dataclass
class CompletionResult:
    classes: int
    learners: int
    sessions: int
    attendance_rows: int
    load_seconds: float
    one_class_first: float
    one_class_again: float
    all_first: float
    all_again: float
    per_class: list[float]
    records: int
    certificates: int


def _load_completion_data(app: Flask, args: argparse.Namespace, rng: random.Random) -> list[int]:
    """CLASSES finished classes in one commune, each with its own learners, held sessions and marks."""
    from courses.models import Attendance, ClassSession, Course, CourseClass, Enrolment
    from lms.extensions import db
    from lms.registry import services as registry
    from lms.registry.models import Clc
    from lms.registry.text import collation_key, fold

    with app.app_context():
        commune = registry.find_unit("23302", "commune")
        assert commune is not None
        clc = Clc(commune_id=commune.id, name=f"Trung tâm học tập cộng đồng {commune.name}")
        db.session.add(clc)
        db.session.flush()
        course = Course(
            unit_id=commune.id,
            code="BENCH-COMPLETION",
            name="Tin học cơ bản",
            category="digital_skills",
            planned_hours=Decimal(24),
            min_attendance_share=Decimal("0.8"),
        )
        db.session.add(course)
        db.session.flush()
        village = _village(commune, "COMPLETION")
        people = _people(village.id, args.classes * args.learners, rng)
        first_day = date(2025, 9, 1)
        class_rows = []
        for index in range(args.classes):
            name = f"Lớp tin học {index + 1}"
            class_rows.append(
                {
                    "course_id": course.id,
                    "clc_id": clc.id,
                    "commune_id": commune.id,
                    "name": name,
                    "name_folded": fold(name),
                    "sort_key": collation_key(name),
                    "capacity": args.learners,
                    "target_group": "everyone",
                    "starts_on": first_day,
                    "ends_on": first_day + timedelta(days=90),
                }
            )
        db.session.execute(insert(CourseClass), class_rows)
        class_ids = list(
            db.session.scalars(
                select(CourseClass.id).where(CourseClass.course_id == course.id).order_by(CourseClass.id)
            )
        )
        enrolments, sessions = [], []
        for index, class_id in enumerate(class_ids):
            for person_id in people[index * args.learners : (index + 1) * args.learners]:
                enrolments.append(
                    {
                        "class_id": class_id,
                        "person_id": person_id,
                        "status": "enrolled",
                        "enrolled_at": datetime(2025, 8, 25),  # noqa: DTZ001 - naive UTC, as stored
                    }
                )
            for week in range(args.sessions):
                start = datetime.combine(
                    first_day + timedelta(days=7 * week + index % 5), datetime.min.time()
                ) + timedelta(hours=19)
                sessions.append(
                    {
                        "class_id": class_id,
                        "starts_at": start,
                        "ends_at": start + timedelta(hours=2),
                        "status": "scheduled",
                        "place": "",
                        "note": "",
                    }
                )
        for rows, model in ((enrolments, Enrolment), (sessions, ClassSession)):
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(model), rows[start : start + 5000])
        session_rows = db.session.execute(
            select(ClassSession.id, ClassSession.class_id, ClassSession.starts_at).where(
                ClassSession.class_id.in_(class_ids)
            )
        ).all()
        learners_of = {
            class_id: people[i * args.learners : (i + 1) * args.learners] for i, class_id in enumerate(class_ids)
        }
        # Most learners attend most sessions; a few drop out: roughly four in five complete.
        marks = []
        for session_id, class_id, starts_at in session_rows:
            for person_id in learners_of[class_id]:
                keen = person_id % 5 != 0
                status = rng.choices(
                    ["present", "late", "excused", "absent"], [85, 5, 5, 5] if keen else [45, 5, 20, 30]
                )[0]
                marks.append(
                    {
                        "session_id": session_id,
                        "person_id": person_id,
                        "status": status,
                        "recorded_at": starts_at - timedelta(hours=7) + timedelta(minutes=10),
                        "device": "bench",
                        "received_at": starts_at,
                    }
                )
        for start in range(0, len(marks), 10_000):
            db.session.execute(insert(Attendance), marks[start : start + 10_000])
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        return class_ids


def _recompute(app: Flask, class_id: int) -> float:
    """One class as the Celery task does it: lock the class row, recompute, commit."""
    from courses import services
    from courses.models import CourseClass
    from lms.extensions import db

    with app.app_context():
        started = time.perf_counter()
        db.session.execute(select(CourseClass.id).where(CourseClass.id == class_id).with_for_update())
        services.recompute_class(class_id)
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed


def _completion(app: Flask, args: argparse.Namespace, rng: random.Random) -> CompletionResult:
    from courses.models import Attendance, Certificate, ClassSession, LearningRecord
    from lms.extensions import db

    started = time.perf_counter()
    class_ids = _load_completion_data(app, args, rng)
    load_seconds = time.perf_counter() - started
    one_first = _recompute(app, class_ids[0])
    one_again = _recompute(app, class_ids[0])
    per_class = []
    started = time.perf_counter()
    for class_id in class_ids[1:]:
        per_class.append(_recompute(app, class_id))
    all_first = time.perf_counter() - started + one_first
    started = time.perf_counter()
    for class_id in class_ids:
        _recompute(app, class_id)
    all_again = time.perf_counter() - started
    with app.app_context():
        records = (
            db.session.scalar(
                select(func.count()).select_from(LearningRecord).where(LearningRecord.class_id.in_(class_ids))
            )
            or 0
        )
        certificates = (
            db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.class_id.in_(class_ids)))
            or 0
        )
        rows = (
            db.session.scalar(
                select(func.count())
                .select_from(Attendance)
                .join(ClassSession, ClassSession.id == Attendance.session_id)
                .where(ClassSession.class_id.in_(class_ids))
            )
            or 0
        )
    return CompletionResult(
        len(class_ids),
        args.learners,
        args.sessions,
        rows,
        load_seconds,
        one_first,
        one_again,
        all_first,
        all_again,
        [one_first, *per_class],
        records,
        certificates,
    )


# --- report --------------------------------------------------------------------------------------------------


def _machine(app: Flask) -> str:
    from lms.extensions import db

    with app.app_context():
        version = db.session.scalar(text("SHOW server_version"))
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} × {cpu}; PostgreSQL {version} and Redis on the same machine; "
        f"Python {platform.python_version()}; load average at the end {load}"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _report(
    args: argparse.Namespace,
    machine: str,
    runs: list[RunResult],
    completion: CompletionResult | None,
    floor: list[float],
) -> None:
    print("\n## Bulk attendance and completion (bench/attendance_load.py)\n")
    print(f"Machine: {machine}.\n")
    print("Command:\n")
    print("```sh")
    print(
        f".venv/bin/python bench/attendance_load.py --clients {' '.join(map(str, args.clients))} "
        f"--requests {args.requests} --workers {args.workers} --classes {args.classes} "
        f"--learners {args.learners} --sessions {args.sessions} --yes"
    )
    print("```\n")
    if runs:
        print(
            f"**Bulk attendance**: `POST /api/v1/sessions/<id>/attendance` with a whole session "
            f"({args.learners} marks, a fresh `Idempotency-Key`, a bearer token per device) to "
            f"`gunicorn -w {args.workers}` (sync workers, `LMS_ENV=production`); each client is one "
            f"device with its own class. *First upload*: sessions never marked (40 inserts). *Re-sync*: the same "
            f"sessions again from another device with later marks (40 updates, most changing the status, so the "
            f"overwritten values go to the audit trail). {args.requests} requests per row after {args.warmup} "
            f"warm-up requests per client; latency is the client's, from sending to the last byte of the "
            f"answer. The completion task each commit queues goes to Redis, and no worker runs during the "
            f"measurement.\n"
        )
        print(
            "| Batch | Concurrent clients | Requests | Errors | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) "
            "| Batches/s | Marks/s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for run in runs:
            values = run.latencies or [0.0]
            rate = len(run.latencies) / run.wall if run.wall else 0.0
            print(
                f"| {run.kind} | {run.clients} | {run.requests} | {run.errors} | {_ms(percentile(values, 0.50))} | "
                f"{_ms(percentile(values, 0.95))} | {_ms(percentile(values, 0.99))} | {_ms(max(values))} | "
                f"{rate:.1f} | {rate * args.learners:.0f} |"
            )
        if floor:
            print(
                f"\n**Server time against the floor** (gunicorn's own time per request, `%(D)s` of its access log; "
                f"the floor: the same {args.learners} marks as one raw `INSERT … ON CONFLICT DO UPDATE` and a commit "
                f"on psycopg2, once after each request of the first client — inserts into fresh sessions during "
                f"first uploads, updates of the same sessions during re-syncs — so that each row is divided by a "
                f"floor measured under the same load; {len(floor)} times in all):\n"
            )
            print(
                "| Batch | Concurrent clients | Server p50 (ms) | Server p95 (ms) | Floor p50 (ms) | p50 vs the floor |"
            )
            print("|---|---:|---:|---:|---:|---:|")
            for run in runs:
                if run.server and run.floor:
                    p50, base = percentile(run.server, 0.5), percentile(run.floor, 0.5)
                    print(
                        f"| {run.kind} | {run.clients} | {_ms(p50)} | {_ms(percentile(run.server, 0.95))} | "
                        f"{_ms(base)} | {p50 / base:.1f}× |"
                    )
        for run in runs:
            if run.first_error:
                print(f"\nFirst error ({run.kind}, {run.clients} clients): `{run.first_error}`")
        print()
    if completion:
        c = completion
        ordered = sorted(c.per_class)
        print(
            f"**Completion recomputation**: {c.classes} finished classes × {c.learners} learners × {c.sessions} "
            f"held sessions ({c.attendance_rows:,} attendance rows, bulk-inserted in {c.load_seconds:.1f} s), "
            f"one commune. Each class as the Celery task does it (lock the class row, "
            f"`services.recompute_class`, commit), one after the other in one process.\n"
        )
        print("| Measurement | Time |")
        print("|---|---:|")
        print(f"| One class, first run (writes its records and certificates) | {_ms(c.one_class_first)} ms |")
        print(f"| The same class again (nothing to write) | {_ms(c.one_class_again)} ms |")
        print(f"| All {c.classes} classes, first run | {c.all_first:.2f} s ({c.classes / c.all_first:.0f} classes/s) |")
        print(
            f"| Per class, first run: p50 / p95 | {_ms(percentile(ordered, 0.5))} / "
            f"{_ms(percentile(ordered, 0.95))} ms |"
        )
        print(f"| All {c.classes} classes again (idempotent: nothing written) | {c.all_again:.2f} s |")
        print(
            f"\nWritten: {c.records:,} learning records and {c.certificates:,} certificates; the second pass "
            f"wrote none. Work is per class and sharded by commune, so workers add throughput.\n"
        )


# --- main ----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1/lms_bench",
        help="a PostgreSQL database of the benchmark's own on 127.0.0.1; its schema is rebuilt",
    )
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 8], help="concurrent clients, one run each")
    parser.add_argument("--requests", type=int, default=400, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per client before each run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--classes", type=int, default=500, help="classes for the completion measurement")
    parser.add_argument("--sessions", type=int, default=10, help="held sessions per class (completion)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-completion", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data instead of emptying the schema")
    parser.add_argument("--yes", action="store_true", help="rebuild the schema without asking")
    args = parser.parse_args(argv)
    if any(c < 1 or c > 64 for c in args.clients):
        _refuse("--clients must be from 1 to 64")
    _check_targets(args)

    rng = random.Random(args.seed)  # noqa: S311 - generated names and marks, not secrets
    reset_database(SCRIPT, args.database_url, yes=args.yes)
    app = _app(args)
    setup = _migrate(app)
    print(f"schema and reference units: {setup:.1f} s", file=sys.stderr)
    runs: list[RunResult] = []
    floor: list[float] = []
    completion = None
    try:
        if not args.skip_http:
            devices = _load_devices(app, max(args.clients) + 1, args.learners, rng)
            floor_device = devices.pop()  # a class of its own for the floor's upserts
            with tempfile.TemporaryDirectory() as tmp:
                access_log = Path(tmp) / "access.log"
                with _gunicorn(args, Path(tmp) / "gunicorn.log", access_log):
                    for clients in args.clients:
                        _add_sessions(app, devices, args.requests // clients + args.warmup)
                        _add_sessions(app, [floor_device], args.requests // clients)
                        print(f"running {clients} clients…", file=sys.stderr)
                        run = _run(
                            args, app, devices, clients, resync=False, access_log=access_log, floor_device=floor_device
                        )
                        runs.append(run)
                        runs.append(
                            _run(
                                args,
                                app,
                                devices,
                                clients,
                                resync=True,
                                access_log=access_log,
                                floor_device=floor_device,
                            )
                        )
                        floor += run.floor + runs[-1].floor
            _clean_broker(app, args.broker_url)
        if not args.skip_completion:
            print("loading and recomputing completions…", file=sys.stderr)
            completion = _completion(app, args, rng)
        _report(args, _machine(app), runs, completion, floor)
    finally:
        with app.app_context():
            from lms.extensions import db

            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        if not args.keep:
            empty_schema(args.database_url)


if __name__ == "__main__":
    main()
