"""Printing a decision's list and certificates as a task (ADR 47): start or join the print of a decision, draw it in
the worker with its progress, keep the file until a newer print of the same decision replaces it.

A print is a :class:`~lms.titles.models.DecisionPrint` row. :func:`start` records it (or finds the one already
under way: the decision's ``running_key`` is unique) and queues ``titles.print_decision`` after the caller commits;
:func:`execute` (the task's body) claims it, draws the certificates under the address it was asked at, publishes how
many are drawn every few certificates, and writes the PDF in the commit that marks it done. A print that fails is
marked failed with a message in its requester's language, and nothing of it is kept.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Select, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from lms.auth.models import User
from lms.celery import enqueue_after_commit
from lms.core import formatting
from lms.core.models import AuditEvent
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.titles import documents
from lms.titles.models import DecisionPrint, Recognition, RecognitionStatus, RunStatus

log = logging.getLogger(__name__)

PROGRESS_EVERY = 5  # certificates drawn between two published counts (one small commit each)
# A print queued, or running since its start, for longer than this lost its worker (a restart, a crash): the
# titles sweep or the next request for the decision fails it, instead of joining a print that will never end. A
# decision of a few hundred certificates draws in well under a minute.
STALE_AFTER = timedelta(minutes=15)
RESEND_AFTER = timedelta(minutes=1)
# A print a newer print of its decision replaced (its file emptied) keeps its row this long, then the sweep deletes
# it: who printed what and when stays in the audit log (``recognition.decision_print``, ``recognition.certificate``).
KEEP_REPLACED = timedelta(days=30)
FINISHED = (RunStatus.DONE.value, RunStatus.FAILED.value)


def decision_key(row: Recognition | DecisionPrint) -> str:
    """What makes a decision one: its commune, title, year, date and number (as the decisions list groups them)."""
    assert row.decision_date is not None
    return f"{row.commune_id}:{row.title}:{row.year}:{row.decision_date.isoformat()}:{row.decision_number}"


def _same_decision(row: Recognition | DecisionPrint) -> Any:
    return (
        (DecisionPrint.commune_id == row.commune_id)
        & (DecisionPrint.title == row.title)
        & (DecisionPrint.year == row.year)
        & (DecisionPrint.decision_number == row.decision_number)
        & (DecisionPrint.decision_date == row.decision_date)
    )


def members_select(job: DecisionPrint) -> Select:
    """The recognitions the decision still gives (those since revoked left out), in the order of the certificates.
    Not scoped to a user: the request that started the print checked its scope, and a decision is one commune's."""
    return (
        select(Recognition)
        .where(
            Recognition.commune_id == job.commune_id,
            Recognition.title == job.title,
            Recognition.year == job.year,
            Recognition.decision_number == job.decision_number,
            Recognition.decision_date == job.decision_date,
            Recognition.status == RecognitionStatus.RECOGNISED,
        )
        .order_by(Recognition.id)
    )


def latest(row: Recognition) -> DecisionPrint | None:
    """The newest print of ``row``'s decision, whatever its state."""
    return db.session.scalar(
        select(DecisionPrint).where(_same_decision(row)).order_by(DecisionPrint.id.desc()).limit(1)
    )


def start(
    row: Recognition, *, user: Any, base_url: str, total: int, enqueue: bool = True
) -> tuple[DecisionPrint, bool]:
    """The print of ``row``'s decision: the one under way if there is one (``False``), else a new one queued after
    the caller commits (``True``). Flushes; the caller commits."""
    key = decision_key(row)
    _fail_stale(key)
    running = db.session.scalar(select(DecisionPrint).where(DecisionPrint.running_key == key))
    if running is not None:
        if enqueue and running.status == RunStatus.QUEUED and running.created_at < utcnow() - RESEND_AFTER:
            # Still queued a minute on: its message may be lost. Sending it again is harmless (the claim is atomic).
            enqueue_after_commit("titles.print_decision", print_id=running.id)
        return running, False
    assert row.decision_date is not None
    job = DecisionPrint(
        recognition_id=row.id,
        commune_id=row.commune_id,
        title=row.title,
        year=row.year,
        decision_number=row.decision_number,
        decision_date=row.decision_date,
        running_key=key,
        base_url=base_url[:255],
        status=RunStatus.QUEUED.value,
        total=total,
        done=0,
        message="",
        size=0,
        created_by_id=getattr(user, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(job)
            db.session.flush()
    except IntegrityError:
        # Another request started this decision's print between our look and our insert: join it.
        running = db.session.scalar(select(DecisionPrint).where(DecisionPrint.running_key == key))
        if running is None:
            raise
        return running, False
    audit("recognition.decision_print", job, user=user, decision=row.decision_number, total=total)
    if enqueue:
        enqueue_after_commit("titles.print_decision", print_id=job.id)
    return job, True


def _fail_stale(key: str) -> None:
    """Fail the decision's print if it has been queued or running for longer than STALE_AFTER (its worker is gone)."""
    now = utcnow()
    # A running print is measured from its start, not its request: one that waited its turn behind other tasks and
    # then began drawing has a live worker, and failing it would let two workers draw (and issue) the same decision.
    job = db.session.scalar(
        select(DecisionPrint).where(DecisionPrint.running_key == key, _lost_before(now - STALE_AFTER))
    )
    if job is not None:
        _fail_lost(job)


def _lost_before(moment: Any) -> Any:
    """A print not started since ``moment`` (queued since then, or running since then): measured from its start, so
    a print that waited in a busy queue is not failed under its worker a minute into drawing."""
    return func.coalesce(DecisionPrint.started_at, DecisionPrint.created_at) < moment


def _fail_lost(job: DecisionPrint) -> None:
    with formatting.speaking(_owner_locale(job.id)):
        message = _(
            "The print stopped before it was finished (the server was restarted). Nothing was kept: print again."
        )
    _close(job, RunStatus.FAILED, message)


def sweep(*, period: timedelta) -> list[int]:
    """The titles sweep's part (``titles.sweep``, every ``period``), so a print whose message was lost does not wait
    for someone to ask for its decision again: fails the prints queued or running for longer than STALE_AFTER (their
    worker is gone), returns the ids of the prints still queued to send again (once in each RESEND_AFTER of their
    age, not every sweep: a print merely waiting in a busy queue gets one more message a minute), and deletes the
    rows of prints replaced by a newer print of their decision more than KEEP_REPLACED ago. Flushes; the caller
    commits, then sends."""
    now = utcnow()
    lost = select(DecisionPrint).where(DecisionPrint.running_key.is_not(None), _lost_before(now - STALE_AFTER))
    for job in db.session.scalars(lost).all():
        _fail_lost(job)
    queued = db.session.execute(
        select(DecisionPrint.id, DecisionPrint.created_at).where(
            DecisionPrint.status == RunStatus.QUEUED.value, DecisionPrint.created_at < now - RESEND_AFTER
        )
    ).all()
    resend = [print_id for print_id, created_at in queued if (now - created_at) % RESEND_AFTER < period]
    newer = aliased(DecisionPrint)
    db.session.execute(
        delete(DecisionPrint)
        .where(
            DecisionPrint.running_key.is_(None),
            DecisionPrint.size == 0,  # never the last good file (a newer print that failed empties nothing)
            DecisionPrint.finished_at < now - KEEP_REPLACED,
            exists().where(
                newer.id > DecisionPrint.id,
                newer.commune_id == DecisionPrint.commune_id,
                newer.title == DecisionPrint.title,
                newer.year == DecisionPrint.year,
                newer.decision_number == DecisionPrint.decision_number,
                newer.decision_date == DecisionPrint.decision_date,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return resend


def _close(job: DecisionPrint, status: RunStatus, message: str = "") -> None:
    job.status = status.value
    job.message = message
    job.running_key = None
    job.finished_at = utcnow()
    db.session.flush()


def _owner_locale(print_id: int) -> str | None:
    return db.session.scalar(
        select(User.locale)
        .join(DecisionPrint, DecisionPrint.created_by_id == User.id)
        .where(DecisionPrint.id == print_id)
    )


def _claim(print_id: int) -> bool:
    """Mark a queued print running (one conditional UPDATE: two workers handed the same message cannot both draw
    it). Commits, so its page shows it running."""
    result = db.session.execute(
        update(DecisionPrint)
        .where(DecisionPrint.id == print_id, DecisionPrint.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING.value, started_at=utcnow(), done=0)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return cast(CursorResult[Any], result).rowcount == 1


class _Failed(Exception):
    """The print cannot be made; the message is for its requester."""


def execute(print_id: int, *, final_attempt: bool = True) -> None:
    """The task's body. A print already running or finished is left alone. A transient database error puts it back
    in the queue and re-raises for Celery to retry (unless this is the ``final_attempt``); any other error fails it
    with a message, and nothing of it is kept."""
    if not _claim(print_id):
        return
    locale = _owner_locale(print_id)
    try:
        _draw(print_id)
    except OperationalError:
        db.session.rollback()
        if not final_attempt:
            db.session.execute(
                update(DecisionPrint).where(DecisionPrint.id == print_id).values(status=RunStatus.QUEUED.value, done=0)
            )
            db.session.commit()
            raise
        _fail(print_id, locale, None)
        raise
    except Exception as exc:
        db.session.rollback()
        log.exception("decision print %s failed", print_id)
        _fail(print_id, locale, exc)


def _fail(print_id: int, locale: str | None, exc: BaseException | None) -> None:
    job = db.session.get_one(DecisionPrint, print_id)
    with formatting.speaking(locale):
        if isinstance(exc, _Failed):
            message = str(exc.args[0])
        else:
            message = _(
                "The certificates could not be drawn, because of an error on the server. Nothing was kept: print "
                "again, and if it fails again, tell your administrator (print no. %(id)s).",
                id=print_id,
            )
    _close(job, RunStatus.FAILED, message)
    job.done = 0
    db.session.commit()


NOBODY = _l("This decision no longer recognises anyone (its recognitions were revoked): there is nothing to print.")


def _draw(print_id: int) -> None:
    job = db.session.get_one(DecisionPrint, print_id)
    # Drawn under the address the print was asked at: the QR codes and the credentials' issuer are those the
    # request would have printed.
    with current_app.test_request_context(base_url=job.base_url or None):
        members = list(db.session.scalars(members_select(job)))
        if not members:
            with formatting.speaking(_owner_locale(print_id)):
                raise _Failed(str(NOBODY))
        document = documents.decision_document(members, job)
        job.total = len(members)
        # Issuing the credentials wrote: commit before drawing, so no lock is held while the pages render.
        db.session.commit()

        def drawn(count: int) -> None:
            if count % PROGRESS_EVERY == 0 and count < job.total:
                job.done = count
                db.session.commit()

        content = documents.decision_pdf(document, on_certificate=drawn)
    # Still ours? A request may have failed it as stale meanwhile (and started another): then it stays failed, as
    # its page said, and keeps nothing — the newer print is the one whose file counts.
    status = db.session.scalar(select(DecisionPrint.status).where(DecisionPrint.id == job.id).with_for_update())
    if status != RunStatus.RUNNING.value:
        db.session.rollback()
        return
    # One audit event per certificate printed, in the commit that keeps the file.
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "action": "recognition.certificate",
                "object_type": "recognition",
                "object_id": str(member.id),
                "user_id": job.created_by_id,
                "details": {"code": member.certificate_code, "print": job.id},
                "ip": None,
                "at": utcnow(),
            }
            for member in members
        ],
    )
    # The newer print replaces the older ones' files.
    db.session.execute(
        update(DecisionPrint)
        .where(_same_decision(job), DecisionPrint.id < job.id, DecisionPrint.size > 0)
        .values(content=None, size=0)
        .execution_options(synchronize_session=False)
    )
    job.content = content
    job.size = len(content)
    job.done = job.total
    _close(job, RunStatus.DONE)
    db.session.commit()


def filename(job: DecisionPrint) -> str:
    return f"quyet-dinh-cong-nhan-{job.year}-{job.recognition_id}.pdf"
