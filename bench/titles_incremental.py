"""One new learning record → its commune's titles, incremental (ADR 29) against the full evaluation, on PostgreSQL.

    .venv/bin/python bench/titles_incremental.py --database-url postgresql://postgres@127.0.0.1/lms_bench_inc \\
        --persons 2000 20000 --yes

Builds (in a throw-away database, its schema rebuilt) one commune per size: households of 4 over 10 villages, a
clan of every third household, an organisation of every fifth person, 0–5 learning records per person of the year
(seeded); evaluates each in full once and ANALYZEs (as a run does after a large write). Then per commune, median
of 5:

* **floor**: one grouped scan of the commune's records of the year (``SELECT person_id, count(*), sum(hours) …
  GROUP BY person_id``, rows fetched) — ADR 8's floor;
* **full**: the full evaluation, nothing changed (what a mark cost before ADR 29);
* **change**: one record inserted for one person and announced as courses does, committed (the writer: metrics,
  mark), then the mark's evaluation under the commune-year's lock, committed — each timed, both reported;
* the statements each sends.

Prints a table of milliseconds and ratios against the floor; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, insert, select  # noqa: E402

from bench._common import check_database, reset_database  # noqa: E402

SCRIPT = "titles_incremental"
YEAR = 2025
KINDS = ["class_completion", "policy_study", "it_module", "activity_organised"]
CATEGORIES = [None, "needs_based", "foreign_language", "ethnic_language"]
COMMUNES = ["00004", "00008", "00025", "00070"]


def build(commune: Any, persons: int, rnd: Random) -> list[int]:
    from courses.models import LearningRecord
    from lms.extensions import db
    from lms.registry.models import AdminUnit, Clan, Household, Organisation, OrganisationMember, Person, UnitLevel
    from lms.registry.text import fold, person_sort_key

    villages = []
    for n in range(10):
        village = AdminUnit(
            code=f"{commune.code}-V{n}",
            name=f"Thôn {n}",
            kind="Thôn",
            level=UnitLevel.VILLAGE.value,
            parent=commune,
            path=f"tmp:{commune.code}-{n}",
            valid_from=commune.valid_from,
            valid_to=commune.valid_to,
            area_class=commune.area_class,
        )
        db.session.add(village)
        db.session.flush()
        village.path = f"{commune.path}{village.id}/"
        villages.append(village)
    db.session.flush()
    db.session.execute(
        insert(Household),
        [{"village_id": villages[n % 10].id, "code": f"{commune.code}-H{n}"} for n in range(persons // 4)],
    )
    households = list(
        db.session.execute(
            select(Household.id, Household.village_id).where(Household.village_id.in_([v.id for v in villages]))
        ).tuples()
    )
    rows = []
    for n in range(persons):
        household, village = households[n % len(households)]
        name = f"Người {n}"
        rows.append(
            {
                "full_name": name,
                "name_folded": fold(name),
                "sort_key": person_sort_key(name),
                "unit_id": village,
                "household_id": household,
                "birth_date": date(1940 + rnd.randrange(84), rnd.randrange(1, 13), 1),
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Person), rows[start : start + 5000])
    people = list(
        db.session.scalars(select(Person.id).where(Person.unit_id.in_([v.id for v in villages])).order_by(Person.id))
    )
    clan = Clan(commune_id=commune.id, name=f"Họ Lê {commune.code}")
    db.session.add(clan)
    organisation = Organisation(commune_id=commune.id, code=f"UB-{commune.code}", name="Ủy ban")
    db.session.add(organisation)
    db.session.flush()
    from lms.registry.models import clan_household

    db.session.execute(insert(clan_household), [{"clan_id": clan.id, "household_id": h} for h, _ in households[::3]])
    db.session.execute(
        insert(OrganisationMember), [{"organisation_id": organisation.id, "person_id": p} for p in people[::5]]
    )
    records = [
        {
            "person_id": pid,
            "year": YEAR,
            "kind": rnd.choice(KINDS),
            "category": rnd.choice(CATEGORIES),
            "module_code": rnd.choice([None, "m1", "m2"]),
            "hours": Decimal(rnd.choice(["1", "2.5", "4", "12"])),
            "completed_on": date(YEAR, 6, 1),
            "commune_id": commune.id,
            "source_key": f"bench:{pid}:{n}",
        }
        for pid in people
        for n in range(rnd.randrange(6))
    ]
    for start in range(0, len(records), 5000):
        db.session.execute(insert(LearningRecord), records[start : start + 5000])
    db.session.commit()
    return people


def analyze() -> None:
    """Fresh statistics after the bulk load (as the province benchmark does), in autocommit."""
    from sqlalchemy import text

    from lms.extensions import db

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


def timed(fn: Any, counter: Counter) -> tuple[float, int]:
    before = counter.count
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000, counter.count - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--persons", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slowest", action="store_true", help="print the slowest statements of the last change")
    parser.add_argument("--profile", action="store_true", help="profile the last change's evaluation")
    parser.add_argument("--yes", action="store_true", help="rebuild the database's schema without asking")
    args = parser.parse_args()
    check_database(SCRIPT, args.database_url)
    reset_database(SCRIPT, args.database_url, yes=args.yes)

    from flask_migrate import upgrade

    from config import Config
    from courses.models import LearningRecord
    from lms import create_app
    from lms.core.signals import learning_records_changed
    from lms.extensions import db
    from lms.registry import services as registry
    from lms.registry.models import UnitLevel
    from lms.titles import criteria, runs

    # Tasks go to an in-process broker nobody consumes: the benchmark calls the evaluation itself.
    celery = {**Config.CELERY, "broker_url": "memory://", "result_backend": None}
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "CELERY": celery})
    rnd = Random(29)  # noqa: S311 - seeded data, not secrets
    results = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        registry.load_reference_units()
        criteria.load_shipped_criteria()
        db.session.commit()
        counter = Counter()
        event.listen(db.engine, "before_cursor_execute", counter)
        slow: list[tuple[float, str]] = []

        def started(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            conn.info["t0"] = time.perf_counter()

        def finished(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            slow.append((time.perf_counter() - conn.info.pop("t0", time.perf_counter()), statement))

        if args.slowest:
            event.listen(db.engine, "before_cursor_execute", started)
            event.listen(db.engine, "after_cursor_execute", finished)
        for code, persons in zip(COMMUNES, args.persons, strict=False):
            commune = registry.find_unit(code, UnitLevel.COMMUNE)
            assert commune is not None
            people = build(commune, persons, rnd)
            analyze()
            runs.evaluate_locked(commune.id, YEAR, force=True)
            db.session.commit()
            # The first evaluation wrote a row per subject into tables analysed empty: a run ANALYZEs them after
            # such a write (runs.analyze_after); without it the planner keeps reading eligibility by commune.
            analyze()
            db.session.execute(func.now().select())  # a warm connection
            db.session.commit()

            def floor(ids: list[int] = people) -> None:
                db.session.execute(
                    select(LearningRecord.person_id, func.count(), func.sum(LearningRecord.hours))
                    .where(LearningRecord.year == YEAR, LearningRecord.person_id.in_(select(func.unnest(ids))))
                    .group_by(LearningRecord.person_id)
                ).all()
                db.session.rollback()

            def full(commune_id: int = commune.id) -> None:
                runs.evaluate_locked(commune_id, YEAR, force=True)
                db.session.commit()

            samples: dict[str, list[tuple[float, int]]] = {"floor": [], "full": [], "writer": [], "evaluation": []}
            for n in range(args.repeats):
                samples["floor"].append(timed(floor, counter))
                samples["full"].append(timed(full, counter))
                someone = people[(n * 7919) % len(people)]

                def write(pid: int = someone, n: int = n, commune_id: int = commune.id) -> None:
                    db.session.execute(
                        insert(LearningRecord).values(
                            person_id=pid,
                            year=YEAR,
                            kind="class_completion",
                            category="needs_based",
                            hours=Decimal(4),
                            completed_on=date(YEAR, 7, 1),
                            commune_id=commune_id,
                            source_key=f"bench:new:{pid}:{n}",
                        )
                    )
                    learning_records_changed.send(None, pairs={(commune_id, YEAR)}, persons={(pid, YEAR)})
                    db.session.commit()

                def evaluate(commune_id: int = commune.id) -> None:
                    outcome = runs.evaluate_locked(commune_id, YEAR, force=False)
                    assert outcome.summary["citizen"]["subjects"] == 1, outcome.summary  # incremental
                    db.session.commit()

                samples["writer"].append(timed(write, counter))
                slow.clear()
                if args.profile and n == args.repeats - 1:
                    import cProfile
                    import pstats

                    profile = cProfile.Profile()
                    profile.enable()
                    samples["evaluation"].append(timed(evaluate, counter))
                    profile.disable()
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
                else:
                    samples["evaluation"].append(timed(evaluate, counter))
            for seconds, statement in sorted(slow, reverse=True)[:25] if args.slowest else []:
                print(f"{seconds * 1000:.1f} ms: {statement[:160]!r}")
            medians = {k: statistics.median(ms for ms, _ in v) for k, v in samples.items()}
            statements = {k: v[-1][1] for k, v in samples.items()}
            results.append((persons, medians, statements))
    print(f"\nload average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'persons':>8} | {'floor ms':>9} | {'full ms':>8} | {'change ms (writer + evaluation)':>32} | ratios")
    for persons, m, s in results:
        change = m["writer"] + m["evaluation"]
        print(
            f"{persons:>8,} | {m['floor']:>9.1f} | {m['full']:>8.1f} | "
            f"{change:>9.1f} ({m['writer']:.1f} + {m['evaluation']:.1f}) | "
            f"full {m['full'] / m['floor']:.1f}× floor, change {change / m['floor']:.2f}× floor, "
            f"{m['full'] / change:.0f}× faster than full; statements: writer {s['writer']}, "
            f"evaluation {s['evaluation']}, full {s['full']}"
        )


if __name__ == "__main__":
    main()
