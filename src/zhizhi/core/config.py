"""Settings (配置) read from environment variables with the ``ZHIZHI_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings.

    Every field can be set through ``ZHIZHI_<NAME>`` (e.g. ``ZHIZHI_DATABASE_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="ZHIZHI_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/zhizhi.db",
        description="SQLAlchemy URL; SQLite (embedded default) or postgresql+psycopg://…",
    )
    data_dir: Path = Field(default=Path("var"), description="where attachments and reject files go")
    district_code: str = Field(default="500118", description="6-digit code of the home district")
    merge_radius_m: float = Field(default=50.0, description="similar-event merge radius, metres")
    merge_window_h: float = Field(default=24.0, description="similar-event merge window, hours")
    grid_target_area_m2: float = Field(default=500_000.0, description="generated grid size, m²")
    due_soon_fraction: float = Field(default=0.8, description="share of a time limit that triggers 预警")
    sweep_interval_s: float = Field(default=60.0, description="SLA sweep period of the server, s; 0 = off")
    trust_user_header: bool = Field(
        default=False,
        description="accept X-Zhizhi-User as identity without credentials: development and tests ONLY",
    )
    login_per_minute: float = Field(default=10.0, description="sign-in attempts per client address a minute")
    open311_post_per_minute: float = Field(default=30.0, description="Open311 reports per client a minute")
    max_body_bytes: int = Field(default=5_000_000, description="largest accepted request body")
    demo_population: int | None = Field(
        default=None,
        ge=0,
        description="people in the GENERATED population `zhizhi setup` (make run) loads on first run: "
        "empty = Yongchuan's 2020 census population (1,148,896; several minutes), 0 = none",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
        "(rate limits and audit use the client address); empty: the header is ignored",
    )


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
