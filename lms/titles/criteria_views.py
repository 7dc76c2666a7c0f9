"""The criteria sets as people read them: each indicator with the clause it comes from, and — where no text in hand
supports it — that it is provisional and where its values came from instead (ADR 18)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import get_locale
from sqlalchemy import select

from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission
from lms.core.numbers import whole_number
from lms.extensions import db
from lms.titles import bp, criteria, services
from lms.titles.models import CriteriaSet


@bp.get("/criteria")
@permission_required(Permission.TITLES_VIEW)
def criteria_sets():
    """The active criteria sets, one per title (two for the unit title)."""
    rows = db.session.scalars(
        select(CriteriaSet).where(CriteriaSet.active.is_(True)).order_by(CriteriaSet.title, CriteriaSet.code)
    ).all()
    counts = {row.id: len(basis.indicators) if (basis := services.provisional_basis(row)) else 0 for row in rows}
    return render_template("titles/criteria_sets.html", rows=rows, provisional_counts=counts)


@bp.get("/criteria/<code>")
@permission_required(Permission.TITLES_VIEW)
def criteria_set(code: str):
    """One criteria set (the active version, or ``?version=``): every indicator, its clause, its rule, and whether it
    is provisional with its source."""
    stmt = select(CriteriaSet).where(CriteriaSet.code == code[:60])
    version = whole_number(request.args.get("version", ""))
    if version is not None:
        stmt = stmt.where(CriteriaSet.version == version)
    else:
        stmt = stmt.order_by(CriteriaSet.active.desc(), CriteriaSet.version.desc())
    row = db.session.scalars(stmt.limit(1)).first()
    if row is None:
        abort(404)
    try:
        definition = criteria.definition_of(row)
        indicators = services.indicators_of(row)
    except criteria.CriteriaError:  # an old version the parser no longer reads: its header still shows
        definition, indicators = None, []
    versions = db.session.execute(
        select(CriteriaSet.version, CriteriaSet.active)
        .where(CriteriaSet.code == row.code)
        .order_by(CriteriaSet.version)
    ).all()
    return render_template(
        "titles/criteria_set.html",
        row=row,
        definition=definition,
        indicators=indicators,
        provisional=[i for i in indicators if i.provisional],
        versions=versions,
        locale=str(get_locale()),
    )
