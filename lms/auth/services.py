"""Account operations. They flush; the caller commits."""

from __future__ import annotations

from lms.auth.models import RememberToken, Role, RoleAssignment, User
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit
from lms.registry.text import fold, stored_name

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, name: str, password: str, *, actor: User | None = None) -> User:
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    name = stored_name(name)  # composed and trimmed, as every form and the API store text (ADR 58)
    user = User(email=email, name=name, name_folded=fold(name))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit("user.create", user, user=actor, email=email)
    return user


def assign_role(user: User, role: Role, unit: AdminUnit, *, actor: User | None = None) -> RoleAssignment:
    existing = next((a for a in user.roles if a.role == role and a.unit_id == unit.id), None)
    if existing is not None:
        return existing
    assignment = RoleAssignment(user=user, role=role.value, unit=unit)
    db.session.add(assignment)
    db.session.flush()
    audit("role.assign", user, user=actor, role=role.value, unit_id=unit.id)
    return assignment


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None. Takes the same time whether or not the e-mail exists."""
    user = db.session.scalar(db.select(User).where(User.email == normalise_email(email)))
    if user is None:
        User.burn_password_check(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User, *, actor: User | None = None, reason: str) -> None:
    """End every session and remember-me cookie of ``user``, on every device (ADR 24): the session version moves on,
    and every remember-me series of the account is deleted (``lms.auth.remember`` calls this on a stolen cookie)."""
    user.session_version += 1
    db.session.execute(db.delete(RememberToken).where(RememberToken.user_id == user.id))
    audit("user.sessions_end", user, user=actor, reason=reason)


def change_password(user: User, password: str, *, actor: User | None = None) -> None:
    """Set a new password; the sessions opened with the old one end (the caller logs the user in again)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.set_password(password)
    user.must_change_password = False
    audit("user.password_change", user, user=actor)
    end_sessions(user, actor=actor, reason="password_change")


def temporary_password() -> str:
    """A password to hand to a new user or one who forgot theirs: 12 letters and digits without the ones people
    misread (0/O, 1/l/I), in groups of four, to be changed at the first log-in."""
    import secrets

    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def withdraw_role(assignment: RoleAssignment, *, actor: User | None = None) -> None:
    """Take a role away; the user's cached snapshot and scopes follow at their next request (ADR 27)."""
    user = assignment.user
    audit("role.withdraw", user, user=actor, role=assignment.role, unit_id=assignment.unit_id)
    user.roles.remove(assignment)
    db.session.flush()


def set_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Lock or unlock an account. Locking ends its sessions and remember-me cookies on every device (ADR 24); its
    API tokens stop working at the next request (they act as an active user only)."""
    if user.active == active:
        return
    user.active = active
    audit("user.activate" if active else "user.deactivate", user, user=actor)
    if not active:
        end_sessions(user, actor=actor, reason="deactivated")


def update_account(user: User, *, name: str, email: str, actor: User | None = None) -> list[str]:
    """Correct an account's name or e-mail (a typo at its creation, a new address); the fields changed, audited by
    name only. Raises AccountError when the e-mail belongs to another account."""
    email = normalise_email(email)
    name = stored_name(name)
    if email != user.email and db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    changed = [field for field, old, new in (("name", user.name, name), ("email", user.email, email)) if old != new]
    if changed:
        user.name, user.name_folded, user.email = name, fold(name), email
        audit("user.update", user, user=actor, fields=changed)
    return changed


def reset_password(user: User, *, actor: User | None = None) -> str:
    """A new temporary password for ``user`` (returned, shown once to the administrator), to be changed at their
    next log-in; every session of theirs ends."""
    password = temporary_password()
    user.set_password(password)
    user.must_change_password = True
    audit("user.password_reset", user, user=actor)
    end_sessions(user, actor=actor, reason="password_reset")
    return password
