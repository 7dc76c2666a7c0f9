"""The generated OpenAPI document and its rendered page (Swagger UI, vendored: no CDN)."""

from __future__ import annotations

from flask import render_template

from lms.api import bp
from lms.api.schema import document


@bp.get("/openapi.json")
def openapi_json():
    return document()


@bp.get("/docs")
def docs():
    return render_template("api/docs.html")
