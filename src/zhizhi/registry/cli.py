"""Commands of the registry domain: ``zhizhi id …`` and ``zhizhi registry …``."""

from __future__ import annotations

import typer

from zhizhi.cli import _typer, fail, out, run

id_app: typer.Typer = _typer(
    "Identifiers (证照代码): check citizen IDs, credit codes, phones, division codes."
)

KIND_HELP = "citizen-id | uscc | org-code | phone | division (omit: guessed, and the output says so)"


@id_app.command("check")
def id_check(
    value: str = typer.Argument(..., help="the identifier as written (quote it if it has spaces)"),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
) -> None:
    """Check one identifier and print JSON {valid, normalized, errors, warnings, kind, guessed, …facts}.

    Exit code 0 when the value is valid (warnings allowed), 1 when it is not, 2 for a usage error
    (e.g. an unknown --kind). The value is echoed in full: you typed it; nothing is logged.
    """
    from zhizhi.registry.identifiers import KINDS, validate

    if kind is not None and kind not in KINDS:
        fail(f'--kind "{kind}": use one of {", ".join(KINDS)}')

    def body() -> bool:
        result = validate(value, kind)
        out(result.as_dict())
        return result.valid

    if not run(body):
        raise typer.Exit(1)
