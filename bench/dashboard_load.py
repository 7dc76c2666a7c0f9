"""The leaders' dashboard and the indicator-values API under concurrent clients, on PostgreSQL with gunicorn
(results in docs/benchmarks.md).

    .venv/bin/python bench/dashboard_load.py --database-url postgresql://postgres@127.0.0.1/lms_bench10 \\
        --clients 1 4 8 --requests 240 --yes

1. Rebuilds the schema of a database of its own (``lms_bench`` by default; created if missing) from the
   migrations, loads the official units and the shipped plans (``lms/targets/plans``).
2. Stores province-scale indicator values with bulk INSERTs: for Quảng Ngãi (51) and each of its communes and
   VILLAGES villages per commune (current map), and for Kon Tum (62), its districts and communes (the map before
   2025): every indicator of the Kon Tum plan, four year ends and twelve month ends, both bases.
3. HTTP: one province leader logs in once; for each client count, N threads share the session cookie and GET the
   same URL a fixed number of times in all (after a warm-up): the province dashboard (all communes ranked), a
   commune dashboard (its villages ranked), and the values API for the province's communes — and, as the floor,
   a hello-world route added to the same app on the same gunicorn (``hello_app``). Prints p50/p95/p99 latency and
   throughput per URL and client count, and each URL's throughput as a ratio of hello-world's at the same client
   count. Any answer but 200 counts as an error. ``--cache-url`` sets ``LMS_CACHE_URL`` of the gunicorn (a Redis
   URL: the scale-out set-up; ADR 27).

Only 127.0.0.1; every loop is bounded. The schema is emptied at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import String, cast, insert, select, text, update  # noqa: E402
from sqlalchemy.orm import aliased  # noqa: E402

from bench._common import check_database, empty_schema, gunicorn, percentile, refuse, reset_database  # noqa: E402

SCRIPT = "dashboard_load"
PROVINCE = "51"  # Quảng Ngãi, which took in Kon Tum in 2025
OLD_PROVINCE = "62"  # Kon Tum before 2025
PASSWORD = "bench-password-long-enough"  # noqa: S105 - a throw-away user of the benchmark database
MAX_REQUESTS = 5_000


def _refuse(message: str) -> None:
    refuse(SCRIPT, message)


def _check_targets(args: argparse.Namespace) -> None:
    check_database(SCRIPT, args.database_url)
    if args.requests > MAX_REQUESTS or args.villages > 40:
        _refuse(f"at most {MAX_REQUESTS} requests and 40 villages per commune")


def _app(args: argparse.Namespace) -> Flask:
    from lms import create_app

    return create_app(
        {
            "ENV_NAME": "development",
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "CELERY": {"broker_url": "memory://", "result_backend": None, "task_always_eager": True},
        }
    )


# --- data ----------------------------------------------------------------------------------------------------


@dataclass
class Arranged:
    province_id: int
    commune_id: int
    plan_id: int
    values: int
    villages: int
    seconds: float


def _arrange(app: Flask, args: argparse.Namespace) -> Arranged:
    from flask_migrate import upgrade

    from lms.auth.models import Role
    from lms.auth.services import assign_role, create_user
    from lms.extensions import db
    from lms.registry import services as registry
    from lms.registry.models import AdminUnit, UnitLevel
    from lms.registry.text import collation_key, fold
    from lms.targets import plans
    from lms.targets.models import Indicator, IndicatorValue, Plan

    rng = random.Random(args.seed)  # noqa: S311 - reproducible made-up figures, not secrets
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        registry.load_reference_units()
        plans.load_plans()
        db.session.commit()
        province = registry.find_unit(PROVINCE, UnitLevel.PROVINCE)
        old = registry.find_unit(OLD_PROVINCE, UnitLevel.PROVINCE, on=date(2022, 5, 19))
        assert province is not None
        assert old is not None
        plan = db.session.scalar(select(Plan).where(Plan.code == "kon-tum-1514-2022", Plan.active.is_(True)))
        assert plan is not None, "the Kon Tum plan was not loaded"
        indicator_ids = list(db.session.scalars(select(Indicator.id).where(Indicator.plan_id == plan.id)))
        communes = list(
            db.session.scalars(select(AdminUnit).where(AdminUnit.parent_id == province.id).order_by(AdminUnit.sort_key))
        )
        # Villages: bulk-inserted with temporary paths, then their paths set in one statement.
        rows = []
        for commune in communes:
            for number in range(1, args.villages + 1):
                name = f"Thôn {number}"
                rows.append(
                    {
                        "code": f"B{commune.code}-{number:02d}",
                        "name": name,
                        "kind": "Thôn",
                        "level": UnitLevel.VILLAGE.value,
                        "parent_id": commune.id,
                        "path": f"tmp:{commune.code}:{number}",
                        "area_class": commune.area_class,
                        "name_folded": fold(name),
                        "sort_key": collation_key(name),
                    }
                )
        if rows:
            db.session.execute(insert(AdminUnit), rows)
            parent = aliased(AdminUnit)
            db.session.execute(
                update(AdminUnit)
                .where(AdminUnit.path.like("tmp:%"))
                .values(
                    path=select(parent.path).where(parent.id == AdminUnit.parent_id).scalar_subquery()
                    + cast(AdminUnit.id, String)
                    + "/"
                )
                .execution_options(synchronize_session=False)
            )
        current = [province.id] + [c.id for c in communes]
        current += list(
            db.session.scalars(
                select(AdminUnit.id).where(AdminUnit.level == UnitLevel.VILLAGE.value, AdminUnit.code.like("B%-%"))
            )
        )
        legacy = list(db.session.scalars(select(AdminUnit.id).where(AdminUnit.path.startswith(old.path))))
        periods = [(date(y, 12, 31), "year") for y in (2022, 2023, 2024, 2025)]
        periods += [
            (date(2025, m + 1, 1) - date.resolution if m < 12 else date(2025, 12, 31), "month") for m in range(1, 13)
        ]
        started = time.perf_counter()
        count = 0
        batch: list[dict[str, Any]] = []
        for structure, units in (("current", current), ("pre2025", legacy)):
            for unit_id in units:
                for indicator_id in indicator_ids:
                    for period_end, kind in periods:
                        for basis in ("official", "projection"):
                            denominator = rng.randint(50, 400)
                            batch.append(
                                {
                                    "indicator_id": indicator_id,
                                    "unit_id": unit_id,
                                    "period_end": period_end,
                                    "period_kind": kind,
                                    "structure": structure,
                                    "basis": basis,
                                    "numerator": rng.randint(0, denominator),
                                    "denominator": denominator,
                                }
                            )
                if len(batch) >= 5000:
                    db.session.execute(insert(IndicatorValue), batch)
                    count += len(batch)
                    batch = []
        if batch:
            db.session.execute(insert(IndicatorValue), batch)
            count += len(batch)
        user = create_user("bench.leader@example.vn", "Bench leader", PASSWORD)
        assign_role(user, Role.PROVINCE_LEADER, province)
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        return Arranged(province.id, communes[0].id, plan.id, count, len(rows), time.perf_counter() - started)


# --- HTTP ----------------------------------------------------------------------------------------------------

HELLO = "/bench/hello"


def hello_app() -> Flask:
    """The application with one more route that does nothing: the floor the dashboard is measured against (the same
    gunicorn, the same middleware, hooks and security headers; no database, no template)."""
    from lms import create_app

    app = create_app()
    app.add_url_rule(HELLO, "bench_hello", lambda: "hello world")
    return app


def _gunicorn(args: argparse.Namespace, log: Path) -> AbstractContextManager[None]:
    return gunicorn(
        SCRIPT,
        database_url=args.database_url,
        broker_url=args.broker_url,
        workers=args.workers,
        threads=args.threads,
        port=args.port,
        log=log,
        app="bench.dashboard_load:hello_app()",
    )


def _request(
    port: int,
    method: str,
    path: str,
    cookie: str = "",
    body: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _login(port: int) -> str:
    """Log the leader in once; the session cookie is shared by every client thread."""
    status, headers, page = _request(port, "GET", "/login")
    cookie = headers.get("set-cookie", "").split(";")[0]
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if status != 200 or match is None:
        _refuse("no login form")
    body = urllib.parse.urlencode(
        {"email": "bench.leader@example.vn", "password": PASSWORD, "csrf_token": match.group(1).decode()}
    )
    status, headers, _ = _request(port, "POST", "/login", cookie, body)
    if status != 302:
        _refuse(f"login answered {status}")
    return headers.get("set-cookie", "").split(";")[0]


@dataclass
class RunResult:
    name: str
    clients: int
    requests: int
    errors: int
    wall: float
    latencies: list[float]
    first_error: str = ""


def _run(
    args: argparse.Namespace, cookie: str, name: str, path: str, clients: int, *, think: float = 0.0, rate: float = 0.0
) -> RunResult:
    """``clients`` threads GET ``path``: back to back (closed loop), or each waiting an exponential think time of
    mean ``think`` seconds after each answer (leaders reading pages), or — ``rate`` > 0 — taking requests that
    arrive at ``rate`` per second (Poisson, open loop: the latency counts from the arrival, so time spent waiting
    for a free client is in it)."""
    total = max(args.requests, clients * args.per_client)
    per_client = total // clients
    if think or rate:
        name = f"{name} ({f'think {think:g} s' if think else f'{rate:g} arrivals/s'})"
    rng = random.Random(args.seed)  # noqa: S311 - reproducible pacing, not secrets
    arrivals: list[float] = []
    if rate:
        at = 0.0
        for _ in range(per_client * clients):
            at += rng.expovariate(rate)
            arrivals.append(at)
    pending = iter(range(len(arrivals)))
    lock = threading.Lock()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    clock: dict[str, float] = {}
    start = threading.Barrier(clients, action=lambda: clock.setdefault("start", time.perf_counter()))

    def one(index: int, since: float | None = None) -> None:
        began = time.perf_counter() if since is None else since
        status, _headers, body = _request(args.port, "GET", path, cookie)
        elapsed = time.perf_counter() - began
        if status == 200:
            latencies[index].append(elapsed)
        else:
            errors[index].append(f"{status}: {body[:200]!r}")

    def client(index: int) -> None:
        pause = random.Random(args.seed + index)  # noqa: S311
        for _ in range(args.warmup):
            _request(args.port, "GET", path, cookie)
        start.wait()
        if rate:
            while True:
                with lock:
                    number = next(pending, None)
                if number is None:
                    return
                due = clock["start"] + arrivals[number]
                time.sleep(max(0.0, due - time.perf_counter()))
                one(index, due)
        for _ in range(per_client):
            one(index)
            if think:
                time.sleep(pause.expovariate(1 / think))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - clock["start"]
    flat = [x for part in latencies for x in part]
    errs = [e for part in errors for e in part]
    return RunResult(name, clients, per_client * clients, len(errs), wall, flat, errs[0] if errs else "")


def _report(results: list[RunResult]) -> None:
    print("\n| URL | Clients | Requests | Errors | p50 (ms) | p95 (ms) | p99 (ms) | Requests/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        if not r.latencies:
            print(f"| {r.name} | {r.clients} | {r.requests} | {r.errors} | – | – | – | – |  {r.first_error}")
            continue
        print(
            f"| {r.name} | {r.clients} | {r.requests} | {r.errors} | {percentile(r.latencies, 0.5) * 1000:.0f} | "
            f"{percentile(r.latencies, 0.95) * 1000:.0f} | {percentile(r.latencies, 0.99) * 1000:.0f} | "
            f"{len(r.latencies) / r.wall:.1f} |"
        )
    hello = {r.clients: len(r.latencies) / r.wall for r in results if r.name == "hello world" and r.latencies}
    results = [r for r in results if "(" not in r.name]  # paced rows: their throughput is the pace, no ratio
    print("\n| URL | Clients | Throughput vs hello-world |")
    print("|---|---:|---:|")
    for r in results:
        if r.name != "hello world" and r.latencies and hello.get(r.clients):
            ratio = hello[r.clients] / (len(r.latencies) / r.wall)
            print(f"| {r.name} | {r.clients} | 1/{ratio:.1f} |")
    for r in results:
        if r.first_error:
            print(f"first error ({r.name}, {r.clients} clients): {r.first_error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/lms_bench")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--cache-url", default="", help="LMS_CACHE_URL of the gunicorn (empty: the embedded default)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--requests", type=int, default=240, help="requests per URL and client count")
    parser.add_argument(
        "--per-client", type=int, default=20, help="at least this many requests per client (50 clients: 1,000)"
    )
    parser.add_argument(
        "--think",
        type=float,
        nargs="*",
        default=[],
        help="also run the largest client count as leaders reading: this mean think time (s) after each page",
    )
    parser.add_argument(
        "--rate", type=float, nargs="*", default=[], help="also run open loop: this many arrivals per second"
    )
    parser.add_argument("--warmup", type=int, default=3, help="requests per client before the clock starts")
    parser.add_argument("--villages", type=int, default=10, help="villages per commune")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (more than 1: gthread workers)")
    parser.add_argument("--port", type=int, default=8710)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--api-query",
        default="unit={province}&below=children&period=2025&plan=kon-tum-1514-2022&per_page=100",
        help="query string of GET /api/v1/targets/values ({province}, {plan} are filled in)",
    )
    parser.add_argument("--yes", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    _check_targets(args)
    reset_database(SCRIPT, args.database_url, yes=args.yes)
    try:
        app = _app(args)
        arranged = _arrange(app, args)
        print(f"stored {arranged.values:,} indicator values ({arranged.villages} villages) in {arranged.seconds:.1f} s")
        print(
            f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"gunicorn {args.workers} workers" + (f" × {args.threads} threads (gthread)" if args.threads > 1 else "")
        )
        if args.cache_url:
            os.environ["LMS_CACHE_URL"] = args.cache_url
        urls = {
            "hello world": HELLO,
            "province dashboard": f"/targets/units/{arranged.province_id}",
            "commune dashboard": f"/targets/units/{arranged.commune_id}",
            "values API": "/api/v1/targets/values?"
            + args.api_query.format(province=arranged.province_id, plan=arranged.plan_id),
        }
        results = []
        with tempfile.TemporaryDirectory() as tmp, _gunicorn(args, Path(tmp) / "gunicorn.log"):
            cookie = _login(args.port)
            for name, path in urls.items():
                status, _, body = _request(args.port, "GET", path, cookie)
                print(f"{name}: GET {path} → {status}, {len(body):,} bytes")
                for clients in args.clients:
                    results.append(_run(args, cookie, name, path, clients))
                if name == "hello world":
                    continue
                for think in args.think:
                    results.append(_run(args, cookie, name, path, max(args.clients), think=think))
                for rate in args.rate:
                    results.append(_run(args, cookie, name, path, max(args.clients), rate=rate))
        _report(results)
    finally:
        if not args.keep:
            empty_schema(args.database_url)


if __name__ == "__main__":
    main()
