from __future__ import annotations

from typing import Any

from flask import current_app, request
from sqlalchemy import Select

from lms.api.errors import ApiValidationError
from lms.extensions import db


def paginate(stmt: Select, serialise: Any) -> dict[str, Any]:
    """A page of ``stmt`` as ``{"items", "page", "per_page", "total"}``; ``page`` and ``per_page`` from the query."""
    errors = []
    try:
        page = int(request.args.get("page", 1))
        if page < 1:
            raise ValueError
    except ValueError:
        errors.append({"field": "page", "message": "must be a positive integer"})
        page = 1
    max_size = current_app.config["API_MAX_PAGE_SIZE"]
    try:
        per_page = int(request.args.get("per_page", current_app.config["PAGE_SIZE"]))
        if not 1 <= per_page <= max_size:
            raise ValueError
    except ValueError:
        errors.append({"field": "per_page", "message": f"must be an integer from 1 to {max_size}"})
        per_page = 1
    if errors:
        raise ApiValidationError(errors, "Invalid pagination parameters.")
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return {
        "items": [serialise(item) for item in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }
