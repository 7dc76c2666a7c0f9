"""Registry resources under /api/v1, each scoped to the caller's units."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.api import bp
from lms.api.errors import ApiValidationError, stale_preview
from lms.api.pagination import page_of
from lms.api.schema import operation
from lms.auth.permissions import Permission, can
from lms.core.services import audit
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, ImportJob, Organisation, Person, subtree
from lms.registry.schemas import (
    ClcEdit,
    ClcOut,
    ClcPage,
    ConfirmIn,
    HouseholdDetail,
    HouseholdEdit,
    HouseholdOut,
    HouseholdPage,
    ImportConflict,
    ImportForm,
    ImportOut,
    OrganisationEdit,
    OrganisationOut,
    OrganisationPage,
    PersonDetail,
    PersonIn,
    PersonPage,
    PersonQuery,
    RegistryImportQuery,
    ScopedQuery,
    UnitDetail,
    UnitOut,
    UnitPage,
    UnitQuery,
)

VIEW = Permission.REGISTRY_VIEW
EDIT = Permission.REGISTRY_EDIT
IMPORT = Permission.REGISTRY_IMPORT
TAGS = ["registry"]


def _get(model: type, object_id: int, permission: Permission = VIEW) -> Any:
    obj = services.get_in_scope(model, object_id, current_user, permission)
    if obj is None:
        abort(404)
    return obj


def _filtered(model: type, query: ScopedQuery, *, name_column: Any = None) -> Any:
    stmt = services.scoped_select(model, current_user, VIEW)
    if query.unit_id is not None:
        unit = services.get_in_scope(AdminUnit, query.unit_id, current_user, VIEW)
        assert unit is not None  # the query's validator checked it
        stmt = stmt.where(
            services.scope_column(model).in_(select(AdminUnit.id).where(subtree(AdminUnit.path, unit.path)))
        )
    text = (query.q or "").strip()
    if text and name_column is not None:
        stmt = stmt.where(services.search_condition(text, name_column))
    return stmt


def _person(person: Person) -> dict[str, Any]:
    """A person as the caller may see them: the ethnicity only with personal_data on the person's unit."""
    personal = can(current_user, Permission.PERSONAL_DATA, person.unit)
    return PersonDetail.model_validate(person).model_dump(mode="json", exclude=None if personal else {"ethnicity"})


@bp.get("/units")
@operation(VIEW, ok=UnitPage, query=UnitQuery, tags=TAGS)
def list_units(query: UnitQuery) -> UnitPage:
    """Administrative units in your scope (provinces, communes, villages), filtered by parent, level or name."""
    stmt = _filtered(AdminUnit, query, name_column=AdminUnit.name_folded)
    if query.parent_id is not None:
        stmt = stmt.where(AdminUnit.parent_id == query.parent_id)
    if query.level is not None:
        stmt = stmt.where(AdminUnit.level == query.level.value)
    return page_of(stmt.order_by(AdminUnit.level, AdminUnit.sort_key, AdminUnit.id), query, UnitPage)


@bp.get("/units/<int:unit_id>")
@operation(VIEW, ok=UnitDetail, tags=TAGS)
def get_unit(unit_id: int) -> UnitDetail:
    """One unit with its lineage across the 2025 map and the households and persons under it."""
    unit = _get(AdminUnit, unit_id)
    lineage = services.lineage_of(unit)
    return UnitDetail.model_validate(
        {
            **UnitOut.model_validate(unit).model_dump(),
            "successors": [{"unit_id": link.new_unit_id, "share": link.share} for link in lineage["successors"]],
            "predecessors": [{"unit_id": link.old_unit_id, "share": link.share} for link in lineage["predecessors"]],
            "counts": services.subtree_counts([unit])[unit.id],
        }
    )


@bp.get("/persons")
@operation(VIEW, ok=PersonPage, query=PersonQuery, tags=TAGS)
def list_persons(query: PersonQuery) -> PersonPage:
    """Persons in your scope (no ID numbers: only their last digits)."""
    stmt = _filtered(Person, query, name_column=Person.name_folded)
    if query.household_id:
        stmt = stmt.where(Person.household_id == query.household_id)
    return page_of(stmt.order_by(Person.sort_key, Person.id), query, PersonPage)


@bp.get("/persons/<int:person_id>")
@operation(VIEW, ok=PersonDetail, tags=TAGS)
def get_person(person_id: int):
    """One person; the ethnicity only to callers who hold personal_data on the person."""
    return _person(_get(Person, person_id))


def _refused(person: Person, exc: services.RegistryError) -> ApiValidationError:
    db.session.rollback()
    if isinstance(exc, services.IdNumberRefused):
        services.audit_id_number_refusal(person, exc)
        db.session.commit()
    return ApiValidationError([{"field": exc.field or "", "message": str(exc)}])


@bp.post("/persons")
@operation(EDIT, ok=PersonDetail, status=201, json=PersonIn, tags=TAGS)
def create_person(json: PersonIn):
    """Register a person in a household (``household_id``) or directly in a village or commune (``unit_id``)."""
    if json.full_name is None:
        raise ApiValidationError([{"field": "full_name", "message": _("This field is required.")}])
    household = None
    if json.household_id is not None:
        household = services.get_in_scope(Household, json.household_id, current_user, EDIT)
        if household is None:
            raise ApiValidationError([{"field": "household_id", "message": _("No such household in your scope.")}])
    unit_id = household.village_id if household else json.unit_id
    unit = services.get_in_scope(AdminUnit, unit_id, current_user, EDIT) if unit_id else None
    if unit is None:
        raise ApiValidationError(
            [{"field": "unit_id", "message": _("Give a unit (village or commune) in your scope, or a household.")}]
        )
    data = json.model_dump(exclude_unset=True, exclude={"full_name", "unit_id"})
    person = Person(full_name=json.full_name, unit_id=unit.id)
    db.session.add(person)
    try:
        services.update_person(person, data, actor_id=current_user.id)
    except services.RegistryError as exc:
        raise _refused(person, exc) from exc
    audit("person.create", person)
    db.session.commit()
    return _person(person), 201


@bp.patch("/persons/<int:person_id>")
@operation(EDIT, ok=PersonDetail, json=PersonIn, tags=TAGS)
def update_person(person_id: int, json: PersonIn):
    """Change the fields sent (only those); a person is not moved to another household or unit here."""
    person = _get(Person, person_id, EDIT)
    data = json.model_dump(exclude_unset=True)
    moves = [key for key in ("unit_id", "household_id") if key in data]
    if moves:
        raise ApiValidationError(
            [{"field": key, "message": _("Moving a person is not supported here.")} for key in moves]
        )
    if "full_name" in data and data["full_name"] is None:
        raise ApiValidationError([{"field": "full_name", "message": _("This field is required.")}])
    if "ethnicity" in data and not can(current_user, Permission.PERSONAL_DATA, person.unit):
        raise ApiValidationError([{"field": "ethnicity", "message": _("You may not edit sensitive personal data.")}])
    try:
        services.update_person(person, data, actor_id=current_user.id)
    except services.RegistryError as exc:
        raise _refused(person, exc) from exc
    audit("person.update", person, fields=sorted(data))
    db.session.commit()
    return _person(person)


@bp.get("/households")
@operation(VIEW, ok=HouseholdPage, query=ScopedQuery, tags=TAGS)
def list_households(query: ScopedQuery) -> HouseholdPage:
    """Households in your scope."""
    return page_of(_filtered(Household, query).order_by(Household.village_id, Household.code), query, HouseholdPage)


@bp.get("/households/<int:household_id>")
@operation(VIEW, ok=HouseholdDetail, tags=TAGS)
def get_household(household_id: int) -> HouseholdDetail:
    """One household with its members."""
    return HouseholdDetail.model_validate(_get(Household, household_id))


def _nothing_given(given: set[str], fields: str) -> None:
    if not given:
        raise ApiValidationError([{"field": "", "message": _("Give at least one of %(fields)s.", fields=fields)}])


@bp.patch("/households/<int:household_id>")
@operation(EDIT, ok=HouseholdOut, json=HouseholdEdit, tags=TAGS)
def update_household(household_id: int, json: HouseholdEdit) -> HouseholdOut:
    """Correct a household's number (unique in its village) or address, as its edit page does; audited."""
    household = _get(Household, household_id, EDIT)
    _nothing_given(json.model_fields_set, "code, address")
    try:
        services.update_household(
            household,
            code=json.code if json.code is not None else household.code,
            address=json.address if json.address is not None else household.address,
        )
    except services.RegistryError as exc:
        db.session.rollback()
        raise ApiValidationError([{"field": exc.field or "", "message": str(exc)}], str(exc)) from exc
    db.session.commit()
    return HouseholdOut.model_validate(household)


@bp.get("/organisations")
@operation(VIEW, ok=OrganisationPage, query=ScopedQuery, tags=TAGS)
def list_organisations(query: ScopedQuery) -> OrganisationPage:
    """Organisations (agencies, schools, enterprises…) in your scope: the subjects of the Learning Unit title."""
    stmt = _filtered(Organisation, query, name_column=Organisation.name_folded)
    return page_of(stmt.order_by(Organisation.sort_key, Organisation.id), query, OrganisationPage)


@bp.get("/organisations/<int:organisation_id>")
@operation(VIEW, ok=OrganisationOut, tags=TAGS)
def get_organisation(organisation_id: int) -> OrganisationOut:
    """One organisation."""
    return OrganisationOut.model_validate(_get(Organisation, organisation_id))


@bp.patch("/organisations/<int:organisation_id>")
@operation(EDIT, ok=OrganisationOut, json=OrganisationEdit, tags=TAGS)
def update_organisation(organisation_id: int, json: OrganisationEdit) -> OrganisationOut:
    """Correct an organisation's name, type, managing level or address, as its edit page does; audited."""
    organisation = _get(Organisation, organisation_id, EDIT)
    _nothing_given(json.model_fields_set, "name, kind, managing_level, address")
    services.update_organisation(
        organisation,
        name=json.name if json.name is not None else organisation.name,
        kind=json.kind.value if json.kind is not None else organisation.kind,
        managing_level=json.managing_level.value if json.managing_level is not None else organisation.managing_level,
        address=json.address if json.address is not None else organisation.address,
    )
    db.session.commit()
    return OrganisationOut.model_validate(organisation)


@bp.get("/clcs")
@operation(VIEW, ok=ClcPage, query=ScopedQuery, tags=TAGS)
def list_clcs(query: ScopedQuery) -> ClcPage:
    """Community Learning Centres in your scope, with their boards."""
    stmt = _filtered(Clc, query, name_column=Clc.name_folded).order_by(Clc.sort_key, Clc.id)
    return page_of(stmt, query, ClcPage)


@bp.get("/clcs/<int:clc_id>")
@operation(VIEW, ok=ClcOut, tags=TAGS)
def get_clc(clc_id: int) -> ClcOut:
    """One Community Learning Centre."""
    return ClcOut.model_validate(_get(Clc, clc_id))


@bp.patch("/clcs/<int:clc_id>")
@operation(EDIT, ok=ClcOut, json=ClcEdit, tags=TAGS)
def update_clc(clc_id: int, json: ClcEdit) -> ClcOut:
    """Correct a Community Learning Centre's name, address or founding day (``null``: not known), as its edit page
    does; audited."""
    clc = _get(Clc, clc_id, EDIT)
    given = json.model_fields_set
    _nothing_given(given, "name, address, established_on")
    try:
        services.update_clc(
            clc,
            name=json.name if json.name is not None else clc.name,
            address=json.address if json.address is not None else clc.address,
            established_on=json.established_on if "established_on" in given else clc.established_on,
        )
    except services.RegistryError as exc:
        db.session.rollback()
        raise ApiValidationError([{"field": exc.field or "", "message": str(exc)}], str(exc)) from exc
    db.session.commit()
    return ClcOut.model_validate(clc)


def _accepted(job: ImportJob, *, confirmed: bool = False) -> tuple[ImportOut, int, dict[str, str]]:
    """The 202 answer: the job, its ``message`` saying what happens next (in the request's language, as the API's
    other messages; the job's own message, written by the worker, follows once it has one)."""
    location = f"/api/v1/imports/{job.id}"
    if confirmed:
        step = _("A worker applies the confirmed preview; follow %(location)s for its status.", location=location)
    elif job.dry_run:
        step = _(
            "Dry run: nothing is written. The preview appears at %(location)s (status previewed) once a worker has "
            "checked the file; to apply it, POST its preview_digest to %(location)s/confirm.",
            location=location,
        )
    else:
        step = _(
            "A worker checks the file and writes it (nothing at all if a row is refused); follow %(location)s for "
            "its status.",
            location=location,
        )
    answer = ImportOut.model_validate(job)
    answer.message = f"{step} {answer.message}".strip()
    return answer, 202, {"Location": location}


@bp.post("/imports")
@operation(IMPORT, ok=ImportOut, status=202, form=ImportForm, query=RegistryImportQuery, tags=TAGS)
def create_import(form: ImportForm, query: RegistryImportQuery):
    """Upload a registry spreadsheet (multipart). **Applied at once**: without ``dry_run`` a worker checks the file
    and writes it, with no preview (ADR 20: integrations rely on it); follow ``Location`` for its status. To look
    first, send ``?dry_run=true``: nothing is written, the job stops at status ``previewed`` and its ``preview``
    says what the file would change (counts by entity, the first rows of each kind, each changed field's old and new
    value); ``POST /api/v1/imports/{job_id}/confirm`` with its ``preview_digest`` then applies exactly that."""
    from lms.registry.importer import ImportRefused, create_job

    unit = services.get_in_scope(AdminUnit, form.unit_id, current_user, IMPORT)
    if unit is None:
        raise ApiValidationError([{"field": "unit_id", "message": _("No such unit in your scope.")}])
    try:
        job = create_job(
            kind=form.kind,
            filename=form.file.filename or "upload",
            content=form.file.read(),
            unit=unit,
            user=current_user,
            dry_run=query.dry_run,
        )
    except ImportRefused as exc:
        raise ApiValidationError([{"field": exc.field, "message": str(exc)}]) from exc
    db.session.commit()
    return _accepted(job)


@bp.post("/imports/<int:job_id>/confirm")
@operation(IMPORT, ok=ImportOut, status=202, json=ConfirmIn, tags=TAGS, extra={409: ImportConflict})
def confirm_import(job_id: int, json: ConfirmIn):
    """Apply a dry run's preview: the body names the ``preview_digest`` confirmed, so nothing else is applied. A
    digest that is no longer the job's preview (previewed again, already applied) is a 409 with the job as it is
    now, as every confirmation of an out-of-date preview is."""
    from lms.registry.importer import PreviewOutdated, confirm_job

    job = _get(ImportJob, job_id, IMPORT)
    try:
        confirm_job(job, digest=json.preview_digest, user=current_user)
    except PreviewOutdated:
        message = _(
            "This preview is no longer current: read the import again and confirm the preview_digest it has now."
        )
        return stale_preview("preview_digest", message, ImportOut.model_validate(job))
    db.session.commit()
    return _accepted(job, confirmed=True)


@bp.get("/imports/<int:job_id>")
@operation(IMPORT, ok=ImportOut, tags=TAGS)
def get_import(job_id: int) -> ImportOut:
    """An import job: status, progress, errors by row, and the preview of a dry run."""
    return ImportOut.model_validate(_get(ImportJob, job_id, IMPORT))
