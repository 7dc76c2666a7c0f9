"""Titles: criteria sets (versioned data), assessments, eligibility, registrations and recognitions.

Every row about a subject names it by ``(subject_type, subject_id)``: a person, household, clan, village (an
``admin_unit`` of level village), organisation or commune. ``commune_id`` on every such row is the shard key of
evaluation (one Celery task per commune and year) and the scope key for permissions: a commune leader sees the rows
whose commune lies in their subtree.

Eligibility is what the engine computes (a proposal, recomputed whenever inputs change); a recognition is what a
person decided (a decision number and date). Once a subject's title for a year is recognised, that year is frozen:
later evaluations leave its eligibility row alone.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, Numeric, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import _enum_check
from lms.extensions import Model, utcnow
from lms.work import Attempts


class Title(enum.StrEnum):
    """The five lifelong-learning titles; the learning community is awarded at village and at commune level."""

    CITIZEN = "citizen"  # Công dân học tập — Decision 324/QĐ-KHVN (2023)
    FAMILY = "family"  # Gia đình học tập — Decision 448/QĐ-KHVN (2015) part A
    CLAN = "clan"  # Dòng họ học tập — 448 part B
    VILLAGE_COMMUNITY = "village_community"  # Cộng đồng học tập cấp thôn — 448 part C
    UNIT = "unit"  # Đơn vị học tập — 448 part D (commune-managed), Circular 24/2023 (district/province-managed)
    COMMUNE_COMMUNITY = "commune_community"  # Cộng đồng học tập cấp xã — Circular 25/2023


class SubjectType(enum.StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"
    CLAN = "clan"
    VILLAGE = "village"
    ORGANISATION = "organisation"
    COMMUNE = "commune"


# The subject each title is about, and the order evaluation runs in (members before the groups made of them).
TITLE_SUBJECT: dict[Title, SubjectType] = {
    Title.CITIZEN: SubjectType.PERSON,
    Title.FAMILY: SubjectType.HOUSEHOLD,
    Title.CLAN: SubjectType.CLAN,
    Title.VILLAGE_COMMUNITY: SubjectType.VILLAGE,
    Title.UNIT: SubjectType.ORGANISATION,
    Title.COMMUNE_COMMUNITY: SubjectType.COMMUNE,
}
EVALUATION_ORDER: tuple[Title, ...] = tuple(TITLE_SUBJECT)


class Scoring(enum.StrEnum):
    POINTS = "points"  # maximum per indicator, a pass total and a minimum per indicator
    LEVELS = "levels"  # every indicator met or not; a level is reached when all its indicators are met


class CriteriaStatus(enum.StrEnum):
    OFFICIAL = "official"
    PROVISIONAL = "provisional"  # the official text could not be read in full: values to be checked


class CriteriaSet(Model):
    """One version of one criteria set, as loaded from its data file (``lms/titles/criteria/*.toml``).

    ``definition`` is the validated file content; evaluations point at the version they used, so loading a new
    version never changes an old result. At most one version of a code is ``active`` (used by new evaluations).
    """

    __tablename__ = "criteria_set"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        _enum_check("title", Title),
        _enum_check("subject_type", SubjectType),
        _enum_check("scoring", Scoring),
        _enum_check("status", CriteriaStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))  # e.g. "qd-324-2023-citizen"
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(24))
    subject_type: Mapped[str] = mapped_column(String(16))
    scoring: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12))
    validity_years: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(300))  # the legal text: "Quyết định 324/QĐ-KHVN ngày 25/10/2023"
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    loaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class AssessmentSource(enum.StrEnum):
    EVALUATOR = "evaluator"  # entered by an evaluator: counts as soon as it is entered
    SELF = "self"  # self-assessed: counts once verified


class Assessment(Model):
    """An assessed indicator value for a subject and year, with its evidence.

    ``indicator`` is the indicator's code in the criteria set (stable across versions of the set). ``value`` is read
    as the indicator's definition says: points awarded, 1/0 for met/not met, or a measured share in per cent.
    """

    __tablename__ = "assessment"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "year", "indicator"),
        Index("ix_assessment_commune_year", "commune_id", "year"),
        _enum_check("subject_type", SubjectType),
        _enum_check("source", AssessmentSource),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    year: Mapped[int]
    indicator: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    source: Mapped[str] = mapped_column(String(12), default=AssessmentSource.EVALUATOR.value)
    verified_at: Mapped[Optional[datetime]]
    verified_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    evidence_file_id: Mapped[Optional[int]] = mapped_column(ForeignKey("evidence_file.id", ondelete="SET NULL"))
    evidence_ref: Mapped[str] = mapped_column(String(300), default="")  # "minutes of 12/3/2025, CLC archive no. 7"
    note: Mapped[str] = mapped_column(Text, default="")
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    assessed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def counts(self) -> bool:
        """Whether the engine uses the value: evaluator entries at once, self-assessments once verified."""
        return self.source == AssessmentSource.EVALUATOR or self.verified_at is not None

    @property
    def has_evidence(self) -> bool:
        return self.evidence_file_id is not None or bool(self.evidence_ref.strip())


def breakdown_digest(content: str) -> str:
    """The address of a breakdown: a digest of its JSON text (compact separators, as the engine writes it)."""
    return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


def with_assessment_ids(items: Iterable[dict[str, Any]], ids: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A breakdown's items with each assessment source naming the subject's assessment of its indicator (``ids``:
    indicator code → the assessment, or its id). The engine stores breakdowns without the ids, so that subjects
    assessed alike share one (ADR 40): the assessment of an indicator is the subject's one row for the year. An item
    that names one already (a breakdown stored before) is kept as it is; so is one whose assessment is gone."""
    result = []
    for item in items:
        source = item.get("source")
        if isinstance(source, dict) and source.get("kind") == "assessment" and "id" not in source:
            found = ids.get(str(item.get("indicator", "")))
            if found is not None:
                number = found if isinstance(found, int) else found.id
                # The id after the kind, where the engine wrote it before.
                source = {"kind": "assessment", "id": number, **{k: v for k, v in source.items() if k != "kind"}}
                item = {**item, "source": source}
        result.append(item)
    return result


class EligibilityBreakdown(Model):
    """One distinct breakdown, stored once and shared by every eligibility row that has it (ADR 8).

    Most subjects of a commune share a handful of breakdowns (no records, one class…), so rows name theirs by id
    instead of carrying ~1.4 kB of JSON each. Rows are immutable: never updated, looked up by ``digest`` (of the
    JSON text). The digest is indexed but not unique: two workers evaluating two communes at once may each add the
    same breakdown, which is harmless (identical content) and avoids making one worker wait on the other's
    transaction.
    """

    __tablename__ = "eligibility_breakdown"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(32), index=True)
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Eligibility(Model):
    """The engine's result for one subject, title and year.

    ``breakdown`` lists every indicator: ``{"indicator", "value", "points" | "met", "source", "missing"}`` where
    ``source`` names where the value came from ("learning records", "assessment 17", "share of members") and
    ``missing`` says in words what is lacking (empty when the indicator is satisfied). ``missing`` (the column) holds
    the codes of the unsatisfied indicators as ``|code|code|`` so lists can filter by one with a portable LIKE.
    """

    __tablename__ = "eligibility"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "title", "year"),
        # One index for the commune's and the village's lists (ADR 40, amended: migration 0049): a village's readers
        # name its commune too. A second index led by the village cost every row the engine writes another insert.
        Index("ix_eligibility_commune_year_title_village", "commune_id", "year", "title", "village_id"),
        _enum_check("title", Title),
        _enum_check("subject_type", SubjectType),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(24))
    year: Mapped[int]
    # The subject implies its commune and village (ADR 29): no foreign key to check per row the engine writes.
    commune_id: Mapped[int]
    # The village the subject belongs to (persons, households, villages themselves); NULL for other subjects.
    village_id: Mapped[Optional[int]]
    # The criteria set and the breakdown have no foreign key either (ADR 40, amended): only the engine writes them,
    # from the set and the breakdown it read or wrote in the same transaction, and neither is ever deleted
    # (``tests/titles/test_eligibility_keys.py`` fails if a delete appears).
    criteria_set_id: Mapped[int]
    eligible: Mapped[bool]
    score: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 2))  # points style
    level: Mapped[Optional[int]]  # levels style: the highest level reached (0: none)
    missing: Mapped[str] = mapped_column(String(400), default="")
    # The breakdown, shared with every row that has the same one (read it as ``breakdown``).
    breakdown_id: Mapped[Optional[int]]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A digest of everything the result was computed from (criteria version, measured values, assessments): the
    # engine rewrites a row only when it changes, without reading the breakdown back (ADR 8).
    inputs_digest: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # False: the subject is outside the criteria set's own population rule (an infant for the Learning Citizen
    # title): "not applicable", never "not yet eligible", and left out of the lists' counts (ADR 15).
    applicable: Mapped[bool] = mapped_column(default=True, server_default=sa_true())

    criteria_set: Mapped[CriteriaSet] = relationship(
        primaryjoin="CriteriaSet.id == Eligibility.criteria_set_id", foreign_keys="Eligibility.criteria_set_id"
    )
    breakdown_row: Mapped[Optional[EligibilityBreakdown]] = relationship(
        primaryjoin="EligibilityBreakdown.id == Eligibility.breakdown_id", foreign_keys="Eligibility.breakdown_id"
    )

    # A property, so ``Eligibility(breakdown=[...])`` and ``row.breakdown = [...]`` keep working (the declarative
    # constructor sets any class attribute); set-based readers join ``eligibility_breakdown`` themselves.
    @property
    def breakdown(self) -> list[dict[str, Any]]:
        """Every indicator's result (see the class docstring); ``[]`` when the row has none."""
        return list(self.breakdown_row.content) if self.breakdown_row is not None else []

    @breakdown.setter
    def breakdown(self, items: list[dict[str, Any]]) -> None:
        """Point the row at a new breakdown row (breakdown rows are never updated in place)."""
        content = json.dumps(items, separators=(",", ":"))
        self.breakdown_row = EligibilityBreakdown(digest=breakdown_digest(content), content=items)


class Registration(Model):
    """A subject registered for a year's title (January, by form or by import)."""

    __tablename__ = "title_registration"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "title", "year"),
        Index("ix_title_registration_commune_year", "commune_id", "year"),
        _enum_check("title", Title),
        _enum_check("subject_type", SubjectType),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(24))
    year: Mapped[int]
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    registered_on: Mapped[date]
    registered_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class RecognitionStatus(enum.StrEnum):
    PROPOSED = "proposed"  # a commune leader put the subject on the list
    RECOGNISED = "recognised"  # an approver recorded the decision: the year is frozen
    REJECTED = "rejected"
    REVOKED = "revoked"


class Recognition(Model):
    """A title recognised (or proposed) for a subject and year, with the decision that made it official.

    The eligibility the proposal was based on is copied (``score``, ``level``, ``breakdown``, ``criteria_set_id``):
    the record of why stays even if the criteria or the inputs change later.
    """

    __tablename__ = "recognition"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "title", "year"),
        Index("ix_recognition_commune_year_title", "commune_id", "year", "title"),
        _enum_check("title", Title),
        _enum_check("subject_type", SubjectType),
        _enum_check("status", RecognitionStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(24))
    year: Mapped[int]
    level: Mapped[Optional[int]]
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    village_id: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_unit.id"))
    status: Mapped[str] = mapped_column(String(12), default=RecognitionStatus.PROPOSED.value)
    criteria_set_id: Mapped[Optional[int]] = mapped_column(ForeignKey("criteria_set.id"))
    score: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 2))
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    proposed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decision_number: Mapped[str] = mapped_column(String(60), default="")
    decision_date: Mapped[Optional[date]]
    authority: Mapped[str] = mapped_column(String(200), default="")  # who decided: "UBND xã …", "Hội Khuyến học …"
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    valid_until: Mapped[Optional[date]]  # 31 Dec of the last year the recognition is valid
    revoked_at: Mapped[Optional[datetime]]
    revoked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")  # why rejected or revoked
    certificate_code: Mapped[Optional[str]] = mapped_column(String(20), unique=True)  # printed under the QR code


class EvaluationState(Attempts, Model):
    """One row per (commune, year) ever evaluated or marked: the dirty mark, the lock and the last result.

    A new learning record, assessment, registration or recognition sets ``marked_at`` in the same transaction
    (the outbox). The evaluation task locks this row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions
    are serialised anyway), evaluates, and clears the mark unless it was set again meanwhile. A mark whose
    evaluation keeps failing counts its attempts and is parked after the limit (``lms.work``, ADR 23).
    """

    __tablename__ = "evaluation_state"

    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    marked_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    # When a task for the mark was last sent: the sweep re-sends a mark at most once per ``RESEND_AGE``, so a long
    # queue does not fill up with duplicates of the same commune-year waiting on its lock.
    sent_at: Mapped[Optional[datetime]]
    evaluated_at: Mapped[Optional[datetime]]
    # Counts of the last evaluation, by title: {"citizen": {"subjects": 812, "eligible": 301, "changed": 4}, …}
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The pending mark names its subjects (``evaluation_dirty_subject``): an incremental evaluation re-scores them and
    # the groups containing them. False as soon as anything marks the whole commune-year (ADR 29).
    partial: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Which metrics ``title_person_metric`` holds for the commune's persons, as of its last full evaluation (the
    # digest of the active sets' metric list): an incremental evaluation reads that table only while it matches.
    metrics_key: Mapped[Optional[str]] = mapped_column(String(32))
    # What the last full evaluation read (engine version, active criteria sets, metrics, the commune's registry
    # version): a run skips the commune while nothing is marked and this still matches (ADR 41). Cleared by an
    # incremental evaluation, whose summary is not the commune's.
    inputs_key: Mapped[Optional[str]] = mapped_column(String(32))


class EvaluationDirtySubject(Model):
    """A subject whose inputs changed since the commune-year's last evaluation (a person's learning records, an
    assessment of any subject): an incremental evaluation re-scores it and the groups that contain it (ADR 29).
    Written with the mark on ``evaluation_state`` in the same transaction, deleted by the evaluation that saw it."""

    __tablename__ = "evaluation_dirty_subject"

    commune_id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True)


class PersonMetric(Model):
    """A person's yearly learning metric (one per metric any active criteria set uses; a person without records in
    the year has no row, one with records a row per metric — the writers store zeros, a full evaluation does not
    add them, and a missing row reads as 0), kept up to
    date in the transaction that writes the person's learning records and reconciled by every full evaluation of
    the commune the person lives in (ADR 29). Derived data: no foreign key, a removed person's rows are never read.
    ``metric`` is :func:`lms.titles.engine.metric_key` of the criteria set's metric definition."""

    __tablename__ = "title_person_metric"

    person_id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    # None: the person's records all went, while ``counted`` still holds what the share counts hold for them.
    value: Mapped[Optional[Decimal]] = mapped_column(Numeric(12, 1))
    # The value the share counts of the person's home commune hold (``title_share_count``; None: counted as no
    # records), set by that commune's evaluation: an incremental one takes it away and adds ``value``.
    counted: Mapped[Optional[Decimal]] = mapped_column(Numeric(12, 1))


class ShareCount(Model):
    """A large group's member counts for one share indicator (ADR 29): what the share subquery counts over the
    members of a village or of the commune (numerator, denominator, unknown age, not applicable, no birth date),
    written by the full evaluation and kept up to date by the incremental one from the old and new contributions
    of the members it re-scored, so one person's change does not count every resident again. Derived data: no
    foreign key; ``share`` is :func:`lms.titles.engine.share_key` of the set's indicator."""

    __tablename__ = "title_share_count"

    commune_id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True)
    share: Mapped[str] = mapped_column(String(32), primary_key=True)
    num: Mapped[int] = mapped_column()
    den: Mapped[int] = mapped_column()
    unk: Mapped[int] = mapped_column()
    na: Mapped[int] = mapped_column()
    nob: Mapped[int] = mapped_column()


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class EvaluationRun(Model):
    """A requested evaluation of a scope (a commune, a province, the country) for a year, with its progress.

    A province run is a Celery chord: one task per commune (each adds one to ``done``), then a roll-up that closes
    the run. A nightly reconciliation is a run of ``kind`` "reconcile" and records the drift it found.
    """

    __tablename__ = "evaluation_run"
    __table_args__ = (_enum_check("status", RunStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16), default="full")  # full | reconcile
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.QUEUED.value)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]


class EvaluationRunCommune(Model):
    """One commune of a run whose task has finished, evaluated or failed.

    The primary key makes the count exact: a task delivered twice (``acks_late`` after a worker died between the
    commit and the acknowledgement) finds its row and adds nothing to the run's ``done`` or ``failed``. The rows
    also say which communes failed and why, and where the reconciliation found drift.
    """

    __tablename__ = "evaluation_run_commune"

    run_id: Mapped[int] = mapped_column(ForeignKey("evaluation_run.id", ondelete="CASCADE"), primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), primary_key=True)
    failed: Mapped[bool] = mapped_column(default=False)
    changed: Mapped[int] = mapped_column(default=0)  # eligibility rows the evaluation changed
    drift: Mapped[int] = mapped_column(default=0)  # of those, changed although no mark was pending
    # Not evaluated: nothing it reads had changed since its last full evaluation (ADR 41)
    unchanged: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    message: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)


class DecisionPrint(Model):
    """A decision's list and certificates, drawn by a task into one PDF (ADR 47): its progress while it runs, then
    the file, kept until a newer print of the same decision replaces it.

    A decision is its commune, title, year, number and date (as the recognitions list groups them). While a print is
    queued or running, ``running_key`` holds that decision's key; it is unique, so a second request for the same
    decision finds the running print and joins it instead of starting another (the database refuses the second row,
    whatever the race). The file is in the row, as uploads and evidence are (ADR 6): every web process and worker
    sees it without a shared disk, and it is written in the same commit that marks the print done, so a failed print
    leaves no half-written file.
    """

    __tablename__ = "decision_print"
    __table_args__ = (_enum_check("status", RunStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The recognition the print was asked from (the first of its decision, as the decisions list links it): the
    # print's address and scope, checked against the user's view as the recognition is.
    recognition_id: Mapped[int] = mapped_column(ForeignKey("recognition.id", ondelete="CASCADE"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(24))
    year: Mapped[int]
    decision_number: Mapped[str] = mapped_column(String(60))
    decision_date: Mapped[date]
    running_key: Mapped[Optional[str]] = mapped_column(String(160), unique=True)
    # The address the print was asked at ("https://lms.example.vn/"): the task draws under it, so the QR codes
    # and the credentials' issuer are those a print in the request would have had.
    base_url: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.QUEUED.value, index=True)
    total: Mapped[int] = mapped_column(default=0)  # certificates to draw
    done: Mapped[int] = mapped_column(default=0)  # certificates drawn
    message: Mapped[str] = mapped_column(Text, default="")  # why it failed, in its requester's language
    content: Mapped[Optional[bytes]] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(default=0)  # bytes of ``content``; 0 once replaced
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]

    @property
    def progress(self) -> int:
        if self.status == RunStatus.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0
