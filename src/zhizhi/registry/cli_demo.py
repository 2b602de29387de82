"""``zhizhi demo population``: load a GENERATED synthetic population into the registers."""

from __future__ import annotations

import json
from datetime import date

import typer

from zhizhi.cli import fail, progress_bar, run


def register_demo_commands(app: typer.Typer) -> None:
    """Add the ``population`` command to ``app`` (the ``zhizhi demo`` group)."""

    @app.command("population")
    def population(
        size: int | None = typer.Option(
            None, "--size", help="people to generate (default: Yongchuan's 2020 census population, 1,148,896)"
        ),
        seed: int = typer.Option(20201101, "--seed", help="random seed: the same seed gives the same people"),
        replace: bool = typer.Option(False, "--replace", help="delete a generated population there first"),
        town: str | None = typer.Option(
            None, "--town", help="only this town (12-digit code); --size is then its size"
        ),
        on: str | None = typer.Option(
            None, "--on", help="date ages refer to, YYYY-MM-DD (default: 1 January)"
        ),
    ) -> None:
        """Generate a realistic synthetic district (age/sex pyramid, household sizes, tags at published
        rates; see registry/data/census/SOURCES.md) and load it through the registry service.

        Every person is GENERATED (flag `generated`, source `system:demo-generated`): names from
        frequency lists, citizen IDs that validate but belong to nobody. Refuses when a generated
        population already exists in those towns, unless --replace.
        """
        if size is not None and size < 1:
            fail(f"--size {size}: give a number of people >= 1")
        try:
            day = date.fromisoformat(on) if on else None
        except ValueError:
            fail(f'--on "{on}": give a date as YYYY-MM-DD')

        def body() -> None:
            from zhizhi.core.db import session_scope
            from zhizhi.registry.demo_load import load_population

            with session_scope() as s, progress_bar("demo population") as pb:
                result = load_population(
                    s,
                    size=size,
                    seed=seed,
                    replace=replace,
                    town=town,
                    on=day,
                    town_done=s.commit,
                    progress=pb,
                )
            typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))

        run(body)
