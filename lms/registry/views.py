from __future__ import annotations

import json

from flask import Response, abort, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.auth.decorators import permission_required
from lms.auth.models import Role
from lms.auth.permissions import ROLE_PERMISSIONS, Permission, can, scope_paths
from lms.core import formatting
from lms.core.personal_data import as_json
from lms.core.services import audit
from lms.core.signals import subject_page
from lms.extensions import db, utcnow
from lms.registry import bp, labels, privacy, services
from lms.registry.forms import (
    ClcForm,
    ConfirmImportForm,
    ErasureForm,
    HouseholdForm,
    ImportForm,
    OrganisationForm,
    PersonForm,
)
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    Clan,
    Clc,
    Household,
    ImportJob,
    Organisation,
    OrganisationMember,
    Person,
    UnitLevel,
    clan_household,
)
from lms.registry.pii import decrypt_id_number

VIEW = Permission.REGISTRY_VIEW
EDIT = Permission.REGISTRY_EDIT


def _load(model: type, object_id: int, permission: Permission = VIEW):
    obj = services.get_in_scope(model, object_id, current_user, permission)
    if obj is None:
        abort(404)
    return obj


def _ancestors(unit: AdminUnit) -> list[AdminUnit]:
    """The unit's ancestors the user may see, root first (one query)."""
    ids = [int(part) for part in unit.path.strip("/").split("/")]
    rows = {u.id: u for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows and can(current_user, VIEW, rows[i])]


@bp.get("/units")
@permission_required(VIEW)
def units():
    """The units the user's roles are held on: straight to the one, a list when there are several. (Units they
    replaced are in scope too, and reached from the successor's page.)"""
    roots = sorted(
        {a.unit for a in current_user.roles if VIEW in ROLE_PERMISSIONS[Role(a.role)]}, key=lambda u: u.sort_key
    )
    if len(roots) == 1:
        return redirect(url_for("registry.unit", unit_id=roots[0].id))
    return render_template("registry/units.html", roots=roots, counts=services.subtree_counts(list(roots)))


@bp.get("/units/<int:unit_id>")
@permission_required(VIEW)
def unit(unit_id: int):
    unit = _load(AdminUnit, unit_id)
    households = organisations = clcs = None
    kids: list[AdminUnit] = []
    if unit.level == UnitLevel.VILLAGE:
        households = db.paginate(
            select(Household)
            .where(Household.village_id == unit.id)
            .order_by(Household.code)
            .options(selectinload(Household.members)),
            per_page=current_app.config["PAGE_SIZE"],
        )
    else:
        kids = services.children(unit)
        if unit.level == UnitLevel.COUNTRY:
            # The country page lists current provinces first; ended ones follow.
            kids.sort(key=lambda u: (u.valid_to is not None, u.sort_key))
    if unit.level == UnitLevel.COMMUNE:
        organisations = db.session.scalars(
            select(Organisation).where(Organisation.commune_id == unit.id).order_by(Organisation.sort_key)
        ).all()
        clcs = db.session.scalars(select(Clc).where(Clc.commune_id == unit.id).order_by(Clc.sort_key)).all()
    counts = services.subtree_counts([unit, *kids])
    return render_template(
        "registry/unit.html",
        unit=unit,
        ancestors=_ancestors(unit),
        children=kids,
        counts=counts,
        households=households,
        organisations=organisations,
        clcs=clcs,
        lineage=services.lineage_of(unit),
    )


@bp.get("/households/<int:household_id>")
@permission_required(VIEW)
def household(household_id: int):
    household = _load(Household, household_id)
    clans = db.session.scalars(
        select(Clan).join(clan_household).where(clan_household.c.household_id == household.id).order_by(Clan.sort_key)
    ).all()
    panels = [html for _, html in subject_page.send("household", subject_id=household.id) if html]
    return render_template(
        "registry/household.html",
        household=household,
        clans=clans,
        ancestors=_ancestors(household.village),
        panels=panels,
    )


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@permission_required(EDIT)
def edit_household(household_id: int):
    household = _load(Household, household_id, EDIT)
    form = HouseholdForm(obj=household)
    if form.validate_on_submit():
        try:
            services.update_household(household, code=form.code.data or "", address=form.address.data or "")
        except services.RegistryError as exc:
            db.session.rollback()
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("registry.household", household_id=household.id))
    return render_template(
        "registry/edit.html",
        form=form,
        title=f"{_('Household')} {household.code}",
        back=url_for("registry.household", household_id=household.id),
    )


@bp.get("/persons/<int:person_id>")
@permission_required(VIEW)
def person(person_id: int):
    person = _load(Person, person_id)
    show_personal = can(current_user, Permission.PERSONAL_DATA, person.unit)
    memberships = db.session.scalars(
        select(AssociationMembership).where(AssociationMembership.person_id == person.id)
    ).all()
    organisations = db.session.scalars(
        select(OrganisationMember).where(OrganisationMember.person_id == person.id)
    ).all()
    # What other parts add (titles: the Learning Citizen results; courses: classes and certificates).
    panels = [html for _, html in subject_page.send("person", subject_id=person.id) if html]
    return render_template(
        "registry/person.html",
        person=person,
        show_personal=show_personal,
        can_erase=show_personal and can(current_user, EDIT, person.unit),
        memberships=memberships,
        organisations=organisations,
        ancestors=_ancestors(person.unit),
        panels=panels,
    )


@bp.post("/persons/<int:person_id>/reveal-id")
@permission_required(Permission.PERSONAL_DATA)
def reveal_id_number(person_id: int):
    """Show the full ID number once, on purpose, and log that it was seen."""
    person = _load(Person, person_id, Permission.PERSONAL_DATA)
    if not person.id_number_encrypted:
        abort(404)
    audit("person.reveal_id_number", person)
    db.session.commit()
    return render_template("registry/reveal.html", person=person, number=decrypt_id_number(person.id_number_encrypted))


@bp.route("/persons/<int:person_id>/edit", methods=["GET", "POST"])
@permission_required(EDIT)
def edit_person(person_id: int):
    person = _load(Person, person_id, EDIT)
    if person.erased_at is not None:  # ADR 57: a form opened before the erasure must not bring the name back
        flash(_("This person's data was erased at their request: the record is not edited."), "warning")
        return redirect(url_for("registry.person", person_id=person.id))
    show_personal = can(current_user, Permission.PERSONAL_DATA, person.unit)
    form = PersonForm(obj=person)
    if request.method == "GET":
        form.id_number.data = ""
    if not show_personal:
        del form.ethnicity
    if form.validate_on_submit():
        data = {
            "full_name": form.full_name.data,
            "birth_date": form.birth_date.data,
            "birth_year_only": form.birth_year_only.data,
            "sex": form.sex.data or None,
            "occupation_group": form.occupation_group.data,
            "relation_to_head": form.relation_to_head.data or None,
            "phone": form.phone.data or None,
        }
        if show_personal:
            data["ethnicity"] = form.ethnicity.data or None
        if form.id_number.data:
            data["id_number"] = form.id_number.data
        try:
            services.update_person(person, data, actor_id=current_user.id)
        except services.IdNumberRefused as exc:
            db.session.rollback()
            services.audit_id_number_refusal(person, exc)
            db.session.commit()
            form.id_number.errors.append(
                _(
                    "This ID number cannot be recorded for this person. Check it against the person's card; "
                    "if it is right, ask your administrator."
                )
            )
        except services.IdNumberAttemptsExceeded:
            db.session.rollback()
            form.id_number.errors.append(_("Too many refused ID numbers in the last hour: try again later."))
        except services.RegistryError as exc:
            db.session.rollback()
            getattr(form, exc.field or "full_name").errors.append(str(exc))
        else:
            audit(
                "person.update",
                person,
                fields=sorted(k for k in data if k != "id_number") + (["id_number"] if "id_number" in data else []),
            )
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("registry.person", person_id=person.id))
    return render_template(
        "registry/edit.html", form=form, title=person.full_name, back=url_for("registry.person", person_id=person.id)
    )


@bp.get("/organisations/<int:organisation_id>")
@permission_required(VIEW)
def organisation(organisation_id: int):
    organisation = _load(Organisation, organisation_id)
    members = db.session.execute(
        select(OrganisationMember, Person)
        .join(Person, OrganisationMember.person_id == Person.id)
        .where(OrganisationMember.organisation_id == organisation.id)
        .order_by(Person.sort_key)
    ).all()
    # A member may live in another commune (a school's teachers): the viewer sees only who is in their own scope,
    # and how many others there are.
    visible = set(
        db.session.scalars(
            services.scoped_select(Person, current_user, VIEW)
            .with_only_columns(Person.id)
            .where(Person.id.in_([person.id for _, person in members]))
        )
    )
    return render_template(
        "registry/organisation.html",
        organisation=organisation,
        members=[(m, p) for m, p in members if p.id in visible],
        hidden_members=sum(1 for _, p in members if p.id not in visible),
        ancestors=_ancestors(organisation.commune),
    )


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@permission_required(EDIT)
def edit_organisation(organisation_id: int):
    organisation = _load(Organisation, organisation_id, EDIT)
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        services.update_organisation(
            organisation,
            name=form.name.data or "",
            kind=form.kind.data or organisation.kind,
            managing_level=form.managing_level.data or organisation.managing_level,
            address=form.address.data or "",
        )
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("registry.organisation", organisation_id=organisation.id))
    return render_template(
        "registry/edit.html",
        form=form,
        title=organisation.name,
        back=url_for("registry.organisation", organisation_id=organisation.id),
    )


@bp.get("/clcs/<int:clc_id>")
@permission_required(VIEW)
def clc(clc_id: int):
    clc = _load(Clc, clc_id)
    return render_template("registry/clc.html", clc=clc, ancestors=_ancestors(clc.commune))


@bp.route("/clcs/<int:clc_id>/edit", methods=["GET", "POST"])
@permission_required(EDIT)
def edit_clc(clc_id: int):
    clc = _load(Clc, clc_id, EDIT)
    form = ClcForm(obj=clc)
    if form.validate_on_submit():
        try:
            services.update_clc(
                clc, name=form.name.data or "", address=form.address.data or "", established_on=form.established_on.data
            )
        except services.RegistryError as exc:
            db.session.rollback()
            getattr(form, exc.field or "name").errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("registry.clc", clc_id=clc.id))
    return render_template("registry/edit.html", form=form, title=clc.name, back=url_for("registry.clc", clc_id=clc.id))


@bp.get("/search")
@permission_required(VIEW)
def search():
    query = request.args.get("q", "").strip()
    results = None
    if query:
        stmt = (
            services.scoped_select(Person, current_user, VIEW)
            .where(services.search_condition(query, Person.name_folded))
            .order_by(Person.sort_key, Person.id)
        )
        results = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"])
    return render_template("registry/search.html", query=query, results=results)


def _import_units() -> list[AdminUnit]:
    """Units a user may import into: their scope roots and the current communes under them."""
    paths = scope_paths(current_user, Permission.REGISTRY_IMPORT)
    from lms.auth.permissions import in_scope

    return list(
        db.session.scalars(
            select(AdminUnit)
            .where(
                in_scope(AdminUnit.path, current_user, Permission.REGISTRY_IMPORT),
                AdminUnit.valid_to.is_(None),
                (AdminUnit.level == UnitLevel.COMMUNE) | AdminUnit.path.in_(paths),
            )
            .order_by(AdminUnit.level, AdminUnit.sort_key)
            .limit(5000)
        )
    )


@bp.route("/imports/new", methods=["GET", "POST"])
@permission_required(Permission.REGISTRY_IMPORT)
def new_import():
    from lms.registry.importer import ImportRefused, create_job

    form = ImportForm()
    units = [(u.id, f"{u.full_name}") for u in _import_units()]
    form.unit.choices = units if len(units) == 1 else [("", _("— choose the commune or ward —")), *units]
    if request.method == "GET":
        # "Upload the corrected file" on a refused import's page comes back here with its kind and unit chosen: the
        # officer who fixed row 3 re-chose them from 3,400 communes otherwise.
        if request.args.get("kind") in {value for value, *_rest in form.kind.iter_choices()}:
            form.kind.data = request.args["kind"]
        unit_id = request.args.get("unit", type=int)
        if unit_id in {u for u, _name in units}:
            form.unit.data = unit_id
    if form.validate_on_submit():
        unit = _load(AdminUnit, form.unit.data, Permission.REGISTRY_IMPORT)
        upload = form.file.data
        try:
            job = create_job(
                kind=form.kind.data,
                filename=upload.filename or "upload",
                content=upload.read(),
                unit=unit,
                user=current_user,
                dry_run=True,  # the page always shows what the file would change before anything is written
            )
        except ImportRefused as exc:
            form.file.errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("registry.import_job", job_id=job.id))
    # What each file held and for which unit: two "ho.csv" of two communes are told apart.
    recent = db.session.scalars(
        services.scoped_select(ImportJob, current_user, Permission.REGISTRY_IMPORT)
        .options(selectinload(ImportJob.unit))
        .order_by(ImportJob.created_at.desc())
        .limit(20)
    ).all()
    return render_template(
        "registry/import_new.html", form=form, recent=recent, import_kind_names=labels.IMPORT_KIND_NAMES
    )


@bp.get("/imports/<int:job_id>")
@permission_required(Permission.REGISTRY_IMPORT)
def import_job(job_id: int):
    job = _load(ImportJob, job_id, Permission.REGISTRY_IMPORT)
    from lms.registry.labels import IMPORT_ENTITY_NAMES, IMPORT_FIELD_NAMES

    return render_template(
        "registry/import_job.html",
        job=job,
        form=ConfirmImportForm(digest=job.preview_digest),
        import_entity_names=IMPORT_ENTITY_NAMES,
        import_field_names=IMPORT_FIELD_NAMES,
        import_kind_names=labels.IMPORT_KIND_NAMES,
    )


@bp.post("/imports/<int:job_id>/confirm")
@permission_required(Permission.REGISTRY_IMPORT)
def confirm_import(job_id: int):
    """Apply the preview the user looked at (its digest comes back with the form), and nothing else."""
    from lms.registry.importer import PreviewOutdated, confirm_job

    job = _load(ImportJob, job_id, Permission.REGISTRY_IMPORT)
    form = ConfirmImportForm()
    if form.validate_on_submit():
        try:
            confirm_job(job, digest=form.digest.data or "", user=current_user)
        except PreviewOutdated:
            flash(_("This preview is no longer current: look at the page again before confirming."), "warning")
        else:
            db.session.commit()
            flash(_("Confirmed: the import is being applied."), "success")
    return redirect(url_for("registry.import_job", job_id=job.id))


@bp.get("/units/<int:unit_id>/persons.csv")
@permission_required(Permission.PERSONAL_DATA)
def export_persons(unit_id: int):
    """The register of persons under a unit as CSV, with sensitive columns; every export is an audit event."""
    unit = _load(AdminUnit, unit_id, Permission.PERSONAL_DATA)
    stmt = services.person_export_select(
        services.scoped_select(Person, current_user, Permission.PERSONAL_DATA).with_only_columns(Person.id),
        unit,
    )
    audit("export.persons", unit, format="csv", columns=list(services.PERSON_EXPORT_COLUMNS))
    db.session.commit()
    return Response(
        stream_with_context(services.persons_csv(stmt, formatting.current_locale())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="persons-{unit.code}.csv"'},
    )


# --- a person's requests about their own data (Decree 13/2023; ADR 57) ---------------------------------------------


def _data_page(person: Person, *, own: bool):
    sections = privacy.person_data(person)
    privacy.provided(person, format="page", own=own)
    db.session.commit()
    page = render_template(
        "registry/personal_data.html",
        person=person,
        sections=sections,
        own=own,
        as_text=privacy.as_text,
        json_url=url_for("registry.my_data_json") if own else url_for("registry.person_data_json", person_id=person.id),
        back=url_for("core.home") if own else url_for("registry.person", person_id=person.id),
    )
    # Everything held about the person, often opened on the commune office's shared computer: kept out of the
    # browser's cache (and its back button after a log-out), as the JSON file is.
    return Response(page, headers={"Cache-Control": "private, no-store"})


def _data_file(person: Person, *, own: bool) -> Response:
    body = as_json(person.id, privacy.person_data(person), generated_at=utcnow())
    privacy.provided(person, format="json", own=own)
    db.session.commit()
    response = Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )
    response.headers["Content-Disposition"] = f'attachment; filename="personal-data-{person.id}.json"'
    return response


def _own_person() -> Person:
    person = db.session.get(Person, current_user.person_id) if current_user.person_id else None
    if person is None:
        abort(404)
    return person


@bp.get("/persons/<int:person_id>/data")
@permission_required(Permission.PERSONAL_DATA)
def person_data(person_id: int):
    """Everything the system holds about the person, to hand them on their request; logged."""
    return _data_page(_load(Person, person_id, Permission.PERSONAL_DATA), own=False)


@bp.get("/persons/<int:person_id>/data.json")
@permission_required(Permission.PERSONAL_DATA)
def person_data_json(person_id: int):
    return _data_file(_load(Person, person_id, Permission.PERSONAL_DATA), own=False)


@bp.get("/me/data")
@login_required
def my_data():
    """The signed-in user's own data, when their account is linked to a person of the register."""
    return _data_page(_own_person(), own=True)


@bp.get("/me/data.json")
@login_required
def my_data_json():
    return _data_file(_own_person(), own=True)


@bp.route("/persons/<int:person_id>/erase", methods=["GET", "POST"])
@permission_required(Permission.PERSONAL_DATA)
def erase_person(person_id: int):
    """The erasure a person asked for: what is cleared and what stays, then the confirmation (with the preview's
    digest, the request and a tick); a preview that changed meanwhile is shown again."""
    person = _load(Person, person_id, Permission.PERSONAL_DATA)
    if not can(current_user, EDIT, person.unit):
        abort(403)
    form = ErasureForm()
    status = 200
    if form.validate_on_submit():
        try:
            privacy.erase_person(person, reason=form.reason.data or "", digest=form.digest.data or "")
        except privacy.ErasureRefused as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            status = 409
        except privacy.ErasureOutdated:
            db.session.rollback()
            flash(
                _("What the erasure would do has changed since you looked: check it again before confirming."),
                "warning",
            )
            status = 409
        else:
            db.session.commit()
            flash(_("The personal data was erased. The learning records stay, without the name."), "success")
            return redirect(url_for("registry.person", person_id=person.id))
    elif request.method == "POST":
        status = 422
    preview = privacy.erasure_preview(person)
    form.digest.data = preview.digest
    return (
        render_template("registry/erase.html", person=person, preview=preview, form=form, as_text=privacy.as_text),
        status,
    )
