"""Users, roles scoped to units of the hierarchy, login, API tokens and the permission checks."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from lms.auth import views  # noqa: E402,F401 - registers the routes on bp
