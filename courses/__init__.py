"""Courses, classes, schedules, enrolment, attendance, completion and the IT-skills programme.

Depends on the registry and auth; never on titles: a completion is written as a ``LearningRecord`` that the titles
engine reads.
"""

from flask import Blueprint

bp = Blueprint("courses", __name__, template_folder="templates", url_prefix="/courses")

from courses import api, document_views, it_api, it_views, models, offline, panels, privacy, views  # noqa: E402,F401 - registers the models, the panel and the routes
