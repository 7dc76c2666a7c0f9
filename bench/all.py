"""Every benchmark, one after the other, each printing its figure as a ratio against its floor measured in the
same run (``make bench``; docs/benchmarks.md keeps the table):

- ``flask bench generate``: loading the demo population (rows/s; no floor);
- ``bench/import_load.py``: a households import, preview and apply, and its peak RSS — against COPY of the rows;
- ``bench/titles_eval.py``: a province's first titles evaluation and its re-run on real workers — against one
  grouped scan of the year's learning records;
- ``bench/titles_incremental.py``: one new learning record re-evaluated incrementally, in a small and a large
  commune — against one grouped scan of the commune's records;
- ``bench/attendance_load.py``: a 40-mark attendance batch, server time — against the same marks as one raw upsert;
- ``bench/dashboard_load.py``: the leaders' dashboard and the values API — against hello-world on the same gunicorn.

``--scale province`` (the default) is the issue's measurement: the 40 communes of the generated province (~607,000
persons, ~3 million learning records, a 100,000-row import) — about half an hour on 2 cores. ``--scale commune``
runs the same steps on one commune (~19,000 persons, a 10,000-row import, fewer requests) in a few minutes, to try
it out; its ratios are not the issue's figures.

Three PostgreSQL databases of the benchmarks' own are rebuilt: ``--database-url`` (the population, the import and
the titles) and the same name with ``_incremental``, ``_attendance`` and ``_dashboard`` (those scripts build their
own data).
PostgreSQL and Redis on 127.0.0.1 only (bench/_common.py refuses anything else).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from bench._common import check_broker, check_database  # noqa: E402

SCRIPT = "all"
SIZES = {  # per scale: import rows, attendance requests and classes, dashboard requests, incremental communes
    "commune": {"rows": 10_000, "requests": 60, "classes": 50, "dashboard": 60, "persons": ["2000", "20000"]},
    "province": {"rows": 100_000, "requests": 300, "classes": 500, "dashboard": 240, "persons": ["5000", "60000"]},
}


def _named(url: str, suffix: str) -> str:
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}{suffix}").render_as_string(hide_password=False)


def steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    size = SIZES[args.scale]
    python, flask = str(ROOT / ".venv/bin/python"), [str(ROOT / ".venv/bin/flask"), "--app", "lms"]
    db, broker = args.database_url, args.broker_url
    return [
        (
            "loading the population",
            [*flask, "bench", "generate", "--scale", args.scale, "--keep", "--yes", "--database-url", db],
        ),
        (
            "households import vs COPY",
            [python, "bench/import_load.py", "--database-url", db, "--rows", str(size["rows"])],
        ),
        ("learning records (not timed)", [python, "bench/titles_eval.py", "records", "--database-url", db]),
        (
            "titles evaluation vs grouped scan",
            [python, "bench/titles_eval.py", "run", "--database-url", db, "--broker-url", broker, "--workers", "2"],
        ),
        (
            "one new record, incremental titles vs grouped scan",
            [
                python,
                "bench/titles_incremental.py",
                "--database-url",
                _named(db, "_incremental"),
                "--persons",
                *size["persons"],
                "--yes",
            ],
        ),
        (
            "attendance batch vs raw upsert",
            [
                python,
                "bench/attendance_load.py",
                "--database-url",
                _named(db, "_attendance"),
                "--broker-url",
                broker,
                "--port",
                str(args.port),
                "--clients",
                "1",
                "--requests",
                str(size["requests"]),
                "--classes",
                str(size["classes"]),
                "--yes",
            ],
        ),
        (
            "dashboard vs hello-world",
            [
                python,
                "bench/dashboard_load.py",
                "--database-url",
                _named(db, "_dashboard"),
                "--broker-url",
                broker,
                "--port",
                str(args.port + 1),
                "--clients",
                "1",
                "8",
                "50",
                "--requests",
                str(size["dashboard"]),
                "--think",
                "1",
                "--rate",
                "100",
                "--yes",
            ],
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SIZES), default="province")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/lms_bench")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--port", type=int, default=8790, help="gunicorn's port (and the next one)")
    parser.add_argument("--only", nargs="+", help="run only the steps whose title contains one of these words")
    args = parser.parse_args(argv)
    check_database(SCRIPT, args.database_url)
    check_broker(SCRIPT, args.broker_url)
    started = time.monotonic()
    for title, command in steps(args):
        if args.only and not any(word in title for word in args.only):
            continue
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"\n## {title} ({args.scale} scale; load average {load})\n", flush=True)
        done = subprocess.run(command, cwd=ROOT, check=False)
        if done.returncode:
            sys.exit(f"{SCRIPT}: {title} failed ({done.returncode}): {' '.join(command)}")
    print(f"\nAll benchmarks: {(time.monotonic() - started) / 60:.1f} min.")


if __name__ == "__main__":
    main()
