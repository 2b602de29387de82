"""Commands for accounts and tokens: ``zhizhi user …`` and ``zhizhi token …``."""

from __future__ import annotations

import sys

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.cli_usage import PlainUsage
from zhizhi.core.db import session_scope

user_app: typer.Typer = _typer("Accounts (账号): add, list, disable, reset passwords.")
token_app: typer.Typer = _typer("API tokens for integrations and scripts: create, list, revoke.")


def _read_password(password_stdin: bool, username: str) -> str | None:
    if not password_stdin:
        return None
    pw = sys.stdin.readline().rstrip("\n")
    if not pw:
        fail("no password on standard input")
    return pw


@user_app.command("add", cls=PlainUsage)
def user_add(
    username: str = typer.Argument(
        ..., metavar="USERNAME", help="login name: letters, digits, '.', '-', '_'"
    ),
    role: str = typer.Option(
        ...,
        help="admin|grid_worker|grid_leader|town_duty|board_staff|dept_handler|"
        "center_duty|center_chief|leader",
    ),
    org: str = typer.Option(..., help="org unit code the role is held at (e.g. 500118-CYZX, a grid code)"),
    name: str = typer.Option("", help="display name"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
) -> None:
    """Create a user. Without --password-stdin the account cannot sign in with a password until
    `zhizhi user reset-password` (it can still get API tokens)."""
    from zhizhi.auth import service

    pw = _read_password(password_stdin, username)

    def body() -> None:
        with session_scope() as s:
            u = service.add_user(s, username, name, role, org, pw)
            out({"username": u.username, "role": u.role, "org": org, "password_set": pw is not None})

    run(body)


@user_app.command("list")
def user_list() -> None:
    """List users (username, role, unit, active, whether a password is set, locked)."""
    from zhizhi.auth import service

    def body() -> None:
        with session_scope() as s:
            out(
                [
                    {
                        "username": u.username,
                        "name": u.name,
                        "role": u.role,
                        "org": o.code,
                        "active": u.active,
                        "password_set": u.password_hash is not None,
                        "locked_until": u.locked_until,
                        "grants": u.grants or [],
                    }
                    for u, o in service.list_users(s)
                ]
            )

    run(body)


@user_app.command("roles")
def user_roles() -> None:
    """The permission table (角色权限表): each role, its data scope and its permissions."""
    from zhizhi.core.access import permission_table

    def body() -> None:
        t = permission_table()
        out(
            {
                "roles": [
                    {"role": r.name, "label": r.label, "scope": r.scope, "permissions": sorted(r.permissions)}
                    for r in t.roles.values()
                ],
                "permissions": t.permissions,
            }
        )

    run(body)


def _grant(username: str, category: str, granted: bool) -> None:
    from zhizhi.auth import service
    from zhizhi.core import audit
    from zhizhi.event.service import confidential_codes

    def body() -> None:
        with session_scope() as s:
            u = service.set_grant(s, username, category, granted, confidential_codes())
            audit.record(
                s,
                actor="cli",
                actor_role="admin",
                action=audit.Action.grant if granted else audit.Action.revoke_grant,
                object_type="staff",
                object_id=u.id,
                detail={"user": username, "category": category},
            )
            out({"username": username, "grants": u.grants})

    run(body)


@user_app.command("grant", cls=PlainUsage)
def user_grant(
    username: str = typer.Argument(..., metavar="USERNAME", help="login name of the user"),
    category: str = typer.Option(..., "--category", help="confidential category code (2404 未成年人保护)"),
) -> None:
    """Grant a user one confidential event category (保密类事件) within their data scope."""
    _grant(username, category, True)


@user_app.command("revoke-grant", cls=PlainUsage)
def user_revoke_grant(
    username: str = typer.Argument(..., metavar="USERNAME", help="login name of the user"),
    category: str = typer.Option(..., "--category", help="confidential category code"),
) -> None:
    """Withdraw a confidential-category grant."""
    _grant(username, category, False)


@user_app.command("disable", cls=PlainUsage)
def user_disable(
    username: str = typer.Argument(..., metavar="USERNAME", help="login name of the user"),
) -> None:
    """Disable a user; their sessions and tokens stop working."""
    from zhizhi.auth import service

    def body() -> None:
        with session_scope() as s:
            service.disable_user(s, username)
        out({"username": username, "active": False})

    run(body)


@user_app.command("reset-password", cls=PlainUsage)
def user_reset_password(
    username: str = typer.Argument(..., metavar="USERNAME", help="login name of the user"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the new password from stdin"),
) -> None:
    """Set a new password (from stdin, or a generated one printed once)."""
    from zhizhi.auth import service

    pw = _read_password(password_stdin, username) or generated_password()

    def body() -> None:
        with session_scope() as s:
            service.set_password(s, username, pw)
        out(
            {
                "username": username,
                "password": None if password_stdin else pw,
                "note": None if password_stdin else "shown once: give it to the user, ask them to change it",
            }
        )

    run(body)


def generated_password() -> str:
    """A random password that meets the policy (20 characters from the OS CSPRNG)."""
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(20))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


@token_app.command("create")
def token_create(
    user: str = typer.Option(..., "--user", help="whose token (username)"),
    name: str = typer.Option("token", help="what it is for"),
    days: int = typer.Option(0, min=0, max=3650, help="expires after N days (0: never)"),
    quiet: bool = typer.Option(False, "--quiet", help="print only the token (for scripts)"),
    scope: list[str] = typer.Option(
        [], "--scope", help="limit the token to a permission (event.read), a prefix (event.*); repeatable"
    ),
) -> None:
    """Create an API token; the secret is printed once, only its hash is stored. Without --scope it
    may do what the user's role may do; with --scope only the listed permissions."""
    from zhizhi.auth import service
    from zhizhi.core import audit

    def body() -> None:
        with session_scope() as s:
            t, secret = service.create_token(s, user, name, scopes=scope, days=days or None)
            audit.record(
                s,
                actor="cli",
                actor_role="admin",
                action=audit.Action.token_create,
                object_type="api_token",
                object_id=t.id,
                detail={"user": user, "name": t.name, "scopes": t.scopes},
            )
            if quiet:
                typer.echo(secret)
                return
            out(
                {
                    "id": t.id,
                    "user": user,
                    "name": t.name,
                    "scopes": t.scopes or ["(all of the role's permissions)"],
                    "expires_at": t.expires_at,
                    "token": secret,
                    "use": "Authorization: Bearer <token>",
                }
            )

    run(body)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from sqlalchemy import select

    from zhizhi.auth.models import ApiToken
    from zhizhi.org.models import Staff

    def body() -> None:
        with session_scope() as s:
            rows = s.execute(
                select(ApiToken, Staff.username)
                .join(Staff, ApiToken.staff_id == Staff.id)
                .order_by(ApiToken.id)
            ).all()
            out(
                [
                    {
                        "id": t.id,
                        "user": u,
                        "name": t.name,
                        "prefix": t.prefix,
                        "scopes": t.scopes,
                        "created_at": t.created_at,
                        "expires_at": t.expires_at,
                        "revoked_at": t.revoked_at,
                    }
                    for t, u in rows
                ]
            )

    run(body)


@token_app.command("revoke", cls=PlainUsage)
def token_revoke(
    token_id: int = typer.Argument(
        ..., min=1, max=2**31 - 1, metavar="TOKEN_ID", help="the token's id (zhizhi token list)"
    ),
) -> None:
    """Revoke a token by id."""
    from zhizhi.auth import service

    def body() -> None:
        with session_scope() as s:
            service.revoke_token(s, token_id)
        out({"id": token_id, "revoked": True})

    run(body)


def ensure_admin() -> None:
    """Create the first admin with a one-time password, printed once (never a default password)."""
    from sqlalchemy import select

    from zhizhi.auth import service
    from zhizhi.core.config import get_settings
    from zhizhi.org.models import Staff

    with session_scope() as s:
        if s.scalar(select(Staff.id).where(Staff.role == "admin")) is not None:
            return
        pw = generated_password()
        service.add_user(s, "admin", "管理员", "admin", f"{get_settings().district_code}-CYZX", pw)
    typer.echo(
        f"created the administrator: username admin, one-time password {pw}\n"
        "  (shown once; change it with: .venv/bin/zhizhi user reset-password admin --password-stdin)"
    )


audit_app: typer.Typer = _typer("Audit log (审计日志): verify the hash chain.")


@audit_app.command("verify")
def audit_verify(
    anchor: str | None = typer.Option(
        None, "--anchor", help="ID:HASH of a head noted earlier; it must still be there"
    ),
    batch: int = typer.Option(10_000, "--batch", min=1, max=1_000_000, help="rows per query"),
) -> None:
    """Recompute the audit log's hash chain; exit 3 and name the first bad row if one was changed,
    inserted or deleted."""
    import re

    from zhizhi.core import audit

    def body() -> None:
        pin: tuple[int, str] | None = None
        if anchor is not None:
            m = re.fullmatch(r"(\d+):([0-9a-f]{64})", anchor.strip().lower())
            if m is None:
                fail(f'--anchor "{anchor}": expected ID:HASH (a row id and 64 hex digits)')
            pin = (int(m[1]), m[2])
        with session_scope() as s:
            r = audit.verify(s, batch=batch, anchor=pin)
        if r.ok:
            typer.echo(
                f"audit log intact: {r.rows} rows; head {r.last_id}:{r.last_hash}"
                if r.rows
                else "audit log empty"
            )
            return
        typer.echo(f"error: audit log broken at row {r.first_bad_id}: {r.reason}", err=True)
        typer.echo(f"  intact before it: {r.rows} rows, up to {r.last_id}:{r.last_hash}", err=True)
        raise typer.Exit(3)

    run(body)
