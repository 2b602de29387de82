"""The CAP policy (预警发布配置), ``data/cap.yaml``: the CAP header, the level → urgency/severity/
certainty/response mapping, the valid period and the texts, read and checked; the CAP 1.2 code lists."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhizhi.scenarios.fire.rules import LEVELS, load_policy_file

CAP_FILE = Path(__file__).parents[1] / "data" / "cap.yaml"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
Response = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertPolicy(_Model):
    sender: str = Field(min_length=1)
    identifier: str = Field(min_length=1)
    scope: Literal["Public", "Restricted", "Private"]


class InfoPolicy(_Model):
    language: str = Field(pattern=r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
    category: Literal[
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    ]
    event: str = Field(min_length=1)
    sender_name: str
    headline: str
    description: str
    area_desc: str
    geocode_county: str = Field(min_length=1)
    geocode_town: str = Field(min_length=1)


class ValidPolicy(_Model):
    start: time
    hours: float = Field(gt=0, le=168)


class LevelMapping(_Model):
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response: Response


class HotspotPolicy(_Model):
    event: str = Field(min_length=1)
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response: Response
    headline: str
    description: str
    radius_km: float = Field(gt=0, le=100)
    valid_hours: float = Field(gt=0, le=72)


class CapPolicy(_Model):
    """The whole ``data/cap.yaml``."""

    version: int
    alert: AlertPolicy
    info: InfoPolicy
    valid: ValidPolicy
    levels: dict[int, LevelMapping]
    hotspot: HotspotPolicy

    @field_validator("levels")
    @classmethod
    def _five(cls, v: dict[int, LevelMapping]) -> dict[int, LevelMapping]:
        if sorted(v) != list(LEVELS):
            raise ValueError(f"levels must map exactly the levels 1-5, got {sorted(v)}")
        return v


def load_cap_policy(path: str | Path | None = None) -> CapPolicy:
    """Load and check a CAP policy file (default: the shipped ``data/cap.yaml``).

    Raises PolicyError (a ValueError) naming the file, the key path and the reason.
    """
    p = Path(path) if path is not None else CAP_FILE
    return load_policy_file(CapPolicy, p)


@lru_cache(maxsize=1)
def default_cap_policy() -> CapPolicy:
    """The shipped ``data/cap.yaml``, loaded once."""
    return load_cap_policy()
