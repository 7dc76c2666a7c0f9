"""Audit events and heartbeats. Services flush; the request or task commits."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from lms.core.models import AuditEvent, Heartbeat
from lms.extensions import db, utcnow


def audit(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    user: Any = None,
    **details: Any,
) -> AuditEvent:
    """Record an audit event for ``obj`` (or an explicit type and id) by ``user`` (default: the current user)."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    event = AuditEvent(
        action=action,
        object_type=object_type or "-",
        object_id=str(object_id) if object_id is not None else None,
        user_id=getattr(user, "id", None),
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def record_heartbeat(name: str, detail: str | None = None) -> None:
    beat = db.session.get(Heartbeat, name)
    if beat is None:
        db.session.add(Heartbeat(name=name, beat_at=utcnow(), detail=detail))
    else:
        beat.beat_at = utcnow()
        beat.detail = detail
    db.session.flush()
