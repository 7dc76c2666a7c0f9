"""Titles: criteria sets as versioned data, the evaluation engine (bottom-up, set-based, one Celery task per commune
and year), eligibility with its explanation, assessments with evidence, registrations and recognitions.

Reads the registry and the learning records courses write; never imported by registry or courses.
"""

from flask import Blueprint

bp = Blueprint("titles", __name__, template_folder="templates", url_prefix="/titles")

from lms.titles import (  # noqa: E402,F401 - registers the models, the signal receiver and the routes
    api,
    criteria_views,
    dirty,
    documents,
    models,
    panels,
    print_api,
    print_views,
    privacy,
    recognition_api,
    recognition_views,
    run_api,
    run_views,
    views,
)
