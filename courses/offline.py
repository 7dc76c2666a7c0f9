"""The attendance page that works with no signal (issue 16, ADR 26): the service worker, the web app manifest, the
offline shell the worker shows in place of an attendance page it cannot fetch, and the small JSON document the
phone keeps: the user's sessions of the coming two weeks with each class's roster (names and birth years only)
and the marks the server holds.

Marks themselves are sent through the existing bulk endpoint (``POST /api/v1/sessions/<id>/attendance``): nothing
here writes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, current_app, render_template, request, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from courses import bp, services
from courses.models import (
    Attendance,
    ClassSession,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    SessionStatus,
    class_instructor,
)
from lms.auth.models import User
from lms.auth.permissions import Permission, has_permission_anywhere, scoped
from lms.extensions import db
from lms.registry.models import Person

RECORD = Permission.ATTENDANCE_RECORD
DAYS_AHEAD = 14
MAX_SESSIONS = 60  # a commune manager with many classes: the nearest ones, the page stays light
MAX_EXTRA = 20  # sessions the phone asks for by id (marks waiting for a session outside the window)


def _status_name(status: Any) -> str:
    from flask_babel import get_locale

    return status.name_vi if str(get_locale()) == "vi" else status.name_en


def _texts() -> dict[str, str]:
    """The words the scripts show, translated here: the scripts are static files."""
    return {
        "saved": _("Saved on the server"),
        "waiting": _("Waiting on this phone"),
        "refused": _("Refused by the server"),
        "conflict": _("Another device recorded a later mark"),
        "conflict_hint": _("If yours is the right one, tap it again: the latest mark stands."),
        "by": _("by"),
        "yours": _("your mark"),
        "last_sync": _("Last synced"),
        "never": _("never"),
        "online": _("Online"),
        "offline": _("No signal: marks are kept on this phone and sent when the signal returns."),
        "ready": _("Ready to work without signal"),
        "login": _("Log in again to send the marks waiting on this phone."),
        "no_data": _(
            "This session is not kept on this phone. Open it once with a signal (your sessions of the next two "
            "weeks are kept when you open an attendance page)."
        ),
        "logged_out": _("Nobody is logged in on this phone. Log in with a signal to take attendance."),
        "not_marked": _("Not marked"),
        "everyone": _("Everyone present"),
        "send": _("Send now"),
        "discard": _("Discard"),
        "dismiss": _("Got it"),
        "sessions": _("Your sessions"),
        "no_sessions": _("No session kept on this phone."),
        "cancelled": _("This session was cancelled: it takes no attendance."),
        "attendance": _("Attendance"),
        # The server's page: the tally and what "Save" did (the marks go through the phone's queue).
        "to_save": _("to save"),
        "sending": _("Sending…"),
        "saved_n": _("Saved: %(n)s marks recorded.", n="{n}"),
        "nothing": _("Nothing to save: no mark changed."),
        "kept_offline": _(
            "No signal: %(n)s marks are kept on this phone and are sent by themselves when the signal returns.",
            n="{n}",
        ),
        "sent_later": _("The signal is back: the marks that waited on this phone have been sent."),
        "failed": _(
            "The server cannot be reached: the marks are kept on this phone and are sent by themselves as soon as "
            "it answers."
        ),
        # Refusals the server gave no reason for (its own reasons come in the page's language).
        "refused_forbidden": _("You may no longer record attendance for this session. Discard the mark."),
        "refused_gone": _("This session no longer exists, or is no longer yours to mark. Discard the mark."),
        "refused_invalid": _("The server could not read this mark. Discard it and tap the learner again."),
    }


@bp.app_template_global()
def offline_config() -> dict[str, Any]:
    """What the attendance script needs to draw and explain the sheet in the page's language."""
    statuses = services.attendance_statuses()
    return {"texts": _texts(), "statuses": [[code, _status_name(s)] for code, s in statuses.items()]}


@bp.get("/sw.js")
def service_worker():
    """The worker is served under /courses/ so that its scope covers the attendance pages (and nothing else)."""
    response = send_from_directory(current_app.static_folder or "", "offline/sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # a new release reaches the phones on their next visit
    response.headers["Service-Worker-Allowed"] = "/courses/"
    return response


@bp.get("/offline/manifest.webmanifest")
def manifest():
    from flask import url_for

    body = {
        "name": _("Attendance · Community learning"),
        "short_name": _("Attendance"),
        "start_url": url_for("courses.offline_shell"),
        "scope": "/courses/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0d6efd",
        "icons": [
            {
                "src": url_for("static", filename=f"offline/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in (192, 512)
        ],
    }
    return current_app.response_class(
        current_app.json.dumps(body), mimetype="application/manifest+json", headers={"Cache-Control": "no-cache"}
    )


@bp.get("/offline/")
def offline_shell():
    """The page the worker shows when an attendance page cannot be fetched, and the installed app's start page.
    It holds no personal data (it is cached for whoever uses the phone): the script fills it from IndexedDB."""
    return render_template("courses/offline_shell.html")


def _session_rows(extra_ids: list[int]) -> list[ClassSession]:
    """The user's sessions from the start of today to two weeks ahead (those of the classes they teach, if they
    teach any; else all they may record), plus the sessions the phone asks for by id, all through the scope."""
    start = services.local_now().replace(hour=0, minute=0, second=0, microsecond=0)
    base = scoped(
        select(ClassSession).join(CourseClass, CourseClass.id == ClassSession.class_id),
        CourseClass.commune_id,
        current_user,
        RECORD,
    )
    window = base.where(
        ClassSession.starts_at >= start,
        ClassSession.starts_at < start + timedelta(days=DAYS_AHEAD + 1),
        ClassSession.status == SessionStatus.SCHEDULED,
    )
    person_id = getattr(current_user, "person_id", None)
    if person_id is not None:
        taught = select(class_instructor.c.class_id).where(class_instructor.c.person_id == person_id)
        if db.session.scalar(select(taught.exists())):
            window = window.where(ClassSession.class_id.in_(taught))
    load = (selectinload(ClassSession.room), selectinload(ClassSession.course_class))
    rows = list(
        db.session.scalars(window.options(*load).order_by(ClassSession.starts_at, ClassSession.id).limit(MAX_SESSIONS))
    )
    have = {s.id for s in rows}
    wanted = [i for i in extra_ids if i not in have][:MAX_EXTRA]
    if wanted:
        rows += list(
            db.session.scalars(base.where(ClassSession.id.in_(wanted)).options(*load).order_by(ClassSession.starts_at))
        )
    return rows


def _iso_utc(moment: Any) -> str:
    return moment.isoformat() + "Z"


@bp.get("/offline/data.json")
def offline_data():
    """What the phone keeps for the logged-in user. Anonymous or without the right: 401/403 as JSON, so the
    script knows to stop sending (it never sends one user's marks with another's session)."""
    if not current_user.is_authenticated:
        return {"error": "login"}, 401
    if not has_permission_anywhere(current_user, RECORD):
        return {"error": "forbidden"}, 403
    extra = [int(v) for v in request.args.getlist("session") if v.isdigit()]
    sessions = _session_rows(extra)
    class_ids = {s.class_id for s in sessions}
    session_ids = [s.id for s in sessions]
    # Three queries whatever the number of sessions: rosters, marks, and the names of who recorded them.
    roster: dict[int, list[dict[str, Any]]] = {cid: [] for cid in class_ids}
    for class_id, pid, name, born in db.session.execute(
        select(Enrolment.class_id, Person.id, Person.full_name, Person.birth_date)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Enrolment.class_id.in_(class_ids), Enrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(Person.sort_key, Person.id)
    ):
        roster[class_id].append({"id": pid, "name": name, "born": born.year if born else None})
    marks: dict[int, dict[str, Any]] = {sid: {} for sid in session_ids}
    for sid, pid, status, recorded_at, device, client_mark_id, by in db.session.execute(
        select(
            Attendance.session_id,
            Attendance.person_id,
            Attendance.status,
            Attendance.recorded_at,
            Attendance.device,
            Attendance.client_mark_id,
            User.name,
        )
        .outerjoin(User, User.id == Attendance.recorded_by_id)
        .where(Attendance.session_id.in_(session_ids))
    ):
        marks[sid][str(pid)] = {
            "status": status,
            "recorded_at": _iso_utc(recorded_at),
            "by": by or "",
            "device": device,
            "client_mark_id": client_mark_id,
        }
    classes = {s.class_id: s.course_class for s in sessions}
    statuses = services.attendance_statuses()
    body = {
        "user_id": current_user.id,
        "csrf_token": generate_csrf(),
        "statuses": [[code, _status_name(s)] for code, s in statuses.items()],
        "classes": {str(cid): {"name": c.name, "learners": roster[cid]} for cid, c in classes.items()},
        "sessions": [
            {
                "id": s.id,
                "class_id": s.class_id,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "place": s.room.name if s.room else s.place,
                "cancelled": s.status == SessionStatus.CANCELLED,
                "marks": marks[s.id],
            }
            for s in sessions
        ],
    }
    response: Response = current_app.response_class(current_app.json.dumps(body), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"  # personal data: the script keeps it, not the HTTP cache
    return response
