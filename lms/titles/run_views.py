"""Evaluation runs as pages: start a run for a unit in your scope, list the runs, follow one's progress.

The run page refreshes its progress bar from the JSON API without reloading (``fetch``); without JavaScript a
``<noscript>`` meta refresh reloads the page every few seconds until the run closes.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import IntegerField, SelectField
from wtforms.validators import DataRequired, NumberRange

from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission, can, in_scope, scope_paths, scoped
from lms.core.clock import local_today
from lms.core.forms import FILTERED_LIST, LmsForm
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel
from lms.titles import bp, runs
from lms.titles.forms import SUBJECT_NAMES, TITLE_NAMES
from lms.titles.models import EvaluationRun, RunStatus
from lms.titles.run_api import get_run
from lms.titles.schemas import RunOut

VIEW = Permission.TITLES_VIEW
ADMIN = Permission.TITLES_ADMIN


class RunForm(LmsForm):
    unit = SelectField(_l("Unit"), coerce=int, validators=[DataRequired()], render_kw=FILTERED_LIST)
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])


def _run_units() -> list[AdminUnit]:
    """The current units the user may evaluate: the roots of their scope and every commune under them."""
    paths = scope_paths(current_user, ADMIN)
    return list(
        db.session.scalars(
            select(AdminUnit)
            .where(
                in_scope(AdminUnit.path, current_user, ADMIN),
                AdminUnit.valid_to.is_(None),
                (AdminUnit.level == UnitLevel.COMMUNE) | AdminUnit.path.in_(paths),
                AdminUnit.level != UnitLevel.VILLAGE,
            )
            .order_by(AdminUnit.path.in_(paths).desc(), AdminUnit.sort_key)
            .limit(5000)
        )
    )


@bp.route("/runs", methods=["GET", "POST"])
@permission_required(VIEW)
def runs_page():
    form = None
    if scope_paths(current_user, ADMIN):
        form = RunForm()
        form.unit.choices = [(u.id, f"{u.full_name}") for u in _run_units()]
        if form.year.data is None:
            form.year.data = local_today().year
        if form.validate_on_submit():
            unit = db.session.get(AdminUnit, form.unit.data)
            if unit is None or not can(current_user, ADMIN, unit):
                abort(404)
            try:
                run = runs.start_run(unit, form.year.data or 0, user=current_user)
            except runs.RunRefused as exc:
                form.unit.errors = [str(exc)]
            else:
                db.session.commit()
                flash(_("Evaluation started."), "success")
                return redirect(url_for("titles.run_page", run_id=run.id))
    elif request.method == "POST":
        abort(403)  # viewing runs does not allow starting one
    recent = db.session.execute(
        scoped(select(EvaluationRun, AdminUnit), EvaluationRun.unit_id, current_user, VIEW)
        .join(AdminUnit, AdminUnit.id == EvaluationRun.unit_id)
        .order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc())
        .limit(50)
    ).all()
    return render_template("titles/runs.html", form=form, recent=recent, status_names=status_names())


@bp.get("/runs/<int:run_id>")
@permission_required(VIEW)
def run_page(run_id: int):
    run = get_run(run_id)
    if run is None:
        abort(404)
    unit = db.session.get(AdminUnit, run.unit_id)
    failures = runs.failures(run)
    subject_failures = runs.subject_failures(run)
    names: dict[int, str] = {}
    communes = {f.commune_id for f in failures} | {f["commune_id"] for f in subject_failures}
    for unit_id, name in db.session.execute(select(AdminUnit.id, AdminUnit.name).where(AdminUnit.id.in_(communes))):
        names[unit_id] = name
    # Subjects by name (as the lists show them) and indicators by name, never "person #17" or "a3".
    from flask_babel import get_locale

    from lms.titles.services import indicator_names, subject_labels

    labels = subject_labels((f["subject_type"], f["subject_id"]) for f in subject_failures)
    locale = str(get_locale() or "vi")
    indicators = {title: indicator_names(title, locale) for title in {f["title"] for f in subject_failures}}
    return render_template(
        "titles/run.html",
        run=run,
        unit=unit,
        data=RunOut.model_validate(run).model_dump(mode="json"),
        failures=failures,
        subject_failures=subject_failures,
        subject_names=SUBJECT_NAMES,
        title_names=TITLE_NAMES,
        commune_names=names,
        labels=labels,
        indicators=indicators,
        status_names=status_names(),
        open=run.status not in runs.FINISHED,
    )


def status_names() -> dict[str, str]:
    return {
        RunStatus.QUEUED.value: _("queued"),
        RunStatus.RUNNING.value: _("running"),
        RunStatus.DONE.value: _("done"),
        RunStatus.FAILED.value: _("failed"),
    }
