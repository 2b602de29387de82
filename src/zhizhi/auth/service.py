"""Authentication use cases (认证): users, passwords, sign-in with lockout, sessions, API tokens.

Passwords are hashed with argon2id (argon2-cffi, RFC 9106 parameters of the library's defaults);
tokens and session ids are 256-bit random secrets stored as SHA-256. A failed sign-in says the same
thing for an unknown user, a wrong password and a locked account, so names cannot be enumerated.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.auth import rules
from zhizhi.auth.models import ApiToken, AuthSession
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, permission_table
from zhizhi.core.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthorized
from zhizhi.org.models import OrgUnit, Staff

ROLES = tuple(r for r in permission_table().roles if r != "system")
"""Roles a user account may hold: every role of the permission table but the platform's own."""
_hasher = PasswordHasher()
# verifying against this keeps the time of "unknown user" equal to "wrong password"
_DUMMY_HASH = _hasher.hash("dummy password 0000")
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
BAD_LOGIN = "wrong username or password, or the account is locked for a while"


def _actor(s: Staff, u: OrgUnit, scopes: list[str] | None = None) -> Actor:
    return Actor(
        id=s.id,
        username=s.username,
        name=s.name,
        role=s.role,
        unit_code=u.code,
        district_code=u.district_code,
        town_code=u.town_code,
        grants=frozenset(s.grants or ()),
        scopes=frozenset(scopes) if scopes else None,
    )


def _staff_unit(session: Session, staff_id: int) -> tuple[Staff, OrgUnit] | None:
    row = session.execute(
        select(Staff, OrgUnit)
        .join(OrgUnit, Staff.org_unit_id == OrgUnit.id)
        .where(Staff.id == staff_id, Staff.active.is_(True))
    ).first()
    return (row[0], row[1]) if row else None


def user_actor(session: Session, username: str) -> Actor:
    """The :class:`Actor` of an active user by username (the trusted development header); raises
    NotFound naming the user."""
    row = session.execute(
        select(Staff, OrgUnit)
        .join(OrgUnit, Staff.org_unit_id == OrgUnit.id)
        .where(Staff.username == username, Staff.active.is_(True))
    ).first()
    if row is None:
        raise NotFound(f'unknown or disabled user "{username}"')
    return _actor(row[0], row[1])


def set_password(session: Session, username: str, password: str) -> None:
    """Set a user's password after checking the policy (rules.password_problems); raises InvalidInput
    naming what is missing, NotFound for an unknown user. Clears any lockout."""
    s = session.scalar(select(Staff).where(Staff.username == username))
    if s is None:
        raise NotFound(f'unknown user "{username}"')
    problems = rules.password_problems(password, username)
    if problems:
        why = "password needs: " + "; ".join(problems)
        raise InvalidInput(why, [FieldError("password", why)])
    s.password_hash = _hasher.hash(password)
    s.failed_logins = 0
    s.locked_until = None
    session.flush()


def add_user(
    session: Session, username: str, name: str, role: str, org_code: str, password: str | None = None
) -> Staff:
    """Create a user with ``role`` at org unit ``org_code``; raises InvalidInput for an unknown role
    or unit, Conflict when the username exists."""
    if role not in ROLES:
        why = f'unknown role "{role}"; one of {", ".join(ROLES)}'
        raise InvalidInput(why, [FieldError("role", why)])
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == org_code))
    if unit is None:
        raise InvalidInput(f'unknown org unit "{org_code}"', [FieldError("org", "unknown")])
    if not USERNAME.fullmatch(username or ""):
        why = "username: 1-64 ASCII letters, digits, '.', '-' or '_'"
        raise InvalidInput(why, [FieldError("username", why)])
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Conflict(f'user "{username}" already exists')
    s = Staff(
        username=username, name=name or username, role=role, org_unit_id=unit.id, active=True, failed_logins=0
    )
    session.add(s)
    session.flush()
    if password is not None:
        set_password(session, username, password)
    return s


def list_users(session: Session) -> Sequence[tuple[Staff, OrgUnit]]:
    """All users with their units, by username."""
    return [
        (s, u)
        for s, u in session.execute(
            select(Staff, OrgUnit).join(OrgUnit, Staff.org_unit_id == OrgUnit.id).order_by(Staff.username)
        )
    ]


def disable_user(session: Session, username: str) -> None:
    """Disable a user: sessions and tokens stop working at once."""
    s = session.scalar(select(Staff).where(Staff.username == username))
    if s is None:
        raise NotFound(f'unknown user "{username}"')
    s.active = False
    now = ztime.utcnow()
    for t in session.scalars(
        select(ApiToken).where(ApiToken.staff_id == s.id, ApiToken.revoked_at.is_(None))
    ):
        t.revoked_at = now
    for a in session.scalars(
        select(AuthSession).where(AuthSession.staff_id == s.id, AuthSession.revoked_at.is_(None))
    ):
        a.revoked_at = now
    session.flush()


def authenticate(session: Session, username: str, password: str, now: datetime | None = None) -> Actor:
    """Check a username and password. Raises Unauthorized with one message for every failure (no
    user enumeration). Consecutive failures lock the account with exponential back-off
    (rules.lock_for); a success resets the count."""
    now = now or ztime.utcnow()
    # a name no account can have (control characters, non-ASCII …) is not looked up at all
    s = (
        session.scalar(select(Staff).where(Staff.username == username))
        if USERNAME.fullmatch(username)
        else None
    )
    if s is None or not s.active or s.password_hash is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password + "x")
        raise Unauthorized(BAD_LOGIN)
    if s.locked_until is not None and now < s.locked_until:
        raise Unauthorized(BAD_LOGIN)
    try:
        _hasher.verify(s.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        s.failed_logins = (s.failed_logins or 0) + 1
        lock = rules.lock_for(s.failed_logins)
        s.locked_until = now + lock if lock else None
        session.flush()
        raise Unauthorized(BAD_LOGIN) from None
    if _hasher.check_needs_rehash(s.password_hash):
        s.password_hash = _hasher.hash(password)
    s.failed_logins = 0
    s.locked_until = None
    session.flush()
    pair = _staff_unit(session, s.id)
    assert pair is not None
    return _actor(*pair)


@dataclass
class NewSession:
    secret: str
    csrf_token: str
    expires_at: datetime
    actor: Actor


def start_session(session: Session, actor: Actor, client: str | None = None) -> NewSession:
    """Open a browser session for ``actor``; the secret goes in an HttpOnly cookie."""
    secret, csrf = rules.new_secret(), rules.new_secret()
    now = ztime.utcnow()
    assert actor.id is not None
    row = AuthSession(
        staff_id=actor.id,
        token_hash=rules.digest(secret),
        csrf_token=csrf,
        created_at=now,
        expires_at=now + rules.SESSION_TTL,
        client=(client or "")[:64],
    )
    session.add(row)
    session.flush()
    return NewSession(secret, csrf, row.expires_at, actor)


def session_actor(session: Session, secret: str) -> tuple[Actor, str] | None:
    """The actor and CSRF token of a live session, or None."""
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == rules.digest(secret)))
    if row is None or row.revoked_at is not None or row.expires_at <= ztime.utcnow():
        return None
    pair = _staff_unit(session, row.staff_id)
    return (_actor(*pair), row.csrf_token) if pair else None


def end_session(session: Session, secret: str) -> None:
    """Sign out: revoke the session (idempotent)."""
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == rules.digest(secret)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = ztime.utcnow()
        session.flush()


def create_token(
    session: Session, username: str, name: str, scopes: Sequence[str] = (), days: int | None = None
) -> tuple[ApiToken, str]:
    """Create an API token for ``username``; returns the row and the secret, shown once.

    ``scopes`` limits the token to some of the user's permissions: permission names
    (``event.read``), a prefix (``event.*``) or ``*``; empty means all of the role's permissions.
    Raises NotFound for an unknown user, InvalidInput for a scope that names no permission the
    user's role holds."""
    s = session.scalar(select(Staff).where(Staff.username == username, Staff.active.is_(True)))
    if s is None:
        raise NotFound(f'unknown or disabled user "{username}"')
    held = permission_table().roles[s.role].permissions if s.role in permission_table().roles else set()
    for sc in scopes:
        ok = sc == "*" or sc in held or (sc.endswith(".*") and any(p.startswith(sc[:-1]) for p in held))
        if not ok:
            why = f'scope "{sc}" is not a permission of role {s.role}; see `zhizhi user roles`'
            raise InvalidInput(why, [FieldError("scope", why)])
    secret = rules.new_secret(rules.TOKEN_PREFIX)
    now = ztime.utcnow()
    t = ApiToken(
        staff_id=s.id,
        name=name[:100] or "token",
        prefix=secret[:11],
        token_hash=rules.digest(secret),
        scopes=list(scopes),
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(t)
    session.flush()
    return t, secret


def set_grant(
    session: Session, username: str, category_code: str, granted: bool, allowed: Sequence[str]
) -> Staff:
    """Grant (or withdraw) one confidential event category (保密类事件) to a user in person.

    ``allowed``: the confidential category codes of the catalogue. Raises NotFound for an unknown
    user, InvalidInput for a code not in ``allowed``. Idempotent."""
    s = session.scalar(select(Staff).where(Staff.username == username))
    if s is None:
        raise NotFound(f'unknown user "{username}"')
    if category_code not in allowed:
        why = f'"{category_code}" is not a confidential category; confidential: {", ".join(allowed)}'
        raise InvalidInput(why, [FieldError("category", why)])
    now = set(s.grants or ())
    now = now | {category_code} if granted else now - {category_code}
    s.grants = sorted(now)
    session.flush()
    return s


def revoke_token(session: Session, token_id: int) -> None:
    """Revoke an API token (idempotent); NotFound for an unknown id."""
    t = session.get(ApiToken, token_id)
    if t is None:
        raise NotFound(f"token {token_id} not found")
    if t.revoked_at is None:
        t.revoked_at = ztime.utcnow()
        session.flush()


def token_actor(session: Session, secret: str) -> Actor | None:
    """The actor of a live, unrevoked, unexpired token, or None."""
    t = session.scalar(select(ApiToken).where(ApiToken.token_hash == rules.digest(secret)))
    now = ztime.utcnow()
    if t is None or t.revoked_at is not None or (t.expires_at is not None and t.expires_at <= now):
        return None
    pair = _staff_unit(session, t.staff_id)
    return _actor(*pair, scopes=t.scopes) if pair else None
