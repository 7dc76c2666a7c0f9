"""Errors as ``application/problem+json`` (RFC 9457) for the API; HTML pages for everything else."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from kombu.exceptions import OperationalError as BrokerError
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import BadRequest, HTTPException

log = logging.getLogger(__name__)
# What a dead or unreachable database or broker raises: the request may succeed later, so 503, not 500.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, BrokerError)


def problem(
    status: int, title: str, detail: str | None = None, errors: list[dict[str, Any]] | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def stale_preview(field: str, message: str, preview: BaseModel, **extra: Any) -> Response:
    """The 409 of a confirmation whose preview is out of date: nothing was written, ``field`` (the preview's digest or
    token the request sent) is named with ``message``, and ``preview`` is what the request would do now (its new
    digest or token in it), for the caller to show and confirm again."""
    errors = [{"field": field, "message": message}]
    return problem(409, "Conflict", message, errors, preview=preview.model_dump(mode="json"), **extra)


class ApiValidationError(Exception):
    """Raised by API handlers: a 422 with one entry per offending field."""

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        # The default in the caller's language, as the fields' messages are: an English default here answered
        # "The request has invalid fields." over Vietnamese messages.
        detail = detail or _("The request has invalid fields.")
        super().__init__(detail)
        self.errors = errors
        self.detail = detail


def register_error_handlers(app: Flask) -> None:
    # Here, not at the top: lms.core's package imports the pages, which import the features, whose API modules
    # import this module — the schema layer must be importable first, from any entry point (a worker, a script).
    from lms.core.errors import error_page

    def is_api() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(ApiValidationError)
    def _validation(exc: ApiValidationError):
        return problem(422, "Unprocessable Entity", exc.detail, exc.errors)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        if is_api():
            return problem(400, "CSRF token missing or invalid", exc.description)
        return error_page(BadRequest(_("The form has expired. Open the page again and resend it.")))

    def _unavailable(exc: Exception):
        log.error("service unavailable: %s: %s", type(exc).__name__, exc)
        try:
            from lms.extensions import db

            db.session.rollback()
        except Exception:  # noqa: BLE001, S110 - the connection is already gone; nothing more to undo
            pass
        retry_after = current_app.config["RETRY_AFTER_SECONDS"]
        if is_api():
            response = problem(
                503,
                "Service Unavailable",
                "The database or the task queue cannot be reached; nothing was applied unless a previous answer said "
                "so. Retry after the number of seconds in Retry-After, with the same Idempotency-Key.",
            )
        else:
            # A page that needs neither the database nor the broker: no base.html, no menu, and rendered without the
            # context processors (Flask-Login's would load the current user from the database).
            from flask_babel import get_locale

            page = current_app.jinja_env.get_template("core/unavailable.html").render(
                retry_after=retry_after, current_locale=str(get_locale())
            )
            response = current_app.make_response((page, 503))
        response.headers["Retry-After"] = str(retry_after)
        return response

    for error in UNAVAILABLE:
        app.register_error_handler(error, _unavailable)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if is_api():
            return problem(exc.code or 500, exc.name, exc.description)
        if (exc.code or 500) < 400:
            return exc
        try:
            return error_page(exc)
        except UNAVAILABLE as unreachable:  # the menu asks the database who the user is
            return _unavailable(unreachable)
