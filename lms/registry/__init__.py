"""The registry: places (the effective-dated hierarchy with lineage), people, households, clans,
organisations, association memberships, Community Learning Centres; and the spreadsheet imports."""

from flask import Blueprint

bp = Blueprint("registry", __name__, template_folder="templates", url_prefix="/registry")

from lms.registry import api, changes, views  # noqa: E402,F401 - registers the routes and the session's hooks
