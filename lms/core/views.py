from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from lms import work
from lms.core import bp
from lms.core.models import Heartbeat
from lms.extensions import db, utcnow


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("core/home.html")


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
