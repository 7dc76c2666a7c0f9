from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import text

from lms import work
from lms.auth.models import Role, RoleAssignment
from lms.core import bp
from lms.core.models import Heartbeat
from lms.core.signals import home_page
from lms.extensions import db, utcnow


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    cards = [(assignment, _role_links(assignment)) for assignment in current_user.roles]
    training = url_for("courses.my_training")
    # One way to My training: the button, unless an officer's card already leads there.
    training_button = bool(current_user.person_id) and all(url != training for _, links in cards for _, url in links)
    reminders = [markup for _receiver, markup in home_page.send("home") if markup]
    return render_template("core/home.html", cards=cards, training_button=training_button, reminders=reminders)


# The pages each role works in, most used first. Every link is guarded by a permission the role holds on its
# unit, so a home card never leads to a 403 (an association officer holds no registry permission: their work is
# the titles the commune association recognises — ADR 45 —, their officers' IT-skills figures — ADR 7 — and their
# own training, reached through their person).
_ROLE_PAGES: dict[Role, tuple[str, ...]] = {
    Role.ADMINISTRATOR: ("unit", "users", "targets", "eligibility", "classes", "runs"),
    Role.PROVINCE_LEADER: ("targets", "eligibility", "decide", "it_figures", "unit"),
    Role.COMMUNE_LEADER: ("targets", "eligibility", "registrations", "propose", "decide", "it_figures", "unit"),
    Role.CENTRE_MANAGER: ("classes", "eligibility", "registrations", "it_certificates", "unit"),
    Role.INSTRUCTOR: ("classes", "unit"),
    Role.ASSOCIATION_OFFICER: ("eligibility", "registrations", "propose", "decide", "it_figures", "my_training"),
}
# Registration and proposal are a commune's work; a province leader decides with a commune picker instead.
_COMMUNE_ONLY = {"registrations", "propose"}


def _role_links(assignment: RoleAssignment) -> list[tuple[str, str]]:
    """(label, URL) of the pages a role assignment opens, each one the role may see."""
    # auth.permissions imports the registry, which imports core: import it once the app is built.
    from lms.auth.permissions import ROLE_PERMISSIONS, Permission

    role, unit = Role(assignment.role), assignment.unit
    held = ROLE_PERMISSIONS[role]
    commune: dict[str, Any] = {"commune_id": unit.id} if unit.level == "commune" else {}
    pages = {
        "unit": (Permission.REGISTRY_VIEW, unit.full_name, lambda: url_for("registry.unit", unit_id=unit.id)),
        "targets": (Permission.TARGETS_VIEW, _l("Plan targets"), lambda: url_for("targets.unit", unit_id=unit.id)),
        "eligibility": (
            Permission.TITLES_VIEW,
            _l("Titles"),
            lambda: url_for("titles.eligibility_list", unit_id=unit.id),
        ),
        "registrations": (
            Permission.TITLES_VIEW,
            _l("Registrations"),
            lambda: url_for("titles.registrations", **commune),
        ),
        "propose": (
            Permission.TITLES_PROPOSE,
            _l("Propose for recognition"),
            lambda: url_for("titles.recognition_propose", **commune),
        ),
        "decide": (
            Permission.TITLES_APPROVE,
            _l("Decide recognitions"),
            lambda: url_for("titles.recognition_decide", **commune),
        ),
        "classes": (Permission.COURSES_VIEW, _l("Classes"), lambda: url_for("courses.classes")),
        "it_figures": (Permission.IT_FIGURES_VIEW, _l("IT skills"), lambda: url_for("courses.it_figures")),
        "it_certificates": (
            Permission.IT_CERTIFICATE_VERIFY,
            _l("IT certificates"),
            lambda: url_for("courses.it_certificates"),
        ),
        "runs": (Permission.TITLES_ADMIN, _l("Evaluation runs"), lambda: url_for("titles.runs_page")),
        "users": (Permission.USERS_MANAGE, _l("User accounts"), lambda: url_for("auth.users")),
    }
    links = []
    for key in _ROLE_PAGES[role]:
        if key == "my_training":
            if current_user.person_id:
                links.append((str(_l("My training")), url_for("courses.my_training")))
            continue
        if key in _COMMUNE_ONLY and not commune:
            continue
        permission, label, url = pages[key]
        if permission in held:
            links.append((str(label), url()))
    return links


def _check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure
        db.session.rollback()
        return {"status": "error", "detail": type(exc).__name__}


def _check_broker() -> dict:
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {
            "status": "ok",
            "transport": conn.transport_cls if isinstance(conn.transport_cls, str) else type(conn.transport).__name__,
        }
    except Exception as exc:  # noqa: BLE001
        return {"status": "error", "detail": type(exc).__name__}


def _check_worker() -> dict:
    if current_app.config["CELERY"].get("task_always_eager"):
        return {"status": "ok", "detail": "tasks run eagerly in-process"}
    try:
        beat = db.session.get(Heartbeat, "worker")
    except Exception:  # noqa: BLE001
        db.session.rollback()
        return {"status": "unknown"}
    if beat is None:
        return {"status": "down", "detail": "no heartbeat yet"}
    age = (utcnow() - beat.beat_at).total_seconds()
    ok = age <= current_app.config["WORKER_HEARTBEAT_MAX_AGE"].total_seconds()
    return {"status": "ok" if ok else "down", "last_heartbeat_seconds_ago": round(age, 1)}


def _check_work() -> dict:
    try:
        parked = work.parked_count()
    except Exception:  # noqa: BLE001
        db.session.rollback()
        return {"status": "unknown"}
    return {"status": "ok" if parked == 0 else "degraded", "parked": parked}


@bp.get("/healthz")
def healthz():
    """Public, and shows no data: the state of the database, the broker, the worker (via its heartbeat) and the
    number of parked marks (work that failed too often: degraded, ADR 23)."""
    checks = {"database": _check_database(), "broker": _check_broker(), "worker": _check_worker()}
    checks["work"] = _check_work()
    healthy = checks["database"]["status"] == "ok" and checks["broker"]["status"] == "ok"
    running = checks["worker"]["status"] == "ok" and checks["work"]["status"] == "ok"
    body = {
        "status": "ok" if healthy and running else "degraded" if healthy else "error",
        "checks": checks,
    }
    return jsonify(body), 200 if healthy else 503
