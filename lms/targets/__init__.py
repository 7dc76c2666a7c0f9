"""Plan targets: plans and indicators as data, indicator values computed per commune and rolled up by sums,
dashboards and periodic reports. Reads titles (eligibility, recognitions) and the registry; nothing reads it."""

from flask import Blueprint

bp = Blueprint("targets", __name__, template_folder="templates", url_prefix="/targets")

from lms.targets import api, models, views  # noqa: E402,F401 - registers the models, the pages and the API routes
