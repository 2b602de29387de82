"""Pure rules of authentication: password policy, secrets, lockout back-off."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5
LOCK_BASE = timedelta(minutes=1)
LOCK_MAX = timedelta(hours=1)
SESSION_TTL = timedelta(hours=12)
TOKEN_PREFIX = "zz_"


def password_problems(password: str, username: str) -> list[str]:
    """Reasons ``password`` is not acceptable (empty list: fine).

    Rules: at least 12 characters, letters and digits both present, not containing the username,
    not one repeated character. Modelled on GB/T 22239-2019 (等保 2.0) 8.1.4.1 a) "口令应有复杂度要求"."""
    out = []
    if len(password) < MIN_PASSWORD_LENGTH:
        out.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        out.append("both letters and digits")
    if username and username.lower() in password.lower():
        out.append("must not contain the username")
    if password and len(set(password)) == 1:
        out.append("not one repeated character")
    return out


def new_secret(prefix: str = "") -> str:
    """A new random secret: 32 bytes from the OS CSPRNG, URL-safe base64, with ``prefix``."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (tokens, session ids): enough, as they are not guessable;
    passwords use argon2 instead."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def lock_for(failures: int) -> timedelta | None:
    """How long an account stays locked after ``failures`` consecutive failed logins: none below
    :data:`MAX_FAILURES`, then 1, 2, 4 … minutes, at most one hour (exponential back-off)."""
    if failures < MAX_FAILURES:
        return None
    return min(LOCK_BASE * (2 ** min(failures - MAX_FAILURES, 12)), LOCK_MAX)
