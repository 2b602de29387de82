"""Commands of the registry domain: ``zhizhi id …`` and ``zhizhi registry …``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.cli_usage import PlainUsage

id_app: typer.Typer = _typer(
    "Identifiers (证照代码): check citizen IDs, credit codes, phones, division codes."
)

KIND_HELP = "citizen-id | uscc | org-code | phone | division (omit: guessed, and the output says so)"


@id_app.command("check", cls=PlainUsage)
def id_check(
    value: str = typer.Argument(
        ..., metavar="VALUE", help="the identifier as written (quote it if it has spaces)"
    ),
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


# --- zhizhi registry … --------------------------------------------------------------------------------

registry_app: typer.Typer = _typer(
    "Registers (台账, 一标三实): import the ledgers clerks keep (花名册 .xlsx/.xls/.csv)."
)


@registry_app.command("import", cls=PlainUsage)
def registry_import(
    file: Path = typer.Argument(
        ..., metavar="FILE", help=".xlsx, .xls, .csv or .txt (the type is read from the content)"
    ),
    kind: str = typer.Option(..., "--kind", help="resident | household | house | unit"),
    mapping: str | None = typer.Option(
        None, "--mapping", help="column mapping to use (remembered) or to save (default: the source's key)"
    ),
    column: list[str] = typer.Option(
        [],
        "--column",
        metavar="<HEADER=FIELD>",
        help='map one column: "HEADER=FIELD" or "F=FIELD" (a column letter); FIELD may be ignore',
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="check every row and report; write nothing (no rows, no mapping)"
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="write the good rows; the refused ones go to the reject workbook"
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        help="the supplier, e.g. mzj-dibao (→ import:mzj-dibao) or dept:MZJ (default: the file name)",
    ),
    valid_from: str | None = typer.Option(
        None, "--valid-from", help="date the values hold from, YYYY-MM-DD (default: today)"
    ),
    org_code: str | None = typer.Option(
        None, "--org", help="town, village or grid code the file is about (village names are looked up there)"
    ),
    as_user: str | None = typer.Option(
        None, "--as", help="import as this user (role needs registry.import; rows must be in their scope)"
    ),
    reject_file: Path | None = typer.Option(
        None, "--reject-file", help="where refused rows go (default: FILE name + .rejects.xlsx)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the outcome as JSON instead of text"),
) -> None:
    """Import a register file: one transaction, every row checked, a row-level report.

    Any refused row means nothing is written (exit 2; the report lists sheet, row, column, masked
    value and reason, and the refused rows go to FILE.rejects.xlsx with a reason column). With
    --skip-invalid the good rows are written and the reject workbook can be fixed and imported as
    it is. Every error of every row is reported in one run. --dry-run checks every row, through the
    registry's own rules too, and writes nothing — no rows, no mapping ("mapping would be saved as
    NAME") — (exit 0 when all rows are good, 1 when some are not). The import runs as the platform
    (role system) of the district unless --as names a user.
    """
    from datetime import date

    from zhizhi.core.config import get_settings
    from zhizhi.core.db import session_scope
    from zhizhi.registry import intake

    vf: date | None = None
    if valid_from is not None:
        try:
            vf = date.fromisoformat(valid_from.strip())
        except ValueError:
            fail(f'--valid-from "{valid_from}": write the date as YYYY-MM-DD')
    if kind not in ("resident", "household", "house", "unit"):
        fail(f'--kind "{kind}": use one of resident, household, house, unit')
    if not file.is_file():
        fail(f"{file}: no such file")

    def body() -> int:
        columns = intake.parse_column_options(column, kind)
        try:
            with session_scope() as s:
                district = org_code[:6] if org_code else get_settings().district_code
                if as_user:
                    from zhizhi.auth.service import user_actor

                    actor = user_actor(s, as_user)
                else:
                    actor = intake.platform_actor(district)
                res = intake.import_file(
                    s, actor, file, kind, mapping=mapping, columns=columns, source=source, valid_from=vf,
                    area=org_code, skip_invalid=skip_invalid, dry_run=dry_run, reject_path=reject_file,
                )  # fmt: skip
        except intake.ImportRefused as e:
            if e.result is not None and e.result.reject_file:  # the import rolled back; the file stays
                with session_scope() as s:
                    intake.audit_rejects(s, actor, e.result, org_code)
            typer.echo(f"error: {e.detail}", err=True)
            if e.result is not None:
                if as_json:
                    typer.echo(json.dumps(e.result.summary(), ensure_ascii=False, indent=2), err=True)
                else:
                    for line in e.result.text():
                        typer.echo(f"  {line}", err=True)
            return 2
        if as_json:
            out(res.summary())
        else:
            typer.echo("\n".join(res.text()))
        return 1 if dry_run and res.invalid else 0

    code = run(body)
    if code:
        raise typer.Exit(code)


@registry_app.command("mappings", cls=PlainUsage)
def registry_mappings(
    name: str | None = typer.Argument(None, metavar="MAPPING", help="one mapping (omit: all)"),
) -> None:
    """Print the remembered column mappings (name, kind, header → field) as JSON."""
    from zhizhi.core.db import session_scope
    from zhizhi.registry import intake

    def body() -> None:
        with session_scope() as s:
            rows = intake.list_mappings(s)
        if name is not None:
            rows = [m for m in rows if m["name"] == name]
            if not rows:
                fail(f'no remembered mapping "{name}"')
            out(rows[0])
            return
        out(rows)

    run(body)
