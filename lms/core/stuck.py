"""The stuck-work page: marks the workers gave up on (ADR 23), and their retry. Imported by the app factory once
the blueprints exist (the permission helpers import the registry, which imports ``lms.core``)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms import work
from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission, scope_paths
from lms.core import bp
from lms.extensions import db

#: What an administrator can do about a failure, by the name of the exception the worker recorded (its text is the
#: program's, in English: shown beside, for the technical team).
_HINTS: dict[str, Any] = {
    "OperationalError": _l("The database did not answer, or was too busy: retry once it answers again."),
    "InterfaceError": _l("The database did not answer, or was too busy: retry once it answers again."),
    "DeadlockDetected": _l("Two pieces of work changed the same records at once: retry."),
    "IntegrityError": _l("The records changed while the work ran (two changes at once): retry."),
    "SoftTimeLimitExceeded": _l(
        "The work took longer than it is allowed: retry when the system is less busy, or ask the technical team."
    ),
    "TimeLimitExceeded": _l(
        "The work took longer than it is allowed: retry when the system is less busy, or ask the technical team."
    ),
    "ConnectionError": _l(
        "A service (the message broker or the cache) did not answer: check that it runs, then retry."
    ),
    "ConnectionRefusedError": _l(
        "A service (the message broker or the cache) did not answer: check that it runs, then retry."
    ),
}
_PROGRAM_ERROR = _l(
    "An error in the program or in the data it read: retrying will not help until it is fixed. Send the technical "
    "details below to the technical team."
)


def error_hint(last_error: str) -> Any:
    """In the reader's language, what to do about a worker's recorded error (``Name: text``, :mod:`lms.work`)."""
    name = last_error.split(":", 1)[0].strip().rsplit(".", 1)[-1]
    return _HINTS.get(name, _PROGRAM_ERROR)


@bp.get("/stuck-work")
@permission_required(Permission.USERS_MANAGE)
def stuck_work():
    """Marks the workers gave up on (ADR 23): what, where, how often it failed and why; retry one or all."""
    return render_template(
        "core/stuck_work.html",
        items=work.parked(scope_paths(current_user, Permission.USERS_MANAGE)),
        error_hint=error_hint,
    )


@bp.post("/stuck-work/retry")
@permission_required(Permission.USERS_MANAGE)
def stuck_work_retry():
    key = request.form.get("key", "")
    count = work.retry(None if key == "all" else [key], scope_paths(current_user, Permission.USERS_MANAGE))
    db.session.commit()
    if count:
        flash(_("Sent again: %(n)s. The page shows it again if it fails again.", n=count), "success")
    else:
        flash(_("Nothing to retry: it was already retried or has succeeded."), "info")
    return redirect(url_for("core.stuck_work"))
