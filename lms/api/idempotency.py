"""``Idempotency-Key`` for API POSTs that devices retry (a phone on a rural connection rarely knows whether its
request arrived).

A view decorated with :func:`idempotent` does its work and returns its answer **without committing**; the
decorator owns the request's one commit. With an ``Idempotency-Key`` header it also:

1. looks the key up for the caller (``(user_id, key)`` is unique); a stored answer is replayed as it was (status
   and body, header ``Idempotent-Replayed: true``) and nothing is applied again; the same key with another
   request (another body or URL) is refused with a 422;
2. otherwise claims the key by inserting its row *before* running the view, so a concurrent duplicate waits on
   the unique index (PostgreSQL) or on the database lock (SQLite) instead of doing the work a second time; when
   the winner commits, the loser's insert fails and it replays the winner's stored answer. The look-up and the
   claim are one statement (``INSERT … ON CONFLICT DO NOTHING RETURNING``): a new key, the common case, costs
   one insert; only a key already there is read;
3. writes the answer into that row and commits it in the **same transaction** as the effect: a crash before the
   commit leaves neither, and the retry does the work once.

Only successful answers (2xx) are kept: a refused request changed nothing, so the client may fix it (or the data
may change) and send it again with the same key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, g, jsonify, make_response, request
from flask_login import current_user
from pydantic import BaseModel
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import flag_modified

from lms.api.errors import ApiValidationError, problem
from lms.api.models import IdempotentRequest
from lms.api.schema import ModelAnswer
from lms.extensions import db, utcnow

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200  # the column's length
IN_PROGRESS = 0  # status_code of a claimed key whose answer is not written yet (never visible after a commit)


def request_hash() -> str:
    """SHA-256 of the method, the path (with its query string, if any) and the canonical JSON of the body (keys
    sorted, no spaces), so that the same request sent again hashes the same however its client serialised it. A
    body that is not JSON is hashed as sent."""
    payload = request.get_json(silent=True)
    if payload is None:
        body = request.get_data()
    else:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    # The query string counts when there is one: ``?dry_run=true`` and the write it previews are two requests.
    target = f"{request.path}?{request.query_string.decode('latin-1')}" if request.query_string else request.path
    digest = hashlib.sha256(f"{request.method} {target}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _key() -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiValidationError(
            [{"field": HEADER, "message": f"1 to {MAX_KEY_LENGTH} printable characters (a UUID is a good key)"}]
        )
    return key


def _stored(user_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)
    )


# The key's look-up and claim: the same SQL on PostgreSQL and SQLite, sent as it is. Built with SQLAlchemy's
# dialect ``insert().on_conflict_do_nothing()``, the statement was compiled afresh on every request (that
# construct is not cacheable).
_CLAIM = text(
    'INSERT INTO idempotent_request (user_id, "key", request_hash, status_code, response, created_at) '
    "VALUES (:user_id, :key, :request_hash, :status_code, :response, :created_at) "
    'ON CONFLICT (user_id, "key") DO NOTHING '
    'RETURNING id, user_id, "key", request_hash, status_code, response, created_at'
).columns(*IdempotentRequest.__table__.c)


@functools.cache
def _claim_statement() -> Any:
    """The claim mapped onto the model, built once per process (and with it its cache key)."""
    return select(IdempotentRequest).from_statement(_CLAIM)


def _claim(user_id: int, key: str, digest: str) -> IdempotentRequest | None:
    """Insert the key's row unless it exists (waiting, on PostgreSQL, for a concurrent claim to end); the new row,
    or None if the key was taken."""
    return db.session.scalar(
        _claim_statement(),
        {
            "user_id": user_id,
            "key": key,
            "request_hash": digest,
            "status_code": IN_PROGRESS,
            "response": "{}",
            "created_at": utcnow(),
        },
    )


# The claim for a view's statement, to go in its ``WITH`` (PostgreSQL): the same insert as ``_CLAIM`` (status 0,
# IN_PROGRESS), returning the claimed row's id, or no row.
CLAIM_INSERT = (
    'INSERT INTO idempotent_request (user_id, "key", request_hash, status_code, response, created_at) '
    "VALUES (:claim_user_id, :claim_key, :claim_request_hash, 0, '{}', :claim_created_at) "
    'ON CONFLICT (user_id, "key") DO NOTHING RETURNING id'
)


class KeyTaken(Exception):
    """A claim sent by the view found the key taken: the decorator replays the stored answer."""


class Claim:
    """The key's claim, left by :func:`idempotent` (``claim_in_view=True``, PostgreSQL) to the view, which sends it
    with its first statement instead of in one of its own (one round trip less; ADR 28, sixth pass).

    The view sends :attr:`sql` (an ``INSERT … RETURNING id`` for its ``WITH``) with :meth:`params` before it
    writes or refuses anything, reads the claimed row's id (no row: the key was taken) and passes it to
    :meth:`settle`, which raises :class:`KeyTaken` for a taken key. The claim is the decorator's insert, so a
    concurrent duplicate still waits on the key and then replays the winner's answer."""

    sql = CLAIM_INSERT

    def __init__(self, user_id: int, key: str, digest: str) -> None:
        self.user_id, self.key, self.digest = user_id, key, digest
        self.created_at = utcnow()
        self.settled = False

    def params(self) -> dict[str, Any]:
        return {
            "claim_user_id": self.user_id,
            "claim_key": self.key,
            "claim_request_hash": self.digest,
            "claim_created_at": self.created_at,
        }

    def settle(self, row_id: int | None) -> IdempotentRequest:
        """The claimed row, as the decorator's own claim would have loaded it (no read: its values are the ones
        just inserted); :class:`KeyTaken` if the claim inserted nothing."""
        self.settled = True
        if row_id is None:
            raise KeyTaken
        record = IdempotentRequest(
            id=row_id,
            user_id=self.user_id,
            key=self.key,
            request_hash=self.digest,
            status_code=IN_PROGRESS,
            response={},
            created_at=self.created_at,
        )
        make_transient_to_detached(record)  # loaded as stored, not new: the session writes only what changes
        db.session.add(record)
        g.idempotent_claim = record
        return record


def pending_claim() -> Claim | None:
    """The claim the decorator left to this view (None: it claimed the key itself, or there is no key)."""
    claim = g.get("idempotent_pending")
    return claim if isinstance(claim, Claim) and not claim.settled else None


def _replay(stored: IdempotentRequest | None, digest: str) -> Response:
    if stored is None or stored.status_code == IN_PROGRESS:
        # Only reachable if a view committed on its own before answering: the first request is still at work.
        return problem(
            409, "Request in progress", f"A request with this {HEADER} is still being processed; retry in a moment."
        )
    if stored.request_hash != digest:
        raise ApiValidationError(
            [
                {
                    "field": HEADER,
                    "message": "this key was already used for another request (a different body or "
                    "URL); send a new key with a new request",
                }
            ],
            f"The {HEADER} was used for another request.",
        )
    response = jsonify(stored.response)
    response.status_code = stored.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response


def claimed() -> IdempotentRequest | None:
    """The key's row this request claimed (None without a key, or outside :func:`idempotent`).

    A view may write its answer into that row in a statement of its own, with its effect (the attendance batch does,
    to spare a round trip), and then mark it written with ``sqlalchemy.orm.attributes.set_committed_value`` for
    ``status_code`` and ``response``. The decorator writes the answer itself whenever the row does not hold exactly
    the response being sent, so a view that gets it wrong costs an ``UPDATE``, never a wrong replay."""
    record = g.get("idempotent_claim")
    return record if isinstance(record, IdempotentRequest) else None


def _save(record: IdempotentRequest, response: Response) -> None:
    """Write the answer into the claimed row (flushed with the effect; the caller commits both at once), unless
    the view already wrote this very answer there (:func:`claimed`)."""
    answer = response.get_json(silent=True) or {}
    if record.status_code == response.status_code and record.response == answer:
        return
    record.status_code = response.status_code
    record.response = answer
    # Both written even where the row seems to hold them already: what a view marked is not proof of what is stored.
    flag_modified(record, "status_code")
    flag_modified(record, "response")
    db.session.flush()


def _finish(response: Response) -> Response:
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def _respond(result: Any) -> Response:
    """The view's answer as a response: a pydantic model (alone or first in a tuple) becomes its JSON."""
    if isinstance(result, tuple) and result and isinstance(result[0], BaseModel):
        result = (_model_json(result[0]), *result[1:])
    elif isinstance(result, BaseModel):
        result = _model_json(result)
    return make_response(result)


def _model_json(model: BaseModel) -> Response:
    # Marked with its model: SpecTree's check then takes the instance for what it is (lms.api.schema.ModelAnswer).
    answer = ModelAnswer(model.model_dump_json(), mimetype="application/json")
    answer.model = type(model)
    return answer


def idempotent(view: Callable[..., Any] | None = None, *, claim_in_view: bool = False) -> Any:
    """Honour ``Idempotency-Key`` on a POST view (place it under ``login_required``). The view must not commit.

    ``claim_in_view``: on PostgreSQL the key's claim is left to the view (:class:`Claim`), which must send it before
    it writes anything. A view that answers or fails without having sent it gets the decorator's own claim (or
    look-up) afterwards, so a used key is replayed whatever the view decided, as when the claim comes first."""
    if view is None:
        return functools.partial(idempotent, claim_in_view=claim_in_view)
    inner: Callable[..., Any] = view

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        key = _key()
        if key is None:
            try:
                return _finish(_respond(inner(*args, **kwargs)))
            except BaseException:
                db.session.rollback()
                raise
        user_id = current_user.id
        digest = request_hash()
        pending = None
        if claim_in_view and db.session.get_bind().dialect.name == "postgresql":
            pending = g.idempotent_pending = Claim(user_id, key, digest)
            record = None
        else:
            # Claim the key: a concurrent duplicate blocks here until we commit or roll back.
            record = _claim(user_id, key, digest)
            if record is None:
                return _replay(_stored(user_id, key), digest)  # done before, or it committed first: answer the same
            g.idempotent_claim = record
        try:
            try:
                response = _respond(inner(*args, **kwargs))
            except KeyTaken:
                return _replay(_stored(user_id, key), digest)
            except BaseException:
                if pending is None or pending.settled:
                    raise
                # Refused before claiming: a used key still answers as it did the first time.
                db.session.rollback()
                stored = _stored(user_id, key)
                if stored is None:
                    raise
                return _replay(stored, digest)
            if pending is not None:
                if pending.settled:
                    record = claimed()
                else:
                    record = _claim(user_id, key, digest)
                    if record is None:
                        db.session.rollback()
                        return _replay(_stored(user_id, key), digest)
            assert record is not None
            if response.status_code >= 400:
                db.session.rollback()  # refused: nothing applied, the key stays free
                return response
            _save(record, response)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            stored = _stored(user_id, key)
            if stored is None:
                raise
            return _replay(stored, digest)
        except BaseException:
            db.session.rollback()
            raise
        return response

    return wrapper


def purge(older_than: datetime) -> int:
    """Forget stored answers older than ``older_than`` (a device retries within hours, not weeks)."""
    result = db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < older_than))
    return result.rowcount  # type: ignore[attr-defined]
