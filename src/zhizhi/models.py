"""Imports every domain's tables so ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations


def import_all() -> None:
    """Import all model modules (side effect: registers their tables on ``Base.metadata``)."""
    import zhizhi.auth.models  # noqa: F401
    import zhizhi.core.audit  # noqa: F401
    import zhizhi.event.models  # noqa: F401
    import zhizhi.form.models  # noqa: F401
    import zhizhi.org.models  # noqa: F401
    import zhizhi.registry.models  # noqa: F401
    import zhizhi.scenarios.fire.models  # noqa: F401
