"""Errors as ``application/problem+json`` (RFC 9457) for the API; HTML pages for everything else."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from lms.core.errors import error_page


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


class ApiValidationError(Exception):
    """Raised by API handlers: a 422 with one entry per offending field."""

    def __init__(self, errors: list[dict[str, Any]], detail: str = "The request has invalid fields.") -> None:
        super().__init__(detail)
        self.errors = errors
        self.detail = detail


def register_error_handlers(app: Flask) -> None:
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

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if is_api():
            return problem(exc.code or 500, exc.name, exc.description)
        if (exc.code or 500) < 400:
            return exc
        return error_page(exc)
