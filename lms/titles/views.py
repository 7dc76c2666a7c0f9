"""Pages of titles: eligibility lists (a village, a commune, an organisation), a subject's explanation, and the
entry of assessments with their evidence (one by one, or a spreadsheet).

Each view loads through the scoping helper (404 when the object is missing *or* outside the user's scope),
validates, calls one service, commits once, flashes and redirects.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from courses.models import CourseClass, LearningRecord
from lms.auth.decorators import permission_required
from lms.auth.models import Role
from lms.auth.permissions import ROLE_PERMISSIONS, Permission, can, scoped
from lms.core import formatting
from lms.core.clock import local_today
from lms.core.evidence import EvidenceError, evidence_response, store_evidence
from lms.core.models import EvidenceFile
from lms.core.numbers import whole_number
from lms.extensions import db
from lms.registry import issuers
from lms.registry.models import AdminUnit, Organisation
from lms.titles import bp, documents, recognition, services, summary
from lms.titles.forms import (
    CRITERIA_STATUS_NAMES,
    LEARNING_KIND_NAMES,
    SORT_NAMES,
    SOURCE_NAMES,
    STATUS_NAMES,
    SUBJECT_NAMES,
    TITLE_NAMES,
    ActionForm,
    AssessmentForm,
    ConfirmImportForm,
    ImportForm,
)
from lms.titles.models import Assessment, AssessmentSource, SubjectType, Title

VIEW = Permission.TITLES_VIEW
ASSESS = Permission.TITLES_ASSESS


@bp.app_context_processor
def _names() -> dict[str, Any]:
    return {
        "title_names": TITLE_NAMES,
        "learning_kind_names": LEARNING_KIND_NAMES,
        "subject_names": SUBJECT_NAMES,
        "source_names": SOURCE_NAMES,
        "eligibility_status_names": STATUS_NAMES,
        "criteria_status_names": CRITERIA_STATUS_NAMES,
    }


def _int_arg(name: str) -> int | None:
    return whole_number(request.args.get(name, ""))


def _scope_roots() -> list[AdminUnit]:
    return sorted(
        {a.unit for a in current_user.roles if VIEW in ROLE_PERMISSIONS[Role(a.role)]}, key=lambda u: u.sort_key
    )


@bp.get("/")
@permission_required(VIEW)
def index():
    return redirect(url_for("titles.eligibility_list"))


@bp.get("/eligibility")
@permission_required(VIEW)
def eligibility_list():
    """Eligibility of a village, a commune (or anything above) or an organisation, filtered and sorted."""
    filters = services.EligibilityFilter()
    unit_id, organisation_id = _int_arg("unit_id"), _int_arg("organisation_id")
    organisation = None
    if organisation_id is not None:
        organisation = db.session.scalar(
            scoped(select(Organisation), Organisation.commune_id, current_user, VIEW).where(
                Organisation.id == organisation_id
            )
        )
        if organisation is None:
            abort(404)
        filters.organisation_id = organisation.id
    roots = _scope_roots()
    unit = None
    if unit_id is not None:
        unit = db.session.scalar(
            scoped(select(AdminUnit), AdminUnit.id, current_user, VIEW).where(AdminUnit.id == unit_id)
        )
        if unit is None:
            abort(404)
    elif organisation is None and len(roots) == 1:
        unit = roots[0]
    filters.unit = unit
    for name in ("household_id", "clan_id"):
        setattr(filters, name, _int_arg(name))
    title = request.args.get("title", "")
    filters.title = title if title in TITLE_NAMES else Title.CITIZEN.value
    filters.year = _int_arg("year") or services.latest_year(current_user)
    status = request.args.get("status", "")
    filters.status = status if status in services.STATUSES else None
    filters.subjects_only = True  # "all" is the title's subjects, as its count says; not applicable: its own button
    sort = request.args.get("sort", "name")
    sort = sort if sort in services.SORTS else "name"
    indicators = services.title_indicators(filters.title)
    # Readers know the indicators by name; the code stays in a tooltip and in the query string.
    missing_choices = [(i.code, i.label(str(get_locale()))) for i in indicators]
    missing = request.args.get("missing", "")
    filters.missing = missing if services.INDICATOR_CODE.match(missing) else None
    rows = db.paginate(
        services.eligibility_select(current_user, filters, sort), per_page=current_app.config["PAGE_SIZE"]
    )
    labels = services.subject_labels((r.subject_type, r.subject_id) for r in rows.items)
    counts = services.status_counts(current_user, filters)
    args = {
        "unit_id": unit.id if unit else "",
        "organisation_id": organisation.id if organisation else "",
        "household_id": filters.household_id or "",
        "clan_id": filters.clan_id or "",
        "title": filters.title,
        "year": filters.year or "",
        "status": filters.status or "",
        "missing": filters.missing or "",
        "sort": sort,
    }
    return render_template(
        "titles/eligibility_list.html",
        rows=rows,
        labels=labels,
        counts=counts,
        filters=filters,
        unit=unit,
        organisation=organisation,
        roots=roots,
        sort=sort,
        missing_choices=missing_choices,
        # The rows' own versions name what they miss, even an indicator the active version dropped.
        indicator_names=services.indicator_names(
            filters.title, str(get_locale()), {r.criteria_set_id for r in rows.items}
        ),
        indicator_label=services.indicator_label,
        args=args,
        sort_names=SORT_NAMES,
        # What the listed results rest on that no text supports (the rows' criteria-set versions): one query.
        provisional=services.provisional_bases({r.criteria_set_id for r in rows.items}),
        criteria_links=services.title_criteria(filters.title),
    )


def _points_bar(criteria_set: Any) -> dict[str, Any] | None:
    """A points-style set's pass mark and its most points, so "74 points" reads against what it must reach."""
    definition = (criteria_set.definition if criteria_set is not None else None) or {}
    if definition.get("pass_total") is None:
        return None
    most = sum(Decimal(str(i.get("max_points") or 0)) for i in definition.get("indicators") or [])
    return {"pass": Decimal(str(definition["pass_total"])), "max": most or None}


@bp.get("/eligibility/<int:eligibility_id>")
@permission_required(VIEW)
def explanation(eligibility_id: int):
    """Why a subject is (not yet) eligible: every indicator with its value, where it came from and what is lacking."""
    eligibility = services.get_eligibility(eligibility_id, current_user)
    if eligibility is None:
        abort(404)
    items = services.explain(eligibility, str(get_locale()))
    label = services.subject_labels([(eligibility.subject_type, eligibility.subject_id)]).get(
        (eligibility.subject_type, eligibility.subject_id)
    ) or services.SubjectLabel(f"{eligibility.subject_type} {eligibility.subject_id}")
    learning: Sequence[Any] = []
    if eligibility.subject_type == SubjectType.PERSON:
        learning = db.session.execute(
            select(LearningRecord, CourseClass.name)
            .outerjoin(CourseClass, CourseClass.id == LearningRecord.class_id)
            .where(LearningRecord.person_id == eligibility.subject_id, LearningRecord.year == eligibility.year)
            .order_by(LearningRecord.completed_on, LearningRecord.id)
        ).all()
    commune = db.session.get(AdminUnit, eligibility.commune_id)
    return render_template(
        "titles/explanation.html",
        eligibility=eligibility,
        criteria_set=eligibility.criteria_set,
        bar=_points_bar(eligibility.criteria_set),
        items=items,
        label=label,
        learning=learning,
        members=services.members_filter(eligibility),
        users=services.user_names(x.assessment for x in items if x.assessment),
        can_assess=can(current_user, ASSESS, commune),
        commune=commune,
        provisional=services.provisional_basis(
            eligibility.criteria_set, services.breakdown_codes(eligibility.breakdown)
        ),
        held_by=recognition.holding(
            eligibility.subject_type, eligibility.subject_id, eligibility.title, eligibility.year
        ),
        projection=services.projection_text(eligibility),
    )


@bp.get("/eligibility/<int:eligibility_id>/summary.pdf")
@permission_required(VIEW)
def eligibility_summary(eligibility_id: int):
    """The explanation as a filed document: the "Bản tổng hợp kết quả (tự) đánh giá các tiêu chí, chỉ tiêu" of the
    dossier (Circular 24, Art. 10.1; Circular 25, Art. 9.1), in Vietnamese whatever the reader's language."""
    eligibility = services.get_eligibility(eligibility_id, current_user)
    if eligibility is None:
        abort(404)
    key = (eligibility.subject_type, eligibility.subject_id)
    label = services.subject_labels([key]).get(key) or services.SubjectLabel(str(eligibility.subject_id))
    commune = db.session.get(AdminUnit, eligibility.commune_id)
    if commune is None:
        abort(404)
    # A unit files its own dossier, under its own name, signed by its head (Circular 24, Art. 10.1.c); every other
    # subject's summary is the commune's (its People's Committee for the commune learning community, Circular 25).
    issuer = (
        issuers.Issuer(body=(label.name.upper(),), place=commune.name)
        if eligibility.subject_type == SubjectType.ORGANISATION
        else issuers.report_issuer(commune)
    )
    noun = documents.SUBJECT_LABELS[Title(eligibility.title)]
    # The sentences (where a value came from, what is missing, the projection) are gettext's, in the request's
    # language unless told: the document is Vietnamese whatever the reader chose.
    with force_locale("vi"):
        content = summary.summary_pdf(
            summary.summary_of(
                eligibility,
                services.explain(eligibility, "vi"),
                issuer=issuer,
                subject=f"{noun}: {label.name}" + (f" — {label.detail}" if label.detail else ""),
                projection=services.projection_text(eligibility),
                made_on=local_today(),
                made_by=current_user.name,
                evaluated_at=formatting.moment(eligibility.computed_at, locale="vi"),
            )
        )
    return documents.pdf_response(
        content, f"tong-hop-ket-qua-{eligibility.title}-{eligibility.year}-{eligibility.id}.pdf"
    )


# --- assessments ---------------------------------------------------------------------------------------------


def _assessment(assessment_id: int, permission: Permission = VIEW) -> Assessment:
    assessment = services.get_assessment(assessment_id, current_user, permission)
    if assessment is None:
        abort(404)
    return assessment


def _indicator_choices(form: AssessmentForm, subject_type: str, subject_id: int) -> dict[str, Any]:
    criteria_set, indicators = services.assessable_indicators(subject_type, subject_id)
    locale = str(get_locale())
    form.indicator.choices = [SelectChoice(i.code, f"{i.code} · {i.label(locale)}") for i in indicators]
    return {"criteria_set": criteria_set, "indicators": {i.code: i for i in indicators}}


def _upload(form: AssessmentForm) -> tuple[EvidenceFile | None, bool]:
    """The evidence file of the form, if one was chosen; False when it was refused (the error is on the form)."""
    upload = form.evidence_file.data
    if upload is None or not getattr(upload, "filename", ""):
        return None, True
    try:
        return store_evidence(upload, uploaded_by_id=current_user.id), True
    except EvidenceError as exc:
        form.evidence_file.errors = [*form.evidence_file.errors, str(exc)]
        return None, False


def _show_error(form: AssessmentForm, exc: services.TitlesError) -> None:
    if isinstance(exc, services.RecognisedYear):  # not a field to correct: the subject-year is frozen
        flash(str(exc), "danger")
        return
    name = {"subject_type": "indicator", "subject_id": "indicator", "evidence": "evidence_ref"}.get(
        exc.field or "", exc.field or "value"
    )
    target = getattr(form, name, form.value)
    target.errors = [*target.errors, str(exc)]


@bp.route("/assessments/new", methods=["GET", "POST"])
@permission_required(ASSESS)
def new_assessment():
    """Enter one assessed value for a subject (named in the query: ``subject_type``, ``subject_id``, ``year``)."""
    form = AssessmentForm(
        data={
            "subject_type": request.args.get("subject_type", ""),
            "subject_id": request.args.get("subject_id", ""),
            "year": _int_arg("year"),
            "indicator": request.args.get("indicator", ""),
        }
    )
    subject_type, subject_id = form.subject_type.data or "", form.subject_id.data or ""
    subject_number = whole_number(subject_id)
    if subject_type not in services.SUBJECT_TITLE or subject_number is None:
        abort(404)
    place = services.subject_place(subject_type, subject_number)
    if place is None or not can(current_user, ASSESS, db.session.get(AdminUnit, place[0])):
        abort(404)
    context = _indicator_choices(form, subject_type, int(subject_id))
    if form.validate_on_submit():
        evidence, ok = _upload(form)
        if ok:
            try:
                assessment = services.create_assessment(
                    services.AssessmentInput(
                        subject_type,
                        int(subject_id),
                        form.year.data or 0,
                        form.indicator.data or "",
                        form.value.data,
                        form.source.data or AssessmentSource.EVALUATOR.value,
                        form.evidence_ref.data or "",
                        form.note.data or "",
                    ),
                    user=current_user,
                    evidence=evidence,
                )
            except services.TitlesError as exc:
                db.session.rollback()
                _show_error(form, exc)
            else:
                db.session.commit()
                flash(_("Assessment saved; the eligibility is being recomputed."), "success")
                return redirect(_back(assessment))
    label = services.subject_labels([(subject_type, int(subject_id))]).get((subject_type, int(subject_id)))
    return render_template("titles/assessment_form.html", form=form, assessment=None, label=label, **context)


def _back(assessment: Assessment) -> str:
    """The subject's explanation page for the assessment's year if there is one, else the assessment itself."""
    from lms.titles.models import TITLE_SUBJECT, Eligibility

    title = next(t for t, s in TITLE_SUBJECT.items() if s == assessment.subject_type)
    eligibility_id = db.session.scalar(
        select(Eligibility.id).where(
            Eligibility.subject_type == assessment.subject_type,
            Eligibility.subject_id == assessment.subject_id,
            Eligibility.title == title,
            Eligibility.year == assessment.year,
        )
    )
    if eligibility_id is not None:
        return url_for("titles.explanation", eligibility_id=eligibility_id)
    return url_for("titles.assessment", assessment_id=assessment.id)


@bp.route("/assessments/<int:assessment_id>", methods=["GET", "POST"])
@permission_required(VIEW)
def assessment(assessment_id: int):
    """An assessment with its evidence; those who assess may change, verify or delete it here."""
    assessment = _assessment(assessment_id)
    commune = db.session.get(AdminUnit, assessment.commune_id)
    can_assess = can(current_user, ASSESS, commune)
    if request.method == "POST" and not can_assess:
        abort(403)
    # The stored values fill the form on GET only: on POST a field left out must fail validation, not fall back to
    # the stored Decimal (which the Length validator cannot measure).
    form = AssessmentForm(obj=assessment if request.method == "GET" else None)
    context = _indicator_choices(form, assessment.subject_type, assessment.subject_id)
    if request.method == "GET":
        form.value.data = f"{assessment.value.normalize():f}"
    # The subject, year and indicator of an assessment never change: delete it and enter another instead.
    form.subject_type.data, form.subject_id.data = assessment.subject_type, str(assessment.subject_id)
    form.year.data, form.indicator.data = assessment.year, assessment.indicator
    if can_assess and form.validate_on_submit():
        evidence, ok = _upload(form)
        if ok:
            try:
                services.update_assessment(
                    assessment,
                    user=current_user,
                    value=form.value.data,
                    source=form.source.data,
                    evidence_ref=form.evidence_ref.data or "",
                    note=form.note.data or "",
                    evidence=evidence,
                    remove_evidence=bool(form.remove_evidence.data),
                )
            except services.TitlesError as exc:
                db.session.rollback()
                _show_error(form, exc)
            else:
                db.session.commit()
                flash(_("Assessment saved; the eligibility is being recomputed."), "success")
                return redirect(_back(assessment))
    label = services.subject_labels([(assessment.subject_type, assessment.subject_id)]).get(
        (assessment.subject_type, assessment.subject_id)
    )
    return render_template(
        "titles/assessment_form.html",
        form=form,
        assessment=assessment,
        label=label,
        can_assess=can_assess,
        action_form=ActionForm(),
        users=services.user_names([assessment]),
        **context,
    )


@bp.post("/assessments/<int:assessment_id>/verify")
@permission_required(ASSESS)
def verify_assessment(assessment_id: int):
    assessment = _assessment(assessment_id, ASSESS)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.verify_assessment(assessment, user=current_user)
    except services.TitlesError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("titles.assessment", assessment_id=assessment_id))
    db.session.commit()
    flash(_("Verified: the self-assessment now counts."), "success")
    return redirect(_back(assessment))


@bp.post("/assessments/<int:assessment_id>/delete")
@permission_required(ASSESS)
def delete_assessment(assessment_id: int):
    assessment = _assessment(assessment_id, ASSESS)
    if not ActionForm().validate_on_submit():
        abort(400)
    back = _back(assessment)
    services.delete_assessment(assessment, user=current_user)
    db.session.commit()
    flash(_("Assessment deleted; the eligibility is being recomputed."), "success")
    return redirect(back if "/eligibility/" in back else url_for("titles.eligibility_list"))


@bp.get("/assessments/<int:assessment_id>/evidence")
@permission_required(VIEW)
def assessment_evidence(assessment_id: int):
    """The evidence file, only to those who may see the assessment."""
    assessment = _assessment(assessment_id)
    file = db.session.get(EvidenceFile, assessment.evidence_file_id) if assessment.evidence_file_id else None
    if file is None:
        abort(404)
    return evidence_response(file)


@bp.route("/assessments/import", methods=["GET", "POST"])
@permission_required(ASSESS)
def import_assessments():
    """Assessments in bulk from a spreadsheet: checked and previewed first (every error with its row and column);
    nothing is written until the preview is confirmed."""
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or "upload.xlsx"
        if not filename.lower().endswith((".xlsx", ".csv")):
            form.file.errors = [*form.file.errors, _("Upload an .xlsx workbook or a .csv file.")]
        else:
            result = services.import_assessments(filename, upload.read(), user=current_user, dry_run=True)
            db.session.rollback()  # a dry run writes nothing; this makes sure of it
    return _assessment_import_page(form, result, filename=form.file.data.filename if result else "")


@bp.post("/assessments/import/confirm")
@permission_required(ASSESS)
def confirm_assessment_import():
    """Apply a confirmed preview, exactly: if the register changed since, preview again and say so."""
    from lms.core.imports import load_rows

    form = ConfirmImportForm()
    plan = load_rows("assessments", form.plan.data or "") if form.validate_on_submit() else None
    if plan is None:
        flash(_("This preview is no longer valid: upload the file again."), "warning")
        return redirect(url_for("titles.import_assessments"))
    result = services.apply_assessment_rows(
        plan["rows"], user=current_user, filename=plan["filename"], expected_digest=plan["digest"]
    )
    if result.errors or result.outdated:
        db.session.rollback()
        return _assessment_import_page(ImportForm(formdata=None), result, filename=plan["filename"])
    db.session.commit()
    flash(
        _(
            "%(created)s assessments added, %(updated)s changed, %(unchanged)s unchanged.",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        ),
        "success",
    )
    return redirect(url_for("titles.import_assessments"))


def _assessment_import_page(form: ImportForm, result: services.ImportResult | None, *, filename: str):
    from lms.core.imports import sign_rows

    confirm = None
    if result is not None and not result.errors and result.preview is not None:
        confirm = ConfirmImportForm(
            formdata=None,
            plan=sign_rows("assessments", {"filename": filename, "rows": result.rows, "digest": result.digest}),
        )
    return render_template(
        "titles/assessment_import.html",
        form=form,
        result=result,
        confirm=confirm,
        filename=filename,
        columns=services.IMPORT_COLUMNS,
        required=services.REQUIRED_COLUMNS,
        preview_names={"assessments": _("Assessments")},
        preview_fields={"value": _("Value"), "source": _("Source"), "evidence_ref": _("Evidence"), "note": _("Note")},
    ), (422 if result is not None and result.errors else 200)
