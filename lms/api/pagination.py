from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
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


def page_of(stmt: Select, query: Any, model: Any, convert: Any = None) -> Any:
    """A page of ``stmt`` as ``model`` (a ``Page[Item]``): ``page`` and ``per_page`` from the validated ``query``;
    each row becomes an item by ``convert`` (default: read from the row's attributes)."""
    max_size = current_app.config["API_MAX_PAGE_SIZE"]
    per_page = query.per_page or current_app.config["PAGE_SIZE"]
    if per_page > max_size:
        raise ApiValidationError([{"field": "per_page", "message": _("Must be at most %(le)s.", le=max_size)}])
    result = db.paginate(stmt, page=query.page, per_page=per_page, error_out=False, count=True)
    item = model.model_fields["items"].annotation.__args__[0]
    items = [convert(row) if convert else item.model_validate(row) for row in result.items]
    return model(items=items, page=query.page, per_page=per_page, total=result.total or 0)
