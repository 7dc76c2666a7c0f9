"""Registry resources under /api/v1, each scoped to the caller's units."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.api import bp
from lms.api.errors import ApiValidationError
from lms.api.pagination import paginate
from lms.auth.permissions import Permission, can, has_permission_anywhere
from lms.core.services import audit
from lms.extensions import db
from lms.registry import services
from lms.registry.models import (
    AdminUnit,
    Clc,
    Household,
    ImportJob,
    OccupationGroup,
    Organisation,
    Person,
    Sex,
    subtree,
)

VIEW = Permission.REGISTRY_VIEW


def _require(permission: Permission) -> None:
    if not has_permission_anywhere(current_user, permission):
        abort(403)


def _get(model: type, object_id: int, permission: Permission = VIEW) -> Any:
    _require(permission)
    obj = services.get_in_scope(model, object_id, current_user, permission)
    if obj is None:
        abort(404)
    return obj


def unit_json(unit: AdminUnit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "level": unit.level,
        "parent_id": unit.parent_id,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "area_class": unit.area_class,
    }


def person_json(person: Person, *, personal: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": person.id,
        "full_name": person.full_name,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "sex": person.sex,
        "occupation_group": person.occupation_group,
        "household_id": person.household_id,
        "relation_to_head": person.relation_to_head,
        "unit_id": person.unit_id,
        "id_number_masked": person.masked_id_number or None,
    }
    if personal:
        body["ethnicity"] = person.ethnicity
    return body


def household_json(household: Household) -> dict[str, Any]:
    return {
        "id": household.id,
        "code": household.code,
        "village_id": household.village_id,
        "address": household.address,
    }


def organisation_json(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id,
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "managing_level": org.managing_level,
        "commune_id": org.commune_id,
        "address": org.address,
    }


def clc_json(clc: Clc) -> dict[str, Any]:
    return {
        "id": clc.id,
        "name": clc.name,
        "commune_id": clc.commune_id,
        "address": clc.address,
        "established_on": clc.established_on.isoformat() if clc.established_on else None,
        "board": [
            {
                "person_id": b.person_id,
                "role": b.role,
                "started_on": b.started_on.isoformat(),
                "ended_on": b.ended_on.isoformat() if b.ended_on else None,
            }
            for b in clc.board
        ],
    }


def import_json(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "filename": job.filename,
        "status": job.status,
        "progress": job.progress,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "message": job.message,
        "errors": job.errors,
        "summary": job.summary,
        "unit_id": job.unit_id,
        "dry_run": job.dry_run,
        "preview": job.preview,
        "preview_digest": job.preview_digest,
    }


def _filtered(model: type, *, name_column: Any = None) -> Any:
    _require(VIEW)
    stmt = services.scoped_select(model, current_user, VIEW)
    unit_id = request.args.get("unit_id", type=int)
    if unit_id is not None:
        unit = services.get_in_scope(AdminUnit, unit_id, current_user, VIEW)
        if unit is None:
            raise ApiValidationError([{"field": "unit_id", "message": "no such unit in your scope"}])
        stmt = stmt.where(
            services.scope_column(model).in_(select(AdminUnit.id).where(subtree(AdminUnit.path, unit.path)))
        )
    query = request.args.get("q", "").strip()
    if query and name_column is not None:
        stmt = stmt.where(services.search_condition(query, name_column))
    return stmt


@bp.get("/units")
@login_required
def list_units():
    stmt = _filtered(AdminUnit, name_column=AdminUnit.name_folded)
    parent_id = request.args.get("parent_id", type=int)
    if parent_id is not None:
        stmt = stmt.where(AdminUnit.parent_id == parent_id)
    if level := request.args.get("level"):
        stmt = stmt.where(AdminUnit.level == level)
    return paginate(stmt.order_by(AdminUnit.level, AdminUnit.sort_key, AdminUnit.id), unit_json)


@bp.get("/units/<int:unit_id>")
@login_required
def get_unit(unit_id: int):
    unit = _get(AdminUnit, unit_id)
    body = unit_json(unit)
    lineage = services.lineage_of(unit)
    body["successors"] = [{"unit_id": link.new_unit_id, "share": str(link.share)} for link in lineage["successors"]]
    body["predecessors"] = [{"unit_id": link.old_unit_id, "share": str(link.share)} for link in lineage["predecessors"]]
    body["counts"] = services.subtree_counts([unit])[unit.id]
    return body


@bp.get("/persons")
@login_required
def list_persons():
    stmt = _filtered(Person, name_column=Person.name_folded)
    if household_id := request.args.get("household_id", type=int):
        stmt = stmt.where(Person.household_id == household_id)
    return paginate(stmt.order_by(Person.sort_key, Person.id), person_json)


@bp.get("/persons/<int:person_id>")
@login_required
def get_person(person_id: int):
    person = _get(Person, person_id)
    return person_json(person, personal=can(current_user, Permission.PERSONAL_DATA, person.unit))


PERSON_FIELDS = {
    "full_name",
    "birth_date",
    "sex",
    "occupation_group",
    "relation_to_head",
    "phone",
    "ethnicity",
    "id_number",
    "household_id",
    "unit_id",
}


def _person_data(payload: Any, *, creating: bool) -> dict[str, Any]:
    """Validate a person payload: every problem is reported with its field."""
    from datetime import date

    if not isinstance(payload, dict):
        raise ApiValidationError([{"field": "", "message": "the body must be a JSON object"}])
    errors: list[dict[str, str]] = []
    unknown = sorted(set(payload) - PERSON_FIELDS)
    errors += [{"field": f, "message": "unknown field"} for f in unknown]
    data: dict[str, Any] = {}
    if "full_name" in payload or creating:
        name = payload.get("full_name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors.append({"field": "full_name", "message": "required text of at most 200 characters"})
        else:
            data["full_name"] = name
    if payload.get("birth_date") is not None:
        try:
            data["birth_date"] = date.fromisoformat(payload["birth_date"])
        except (TypeError, ValueError):
            errors.append({"field": "birth_date", "message": "a date as YYYY-MM-DD"})
    if payload.get("sex") is not None:
        if payload["sex"] not in {s.value for s in Sex}:
            errors.append({"field": "sex", "message": "one of M, F"})
        else:
            data["sex"] = payload["sex"]
    if payload.get("occupation_group") is not None:
        if payload["occupation_group"] not in {o.value for o in OccupationGroup}:
            errors.append(
                {"field": "occupation_group", "message": "one of " + ", ".join(o.value for o in OccupationGroup)}
            )
        else:
            data["occupation_group"] = payload["occupation_group"]
    for key in ("relation_to_head", "phone", "ethnicity", "id_number"):
        if key in payload:
            data[key] = payload[key]
    for key in ("household_id", "unit_id"):
        if key in payload:
            data[key] = payload[key]
    if errors:
        raise ApiValidationError(errors)
    return data


@bp.post("/persons")
@login_required
def create_person():
    _require(Permission.REGISTRY_EDIT)
    data = _person_data(request.get_json(silent=True), creating=True)
    household = None
    if data.get("household_id") is not None:
        household = services.get_in_scope(Household, data["household_id"], current_user, Permission.REGISTRY_EDIT)
        if household is None:
            raise ApiValidationError([{"field": "household_id", "message": "no such household in your scope"}])
    unit_id = household.village_id if household else data.get("unit_id")
    unit = services.get_in_scope(AdminUnit, unit_id, current_user, Permission.REGISTRY_EDIT) if unit_id else None
    if unit is None:
        raise ApiValidationError(
            [{"field": "unit_id", "message": "give a unit (village or commune) in your scope, or a household"}]
        )
    person = Person(full_name=data.pop("full_name"), unit_id=unit.id)
    db.session.add(person)
    data.pop("unit_id", None)
    try:
        services.update_person(person, data, actor_id=current_user.id)
    except services.RegistryError as exc:
        db.session.rollback()
        if isinstance(exc, services.IdNumberRefused):
            services.audit_id_number_refusal(person, exc)
            db.session.commit()
        raise ApiValidationError([{"field": exc.field or "", "message": str(exc)}]) from exc
    audit("person.create", person)
    db.session.commit()
    return person_json(person, personal=True), 201


@bp.patch("/persons/<int:person_id>")
@login_required
def update_person(person_id: int):
    person = _get(Person, person_id, Permission.REGISTRY_EDIT)
    data = _person_data(request.get_json(silent=True), creating=False)
    if "unit_id" in data or "household_id" in data:
        raise ApiValidationError(
            [
                {"field": k, "message": "moving a person is not supported here"}
                for k in ("unit_id", "household_id")
                if k in data
            ]
        )
    if "ethnicity" in data and not can(current_user, Permission.PERSONAL_DATA, person.unit):
        raise ApiValidationError([{"field": "ethnicity", "message": "you may not edit sensitive personal data"}])
    try:
        services.update_person(person, data, actor_id=current_user.id)
    except services.RegistryError as exc:
        db.session.rollback()
        if isinstance(exc, services.IdNumberRefused):
            services.audit_id_number_refusal(person, exc)
            db.session.commit()
        raise ApiValidationError([{"field": exc.field or "", "message": str(exc)}]) from exc
    audit("person.update", person, fields=sorted(data))
    db.session.commit()
    return person_json(person, personal=can(current_user, Permission.PERSONAL_DATA, person.unit))


@bp.get("/households")
@login_required
def list_households():
    return paginate(_filtered(Household).order_by(Household.village_id, Household.code), household_json)


@bp.get("/households/<int:household_id>")
@login_required
def get_household(household_id: int):
    household = _get(Household, household_id)
    body = household_json(household)
    body["members"] = [person_json(p) for p in household.members]
    return body


@bp.get("/organisations")
@login_required
def list_organisations():
    stmt = _filtered(Organisation, name_column=Organisation.name_folded)
    return paginate(stmt.order_by(Organisation.sort_key, Organisation.id), organisation_json)


@bp.get("/organisations/<int:organisation_id>")
@login_required
def get_organisation(organisation_id: int):
    return organisation_json(_get(Organisation, organisation_id))


@bp.get("/clcs")
@login_required
def list_clcs():
    return paginate(_filtered(Clc, name_column=Clc.name_folded).order_by(Clc.sort_key, Clc.id), clc_json)


@bp.get("/clcs/<int:clc_id>")
@login_required
def get_clc(clc_id: int):
    return clc_json(_get(Clc, clc_id))


@bp.post("/imports")
@login_required
def create_import():
    from lms.registry.importer import ImportRefused, create_job

    _require(Permission.REGISTRY_IMPORT)
    errors = []
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    unit_id = request.form.get("unit_id", type=int)
    if upload is None:
        errors.append({"field": "file", "message": "attach the spreadsheet as multipart field 'file'"})
    unit = services.get_in_scope(AdminUnit, unit_id, current_user, Permission.REGISTRY_IMPORT) if unit_id else None
    if unit is None:
        errors.append({"field": "unit_id", "message": "no such unit in your scope"})
    if errors or upload is None or unit is None:
        raise ApiValidationError(errors)
    try:
        job = create_job(
            kind=kind,
            filename=upload.filename or "upload",
            content=upload.read(),
            unit=unit,
            user=current_user,
            dry_run=request.args.get("dry_run") in ("1", "true"),
        )
    except ImportRefused as exc:
        raise ApiValidationError([{"field": exc.field, "message": str(exc)}]) from exc
    db.session.commit()
    return import_json(job), 202, {"Location": f"/api/v1/imports/{job.id}"}


@bp.post("/imports/<int:job_id>/confirm")
@login_required
def confirm_import(job_id: int):
    """Apply a dry run's preview: the body names the ``preview_digest`` confirmed, so nothing else is applied."""
    from lms.registry.importer import ImportRefused, confirm_job

    job = _get(ImportJob, job_id, Permission.REGISTRY_IMPORT)
    body = request.get_json(silent=True) or {}
    digest = body.get("preview_digest") if isinstance(body, dict) else None
    try:
        confirm_job(job, digest=digest if isinstance(digest, str) else "", user=current_user)
    except ImportRefused as exc:
        raise ApiValidationError([{"field": "preview_digest", "message": str(exc)}]) from exc
    db.session.commit()
    return import_json(job), 202, {"Location": f"/api/v1/imports/{job.id}"}


@bp.get("/imports/<int:job_id>")
@login_required
def get_import(job_id: int):
    return import_json(_get(ImportJob, job_id, Permission.REGISTRY_IMPORT))
