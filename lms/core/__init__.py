"""Cross-cutting pages and plumbing: the home page, ``/healthz``, the worker heartbeat, audit events."""

from flask import Blueprint

bp = Blueprint("core", __name__, template_folder="templates")

from lms.core import headers, views  # noqa: E402,F401 - registers the routes and the response hook on bp
