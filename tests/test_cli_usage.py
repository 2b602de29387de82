"""Usage lines (用法行) of the command line: positional arguments by plain upper-case names
(``FILE``, ``USERNAME``; an optional one in ``[…]``), never typer's ``{file}`` braces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.cli_usage import PlainUsage


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``group`` (the root's is ``()``), groups included."""
    yield path
    for name, cmd in getattr(group, "commands", {}).items():
        yield from _commands(cmd, (*path, name))


def usage(*path: str) -> str:
    """The ``Usage:`` line of ``zhizhi PATH --help``."""
    r = CliRunner().invoke(app, [*path, "--help"], prog_name="zhizhi")
    assert r.exit_code == 0, (path, r.stderr)
    lines = [line for line in r.stdout.splitlines() if line.startswith("Usage: ")]
    assert len(lines) == 1, (path, r.stdout)
    return lines[0]


def test_no_usage_line_shows_braces() -> None:
    root = typer.main.get_command(app)
    paths = list(_commands(root))
    assert len(paths) > 80  # the walk reached the whole tree (tests/test_cli.py pins the count)
    lines = [usage(*p) for p in paths]
    assert [line for line in lines if "{" in line or "}" in line] == []


def test_every_command_with_an_argument_names_it_plainly() -> None:
    def leaves(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            yield path, cmd
        for name, sub in (subs or {}).items():
            yield from leaves(sub, (*path, name))

    with_args = [
        (path, cmd)
        for path, cmd in leaves(typer.main.get_command(app), ())
        if any(isinstance(p, typer.core.TyperArgument) for p in cmd.params)
    ]
    assert len(with_args) >= 25
    for path, cmd in with_args:
        assert isinstance(cmd, PlainUsage), path
        for p in cmd.params:
            if isinstance(p, typer.core.TyperArgument):
                assert p.metavar and p.metavar.split(".")[0].isupper(), (path, p.name)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("registry", "import"), "Usage: zhizhi registry import [OPTIONS] FILE"),
        (("registry", "history"), "Usage: zhizhi registry history [OPTIONS] KIND ID"),
        (("db", "upgrade"), "Usage: zhizhi db upgrade [OPTIONS] [REVISION]"),
        (("fire", "fwi"), "Usage: zhizhi fire fwi [OPTIONS] INPUT.csv"),
    ],
)
def test_usage_lines(path: tuple[str, ...], line: str) -> None:
    assert usage(*path) == line


def test_fire_import_path_still_works() -> None:
    from zhizhi.scenarios.fire.cli.common import PlainUsage as FirePlainUsage

    assert FirePlainUsage is PlainUsage
