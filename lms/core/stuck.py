"""The stuck-work page: marks the workers gave up on (ADR 23), and their retry. Imported by the app factory once
the blueprints exist (the permission helpers import the registry, which imports ``lms.core``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms import work
from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission, scope_paths
from lms.core import bp
from lms.extensions import db


@bp.get("/stuck-work")
@permission_required(Permission.USERS_MANAGE)
def stuck_work():
    """Marks the workers gave up on (ADR 23): what, where, how often it failed and why; retry one or all."""
    return render_template(
        "core/stuck_work.html", items=work.parked(scope_paths(current_user, Permission.USERS_MANAGE))
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
