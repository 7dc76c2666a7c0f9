"""The household spreadsheet import at province size, as a ratio against COPY of the same rows (issue 15, item 4).

On a database that ``flask bench generate --keep`` filled (the demo population, any scale), this script

1. writes a households CSV of ``--rows`` rows (default 100,000) over the villages of the scope: half of them name
   persons already stored (their occupation changes, so each is an update), the rest are new households of four new
   persons, half of the adults with a new ID number (so the rows are encrypted and hashed as a real file's are);
2. times the **floor**: the same file sent by ``COPY … FROM STDIN (FORMAT csv, HEADER)`` into a temporary table
   of its columns, typed as the importer types them (text, date), then dropped;
3. runs the import as the worker does (``execute_job``: read, check, plan, write, commit) in a **child process**
   of its own, first as a preview (dry run), then applied, and reports each one's wall time and peak RSS
   (``ru_maxrss`` of the child, the Flask app included) and the ratio of the wall time to the floor.

The applied import changes the data: a second run finds the first run's new households (its new rows get other
household codes, its updates flip the occupation back). PostgreSQL on 127.0.0.1 only, never the test database.

    .venv/bin/flask --app lms bench generate --scale province --keep --yes \\
        --database-url postgresql://postgres@127.0.0.1/lms_bench
    .venv/bin/python bench/import_load.py --database-url postgresql://postgres@127.0.0.1/lms_bench
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, check_database

SCRIPT = "import_load"
HEADER = ["Mã thôn", "Mã hộ", "Họ và tên", "Ngày sinh", "Giới tính", "Số định danh cá nhân", "Nghề nghiệp"]
OCCUPATIONS = ("worker", "other")


def _app(database_url: str) -> Any:
    from lms import create_app

    return create_app(
        {
            "ENV_NAME": "development",
            "SQLALCHEMY_DATABASE_URI": database_url,
            # Tasks the import queues after its commit (the titles of the communes it changed, ADR 41) go to an
            # in-memory broker no worker reads: in production a worker runs them; the import's time is its own.
            "CELERY": {"task_always_eager": False, "broker_url": "memory://", "result_backend": None},
        }
    )


def _scope(code: str | None) -> tuple[int, str]:
    """The unit the file imports into: ``code``, or the province the demo data fills (the parent of its first
    commune's villages)."""
    from sqlalchemy import select

    from lms.extensions import db
    from lms.registry.models import AdminUnit, Household

    if code:
        unit = db.session.scalars(select(AdminUnit).where(AdminUnit.code == code, AdminUnit.valid_to.is_(None))).one()
        return unit.id, unit.code
    village = db.session.get_one(AdminUnit, db.session.scalar(select(Household.village_id).limit(1)))
    province_id = int(village.path.strip("/").split("/")[1])
    return province_id, db.session.get_one(AdminUnit, province_id).code


def make_file(rows: int, unit_id: int, seed: int) -> bytes:
    """The CSV: ``rows // 2`` stored persons with their occupation flipped, then new households of four."""
    from sqlalchemy import select

    from lms.extensions import db
    from lms.registry.models import AdminUnit, Household, Person, subtree

    scope = db.session.get_one(AdminUnit, unit_id)
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not secrets
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    existing = db.session.execute(
        select(AdminUnit.code, Household.code, Person.full_name, Person.birth_date, Person.occupation_group)
        .join(Household, Household.id == Person.household_id)
        .join(AdminUnit, AdminUnit.id == Household.village_id)
        .where(subtree(AdminUnit.path, scope.path), AdminUnit.valid_to.is_(None))
        .order_by(Person.id)
        .limit(rows // 2)
    ).all()
    villages = sorted({row[0] for row in existing})
    for village, household, name, birth, occupation in existing:
        flipped = OCCUPATIONS[1] if occupation == OCCUPATIONS[0] else OCCUPATIONS[0]
        writer.writerow([village, household, name, birth.strftime("%d/%m/%Y") if birth else "", "", "", flipped])
    tag = uuid.uuid4().hex[:6].upper()
    base = random.Random(tag).randrange(10**8, 9 * 10**8)  # noqa: S311 - new numbers on every run
    for i in range(rows - len(existing)):
        village = villages[(i // 4) % len(villages)]
        adult = i % 4 < 2
        birth = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2004) if adult else 2015}"
        id_number = f"099{(base + i) % 10**9:09d}" if adult and i % 8 < 2 else ""
        writer.writerow(
            [village, f"B{tag}-{i // 4}", f"Nguyễn Văn Bench {i}", birth, "Nam", id_number, OCCUPATIONS[i % 2]]
        )
    return out.getvalue().encode()


def copy_floor(content: bytes) -> float:
    """Seconds to COPY the file's rows into a temporary table of its columns, typed as the importer types them."""
    from lms.extensions import db

    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET datestyle = 'ISO, DMY'")
        started = time.perf_counter()
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_copy (village text, household text, full_name text, birth_date date,"
            " sex text, id_number text, occupation text)"
        )
        cursor.copy_expert("COPY bench_copy FROM STDIN (FORMAT csv, HEADER)", io.BytesIO(content))
        raw.commit()
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
        raw.commit()
        return seconds
    finally:
        raw.close()


def run_job(database_url: str, job_id: int) -> None:
    """In the child process: run the job as the worker does, print wall time and peak RSS as JSON."""
    app = _app(database_url)
    with app.app_context():
        from lms.extensions import db
        from lms.registry.importer import execute_job
        from lms.registry.models import ImportJob

        started = time.perf_counter()
        execute_job(job_id)
        wall = time.perf_counter() - started
        job = db.session.get_one(ImportJob, job_id)
        print(
            json.dumps(
                {
                    "wall": wall,
                    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "status": job.status,
                    "message": job.message,
                    "errors": (job.errors or [])[:3],
                }
            )
        )


def _child(database_url: str, job_id: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--database-url", database_url, "--job", str(job_id)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"{SCRIPT}: the import failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--unit", help="code of the unit imported into (default: the demo data's province)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--job", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    check_database(SCRIPT, args.database_url)
    if args.job:
        run_job(args.database_url, args.job)
        return
    app = _app(args.database_url)
    with app.app_context():
        from lms.extensions import db
        from lms.registry.importer import create_job
        from lms.registry.models import AdminUnit

        unit_id, code = _scope(args.unit)
        content = make_file(args.rows, unit_id, args.seed)
        db.session.rollback()
        floor = copy_floor(content)
        unit = db.session.get_one(AdminUnit, unit_id)
        results = {}
        job_id = None
        for dry_run in (True, False):
            if dry_run:
                job = create_job(
                    kind="households", filename="bench.csv", content=content, unit=unit, user=None, enqueue=False
                )
                job.dry_run = True
                db.session.commit()
                job_id = job.id
            else:
                from lms.registry.importer import confirm_job
                from lms.registry.models import ImportJob

                job = db.session.get_one(ImportJob, job_id)
                confirm_job(job, digest=job.preview_digest or "", user=None, enqueue=False)
                db.session.commit()
            results["preview" if dry_run else "apply"] = _child(args.database_url, job_id)
            db.session.expire_all()
            if results["preview"]["status"] != "previewed":
                break
    load = os.getloadavg()
    print(
        f"\n{args.rows:,}-row households CSV ({len(content) / 1024 / 1024:.1f} MiB) into {code}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; floor (COPY of the same rows): {floor:.2f} s\n"
    )
    print("| Run | Status | Wall time | vs COPY floor | Peak RSS |\n|---|---|---:|---:|---:|")
    for name, result in results.items():
        print(
            f"| {name} | {result['status']} | {result['wall']:.1f} s | {result['wall'] / floor:.0f}× | "
            f"{result['peak_rss_mib']:.0f} MiB |"
        )
        if result["status"] not in ("previewed", "succeeded"):
            print(f"  {result['message']} {result['errors']}")


if __name__ == "__main__":
    main()
