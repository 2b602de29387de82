"""The usage line (用法行) of commands with positional arguments: plain upper-case names instead of
typer's braces.

Kept apart from :mod:`zhizhi.cli` (which imports every domain's commands at its end) so that a domain's
command module can import it at the top without an import cycle."""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand


class PlainUsage(TyperCommand):
    """A command whose usage line names its positional arguments by their plain metavar
    (``Usage: zhizhi fire fwi [OPTIONS] INPUT.csv``) instead of typer's braces (``{input_csv}``);
    an optional one in ``[…]``, one taking several values followed by ``...``.

    Give it as ``@app.command("name", cls=PlainUsage)`` with a ``metavar`` on each typer Argument
    (e.g. ``FILE``, ``USERNAME``); an argument without one shows its parameter name upper-cased. The
    metavar also names the argument in its help entry and in usage errors (``Missing argument 'FILE'``).
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # ctx: typer's click Context
        """The pieces after the command path on the usage line: ``[OPTIONS]`` then each argument."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not isinstance(param, TyperArgument):
                pieces.extend(param.get_usage_pieces(ctx))
                continue
            name = param.metavar or (param.name or "").upper()
            name = name if param.required else f"[{name}]"
            pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces
