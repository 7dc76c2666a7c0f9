"""Evaluation runs: one commune-year evaluated under its lock, and a whole scope evaluated as a Celery chord.

The lock is the ``EvaluationState`` row of the commune-year: inserted if missing, then ``SELECT … FOR UPDATE``
(PostgreSQL). SQLite ignores ``FOR UPDATE`` but every transaction here begins IMMEDIATE (ADR 3), which serialises
writers anyway. Two tasks for one commune-year therefore take turns, and what the second does depends on why it
runs (ADR 9):

* a **mark** (a new learning record, an assessment…): if the mark is already clear when it gets the lock, the
  evaluation that cleared it ran after the marking transaction had committed (the marking upsert holds the same
  row lock until its commit), so its result is current: skip;
* a **run** (a full evaluation of a province, a re-run after loading criteria): evaluate unless nothing the
  commune's evaluation reads has changed since its last full evaluation — no mark pending, the same engine, criteria
  sets and registry version (``inputs_key``, ADR 41) — in which case its stored result stands and it is counted as
  unchanged;
* a **reconciliation** (nightly): always evaluate, and compare every stored result, so that what was written behind
  the app's back (which neither marks nor bumps a registry version) is found and repaired.

A run's progress is counted in SQL (``done = done + 1``), exactly once per commune thanks to the
``evaluation_run_commune`` row written in the same transaction as the evaluation. Whoever sees the last commune
finish (the chord's roll-up or, without a result backend, the last commune task) closes the run with its summary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import Select, and_, case, func, insert, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite

from lms import work
from lms.auth.models import User
from lms.celery import enqueue_after_commit
from lms.core import formatting
from lms.extensions import db, utcnow
from lms.registry.models import (
    AdminUnit,
    Clan,
    Organisation,
    OrganisationMember,
    Person,
    RegistryVersion,
    UnitLevel,
    clan_household,
    subtree,
)
from lms.titles import criteria as crit
from lms.titles import dirty, engine, incremental
from lms.titles.models import (
    Eligibility,
    EvaluationRun,
    EvaluationRunCommune,
    EvaluationState,
    RunStatus,
    SubjectType,
    Title,
)

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
FULL = "full"
RECONCILE = "reconcile"
FINISHED = (RunStatus.DONE.value, RunStatus.FAILED.value)


class RunRefused(ValueError):
    """A run cannot be started; the message says why and what to choose instead."""


@dataclass
class Outcome:
    """What one evaluation of a commune-year did."""

    evaluated: bool  # False: skipped, an evaluation after the last mark had already run, or nothing changed
    summary: dict[str, Any] = field(default_factory=dict)
    pending: bool = False  # a mark was set when the evaluation got the lock
    unchanged: bool = False  # a run's commune left as it was: nothing it reads changed since its last evaluation

    @property
    def changed(self) -> int:
        if self.unchanged:  # its summary is the last evaluation's
            return 0
        return sum(int(counts.get("changed", 0)) for counts in self.summary.values())

    @property
    def drift(self) -> int:
        """Rows the engine changed although nothing had announced a change: inputs written behind the outbox's
        back (a script, a lost mark) or an engine that is not deterministic. Should be 0."""
        return 0 if self.pending else self.changed


def _upsert(model: type, rows: list[dict[str, Any]], keys: list[str]) -> Any:
    """``INSERT … ON CONFLICT (keys) DO NOTHING``; PostgreSQL and SQLite spell it the same way."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return db.session.execute(dialect.insert(model).values(rows).on_conflict_do_nothing(index_elements=keys))


# --- one commune-year --------------------------------------------------------------------------------------------


def evaluate_locked(commune_id: int, year: int, *, force: bool, verify: bool = False) -> Outcome:
    """Evaluate one commune and year under its lock, in the caller's transaction (the caller commits).

    ``force=False`` (a mark's task) skips when the mark is clear by the time the lock is ours; ``force=True`` (a
    run) evaluates unless no mark is pending and ``inputs_key`` says that nothing else it reads changed since the
    last full evaluation (ADR 41). The mark is cleared only if it was not set again after this evaluation started.
    ``verify`` (reconciliation) always evaluates, also recomputes rows whose inputs did not change and repairs those
    whose stored result differs, with an audit event each.
    """
    started = utcnow()
    _upsert(EvaluationState, [{"commune_id": commune_id, "year": year, "summary": {}}], ["commune_id", "year"])
    # The registry version is read under the lock and before anything else: a change committed after this read
    # bumps it past the number stored below, so the next run evaluates again whatever this one saw of it.
    state = db.session.execute(
        select(
            EvaluationState.marked_at,
            EvaluationState.partial,
            EvaluationState.metrics_key,
            EvaluationState.inputs_key,
            EvaluationState.summary,
            func.coalesce(RegistryVersion.version, 0).label("registry_version"),
        )
        .outerjoin(RegistryVersion, RegistryVersion.commune_id == EvaluationState.commune_id)
        .where(EvaluationState.commune_id == commune_id, EvaluationState.year == year)
        .with_for_update(of=EvaluationState)
    ).one()
    marked_at = state.marked_at
    if marked_at is None and not force:
        return Outcome(evaluated=False)
    key = None
    if marked_at is None and force and not verify and state.inputs_key is not None and not _failed(state.summary):
        key = engine.inputs_key(crit.active_definitions(), state.registry_version)
        if state.inputs_key == key:
            return Outcome(evaluated=False, summary=state.summary, unchanged=True)
    where = (EvaluationState.commune_id == commune_id, EvaluationState.year == year)
    # A mark that names its subjects is evaluated incrementally (ADR 29) while title_person_metric is complete for
    # the active metrics; a run, a whole-commune mark or a change of criteria takes the full evaluation.
    dirty = incremental.pending(commune_id, year) if (not force and state.partial) else None
    if dirty is not None and state.metrics_key != engine.metrics_key(engine.active_metrics()):
        dirty = None
    if dirty is None and key is None:  # what the full evaluation is about to read, as it starts
        key = engine.inputs_key(crit.active_definitions(), state.registry_version)
    if dirty is not None:
        summary = engine.evaluate_commune(commune_id, year, dirty=dirty)
    elif verify:
        repairs: list[dict[str, Any]] = []
        summary = engine.evaluate_commune(commune_id, year, repairs=repairs)
        _audit_repairs(commune_id, year, repairs)
    else:
        summary = engine.evaluate_commune(commune_id, year)
    if summary.get(Title.CITIZEN.value, {}).get("changed"):
        persons = dirty.get(SubjectType.PERSON.value, set()) if dirty is not None else None
        _mark_organisations_elsewhere(commune_id, year, started, persons)
    if summary.get(Title.FAMILY.value, {}).get("changed"):
        _mark_clans_elsewhere(commune_id, year, started)
    incremental.clear(commune_id, year)
    db.session.execute(
        update(EvaluationState)
        .where(*where, EvaluationState.marked_at <= started)
        .values(marked_at=None, partial=False)
    )
    if dirty is not None:
        # The stored summary stays the last full evaluation's (a run's roll-up sums them), so the next run evaluates
        # this commune in full again: inputs_key no longer describes what the summary counts.
        db.session.execute(
            update(EvaluationState).where(*where).values(evaluated_at=utcnow(), inputs_key=None, **work.CLEARED)
        )
    else:
        db.session.execute(
            update(EvaluationState)
            .where(*where)
            .values(
                evaluated_at=utcnow(),
                summary=summary,
                metrics_key=engine.metrics_key(engine.active_metrics()),
                inputs_key=key,
                **work.CLEARED,
            )
        )
    return Outcome(evaluated=True, summary=summary, pending=marked_at is not None)


def _failed(summary: dict[str, Any] | None) -> bool:
    """The last evaluation could not score some subjects (they kept their previous result): try them again."""
    return any(isinstance(counts, dict) and counts.get("failed") for counts in (summary or {}).values())


#: Rows modified since the last ANALYZE of a table written by evaluation, beyond which it is analysed at once ...
ANALYZE_ROWS = 10_000
#: ... when they are also this share of its rows: half, i.e. the table doubled since its statistics were taken. A
#: plan needs the size right within a factor, not to the tenth; at 10 % (autovacuum's own threshold) a province's
#: first run, growing eligibility from nothing to 765 k rows, analysed each table about 45 times (4.9 s of worker
#: time), at a half about 7.
ANALYZE_SHARE = 0.5
ANALYZED_TABLES = ("eligibility", "title_person_metric", "eligibility_breakdown")


def analyze_after(outcome: Outcome | None) -> list[str]:
    """PostgreSQL, after the evaluation's commit: ANALYZE the tables that evaluations write if they changed a lot
    since their statistics were taken, so the next communes' statements are planned on the tables' real size (the
    province benchmark saw the planner keep an empty table's plan and one COPY take 30 s until ANALYZE). Its own
    short transaction; never raises (autovacuum catches up anyway). Returns the tables analysed."""
    if outcome is None or outcome.changed < ANALYZE_ROWS or db.session.get_bind().dialect.name != "postgresql":
        return []
    try:
        stale = [
            name
            for (name,) in db.session.execute(
                text(
                    "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(:names)"
                    " AND n_mod_since_analyze >= GREATEST(:rows, :share * n_live_tup)"
                ),
                {"names": list(ANALYZED_TABLES), "rows": ANALYZE_ROWS, "share": ANALYZE_SHARE},
            )
        ]
        if stale:
            db.session.execute(text(f"ANALYZE {', '.join(sorted(stale))}"))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("titles: ANALYZE after a large evaluation failed")
        return []
    return stale


def _audit_repairs(commune_id: int, year: int, repairs: list[dict[str, Any]]) -> None:
    """One audit event per eligibility row that reconciliation found changed behind the app's back and rewrote."""
    if not repairs:
        return
    from lms.core.models import AuditEvent

    now = utcnow()
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "action": "eligibility.repaired",
                "object_type": "eligibility",
                "object_id": str(repair["id"]),
                "details": {**repair, "commune_id": commune_id, "year": year},
                "at": now,
            }
            for repair in repairs
        ],
    )
    log.warning("titles: commune %s, %s: %s tampered eligibility rows repaired", commune_id, year, len(repairs))


def _mark_organisations_elsewhere(commune_id: int, year: int, since: datetime, persons: set[int] | None = None) -> None:
    """A unit's title counts its members' citizen results, and members may live in another commune: when this
    evaluation changed citizens who belong to organisations of other communes, those communes are marked too — by a
    task after the commit, so this transaction never waits on another commune's lock. ``persons``: an incremental
    evaluation's dirty persons, the only citizens it can have changed (not every row of the commune looked at)."""
    only = OrganisationMember.person_id.in_(sorted(persons)) if persons is not None else true()
    communes = sorted(
        set(
            db.session.scalars(
                select(Organisation.commune_id)
                .distinct()
                .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
                .join(
                    Eligibility,
                    and_(
                        Eligibility.subject_type == SubjectType.PERSON.value,
                        Eligibility.subject_id == OrganisationMember.person_id,
                    ),
                )
                .where(
                    Eligibility.commune_id == commune_id,
                    Eligibility.year == year,
                    Eligibility.title == Title.CITIZEN.value,
                    Eligibility.computed_at >= since,
                    Organisation.commune_id != commune_id,
                    only,
                )
            )
        )
    )
    _mark_elsewhere(communes, year)


def _mark_clans_elsewhere(commune_id: int, year: int, since: datetime) -> None:
    """A clan's share counts its households' Learning Family recognitions and projects their eligibility (ADR 51,
    amended), and a clan filed under another commune may count households of this one: when this evaluation changed
    families of such clans, their communes are marked as :func:`_mark_organisations_elsewhere` marks units'."""
    communes = sorted(
        set(
            db.session.scalars(
                select(Clan.commune_id)
                .distinct()
                .join(clan_household, clan_household.c.clan_id == Clan.id)
                .join(
                    Eligibility,
                    and_(
                        Eligibility.subject_type == SubjectType.HOUSEHOLD.value,
                        Eligibility.subject_id == clan_household.c.household_id,
                    ),
                )
                .where(
                    Eligibility.commune_id == commune_id,
                    Eligibility.year == year,
                    Eligibility.title == Title.FAMILY.value,
                    Eligibility.computed_at >= since,
                    Clan.commune_id != commune_id,
                )
            )
        )
    )
    _mark_elsewhere(communes, year)


def _mark_elsewhere(communes: list[int], year: int) -> None:
    if communes:
        # Their results are out of date, and the next run must know it even if the task below is lost (the broker
        # away at the commit): their key goes, in this transaction, on the rows no evaluation holds right now —
        # waiting for those could deadlock two communes marking each other; one that is being evaluated stores
        # its key when it ends, and only the task's mark then says that it must be evaluated again.
        locked = (
            select(EvaluationState.commune_id)
            .where(EvaluationState.commune_id.in_(communes), EvaluationState.year == year)
            .with_for_update(skip_locked=True)
        )
        db.session.execute(
            update(EvaluationState)
            .where(EvaluationState.year == year, EvaluationState.commune_id.in_(locked))
            .values(inputs_key=None)
            .execution_options(synchronize_session=False)
        )
        enqueue_after_commit("titles.mark_communes", pairs=[[other, year] for other in communes])


# --- runs --------------------------------------------------------------------------------------------------------


def communes_under(unit: AdminUnit) -> Select:
    """The ids of the current communes in ``unit``'s subtree (the unit itself if it is a commune)."""
    return (
        select(AdminUnit.id)
        .where(
            subtree(AdminUnit.path, unit.path), AdminUnit.level == UnitLevel.COMMUNE.value, AdminUnit.valid_to.is_(None)
        )
        .order_by(AdminUnit.id)
    )


def _run_communes(run: EvaluationRun) -> list[int]:
    if run.kind == RECONCILE:
        # Every commune-year ever evaluated or marked for the year, under the run's unit.
        unit = db.session.get(AdminUnit, run.unit_id)
        assert unit is not None
        stmt = (
            select(EvaluationState.commune_id)
            .join(AdminUnit, AdminUnit.id == EvaluationState.commune_id)
            .where(EvaluationState.year == run.year, subtree(AdminUnit.path, unit.path))
            .order_by(EvaluationState.commune_id)
        )
        return list(db.session.scalars(stmt))
    unit = db.session.get(AdminUnit, run.unit_id)
    assert unit is not None
    return list(db.session.scalars(communes_under(unit)))


def start_run(unit: AdminUnit, year: int, *, kind: str = FULL, user: Any = None) -> EvaluationRun:
    """Record a run of ``unit`` (a commune, a province, the country) for ``year``; the chord is launched by a
    task sent after the caller commits."""
    if kind not in (FULL, RECONCILE):
        raise RunRefused(f"unknown kind of run {kind!r}: use {FULL!r} or {RECONCILE!r}")
    if unit.level == UnitLevel.VILLAGE or unit.valid_to is not None:
        raise RunRefused("choose a current commune, province or the country: evaluation works commune by commune")
    if not 2000 <= year <= 2100:
        raise RunRefused(f"year {year} is out of range (2000–2100)")
    run = EvaluationRun(
        unit_id=unit.id,
        year=year,
        kind=kind,
        status=RunStatus.QUEUED.value,
        created_by_id=getattr(user, "id", None),
        summary={},
        message="",
    )
    db.session.add(run)
    db.session.flush()
    enqueue_after_commit("titles.launch_run", run_id=run.id)
    return run


def start_reconciliation(year: int | None = None, *, today: date | None = None) -> list[EvaluationRun]:
    """Reconciliation runs over the whole country: the current year, and the previous one until the end of March
    (late records and assessments for last year's titles arrive in the first quarter)."""
    from lms.registry.services import country

    years = [year] if year is not None else dirty.current_years(today)
    root = country()
    return [start_run(root, y, kind=RECONCILE) for y in years]


def _largest_first(run: EvaluationRun, communes: list[int]) -> list[int]:
    """The run's communes, those with the most persons first (ADR 29): workers take the longest evaluations while
    the short ones still wait, so the run does not end on one large commune evaluated alone. One grouped count of
    the persons under the run's unit."""
    if len(communes) < 2:
        return communes
    unit = db.session.get(AdminUnit, run.unit_id)
    assert unit is not None
    home = case((AdminUnit.level == UnitLevel.COMMUNE.value, AdminUnit.id), else_=AdminUnit.parent_id)
    sizes = dict(
        db.session.execute(
            select(home, func.count())
            .select_from(Person)
            .join(AdminUnit, AdminUnit.id == Person.unit_id)
            .where(subtree(AdminUnit.path, unit.path))
            .group_by(home)
        )
        .tuples()
        .all()
    )
    return sorted(communes, key=lambda commune_id: (-sizes.get(commune_id, 0), commune_id))


def launch(run_id: int) -> tuple[EvaluationRun, list[int]] | None:
    """Mark the run as running with its total; the caller sends the commune tasks after committing. ``None`` if
    it is no longer queued (a second delivery of the launch)."""
    run = db.session.execute(select(EvaluationRun).where(EvaluationRun.id == run_id).with_for_update()).scalar_one()
    if run.status != RunStatus.QUEUED:
        return None
    communes = _largest_first(run, _run_communes(run))
    run.status = RunStatus.RUNNING.value
    run.started_at = utcnow()
    run.total = len(communes)
    return run, communes


def record(run_id: int, commune_id: int, outcome: Outcome | None, *, error: str = "") -> bool:
    """Count one commune of a run, exactly once: ``outcome`` None means it failed with ``error``. In the caller's
    transaction (with the evaluation, so a rolled-back evaluation is not counted). True if it was counted now."""
    failed = outcome is None
    run = db.session.get(EvaluationRun, run_id)
    # Drift is what a reconciliation looks for. A full run changes rows for good reasons nobody marked (a new
    # criteria set, the first evaluation of a year): not drift.
    drift = outcome.drift if outcome is not None and run is not None and run.kind == RECONCILE else 0
    inserted = _upsert(
        EvaluationRunCommune,
        [
            {
                "run_id": run_id,
                "commune_id": commune_id,
                "failed": failed,
                "changed": outcome.changed if outcome else 0,
                "drift": drift,
                "unchanged": outcome.unchanged if outcome else False,
                "message": error[:2000],
                "finished_at": utcnow(),
            }
        ],
        ["run_id", "commune_id"],
    ).rowcount
    if inserted != 1:
        return False
    counter = EvaluationRun.failed if failed else EvaluationRun.done
    db.session.execute(update(EvaluationRun).where(EvaluationRun.id == run_id).values({counter: counter + 1}))
    if drift:
        log.warning(
            "titles: drift in commune %s (reconciliation run %s): %s eligibility rows changed with no mark pending",
            commune_id,
            run_id,
            drift,
        )
    return True


def already_recorded(run_id: int, commune_id: int) -> bool:
    return db.session.get(EvaluationRunCommune, (run_id, commune_id)) is not None


def close_if_complete(run_id: int) -> bool:
    """Close the run if every commune has been counted: status, finish time, summary. Idempotent and safe to call
    from several places at once: the guarded UPDATE lets one caller through."""
    closed: int = db.session.execute(  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        update(EvaluationRun)
        .where(
            EvaluationRun.id == run_id,
            EvaluationRun.status == RunStatus.RUNNING.value,
            EvaluationRun.done + EvaluationRun.failed >= EvaluationRun.total,
        )
        .values(
            status=case((EvaluationRun.failed > 0, RunStatus.FAILED.value), else_=RunStatus.DONE.value),
            finished_at=utcnow(),
        )
    ).rowcount
    if closed != 1:
        return False
    run = db.session.get(EvaluationRun, run_id)
    assert run is not None
    db.session.refresh(run)
    # The roll-up replaces the summary but keeps the note that the stall rule resumed the run.
    resumed = {"resumed_at": run.summary["resumed_at"]} if run.summary and run.summary.get("resumed_at") else {}
    run.summary = {**roll_up(run), **resumed}
    if run.failed or run.summary.get("failed_subjects") or run.summary.get("drift"):
        # Written by a worker, with no request to choose a language: in the language of who started the run.
        owner = db.session.get(User, run.created_by_id) if run.created_by_id else None
        with formatting.speaking(owner.locale if owner else None):
            run.message = _run_message(run)
    log.info("titles: run %s (%s, year %s) %s: %s", run.id, run.kind, run.year, run.status, run.summary)
    return True


def _run_message(run: EvaluationRun) -> str:
    if run.failed:
        return gettext(
            "%(failed)s of %(total)s communes failed; see the list of failures",
            failed=formatting.number(run.failed, 0),
            total=formatting.number(run.total, 0),
        )
    if run.summary.get("failed_subjects"):
        return gettext(
            "%(count)s subjects could not be evaluated (their previous result is kept); see the list of failures",
            count=formatting.number(run.summary["failed_subjects"], 0),
        )
    return gettext(
        "drift: %(count)s eligibility rows changed with no mark pending",
        count=formatting.number(run.summary["drift"], 0),
    )


def roll_up(run: EvaluationRun) -> dict[str, Any]:
    """The run's totals: per title, the sums of the communes' last evaluation; drift and failures from the run's
    commune rows. Two queries whatever the size of the run."""
    counts = db.session.execute(
        select(
            func.coalesce(func.sum(EvaluationRunCommune.changed), 0),
            func.coalesce(func.sum(EvaluationRunCommune.drift), 0),
            func.count().filter(EvaluationRunCommune.failed),
            func.count().filter(EvaluationRunCommune.unchanged),
        ).where(EvaluationRunCommune.run_id == run.id)
    ).one()
    titles: dict[str, dict[str, int]] = {}
    summaries = db.session.execute(
        select(EvaluationState.summary, EvaluationRunCommune.unchanged)
        .join(
            EvaluationRunCommune,
            (EvaluationRunCommune.commune_id == EvaluationState.commune_id)
            & (EvaluationRunCommune.run_id == run.id)
            & (EvaluationRunCommune.failed.is_(False)),
        )
        .where(EvaluationState.year == run.year)
    ).tuples()
    failed_subjects = 0
    for summary, unchanged in summaries:
        for title, values in (summary or {}).items():
            into = titles.setdefault(title, {"subjects": 0, "eligible": 0, "changed": 0})
            for key in into:
                # An unchanged commune's summary is its last evaluation's: what it changed then, this run did not.
                into[key] += 0 if (unchanged and key == "changed") else int(values.get(key, 0))
            failed_subjects += int(values.get("failed", 0))
    return {
        "communes": run.total,
        "evaluated": run.done - int(counts[3]),
        "unchanged": int(counts[3]),
        "failed": int(counts[2]),
        "failed_subjects": failed_subjects,
        "changed": int(counts[0]),
        "drift": int(counts[1]),
        "titles": titles,
    }


def failures(run: EvaluationRun, limit: int = 200) -> list[EvaluationRunCommune]:
    return list(
        db.session.scalars(
            select(EvaluationRunCommune)
            .where(EvaluationRunCommune.run_id == run.id, EvaluationRunCommune.failed)
            .order_by(EvaluationRunCommune.commune_id)
            .limit(limit)
        )
    )


def subject_failures(run: EvaluationRun, limit: int = 200) -> list[dict[str, Any]]:
    """Subjects the engine could not score in the run's communes (each with its title, indicator and error), from
    the communes' last evaluation: the engine wrote everything else and kept the failed subjects' previous rows."""
    found: list[dict[str, Any]] = []
    rows = db.session.execute(
        select(EvaluationState.commune_id, EvaluationState.summary)
        .join(
            EvaluationRunCommune,
            (EvaluationRunCommune.commune_id == EvaluationState.commune_id)
            & (EvaluationRunCommune.run_id == run.id)
            & (EvaluationRunCommune.failed.is_(False)),
        )
        .where(EvaluationState.year == run.year)
        .order_by(EvaluationState.commune_id)
    )
    for commune_id, summary in rows:
        for title, values in sorted((summary or {}).items()):
            for failure in values.get("failures", []) if isinstance(values, dict) else []:
                found.append({"commune_id": commune_id, "title": title, **failure})
                if len(found) >= limit:
                    return found
    return found


def close_stale() -> int:
    """Close runs whose last commune was counted but that are still open (the roll-up's message was lost)."""
    ids = db.session.scalars(
        select(EvaluationRun.id).where(
            EvaluationRun.status == RunStatus.RUNNING.value,
            EvaluationRun.done + EvaluationRun.failed >= EvaluationRun.total,
        )
    ).all()
    return sum(close_if_complete(run_id) for run_id in ids)


def queued_before(before: datetime) -> list[int]:
    """Runs still queued since before ``before``: their launch message was lost (a second launch is a no-op)."""
    return list(
        db.session.scalars(
            select(EvaluationRun.id).where(
                EvaluationRun.status == RunStatus.QUEUED.value, EvaluationRun.created_at < before
            )
        )
    )


def stalled(before: datetime) -> list[tuple[int, list[int]]]:
    """Open runs in which no commune has finished since ``before`` (nor was re-sent): their messages were lost
    (a broker restart without persistence, a purged queue). Returns each with the communes still missing; the
    re-send is noted in the run's summary so the next sweep waits again."""
    last = (
        select(EvaluationRunCommune.run_id, func.max(EvaluationRunCommune.finished_at).label("last"))
        .group_by(EvaluationRunCommune.run_id)
        .subquery()
    )
    candidates = db.session.scalars(
        select(EvaluationRun)
        .outerjoin(last, last.c.run_id == EvaluationRun.id)
        .where(
            EvaluationRun.status == RunStatus.RUNNING.value,
            EvaluationRun.started_at < before,
            func.coalesce(last.c.last, EvaluationRun.started_at) < before,
        )
    ).all()
    result = []
    for run in candidates:
        resumed = run.summary.get("resumed_at") if run.summary else None
        if resumed and datetime.fromisoformat(resumed) >= before:
            continue
        done = set(
            db.session.scalars(select(EvaluationRunCommune.commune_id).where(EvaluationRunCommune.run_id == run.id))
        )
        missing = [c for c in _run_communes(run) if c not in done]
        run.summary = {**(run.summary or {}), "resumed_at": utcnow().isoformat()}
        result.append((run.id, missing))
    return result


def run_inline(run_id: int) -> None:
    """Launch and evaluate a queued run in this process, commune by commune (the CLI's ``--inline``: no worker)."""
    launched = launch(run_id)
    db.session.commit()
    if launched is None:
        return
    run, communes = launched
    year = run.year
    for commune_id in communes:
        try:
            record(run_id, commune_id, evaluate_locked(commune_id, year, force=True, verify=run.kind == RECONCILE))
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.exception("titles: run %s, commune %s failed", run_id, commune_id)
            record(run_id, commune_id, None, error=f"{type(exc).__name__}: {exc}")
            db.session.commit()
    close_if_complete(run_id)
    db.session.commit()
