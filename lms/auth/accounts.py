"""User accounts, managed in the application (ADR 52): who works in the administrator's provinces and communes,
with which role where; a new account with a temporary password, roles given and taken away, an account locked or
unlocked, a forgotten password replaced.

Scoped as everything else (``users.manage``): an administrator sees the accounts holding a role in their subtree,
gives roles only on units in it, and locks or resets only the accounts whose roles all lie in it — an officer who
also works for another province is that province's too, and only an administrator over both changes their
password. Nobody changes their own account here (the password page is theirs; a lock-out of the last
administrator is not one click away). Imported by the app factory once the blueprints exist.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from lms.auth import bp
from lms.auth.decorators import permission_required
from lms.auth.labels import ROLE_NAMES
from lms.auth.models import Role, RoleAssignment, User
from lms.auth.permissions import Permission, can, in_scope, scope_paths
from lms.auth.services import (
    AccountError,
    assign_role,
    create_user,
    normalise_email,
    reset_password,
    set_active,
    temporary_password,
    update_account,
    withdraw_role,
)
from lms.core.forms import FILTERED_LIST, LmsForm
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel
from lms.registry.services import search_condition
from lms.registry.text import fold

MANAGE = Permission.USERS_MANAGE
PER_PAGE = 50


# The roles most often given first; the administrator's last, so that it is never a careless default.
_ROLE_ORDER = (
    Role.CENTRE_MANAGER,
    Role.INSTRUCTOR,
    Role.ASSOCIATION_OFFICER,
    Role.COMMUNE_LEADER,
    Role.PROVINCE_LEADER,
    Role.ADMINISTRATOR,
)


def _role_choices() -> list[tuple[str, Any]]:
    return [("", _l("— choose a role —")), *((role.value, ROLE_NAMES[role.value]) for role in _ROLE_ORDER)]


def _id_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


class RoleForm(LmsForm):
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired(message=_l("Choose the role."))])
    unit = SelectField(
        _l("Unit"),
        coerce=_id_or_none,
        choices=[],
        validators=[DataRequired(message=_l("Choose where."))],
        render_kw=FILTERED_LIST,
    )


def mailbox_without_accents(form: Any, field: EmailField) -> None:
    """Refuse Vietnamese letters before the @, saying why and what to type.

    WTForms' ``Email()`` accepts them (internationalised addresses, SMTPUTF8), but the mail systems communes use —
    Gmail, Yahoo, the provinces' .gov.vn mail — give no mailbox such a name: "nguyễn.an@…" is nearly always a name
    typed with the keyboard's Vietnamese input still on, and the account would be made under an address the person
    does not have. A domain with Vietnamese letters (a registered .vn IDN) is left as WTForms accepts it."""
    local, at, domain = (field.data or "").rpartition("@")
    if not at or local.isascii():
        return
    letters = "".join(dict.fromkeys(ch for ch in local if not ch.isascii()))
    plain = fold(local).replace(" ", "")
    raise ValidationError(
        _l(
            "The part before @ has letters with accents (%(letters)s); mailboxes (Gmail, Yahoo, .gov.vn mail) are "
            "named without accents: type it as the mailbox is named, for example %(suggestion)s.",
            letters=letters,
            suggestion=f"{plain}@{domain}",
        )
    )


class NewUserForm(RoleForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), mailbox_without_accents, Length(max=254)])


class AccountForm(LmsForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), mailbox_without_accents, Length(max=254)])


def _units() -> list[AdminUnit]:
    """Where a role may be given: the administrator's scope roots and the current provinces and communes in them."""
    paths = scope_paths(current_user, MANAGE)
    levels = (UnitLevel.COUNTRY, UnitLevel.PROVINCE, UnitLevel.COMMUNE)
    return list(
        db.session.scalars(
            select(AdminUnit)
            .where(
                in_scope(AdminUnit.path, current_user, MANAGE),
                AdminUnit.valid_to.is_(None),
                AdminUnit.level.in_(levels) | AdminUnit.path.in_(paths),
            )
            .order_by(AdminUnit.path)
            .limit(5000)
        )
    )


def _unit_label(unit: AdminUnit, provinces: dict[int, AdminUnit]) -> str:
    parent = provinces.get(unit.parent_id or 0)
    if unit.level == UnitLevel.COMMUNE and parent is not None:
        return f"{unit.full_name} — {parent.full_name}"
    return unit.full_name


# Where each role is held: a commune's leader, centre manager and instructors work in a commune, a province's leader
# in a province; the association has officers at both; an administrator at any level. A role given at another level
# is a slip (a "commune leader" of a whole province would see every commune's decisions as theirs).
_ROLE_LEVELS: dict[Role, frozenset[str]] = {
    Role.PROVINCE_LEADER: frozenset({UnitLevel.PROVINCE}),
    Role.COMMUNE_LEADER: frozenset({UnitLevel.COMMUNE}),
    Role.CENTRE_MANAGER: frozenset({UnitLevel.COMMUNE}),
    Role.INSTRUCTOR: frozenset({UnitLevel.COMMUNE}),
    Role.ASSOCIATION_OFFICER: frozenset({UnitLevel.COMMUNE, UnitLevel.PROVINCE}),
}
_LEVEL_NEEDED = {
    Role.PROVINCE_LEADER: _l("A province leader's role is held in a province: choose a province."),
    Role.COMMUNE_LEADER: _l("This role is held in a commune or ward: choose one."),
    Role.CENTRE_MANAGER: _l("This role is held in a commune or ward: choose one."),
    Role.INSTRUCTOR: _l("This role is held in a commune or ward: choose one."),
    Role.ASSOCIATION_OFFICER: _l("An association officer works in a commune or a province: choose one."),
}


def _fits(form: RoleForm, role: Role, unit: AdminUnit) -> bool:
    """Is ``role`` held at ``unit``'s level? If not, the form says where it is held."""
    levels = _ROLE_LEVELS.get(role)
    if levels is None or unit.level in levels:
        return True
    form.unit.errors = [*form.unit.errors, str(_LEVEL_NEEDED[role])]
    return False


def _fill(form: RoleForm) -> None:
    units = _units()
    provinces = {u.id: u for u in units if u.level == UnitLevel.PROVINCE}

    def order(unit: AdminUnit) -> tuple[bool, Any, bool, Any]:
        # The country first, then each province followed by its communes, alphabetically (Vietnamese sort keys).
        province = provinces.get(unit.parent_id or 0) if unit.level != UnitLevel.PROVINCE else unit
        top = province.sort_key if province is not None else unit.sort_key
        return (unit.level != UnitLevel.COUNTRY, top, unit is not province, unit.sort_key)

    form.role.choices = _role_choices()
    form.unit.choices = [
        (None, _l("— choose where —")),
        *((u.id, _unit_label(u, provinces)) for u in sorted(units, key=order)),
    ]


def _roots_include_everything() -> bool:
    """Accounts without any role belong to no place: only an administrator of the whole country sees them."""
    return any(
        db.session.scalars(
            select(AdminUnit.id).where(
                AdminUnit.path.in_(scope_paths(current_user, MANAGE)), AdminUnit.level == UnitLevel.COUNTRY
            )
        )
    )


def _visible() -> Any:
    """The accounts the administrator may see: a role in their subtree (or no role, for a national one)."""
    held_here = exists(
        select(RoleAssignment.id)
        .join(AdminUnit, AdminUnit.id == RoleAssignment.unit_id)
        .where(RoleAssignment.user_id == User.id, in_scope(AdminUnit.path, current_user, MANAGE))
    )
    if _roots_include_everything():
        return or_(held_here, ~exists(select(RoleAssignment.id).where(RoleAssignment.user_id == User.id)))
    return held_here


def _account(user_id: int) -> User:
    user = db.session.scalar(select(User).where(User.id == user_id, _visible()))
    if user is None:
        abort(404)
    return user


def _managed_account(user_id: int) -> User:
    """The account a lock or a password reset is posted for: in the administrator's area (else 404), the form's
    CSRF token valid (else 400), and every role of the account there and the account not their own (else 403)."""
    user = _account(user_id)
    if not LmsForm().validate_on_submit():
        abort(400)
    if not _manageable(user):
        abort(403)
    return user


def _manageable(user: User) -> bool:
    """May the administrator lock this account or replace its password: every role it holds is in their scope,
    and it is not their own."""
    if user.id == current_user.id:
        return False
    return all(can(current_user, MANAGE, assignment.unit) for assignment in user.roles)


@bp.get("/users")
@permission_required(MANAGE)
def users():
    """The accounts in the administrator's scope, searchable by name or e-mail, with their roles and where. The name is
    matched as the registry matches people: on its folded form, whatever the case and the diacritics ("nguyen",
    "NGUYỄN", "Đào" as "đào"), the same on SQLite and PostgreSQL; the e-mail (stored lower case, ASCII) on the same
    folded query, "%" and "_" in it taken as they are."""
    query = request.args.get("q", "").strip()
    stmt = select(User).where(_visible())
    if query:
        stmt = stmt.where(or_(search_condition(query, User.name_folded), search_condition(query, User.email)))
    page = db.paginate(stmt.order_by(User.name, User.id), per_page=PER_PAGE, error_out=False)
    return render_template("auth/users.html", page=page, query=query, role_names=ROLE_NAMES)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new_user():
    """A new account with its first role; a temporary password, shown once, to be changed at the first log-in."""
    form = NewUserForm()
    _fill(form)
    if form.validate_on_submit():
        unit = db.session.get(AdminUnit, form.unit.data)
        if unit is None or not can(current_user, MANAGE, unit):
            abort(404)
        if not _fits(form, Role(form.role.data), unit):
            return render_template("auth/user_new.html", form=form, existing=None), 422
        email = normalise_email(form.email.data or "")
        existing = db.session.scalar(select(User).where(User.email == email))
        if existing is not None:
            visible = db.session.scalar(select(User.id).where(User.id == existing.id, _visible()))
            form.email.errors.append(
                _("An account with this e-mail already exists: open it to give it another role.")
                if visible
                else _("An account with this e-mail already exists, outside your area: ask its administrator.")
            )
            return render_template("auth/user_new.html", form=form, existing=existing if visible else None)
        password = temporary_password()
        try:
            user = create_user(email, form.name.data or "", password)
        except AccountError:  # the e-mail taken between the check and the insert
            abort(409)
        user.must_change_password = True
        assign_role(user, Role(form.role.data), unit)
        db.session.commit()
        page = render_template("auth/user_created.html", user=user, password=password, role_names=ROLE_NAMES)
        return _shown_once(page)
    return render_template("auth/user_new.html", form=form, existing=None)


@bp.get("/users/<int:user_id>")
@permission_required(MANAGE)
def user_detail(user_id: int):
    user = _account(user_id)
    form = RoleForm()
    _fill(form)
    return _detail(user, form)


def _detail(user: User, form: RoleForm, status: int = 200) -> Any:
    outside = [a for a in user.roles if not can(current_user, MANAGE, a.unit)]
    return (
        render_template(
            "auth/user.html",
            user=user,
            form=form,
            action=LmsForm(),
            outside=outside,
            manageable=_manageable(user),
            own=user.id == current_user.id,
            role_names=ROLE_NAMES,
            can_manage_unit=lambda unit: can(current_user, MANAGE, unit),
        ),
        status,
    )


@bp.post("/users/<int:user_id>/roles")
@permission_required(MANAGE)
def add_role(user_id: int):
    user = _account(user_id)
    form = RoleForm()
    _fill(form)
    if user.id == current_user.id:
        abort(403)
    if not form.validate_on_submit():
        return _detail(user, form, 422)
    unit = db.session.get(AdminUnit, form.unit.data)
    if unit is None or not can(current_user, MANAGE, unit):
        abort(404)
    role = Role(form.role.data)
    if not _fits(form, role, unit):
        return _detail(user, form, 422)
    given = not any(a.role == role and a.unit_id == unit.id for a in user.roles)
    if given:
        try:
            with db.session.begin_nested():
                assign_role(user, role, unit)
        except IntegrityError:  # a second click, or another administrator, gave it between the look and the insert
            given = False
    if not given:
        db.session.rollback()
        flash(_("%(name)s already has this role there.", name=user.name), "info")
    else:
        db.session.commit()
        flash(
            _(
                "%(name)s is now %(role)s of %(unit)s.",
                name=user.name,
                role=ROLE_NAMES[role.value],
                unit=unit.full_name,
            ),
            "success",
        )
    return redirect(url_for("auth.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/roles/<int:assignment_id>/withdraw")
@permission_required(MANAGE)
def withdraw(user_id: int, assignment_id: int):
    user = _account(user_id)
    form = LmsForm()
    if not form.validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        abort(403)
    assignment = next((a for a in user.roles if a.id == assignment_id), None)
    if assignment is None or not can(current_user, MANAGE, assignment.unit):
        abort(404)
    role, unit = ROLE_NAMES[assignment.role], assignment.unit.full_name
    withdraw_role(assignment)
    db.session.commit()
    flash(_("%(name)s is no longer %(role)s of %(unit)s.", name=user.name, role=role, unit=unit), "success")
    if not user.roles:
        flash(
            _("The account has no role left: it can log in but sees nothing. Lock it if it is no longer used."), "info"
        )
    if db.session.scalar(select(User.id).where(User.id == user.id, _visible())) is None:
        return redirect(url_for("auth.users"))  # its last role in the administrator's area: no longer theirs to see
    return redirect(url_for("auth.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/active")
@permission_required(MANAGE)
def set_account_active(user_id: int):
    user = _managed_account(user_id)
    active = request.form.get("active") == "1"
    set_active(user, active)
    db.session.commit()
    if active:
        flash(_("%(name)s can log in again.", name=user.name), "success")
    else:
        flash(
            _("%(name)s is locked: logged out on every device, and their API tokens no longer work.", name=user.name),
            "success",
        )
    return redirect(url_for("auth.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit_account(user_id: int):
    """The name or e-mail typed wrong when the account was made: corrected here, instead of locking the account and
    making another (its roles given again). For whoever may lock it (every role of it in their area, not their own);
    the form's CSRF token is checked on the POST by the form itself."""
    user = _account(user_id)
    if not _manageable(user):
        abort(403)
    form = AccountForm(obj=user)
    if form.validate_on_submit():
        try:
            changed = update_account(user, name=form.name.data or "", email=form.email.data or "", actor=current_user)
        except AccountError:
            form.email.errors.append(_("Another account already has this e-mail."))
        else:
            db.session.commit()
            if changed:
                flash(_("Saved. The person logs in with the e-mail %(email)s.", email=user.email), "success")
            return redirect(url_for("auth.user_detail", user_id=user.id))
    return render_template("auth/user_edit.html", user=user, form=form)


@bp.post("/users/<int:user_id>/password")
@permission_required(MANAGE)
def reset_account_password(user_id: int):
    user = _managed_account(user_id)
    password = reset_password(user)
    db.session.commit()
    return _shown_once(
        render_template("auth/user_created.html", user=user, password=password, role_names=ROLE_NAMES, reset=True)
    )


def _shown_once(page: str) -> Any:
    """The page with a temporary password: kept by no cache (a shared phone's back button, a proxy)."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response
