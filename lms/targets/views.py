"""Leaders' dashboards: progress against the plan's targets for a unit of their scope, and the periodic reports.

Every page reads stored rows only — ``IndicatorValue`` for the figures, ``Eligibility`` for the households and
persons not yet eligible — in a fixed number of statements whatever the number of communes, villages or households
under the unit (``reports.scope_table``). Units are loaded through the scoping helper: outside the user's scope and
not found are the same 404.

Drill-down: province → commune → village (the sub-units ranked by their gap to target, each a link to its own
page), then at a village the households (Learning Family) or persons (Learning Citizen) not yet eligible, with the
reason for each, one page at a time.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from lms import extensions
from lms.auth.decorators import permission_required
from lms.auth.models import Role
from lms.auth.permissions import ROLE_PERMISSIONS, Permission, can, in_scope, resolved_scopes, scope_paths, scoped
from lms.core import formatting
from lms.core.clock import local_now
from lms.core.headers import csp_nonce
from lms.extensions import db
from lms.registry import issuers
from lms.registry.models import HEAD_RELATIONS, AdminUnit, Household, Person, UnitLevel, UnitLineage
from lms.targets import bp, cache, charts, reports
from lms.targets.models import Basis, Indicator, PeriodKind, Plan, Structure
from lms.titles.explain import describe_missing, describe_total
from lms.titles.models import Eligibility, Title
from lms.titles.services import indicator_label, indicator_names

VIEW = Permission.TARGETS_VIEW

STRUCTURE_NAMES = {
    Structure.CURRENT: _l("Current map (from 1 July 2025)"),
    Structure.PRE_2025: _l("Map before 1 July 2025"),
}
BASIS_NAMES = {Basis.OFFICIAL: _l("Recognised (official)"), Basis.PROJECTION: _l("Projection (eligible)")}
KIND_NAMES = {PeriodKind.YEAR: _l("Year"), PeriodKind.MONTH: _l("Month")}
REPORT_NAMES = {
    reports.ReportKind.ANNUAL: _l("Annual report"),
    reports.ReportKind.REVIEW_2025: _l("2025 review (sơ kết)"),
    reports.ReportKind.REVIEW_2030: _l("2030 review (tổng kết)"),
}
# The drill-down's lists at a village: whose eligibility they show.
PENDING_TITLES = {
    Title.FAMILY: _l("Households not yet a Learning Family"),
    Title.CITIZEN: _l("Persons not yet a Learning Citizen"),
}


def share_text(value: Decimal | float | int | None) -> str:
    """A share in the page's language (one decimal: "45,3" in Vietnamese); an em dash when there is no data."""
    return formatting.share(value)


def percent_text(value: Decimal | float | int | None) -> str:
    """A share with its sign: "45,3 %" in Vietnamese; an em dash when there is no data."""
    return formatting.percent(value)


def points_text(value: Decimal | float | int | None) -> str:
    """A gap between two shares, with its unit: "15,0 điểm %" in Vietnamese; an em dash when there is no data."""
    if value is None:
        return formatting.share(value)
    return _("%(value)s percentage points", value=formatting.share(value))


def number_text(value: Decimal | float | int | None) -> str:
    """A count or a (possibly fractional) numerator: "1.234" or "12,5" in Vietnamese."""
    return formatting.number(value, 2)


def indicator_name(indicator: Indicator) -> str:
    """What a reader calls the indicator (its code is for files and tooltips): Vietnamese, or the English name when
    the page is in English and the plan gives one."""
    if formatting.current_locale() != "vi" and indicator.name_en:
        return indicator.name_en
    return indicator.name


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "indicator_name": indicator_name,
        "share_text": share_text,
        "percent_text": percent_text,
        "points_text": points_text,
        "number_text": number_text,
        "structure_names": STRUCTURE_NAMES,
        "basis_names": BASIS_NAMES,
        "kind_names": KIND_NAMES,
        "report_names": REPORT_NAMES,
        "pending_titles": PENDING_TITLES,
    }


# --- loading -------------------------------------------------------------------------------------------------


def _unit_or_404(unit_id: int) -> AdminUnit:
    unit = db.session.scalar(
        select(AdminUnit).where(AdminUnit.id == unit_id, in_scope(AdminUnit.path, current_user, VIEW))
    )
    if unit is None:
        abort(404)
    return unit


def _ancestors(unit: AdminUnit) -> list[AdminUnit]:
    """The unit's ancestors the user may see, root first (one query)."""
    ids = [int(part) for part in unit.path.strip("/").split("/")[:-1]]
    rows = {u.id: u for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)))} if ids else {}
    return [rows[i] for i in ids if i in rows and can(current_user, VIEW, rows[i])]


def _choice(name: str, allowed: Any, default: str) -> str:
    value = request.args.get(name) or default
    if value not in {str(a) for a in allowed}:
        abort(400, description=_("Unknown %(name)s: %(value)s.", name=name, value=value))
    return value


def _period() -> date | None:
    raw = request.args.get("period")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=_("The period must be a date such as 2025-12-31, not %(value)s.", value=raw))


def _table(unit: AdminUnit, *, latest: date | None = None) -> tuple[reports.ScopeTable | None, list[tuple[Plan, str]]]:
    """The scope table the query string asks for (plan, period, kind, structure, basis), defaults filled in.
    ``latest``: a year-end no period may pass (the 2021–2025 review), whatever the query string asks; the table is
    then of years."""
    plans = reports.active_plans()
    plan: Plan | None
    if request.args.get("plan"):
        plan = next((p for p, _path in plans if str(p.id) == request.args["plan"]), None)
        if plan is None:
            abort(404)
    else:
        plan = reports.default_plan(plans, unit, reports.plans_with_values(unit))
    if plan is None:
        return None, plans
    # Units that ended with the 2025 reform are shown under the structure they belonged to.
    default_structure = Structure.PRE_2025 if unit.valid_to is not None else Structure.CURRENT
    period_end = _period()
    period_kind = _choice("kind", PeriodKind, PeriodKind.YEAR)
    if latest is not None:
        # A review is of years: a month on screen (06/2025) stands for its year (2025), not for the last year ended
        # by that day (2024), and no later than the review's last year.
        period_end = min(date(period_end.year, 12, 31) if period_end else latest, latest)
        period_kind = PeriodKind.YEAR
    table = reports.scope_table(
        plan,
        unit,
        period_end=period_end,
        period_kind=period_kind,
        structure=_choice("structure", Structure, default_structure),
        basis=_choice("basis", Basis, Basis.OFFICIAL),
    )
    return table, plans


def _args(table: reports.ScopeTable, **extra: Any) -> dict[str, Any]:
    """The query string that keeps the page's choices when moving to another unit or page."""
    args: dict[str, Any] = {
        "plan": table.plan.id,
        "kind": table.period_kind,
        "structure": table.structure,
        "basis": table.basis,
    }
    if table.period_end is not None:
        args["period"] = table.period_end.isoformat()
    args.update({k: v for k, v in extra.items() if v is not None})
    return args


def period_label(day: date, kind: str) -> str:
    return f"{day:%m/%Y}" if kind == PeriodKind.MONTH else str(day.year)


# --- charts --------------------------------------------------------------------------------------------------


def _bullet(table: reports.ScopeTable, line: reports.IndicatorLine) -> Any:
    """Value against every milestone's target; the target that applies to the unit now comes first, so the bar
    turns green when it is reached (the area class's target where the plan sets one for this unit)."""
    applying: list[charts.Marker] = []
    others: list[charts.Marker] = []
    for index, year in enumerate(table.milestone_years):
        general, own = line.targets.get(year), line.class_targets.get(year)
        dashed = index > 0
        if general is not None:
            marker = charts.Marker(str(year), general, dashed=dashed)
            (applying if year == table.milestone and own is None else others).append(marker)
        if own is not None:
            marker = charts.Marker(_("%(year)s (area)", year=year), own, dashed=dashed, note=_("for this area class"))
            (applying if year == table.milestone else others).append(marker)
    return charts.bullet(
        line.share,
        applying + others,
        no_data=_("No data"),
        fmt=share_text,
        title=_("%(indicator)s: value against targets", indicator=indicator_name(line.indicator)),
    )


def _sparkline(table: reports.ScopeTable, line: reports.IndicatorLine) -> Any:
    points = [(period_label(p, table.period_kind), f.share if f else None) for p, f in line.trend]
    milestone = table.milestone
    return charts.sparkline(
        points,
        title=_("%(indicator)s: trend", indicator=indicator_name(line.indicator)),
        target=line.target(milestone) if milestone else None,
        fmt=share_text,
    )


def _ranked(line: reports.IndicatorLine) -> Any:
    # Sub-units without a figure are named once under the table, not drawn as a bar each: a province where few
    # communes have figures yet would bury them under ninety "no data" bars on a phone.
    bars = [charts.RankedBar(c.unit.name, c.share, c.target) for c in line.children if c.share is not None]
    return charts.ranked_bars(
        bars,
        title=_("%(indicator)s: sub-units ranked by gap to target", indicator=indicator_name(line.indicator)),
        no_data=_("No data"),
        fmt=share_text,
    )


# --- the drill-down's last step: who is not yet eligible, and why -----------------------------------------------


def reasons(row: Eligibility, labels: dict[str, str]) -> list[str]:
    """What the subject lacks: one sentence per unsatisfied indicator, led by the indicator's name (never its code:
    a leader reads "F3" as nothing); the names alone when the row has no breakdown."""
    items = [item for item in row.breakdown or [] if item.get("missing")]
    if items:
        total = _total_short(row)
        return [
            f"{indicator_label(labels, str(item.get('indicator', '')))}: {describe_missing(item, total)}"
            for item in items
        ]
    names = [indicator_label(labels, code) for code in row.missing.split("|") if code]
    total = _total_short(row)
    # Without a breakdown the names alone do not say what is needed; the total does, for a points-style row.
    return [describe_total(*total), *names] if total is not None else names


def _total_short(row: Eligibility) -> tuple[Decimal, Decimal] | None:
    """A points-style row's total and its set's pass mark, when the total is short of it (else None)."""
    definition = (row.criteria_set.definition if row.criteria_set is not None else None) or {}
    pass_total = definition.get("pass_total")
    if row.score is None or pass_total is None or row.score >= Decimal(str(pass_total)):
        return None
    return row.score, Decimal(str(pass_total))


def pending_select(village: AdminUnit, title: str, year: int, user: Any) -> Select[Any]:
    """The village's subjects not yet eligible for ``title`` in ``year``, in ``user``'s scope, by subject.

    Names the village's commune too: the lists' one index on ``eligibility`` leads with the commune (ADR 40, amended;
    ``tests/titles/test_list_index.py`` reads the plan)."""
    return scoped(
        select(Eligibility)
        .where(
            Eligibility.commune_id == village.parent_id,
            Eligibility.village_id == village.id,
            Eligibility.title == title,
            Eligibility.year == year,
            Eligibility.eligible.is_(False),
            Eligibility.applicable.is_(True),  # not a subject of the title: not "not yet eligible" (ADR 15)
        )
        .order_by(Eligibility.subject_id)
        .options(selectinload(Eligibility.breakdown_row), selectinload(Eligibility.criteria_set)),
        Eligibility.commune_id,
        user,
        VIEW,
    )


def _pending(village: AdminUnit, title: str, year: int) -> tuple[Any, dict[int, str]]:
    """One page of the village's subjects not yet eligible for ``title`` in ``year``, and their names."""
    stmt = pending_select(village, title, year, current_user)
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [row.subject_id for row in page.items]
    names: dict[int, str] = {}
    if ids and title == Title.FAMILY:
        heads: dict[int, str] = {}
        rows = db.session.execute(
            select(Household.id, Household.code, Person.full_name, Person.relation_to_head)
            .outerjoin(Person, Person.household_id == Household.id)
            .where(Household.id.in_(ids))
            .order_by(Household.id, Person.sort_key)
        ).all()
        for row in rows:
            if row.full_name and (row.id not in heads or row.relation_to_head in HEAD_RELATIONS):
                heads[row.id] = row.full_name
            names[row.id] = row.code
        # By the head (chủ hộ), as the village knows it; the registry's code only for a household without members.
        names = {
            i: _("Household of %(name)s", name=heads[i]) if i in heads else _("Household no. %(code)s", code=code)
            for i, code in names.items()
        }
    elif ids:
        names = {
            row.id: row.full_name
            for row in db.session.execute(select(Person.id, Person.full_name).where(Person.id.in_(ids)))
        }
    return page, names


def _other_map(unit: AdminUnit, structure: str) -> list[AdminUnit]:
    """Figures of the other map are stored on that map's units: a current unit viewed under the map before 2025
    links to the units it replaced, an ended unit viewed under the current map to its successors (one query)."""
    if structure == Structure.PRE_2025 and unit.valid_to is None:
        near, far = UnitLineage.new_unit_id, UnitLineage.old_unit_id
    elif structure == Structure.CURRENT and unit.valid_to is not None:
        near, far = UnitLineage.old_unit_id, UnitLineage.new_unit_id
    else:
        return []
    units = db.session.scalars(
        select(AdminUnit)
        .join(UnitLineage, far == AdminUnit.id)
        .where(near == unit.id, in_scope(AdminUnit.path, current_user, VIEW))
        .order_by(AdminUnit.sort_key)
        .distinct()
    )
    # A province before its districts, then its communes: by name alone "Tỉnh Kon Tum" stood among its districts
    # (Huyện Kon Rẫy, Thành phố Kon Tum, Tỉnh Kon Tum, Huyện Ngọc Hồi…). A handful of rows: sorted here.
    return sorted(units, key=lambda u: _LEVEL_RANK.get(u.level, len(_LEVEL_RANK)))


_LEVEL_RANK: dict[str, int] = {UnitLevel.PROVINCE: 0, UnitLevel.DISTRICT: 1, UnitLevel.COMMUNE: 2, UnitLevel.VILLAGE: 3}


# --- routes --------------------------------------------------------------------------------------------------


@bp.get("/")
@permission_required(VIEW)
def index():
    """Straight to the dashboard of the unit the user's role is held on; a list when there are several."""
    roots = sorted(
        {a.unit for a in current_user.roles if VIEW in ROLE_PERMISSIONS[Role(a.role)]}, key=lambda u: u.sort_key
    )
    if len(roots) == 1:
        return redirect(url_for("targets.unit", unit_id=roots[0].id))
    return render_template("targets/index.html", roots=roots)


CSRF_PLACEHOLDER = "\x00csrf-token\x00"
CSRF_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
NONCE_PLACEHOLDER = "\x00csp-nonce\x00"
NONCE_PLACEHOLDER_BYTES = NONCE_PLACEHOLDER.encode()
_TEMPLATES: list[str] = []


def _page_templates() -> list[str]:
    """The page's template and every one it extends, imports or includes, however deep (base.html draws its menu
    with navbar.html's macro): a list written by hand missed the one a template began to import."""
    from jinja2 import meta

    env = current_app.jinja_env
    assert env.loader is not None
    seen: list[str] = []
    waiting = ["targets/unit.html"]
    while waiting:
        name = waiting.pop()
        if name in seen:
            continue
        seen.append(name)
        source = env.loader.get_source(env, name)[0]
        waiting.extend(n for n in meta.find_referenced_templates(env.parse(source)) if n is not None)
    return sorted(seen)


def _templates_digest() -> str:
    """A digest of the page's templates (:func:`_page_templates`) and compiled translations, so that a deployment
    that changes the page's wording does not serve pages rendered before it from a shared cache (once per process,
    the same in each)."""
    if not _TEMPLATES:
        env = current_app.jinja_env
        assert env.loader is not None
        digest = hashlib.sha256()
        for name in _page_templates():
            digest.update(env.loader.get_source(env, name)[0].encode())
        for catalogue in sorted(Path(current_app.root_path, "translations").glob("*/LC_MESSAGES/messages.mo")):
            digest.update(catalogue.read_bytes())
        _TEMPLATES.append(digest.hexdigest())
    return _TEMPLATES[0]


def _page_key(unit_id: int) -> str:
    """Everything the page's HTML depends on but the figures: the unit and the query string, the language and
    today's date (the defaults), the user (the menu and the name in the layout) with every scope (what the page and
    the menu show) and the templates. The generations of the figures shown are kept in the entry (ADR 27)."""
    user = current_user._get_current_object()
    scopes = sorted((name, tuple(paths)) for name, paths in resolved_scopes(user).items())
    return cache.key(
        "page",
        unit_id,
        sorted(request.args.items(multi=True)),
        str(get_locale()),
        local_now().date().isoformat(),  # the page changes at midnight in Vietnam, not on the server
        (user.id, user.name, user.person_id),
        scopes,
        _templates_digest(),
        issuers.config_stamp(),  # the reports' issuer shown on the page: a replaced file shows at once
    )


def _etag(key: str, tokens: tuple[str, ...]) -> str:
    # The session's CSRF secret too: a copy the browser revalidates must hold a valid token.
    return hashlib.sha256(f"{key}:{tokens}:{session.get('csrf_token', '')}".encode()).hexdigest()[:32]


@bp.get("/units/<int:unit_id>")
@permission_required(VIEW)
def unit(unit_id: int):
    if session.get("_flashes"):
        return _unit_page(_unit_or_404(unit_id))  # a page with a message to show is rendered for this request only
    key = _page_key(unit_id)
    # The plans' and the figures' generations and the stored page, in one round trip; the page is served only if it
    # was built under the current generations and its unit is in the user's scope now (the key names the user and
    # every scope, so this only repeats the check made when the page was built).
    tokens, entry = cache.lookup([cache.PLANS, cache.ROLLUP, unit_id], key, create=False)
    # The layout's forms carry this session's CSRF token: the page is stored with a placeholder, filled in per
    # request.
    csrf = generate_csrf()
    if (
        entry is not None
        and entry["tokens"] == (tokens[cache.PLANS], tokens.get(entry["figures"]))
        and any(entry["path"].startswith(p) for p in scope_paths(current_user, VIEW))
    ):
        etag = _etag(key, entry["tokens"])
        if cache.etag_matches(etag, request.if_none_match):
            return _revalidated(Response(status=304), etag)
        return _revalidated(Response(_fill(entry, csrf), mimetype="text/html"), etag)
    unit = _unit_or_404(unit_id)
    if unit.level == UnitLevel.VILLAGE:
        # A village's page lists eligibility rows, which the titles evaluation changes, not the roll-up.
        return _unit_page(unit)
    figures = unit.id if unit.level == UnitLevel.COMMUNE else cache.ROLLUP
    used = cache.current(tokens, (cache.PLANS, figures))
    etag = _etag(key, used)
    if cache.etag_matches(etag, request.if_none_match):
        return _revalidated(Response(status=304), etag)
    html = _unit_page(unit, csrf_token=lambda: CSRF_PLACEHOLDER)
    nonce = g.get("csp_nonce")
    if nonce:  # a page with inline blocks: a fresh nonce per answer, as the policy header names
        html = html.replace(nonce, NONCE_PLACEHOLDER)
    entry = {"tokens": used, "figures": figures, "path": unit.path, "nonce": bool(nonce), "html": html.encode()}
    extensions.cache.set(key, entry)
    return _revalidated(Response(_fill(entry, csrf), mimetype="text/html"), etag)


def _fill(entry: dict[str, Any], csrf: str) -> bytes:
    """The stored page with this answer's CSRF token (and CSP nonce, if the page has inline blocks)."""
    html: bytes = entry["html"].replace(CSRF_PLACEHOLDER_BYTES, csrf.encode())
    if entry["nonce"]:
        html = html.replace(NONCE_PLACEHOLDER_BYTES, csp_nonce().encode())
    return html


def _revalidated(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    # The browser keeps the page but asks each time (If-None-Match): a roll-up shows at the next visit.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response


def _former_plan_unit(plan: Plan, unit: AdminUnit) -> AdminUnit | None:
    """The unit a plan was made for when the map has since replaced it (Kon Tum's Plan 1514 shown on a commune or on
    Quảng Ngãi's page after 1 July 2025): the page says whose plan it is and that it now counts that unit's successors.
    None when the plan's unit is still on the map."""
    owner = db.session.get(AdminUnit, plan.unit_id)
    return owner if owner is not None and owner.valid_to is not None and owner.id != unit.id else None


def _unit_page(unit: AdminUnit, **extra: Any) -> str:
    table, plans = _table(unit)
    ancestors = _ancestors(unit)
    if table is None:
        return render_template("targets/unit.html", unit=unit, table=None, plans=plans, ancestors=ancestors, **extra)
    code = request.args.get("indicator")
    # Unasked, the ranking opens on the first indicator a sub-unit has a figure for: a commune's first indicator
    # (policy study) is counted for the commune alone, and a ranking of villages that all read "no data" says
    # nothing about who lags.
    ranked = (table.line(code) if code else None) or next(
        (line for line in table.lines if any(child.share is not None for child in line.children)),
        table.lines[0] if table.lines else None,
    )
    pending = names = None
    pending_title = _choice("title", PENDING_TITLES, Title.FAMILY)
    year = table.period_end.year if table.period_end else local_now().year
    if unit.level == UnitLevel.VILLAGE:
        pending, names = _pending(unit, pending_title, year)
    return render_template(
        "targets/unit.html",
        unit=unit,
        table=table,
        plans=plans,
        ancestors=ancestors,
        ranked=ranked,
        bullets={line.indicator.id: _bullet(table, line) for line in table.lines},
        sparklines={line.indicator.id: _sparkline(table, line) for line in table.lines},
        ranked_chart=_ranked(ranked)
        if ranked is not None and any(c.share is not None for c in ranked.children)
        else None,
        args=_args(table, indicator=ranked.indicator.code if ranked else None),
        pending=pending,
        names=names,
        pending_title=pending_title,
        year=year,
        reasons=reasons,
        indicator_labels=indicator_names(
            pending_title, formatting.current_locale(), {row.criteria_set_id for row in pending.items}
        )
        if pending is not None
        else {},
        period_label=period_label,
        registry_link=can(current_user, Permission.REGISTRY_VIEW, unit),
        other_map=_other_map(unit, table.structure),
        provisional=reports.provisional_bases(table),
        issuer=issuers.report_issuer(unit),
        plan_unit=_former_plan_unit(table.plan, unit),
        **extra,
    )


REVIEW_ENDS = {reports.ReportKind.REVIEW_2025: date(2025, 12, 31), reports.ReportKind.REVIEW_2030: date(2030, 12, 31)}


def _report(unit_id: int) -> tuple[reports.ScopeTable, str]:
    unit = _unit_or_404(unit_id)
    kind = _choice("report", reports.ReportKind.ALL, reports.ReportKind.ANNUAL)
    # A review is of years, as of the end of its last year at the latest (2025, 2030): the dashboard's buttons carry
    # the period on screen (31/12/2026, or a month), which the review of 2021–2025 must not report.
    table, _plans = _table(unit, latest=REVIEW_ENDS.get(kind))
    if table is None:
        abort(404)
    return table, kind


def _download(content: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


# The downloaded file's name, in Vietnamese without diacritics (what a clerk files it under), not the report's code.
REPORT_FILE_NAMES = {
    reports.ReportKind.ANNUAL: "bao-cao-nam",
    reports.ReportKind.REVIEW_2025: "so-ket-2021-2025",
    reports.ReportKind.REVIEW_2030: "tong-ket-2021-2030",
}


def _filename(table: reports.ScopeTable, kind: str, extension: str) -> str:
    period = table.period_end.isoformat() if table.period_end else "chua-co-so-lieu"
    return f"chi-tieu-{REPORT_FILE_NAMES.get(kind, 'bao-cao')}-{table.unit.code}-{period}.{extension}"


@bp.get("/units/<int:unit_id>/report.xlsx")
@permission_required(VIEW)
def report_xlsx(unit_id: int):
    table, kind = _report(unit_id)
    content = reports.indicator_xlsx(table, kind, made_by=current_user.name, document_number=issuers.requested_number())
    return _download(content, reports.XLSX_MIMETYPE, _filename(table, kind, "xlsx"))


@bp.get("/units/<int:unit_id>/report.pdf")
@permission_required(VIEW)
def report_pdf(unit_id: int):
    table, kind = _report(unit_id)
    content = reports.indicator_pdf(table, kind, made_by=current_user.name, document_number=issuers.requested_number())
    return _download(content, "application/pdf", _filename(table, kind, "pdf"))
