"""Pages of registration and recognition: registrations of a commune (list, add, import), the proposal checklist,
the approver's decision screen, the recognitions list and a recognition's page.

Conventions as everywhere: a permission decorator, then every query through the scoping helper (a commune or a
recognition outside the user's scope is a 404), one service call, one commit, a flash and a redirect. A status
change someone else made first is a flash, not an error page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import case, select

from lms.auth.decorators import permission_required
from lms.auth.models import Role
from lms.auth.permissions import ROLE_PERMISSIONS, Body, Permission, can, has_permission_anywhere, in_scope
from lms.core import formatting
from lms.core.clock import local_today
from lms.core.numbers import whole_number
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel
from lms.titles import approvals, bp, deadlines, documents, drafts, explain, recognition, services
from lms.titles.forms import ConfirmImportForm
from lms.titles.models import TITLE_SUBJECT, CriteriaSet, Recognition, RecognitionStatus, Title
from lms.titles.recognition_forms import (
    DECISION_LEVEL_NAMES,
    HISTORY_NAMES,
    RECOGNITION_STATUS_NAMES,
    TITLE_NAMES,
    DecisionCorrectionForm,
    DecisionForm,
    ImportForm,
    RevokeForm,
    SelectionForm,
)
from lms.titles.services import indicator_label, indicator_names

VIEW, ASSESS = Permission.TITLES_VIEW, Permission.TITLES_ASSESS
PROPOSE, APPROVE = Permission.TITLES_PROPOSE, Permission.TITLES_APPROVE


def _communes(permission: Permission) -> list[AdminUnit]:
    """Communes where the user holds ``permission`` (current ones first), for the commune picker."""
    return list(
        db.session.scalars(
            select(AdminUnit)
            .where(AdminUnit.level == UnitLevel.COMMUNE.value, in_scope(AdminUnit.path, current_user, permission))
            .order_by(case((AdminUnit.valid_to.is_(None), 0), else_=1), AdminUnit.sort_key)
            .limit(500)
        )
    )


def _int(name: str) -> int | None:
    return whole_number(request.values.get(name, ""))


def _own_commune(permission: Permission) -> AdminUnit | None:
    """The one commune on which the user holds ``permission`` through a role, if there is exactly one: the list of
    communes in scope also holds the communes it replaced in 2025, yet the user's work is in the current one."""
    held = {
        a.unit
        for a in current_user.roles
        if permission in ROLE_PERMISSIONS[Role(a.role)] and a.unit.level == UnitLevel.COMMUNE
    }
    return held.pop() if len(held) == 1 else None


def _evaluation_year() -> int:
    """The latest year the engine evaluated in the user's scope: the year whose results are proposed and decided
    (this year when nothing was evaluated yet)."""
    return services.latest_year(current_user) or local_today().year


def _context(permission: Permission, *, default_year: int) -> dict[str, Any]:
    """The commune, year and title the screen is about, from the query string; a commune outside the user's scope
    for ``permission`` is a 404."""
    communes = _communes(permission)
    commune_id = _int("commune_id")
    commune = None
    if commune_id is not None:
        commune = db.session.get(AdminUnit, commune_id)
        if commune is None or commune.level != UnitLevel.COMMUNE or not can(current_user, permission, commune):
            abort(404)
    elif len(communes) == 1:
        commune = communes[0]
    else:
        commune = _own_commune(permission)
    year = _int("year") or default_year
    if not 2000 <= year <= 2100:
        abort(400, description=_("The year must be between 2000 and 2100."))
    title = request.values.get("title") or Title.FAMILY.value
    if title not in TITLE_NAMES:
        abort(400, description=_("Unknown title."))
    return {
        "communes": communes,
        "commune": commune,
        "year": year,
        "title": title,
        "title_names": TITLE_NAMES,
        "status_names": RECOGNITION_STATUS_NAMES,
    }


def _selected_ids() -> list[int]:
    return [n for n in map(whole_number, request.form.getlist("ids")) if n is not None]


def _flash_refusal(exc: recognition.RecognitionError) -> None:
    db.session.rollback()
    flash(str(exc), "warning" if isinstance(exc, recognition.TransitionConflict) else "danger")
    for detail in exc.details[:20]:
        flash(detail["message"], "secondary")


def _back(endpoint: str, ctx: dict[str, Any], **extra: Any) -> Any:
    commune = ctx["commune"]
    return redirect(
        url_for(endpoint, commune_id=commune.id if commune else None, year=ctx["year"], title=ctx["title"], **extra)
    )


# --- registrations ---------------------------------------------------------------------------------------------


@bp.get("/registrations")
@permission_required(VIEW)
def registrations():
    ctx = _context(VIEW, default_year=local_today().year)
    page = None
    names: dict = {}
    labels: dict = {}
    if ctx["commune"] is not None:
        stmt = recognition.registrations_select(
            current_user, unit_id=ctx["commune"].id, year=ctx["year"], title=ctx["title"]
        )
        page = db.paginate(stmt, per_page=100, error_out=False)
        names = recognition.names(page.items)
        labels = services.subject_labels((r.subject_type, r.subject_id) for r in page.items)
    return render_template("titles/recognition/registrations.html", page=page, names=names, labels=labels, **ctx)


@bp.route("/registrations/new", methods=["GET", "POST"])
@permission_required(ASSESS)
def registration_new():
    ctx = _context(ASSESS, default_year=local_today().year)
    form = SelectionForm()
    if ctx["commune"] is None:
        return render_template(
            "titles/recognition/registration_new.html", form=form, candidates=[], labels={}, subject_type="", **ctx
        )
    if form.validate_on_submit():
        try:
            result = recognition.register(
                title=ctx["title"], year=ctx["year"], subject_ids=_selected_ids(), user=current_user
            )
        except recognition.RecognitionError as exc:
            _flash_refusal(exc)
            return _back("titles.registration_new", ctx)
        db.session.commit()
        flash(
            _("%(n)d registered (%(already)d already were).", n=len(result.created), already=len(result.already)),
            "success",
        )
        return _back("titles.registrations", ctx)
    village_id = _int("village_id")
    candidates = recognition.unregistered(ctx["title"], ctx["year"], ctx["commune"], village_id=village_id)
    subject_type = recognition.TITLE_SUBJECT[Title(ctx["title"])]
    villages = db.session.scalars(
        select(AdminUnit)
        .where(AdminUnit.parent_id == ctx["commune"].id, AdminUnit.level == UnitLevel.VILLAGE.value)
        .order_by(AdminUnit.sort_key)
    ).all()
    return render_template(
        "titles/recognition/registration_new.html",
        form=form,
        candidates=candidates,
        subject_type=subject_type,
        labels=services.subject_labels((subject_type, s.id) for s in candidates),
        villages=villages,
        village_id=village_id,
        **ctx,
    )


@bp.route("/registrations/import", methods=["GET", "POST"])
@permission_required(ASSESS)
def registration_import():
    """Upload a list of subjects (xlsx or csv): checked whole and previewed; registered whole, on confirmation."""
    ctx = _context(ASSESS, default_year=local_today().year)
    form = ImportForm()
    errors: list[dict[str, Any]] = []
    result = None
    filename = ""
    status = 200
    if ctx["commune"] is not None and form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or "file.xlsx"
        try:
            result = recognition.import_registrations(
                upload.read(recognition.MAX_IMPORT_BYTES + 1),
                filename,
                commune=ctx["commune"],
                title=ctx["title"],
                year=ctx["year"],
                user=current_user,
                dry_run=True,
            )
        except recognition.ImportRejected as exc:
            errors, status = exc.errors, 422
        except recognition.RecognitionError as exc:
            _flash_refusal(exc)
            status = 422
        db.session.rollback()  # a dry run writes nothing; this makes sure of it
    elif request.method == "POST":
        status = 422
    return _registration_import_page(ctx, form, errors, result, filename), status


def _plan_for(ctx: dict[str, Any]) -> dict[str, Any]:
    commune = ctx["commune"]
    return {"commune_id": commune.id if commune else None, "title": ctx["title"], "year": ctx["year"]}


@bp.post("/registrations/import/confirm")
@permission_required(ASSESS)
def confirm_registration_import():
    """Register exactly the previewed subjects; if registrations changed since, preview again and say so."""
    from lms.core.imports import load_rows

    ctx = _context(ASSESS, default_year=local_today().year)
    form = ConfirmImportForm()
    plan = load_rows("registrations", form.plan.data or "") if form.validate_on_submit() else None
    if plan is None or ctx["commune"] is None or plan["for"] != _plan_for(ctx):
        flash(_("This preview is no longer valid: upload the file again."), "warning")
        return _back("titles.registration_import", ctx)
    try:
        result = recognition.apply_registration_rows(
            plan["rows"],
            commune=ctx["commune"],
            title=ctx["title"],
            year=ctx["year"],
            user=current_user,
            expected_digest=plan["digest"],
        )
    except recognition.RecognitionError as exc:
        _flash_refusal(exc)
        return _back("titles.registration_import", ctx)
    if result.outdated:
        db.session.rollback()
        return _registration_import_page(ctx, ImportForm(formdata=None), [], result, plan["filename"])
    db.session.commit()
    flash(
        _("%(n)d registered (%(already)d already were).", n=len(result.created), already=len(result.already)),
        "success",
    )
    return _back("titles.registrations", ctx)


def _registration_import_page(
    ctx: dict[str, Any],
    form: ImportForm,
    errors: list[dict[str, Any]],
    result: recognition.RegistrationResult | None,
    filename: str,
) -> str:
    from lms.core.imports import sign_rows

    confirm = None
    if result is not None and result.preview is not None:
        confirm = ConfirmImportForm(
            formdata=None,
            plan=sign_rows(
                "registrations",
                {"for": _plan_for(ctx), "filename": filename, "rows": result.rows, "digest": result.digest},
            ),
        )
    return render_template(
        "titles/recognition/registration_import.html",
        form=form,
        errors=errors,
        result=result,
        confirm=confirm,
        filename=filename,
        preview_names={"registrations": _("Registrations")},
        layouts=recognition.LAYOUTS,
        columns=recognition.COLUMNS,
        subject_type=recognition.TITLE_SUBJECT[Title(ctx["title"])],
        **ctx,
    )


# --- proposals and decisions -----------------------------------------------------------------------------------


@bp.route("/recognitions/propose", methods=["GET", "POST"])
@permission_required(PROPOSE)
def recognition_propose():
    """The eligible subjects of a commune not yet proposed, with checkboxes: propose the selection."""
    ctx = _context(PROPOSE, default_year=_evaluation_year())
    # Only the titles this user proposes (the association's officer: the Learning Citizen, ADR 45).
    proposed = approvals.proposed_titles(current_user)
    if "title" not in request.values and proposed and ctx["title"] not in proposed:
        ctx["title"] = proposed[0]
    ctx["title_names"] = {t: n for t, n in TITLE_NAMES.items() if t in proposed or t == ctx["title"]}
    form = SelectionForm()
    status = 422 if request.method == "POST" else 200  # a POST that reaches the page again was refused
    confirm = ""
    preview: dict[str, str] = {}
    if ctx["commune"] is not None and form.validate_on_submit():
        # A proposal cannot be withdrawn (only decided on, and a rejection is final for the year, ADR 11): the
        # selection is checked and shown for confirmation first; only the confirmation writes. The confirmation
        # carries the digest of the evaluations shown (the service's proposal_digest), compared when it writes: the
        # engine run again in between (a score changed) is shown again with what changed, never copied unseen. A
        # confirmation without one (a page from before it was carried) is shown again, with one.
        asked = {"title": ctx["title"], "year": ctx["year"], "subject_ids": _selected_ids(), "user": current_user}
        shown = _shown(ctx["title"], ctx["year"], sorted(set(asked["subject_ids"])))
        confirmed = _confirmed(shown)
        try:
            if confirmed:
                ids = recognition.propose(**asked, expected_digest=request.form.get("preview_digest", ""))
            else:
                ids, checked = recognition.check_proposal(**asked)
                preview = _proposal_preview(ctx["title"], ctx["year"], checked)
        except recognition.StaleProposal as exc:
            flash(_stale_proposal_message(ctx["title"], exc.rows), "warning")
            confirm, status = shown, 409
            preview = _proposal_preview(ctx["title"], ctx["year"], exc.rows)
        except recognition.RecognitionError as exc:
            _flash_refusal(exc)  # the page comes back below with the same boxes ticked
            status = 409 if isinstance(exc, recognition.TransitionConflict) else 422
        else:
            if not confirmed:
                confirm, status = shown, 200
            else:
                db.session.commit()
                flash(_("%(n)d proposed for recognition.", n=len(ids)), "success")
                return _back("titles.recognition_propose", ctx)
    rows: list = []
    names: dict = {}
    labels: dict = {}
    village_id = _int("village_id")
    if ctx["commune"] is not None:
        rows = list(
            db.session.scalars(
                recognition.proposable_select(
                    current_user,
                    commune_id=ctx["commune"].id,
                    year=ctx["year"],
                    title=ctx["title"],
                    village_id=village_id,
                ).limit(1000)
            )
        )
        names = recognition.names(rows)
        # Birth date and village, as on the eligibility list: two "Nguyễn Thị Tuyết" are told apart before proposing.
        labels = services.subject_labels((r.subject_type, r.subject_id) for r in rows)
    ticked = set(_selected_ids()) if request.method == "POST" else set()
    page = render_template(
        "titles/recognition/propose.html",
        form=form,
        rows=rows,
        names=names,
        labels=labels,
        village_id=village_id,
        ticked=ticked,
        confirm=confirm,
        preview=preview,
        # The date Circular 24/25 sets for the dossier of the year shown: shown, never enforced (ADR 44).
        deadline=deadlines.deadline(
            ctx["title"], ctx["year"], deadlines.Step.PROPOSE, criteria_set_ids={r.criteria_set_id for r in rows}
        ),
        **ctx,
    )
    return page, status


def _proposal_preview(title: str, year: int, rows: dict[int, Any]) -> dict[str, str]:
    """What a proposal's confirmation carries back: the digest of the evaluations shown, and each subject's
    fingerprint (``subject:fingerprint,…``) to say which of them changed if the digest no longer matches."""
    fingerprints = recognition.proposal_fingerprints(rows)
    return {
        "digest": recognition.proposal_digest(title, year, rows),
        "shown": ",".join(f"{sid}:{fp}" for sid, fp in sorted(fingerprints.items())),
    }


def _stale_proposal_message(title: str, rows: dict[int, Any]) -> str:
    """What changed since the preview, by name and with the evaluation now ("Nguyễn Văn A (Thôn X): now 78
    points"), from the fingerprints the confirmation carried back; the service's words when it cannot tell."""
    carried = dict(part.partition(":")[::2] for part in request.form.get("proposal_shown", "").split(",") if part)
    now = recognition.proposal_fingerprints(rows)
    changed = [sid for sid in sorted(now) if str(sid) in carried and carried[str(sid)] != now[sid]]
    if not changed:
        return _(
            "The evaluations this proposal copies changed since they were shown: look at the list again, then confirm."
        )
    subject_type = TITLE_SUBJECT[Title(title)]
    labels = services.subject_labels((subject_type, sid) for sid in changed)
    described = []
    for sid in changed:
        label = labels.get((subject_type, sid))
        who = (f"{label.name} ({label.detail})" if label.detail else label.name) if label else str(sid)
        row = rows[sid]
        if row.score is not None:
            described.append(_("%(who)s: now %(score)s points", who=who, score=formatting.number(row.score)))
        elif row.level:
            described.append(_("%(who)s: now level %(level)s", who=who, level=row.level))
        else:
            described.append(who)
    return _(
        "The evaluation changed since the list was shown (the titles engine ran again) for: %(changed)s. Look at "
        "the list again, then confirm.",
        changed="; ".join(described),
    )


def _decide_context(ctx: dict[str, Any]) -> None:
    """What the approver decides and where proposals wait for them: the titles they decide (a province leader: the
    commune learning community and province-managed units; not the families a commune decides), the communes with
    proposals waiting (counted; first in the picker), and — when the address does not say — the title, year and
    commune with the most waiting. Communes dissolved in 2025 are offered only where a proposal still waits."""
    waiting = recognition.waiting_for(current_user)
    decided = approvals.decided_titles(current_user)
    asked = request.values
    if "title" not in asked:
        year = ctx["year"] if "year" in asked else None
        best = next((w for w in waiting if year is None or w.year == year), None)
        if best is not None:
            ctx["title"] = best.title
            if year is None:
                ctx["year"] = best.year
        elif decided and ctx["title"] not in decided:
            ctx["title"] = decided[0]
    if "year" not in asked and "title" in asked:
        years = [w.year for w in waiting if w.title == ctx["title"]]
        if years and ctx["year"] not in years:
            ctx["year"] = years[0]
    here = {w.commune_id: w.count for w in waiting if w.title == ctx["title"] and w.year == ctx["year"]}
    if "commune_id" not in asked and here and (ctx["commune"] is None or ctx["commune"].id not in here):
        ctx["commune"] = db.session.get(AdminUnit, next(iter(here)))  # the most waiting (sorted so)
    anywhere = {w.commune_id for w in waiting}
    chosen = ctx["commune"].id if ctx["commune"] is not None else None
    communes = [c for c in ctx["communes"] if c.valid_to is None or c.id in anywhere or c.id == chosen]
    ctx["communes"] = sorted(communes, key=lambda c: -here.get(c.id, 0))  # stable: the current order otherwise
    titles = [t for t in TITLE_NAMES if t in decided or t == ctx["title"]] or list(TITLE_NAMES)
    ctx["title_names"] = {t: TITLE_NAMES[t] for t in titles}
    ctx["waiting_here"] = here
    names = {c.id: c for c in ctx["communes"]}
    missing = anywhere - set(names)
    if missing:
        names.update({u.id: u for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(missing)))})
    groups: dict[tuple[str, int], list[recognition.Waiting]] = {}
    for w in waiting:
        groups.setdefault((w.title, w.year), []).append(w)
    ctx["waiting"] = [
        {
            "title": title,
            "year": year,
            "total": sum(w.count for w in rows),
            "places": [(names[w.commune_id], w.count) for w in rows[:12]],
            "more": max(len(rows) - 12, 0),
        }
        for (title, year), rows in groups.items()
    ]
    ctx["decided"] = decided
    # An approver who decides none of the titles (a province association's officer: the commune association
    # recognises the Learning Citizen) read "You decide: —" over an empty family list: say who decides each title.
    ctx["who_decides"] = [] if decided else [(TITLE_NAMES[t], _deciders(t)) for t in TITLE_NAMES]


def _deciders(title: str) -> str:
    """Who decides ``title`` in words, from the approvals ("the commune level Association for Promoting Education",
    "the province level authorities"), in the order of the levels."""
    order = {level: i for i, level in enumerate(DECISION_LEVEL_NAMES)}
    words = []
    for level, body in sorted(approvals.deciders_of(title), key=lambda d: (order.get(d[0], 9), d[1])):
        name = DECISION_LEVEL_NAMES.get(level, level)
        if body == Body.ASSOCIATION:
            words.append(_("the Association for Promoting Education at %(level)s", level=name))
        else:
            words.append(_("the authorities at %(level)s", level=name))
    return ", ".join(words)


def _shown(*what: Any) -> str:
    """A digest of what a confirmation step showed, for its button to carry back."""
    return hashlib.sha256(repr(what).encode()).hexdigest()[:32]


def _confirmed(shown: str) -> bool:
    """Whether the confirmation button was pressed for what is asked now: a selection, number or date changed after
    the confirmation was shown is shown again, not written unseen."""
    confirmed = request.form.get("confirmed")
    if confirmed is not None and confirmed != shown:
        flash(_("The selection or the decision changed since it was shown: check it again, then confirm."), "warning")
    return confirmed == shown


class _Preview(Exception):
    """The decision passed its checks and is shown for confirmation: nothing is written."""


def _rejection_preview(ids: list[int], reason: str) -> dict[str, Any]:
    """What a rejection's confirmation shows (whom and why), or a refusal raised as :func:`recognition.reject`'s."""
    checked = recognition.check_reject(ids, reason=reason, user=current_user)
    return {
        "reject": True,
        "reason": reason,
        "ids": {r.id for r in checked},
        "digest": _shown(sorted(set(ids)), "reject", reason),
    }


def _decision_preview(ids: list[int], decision: dict[str, Any]) -> dict[str, Any]:
    """What a decision's confirmation shows, with two digests for its button and a hidden field to carry back: of
    what was asked (the selection, the number, the date, the authority typed: edited since, it is shown again), and
    the service's :func:`recognition.decision_digest` of what it records (the API's ``preview_digest``), compared
    under the locks when it is confirmed."""
    number, checked, _today = recognition.check_decision(ids, **decision)
    return {
        "number": number,
        "ids": {r.id for r in checked},
        "digest": _decision_shown(ids, decision),
        "preview_digest": recognition.decision_digest(
            checked, number, decision["decision_date"], decision["authority"]
        ),
        "authorities": _printed_authorities(checked, decision["authority"]),
        # Circular 24, Art. 5.3: level 2 decided before the 12 months from the level-1 decision ran out (ADR 59).
        "early": recognition.early_upgrades(checked, decision["decision_date"]),
        # The same number and date already another body's decision in the commune: most often mistyped (ADR 45).
        "other_bodies": recognition.numbered_by_another_body(
            checked, number, decision["decision_date"], decision["authority"]
        ),
    }


def _printed_authorities(rows: Sequence[Recognition], typed: str) -> list[str]:
    """Who the decision is written in the name of, as every certificate will print it: the authority typed, else
    the approvals' own for each proposal (recognition.decide) — shown before the approver confirms it."""
    typed = " ".join(typed.split())
    return [typed] if typed else sorted(set(recognition.default_authorities(rows).values())) if rows else []


def _decision_shown(ids: list[int], decision: dict[str, Any]) -> str:
    return _shown(
        sorted(set(ids)),
        " ".join(decision["decision_number"].split()),
        decision["decision_date"],
        " ".join(decision["authority"].split()),
    )


def _preview_again(
    ids: list[int], exc: recognition.RecognitionError, again: Callable[[list[int]], dict[str, Any]]
) -> dict[str, Any] | None:
    """After a confirmation refused because some of its proposals were decided by someone else meanwhile, the
    preview of those still waiting (``again(ids)``), for the approver to check and confirm anew; None when none is
    left, or they are refused too (the flash already says why)."""
    if not isinstance(exc, recognition.TransitionConflict):
        return None
    gone = {d.get("recognition_id") for d in exc.details}
    left = [i for i in ids if i not in gone]
    if not left:
        return None
    try:
        return again(left)
    except recognition.RecognitionError:
        return None


@bp.route("/recognitions/decide", methods=["GET", "POST"])
@permission_required(APPROVE)
def recognition_decide():
    """The proposals of a commune, and one decision (number, date, authority) for the selection — or a rejection.
    Both are shown for confirmation first; a confirmation whose preview is out of date (a proposal decided by someone
    else meanwhile, or what the decision records no longer what was shown) is refused (409) with the new preview."""
    ctx = _context(APPROVE, default_year=_evaluation_year())
    _decide_context(ctx)
    form = DecisionForm()
    refusal = 422
    confirm: dict[str, Any] | None = None
    if ctx["commune"] is not None and form.validate_on_submit():
        ids = _selected_ids()
        reason = (form.reason.data or "").strip()
        decision = {
            "decision_number": form.decision_number.data or "",
            "decision_date": form.decision_date.data,
            "authority": form.authority.data or "",
            "user": current_user,
        }
        rejecting = form.action.data == "reject"
        confirmed = False
        try:
            if rejecting:
                confirmed = _confirmed(_shown(sorted(set(ids)), "reject", reason))
                if not confirmed:
                    # A subject not recognised is not proposed again that year, and one click rejects the whole
                    # selection: whom and why are shown for confirmation first, as a decision is.
                    confirm = _rejection_preview(ids, reason)
                    raise _Preview
                rows = recognition.reject(ids, reason=reason, user=current_user)
                message = _("%(n)d proposal(s) rejected.", n=len(rows))
            else:
                confirmed = _confirmed(_decision_shown(ids, decision))
                if not confirmed:
                    # Its number and date go on every certificate and a recognition is undone only by revoking it
                    # (for good, that year): the decision is shown for confirmation before it is recorded.
                    confirm = _decision_preview(ids, decision)
                    raise _Preview
                # The preview's own digest, compared under the locks: what it records is still what was shown. A
                # confirmation without one (a page from before it was carried) is shown again, with one.
                rows = recognition.decide(ids, **decision, expected_digest=request.form.get("preview_digest", ""))
                # What an approver does next is print the list that goes with the signed decision, and the
                # certificates: the link is in the message, not two menus away on the recognitions page.
                # Above TITLES_PRINT_INLINE_MAX the link leads to the print page, not a PDF (ADR 47): it says so.
                by_task = documents.decision_size(rows[0]) > current_app.config["TITLES_PRINT_INLINE_MAX"]
                message = Markup('{} <a class="alert-link" id="print-decision" href="{}">{}</a>').format(
                    _("%(n)d recognised under decision %(number)s.", n=len(rows), number=rows[0].decision_number),
                    url_for("titles.recognition_decision", recognition_id=rows[0].id),
                    _("Print the list that goes with the decision, and the certificates")
                    if by_task
                    else _("Print the list that goes with the decision, and the certificates (PDF)"),
                )
        except _Preview:
            refusal = 200
        except recognition.StaleDecision as exc:
            # What it records changed since it was shown (the authority the approvals name, say): the new preview.
            confirm = {
                "number": " ".join(decision["decision_number"].split()),
                "ids": {r.id for r in exc.rows},
                "digest": _decision_shown(ids, decision),
                "preview_digest": exc.digest,
                "authorities": _printed_authorities(exc.rows, decision["authority"]),
            }
            db.session.rollback()  # the locks go with it
            flash(str(exc), "warning")
            refusal = 409
        except recognition.RecognitionError as exc:
            # e.g. decided by someone else meanwhile: the list, reloaded below, shows what is left, and what was
            # typed and ticked stays (a refusal never costs the approver 42 ticks and a decision number). A
            # confirmation refused so is shown again for the proposals still waiting: the new preview.
            _flash_refusal(exc)
            refusal = 409 if isinstance(exc, recognition.TransitionConflict) else 422
            if confirmed:
                confirm = _preview_again(
                    ids,
                    exc,
                    (lambda left: _rejection_preview(left, reason))
                    if rejecting
                    else (lambda left: _decision_preview(left, decision)),
                )
        else:
            db.session.commit()
            flash(message, "success")
            return _back("titles.recognition_decide", ctx)
    rows, names, labels, authorities, elsewhere = [], {}, {}, {}, 0
    if ctx["commune"] is not None:
        rows, elsewhere = _decidable(ctx)
        names = recognition.names(rows)
        # Birth date, village, household, as on the proposal list: namesakes are told apart before deciding.
        labels = services.subject_labels((r.subject_type, r.subject_id) for r in rows)
        authorities = recognition.default_authorities(rows) if rows else {}
        # Prefilled on the first look only: an authority cleared by the approver means the approvals' own for each
        # proposal (recognition.decide), and a preview that filled it in would not be the one confirmed.
        if rows and request.method == "GET" and not form.authority.data:
            form.authority.data = authorities[rows[0].id]
    status = refusal if request.method == "POST" else 200
    # After a refusal or a form error the page comes back with the same boxes ticked (those still waiting).
    ticked = set(_selected_ids()) if request.method == "POST" else set()
    return (
        render_template(
            "titles/recognition/decide.html",
            form=form,
            rows=rows,
            names=names,
            labels=labels,
            ticked=ticked,
            elsewhere=elsewhere,
            confirm=confirm,
            # The date Circular 24/25 sets for the decision of the year shown: shown, never enforced (ADR 44).
            deadline=deadlines.deadline(
                ctx["title"], ctx["year"], deadlines.Step.DECIDE, criteria_set_ids={r.criteria_set_id for r in rows}
            ),
            **ctx,
        ),
        status,
    )


# --- recognitions ----------------------------------------------------------------------------------------------


@bp.get("/recognitions")
@permission_required(VIEW)
def recognitions():
    status = request.args.get("status") or None
    if status is not None and status not in RECOGNITION_STATUS_NAMES:
        abort(400, description=_("Unknown status."))
    title = request.args.get("title") or None
    if title is not None and title not in TITLE_NAMES:
        abort(400, description=_("Unknown title."))
    year, unit_id = _int("year"), _int("unit_id")
    stmt = recognition.recognitions_select(current_user, unit_id=unit_id, year=year, title=title, status=status)
    page = db.paginate(stmt, per_page=50, error_out=False)
    decisions = documents.decisions_in(stmt) if status in (None, RecognitionStatus.RECOGNISED) else []
    # "Correct the number or date" only on the decisions this user made (their level and body), not on every one.
    correctable = (
        _decided_by_user(
            list(db.session.scalars(select(Recognition).where(Recognition.id.in_([d.id for d in decisions]))))
        )
        if decisions and has_permission_anywhere(current_user, APPROVE)
        else set()
    )
    return render_template(
        "titles/recognition/recognitions.html",
        page=page,
        decisions=decisions,
        correctable=correctable,
        commune_names={
            u.id: u.full_name
            for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_({d.commune_id for d in decisions})))
        },
        names=recognition.names(page.items),
        labels=services.subject_labels((r.subject_type, r.subject_id) for r in page.items),
        communes=_communes(VIEW),
        unit_id=unit_id,
        year=year,
        title=title,
        status=status,
        title_names=TITLE_NAMES,
        status_names=RECOGNITION_STATUS_NAMES,
        decision_level_names=DECISION_LEVEL_NAMES,
    )


def _decided_by_user(rows: list[Recognition]) -> set[int]:
    """The ids among ``rows`` whose decision this user may make, correct or revoke: the level and body the approvals
    give each title (a commune's People's Committee decides families, its association citizens — ADR 45), not only
    the approval right on the commune. Two statements."""
    if not rows:
        return set()
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in rows)
    paths = dict(
        db.session.execute(select(AdminUnit.id, AdminUnit.path).where(AdminUnit.id.in_({r.commune_id for r in rows})))
        .tuples()
        .all()
    )
    return {r.id for r in rows} - approvals.refused(current_user, rules, {r.id: paths[r.commune_id] for r in rows})


def _recognition(recognition_id: int) -> Recognition:
    row = db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id))
    if row is None:
        abort(404)
    return row


@bp.get("/recognitions/<int:recognition_id>")
@permission_required(VIEW)
def recognition_page(recognition_id: int):
    row = _recognition(recognition_id)
    subject = recognition.names([row]).get((row.subject_type, row.subject_id))
    commune = db.session.get(AdminUnit, row.commune_id)
    decides = row.id in _decided_by_user([row]) if has_permission_anywhere(current_user, APPROVE) else False
    return render_template(
        "titles/recognition/recognition.html",
        row=row,
        subject=subject,
        commune=commune,
        history=recognition.history(row),
        history_names=HISTORY_NAMES,
        indicator_names=indicator_names(row.title, formatting.current_locale(), [row.criteria_set_id]),
        indicator_label=indicator_label,
        form=RevokeForm(),
        title_names=TITLE_NAMES,
        status_names=RECOGNITION_STATUS_NAMES,
        explain=explain,
        verification=recognition.verification_status(row),
        valid_years=recognition.valid_years(row.year, row.valid_until) if row.valid_until else None,
        upgrade=recognition.upgrade_window(row),
        provisional=services.provisional_basis(
            db.session.get(CriteriaSet, row.criteria_set_id) if row.criteria_set_id else None,
            services.breakdown_codes(row.breakdown),
        ),
        # Offered only to whoever made the decision: the commune's People's Committee is not offered the
        # association's decision on a citizen (its form refused it with "recognition 7 is decided by …").
        may_revoke=row.status == RecognitionStatus.RECOGNISED and can(current_user, APPROVE, commune) and decides,
        may_correct=bool(row.decision_number) and can(current_user, APPROVE, commune) and decides,
        decision_size=documents.decision_size(row) if row.status == RecognitionStatus.RECOGNISED else 0,
    )


def _decidable(ctx: dict[str, Any], ids: Sequence[int] | None = None) -> tuple[list[Recognition], int]:
    """The commune's proposals of the year and title this approver decides (a province leader: not the commune's own
    units) — all of them (up to 1000) or those of ``ids`` — and how many others are left to other approvers."""
    stmt = recognition.recognitions_select(
        current_user,
        unit_id=ctx["commune"].id,
        year=ctx["year"],
        title=ctx["title"],
        status=RecognitionStatus.PROPOSED.value,
    )
    rows = list(db.session.scalars(stmt.limit(1000) if ids is None else stmt.where(Recognition.id.in_(ids))))
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in rows)
    refused = approvals.refused(current_user, rules, {r.id: ctx["commune"].path for r in rows})
    return [r for r in rows if r.id not in refused], len(refused)


@bp.post("/recognitions/decide/draft")
@permission_required(APPROVE)
def recognition_decision_draft():
    """The draft of the decision recognising the ticked proposals (ADR 61), as a PDF to take to the signer: with the
    number, day and authority typed, or blanks. Records nothing; what the approver may not decide is left out, as
    on the decide page."""
    ctx = _context(APPROVE, default_year=_evaluation_year())
    if ctx["commune"] is None:
        abort(404)
    form = DecisionForm()  # read, not validated: a draft may go without a number or a day
    ids = _selected_ids()
    rows = _decidable(ctx, ids)[0] if ids else []
    try:
        draft = drafts.draft_of(
            rows,
            number=form.decision_number.data or "",
            day=form.decision_date.data,
            authority=form.authority.data or "",
        )
    except drafts.DraftRefused as exc:
        flash(str(exc), "warning")
        return _back("titles.recognition_decide", ctx)
    return documents.pdf_response(drafts.draft_pdf(draft), f"du-thao-quyet-dinh-{draft.year}-{ctx['commune'].id}.pdf")


@bp.route("/recognitions/<int:recognition_id>/decision/correct", methods=["GET", "POST"])
@permission_required(APPROVE)
def recognition_correct_decision(recognition_id: int):
    """Correct a mistyped number or date of the decision that gave this recognition, on all it gave: shown first
    (old and new, and how many recognitions), written only on confirmation, audited with the reason."""
    row = _recognition(recognition_id)
    if not row.decision_number or row.decision_date is None:
        abort(404)
    if row.id not in _decided_by_user([row]):
        abort(
            403,
            description=_(
                "Decision %(number)s was made by %(authority)s: only they can correct it.",
                number=row.decision_number,
                authority=row.authority or _("another body"),
            ),
        )
    form = DecisionCorrectionForm()
    if request.method == "GET":
        form.decision_number.data = row.decision_number
        form.decision_date.data = row.decision_date
    status = 200
    confirm: dict[str, Any] | None = None
    if form.validate_on_submit():
        asked = {
            "decision_number": form.decision_number.data or "",
            "decision_date": form.decision_date.data,
            "reason": form.reason.data or "",
            "user": current_user,
        }
        # The confirmation carries the digest the API's preview gives (DecisionCorrection.digest): the change, the
        # reason and the recognitions it reaches, compared under the locks. One decided under the same decision
        # since the preview is shown again (409), never corrected unseen.
        confirmed = request.form.get("confirmed")
        try:
            correction = recognition.correct_decision(
                row, **asked, apply=confirmed is not None, expected_digest=confirmed
            )
        except recognition.StaleCorrection as exc:
            _flash_refusal(exc)
            status = 409
            correction = exc.correction
            confirm = {
                "correction": correction,
                "digest": correction.digest,
                "names": recognition.names(correction.rows),
            }
        except recognition.RecognitionError as exc:
            _flash_refusal(exc)
            status = 409 if isinstance(exc, recognition.TransitionConflict) else 422
        else:
            if confirmed is not None:
                db.session.commit()
                flash(
                    _(
                        "Decision corrected to %(number)s of %(date)s on %(n)d recognition(s).",
                        number=correction.new_number,
                        date=formatting.day(correction.new_date),
                        n=len(correction.rows),
                    ),
                    "success",
                )
                return redirect(url_for("titles.recognition_page", recognition_id=row.id))
            confirm = {
                "correction": correction,
                "digest": correction.digest,
                "names": recognition.names(correction.rows),
            }
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "titles/recognition/correct_decision.html",
            row=row,
            form=form,
            confirm=confirm,
            title_names=TITLE_NAMES,
            commune=db.session.get(AdminUnit, row.commune_id),
        ),
        status,
    )


@bp.post("/recognitions/<int:recognition_id>/revoke")
@permission_required(APPROVE)
def recognition_revoke(recognition_id: int):
    row = _recognition(recognition_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("Say why the recognition is revoked."), "danger")
        return redirect(url_for("titles.recognition_page", recognition_id=row.id))
    try:
        recognition.revoke([row.id], reason=form.reason.data or "", user=current_user)
    except recognition.RecognitionError as exc:
        _flash_refusal(exc)
    else:
        db.session.commit()
        flash(_("The recognition was revoked."), "success")
    return redirect(url_for("titles.recognition_page", recognition_id=recognition_id))
