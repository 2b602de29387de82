"""Danger rating rules: the HTZ scorer at every bin edge, dry days, FWI classes, policy validation.

Expected scores are the shipped (provisional) tables of data/danger.yaml, whose sources the YAML
names; a change of those tables is a data change and must change these expectations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from zhizhi.scenarios.fire import rules as fr

POLICY = fr.default_policy()


def factor_score(key: str, **inputs: float) -> float:
    """The score of one factor for the given inputs (the others at neutral values)."""
    base = {"tmax": 0.0, "rh_min": 100.0, "rain": 0.0, "dry_days": 0, "green_cover": 0.0, "snow_cover": 0.0}
    force = inputs.pop("wind_force", 0)
    base.update(inputs)
    r = fr.rate_htz(
        base["tmax"],
        base["rh_min"],
        base["rain"],
        base["dry_days"],
        wind_force=force,
        green_cover=base["green_cover"],
        snow_cover=base["snow_cover"],
    )
    return float(r.scores[key])


# --- levels and names (QX/T 77-2007) --------------------------------------------------------------


def test_five_levels_with_qxt77_names_and_colours() -> None:
    items = POLICY.levels.items
    assert [(i.label, i.name, i.colour_name) for i in items] == [
        ("一级", "低火险", "绿色"),
        ("二级", "较低火险", "蓝色"),
        ("三级", "较高火险", "黄色"),
        ("四级", "高火险", "橙色"),
        ("五级", "极高火险", "红色"),
    ]
    assert POLICY.level(5).service_text == "森林火险气象等级极高，严禁一切林内用火"
    assert POLICY.level(3).warning_flag == "黄旗"
    with pytest.raises(ValueError, match="level must be 1-5, got 6"):
        POLICY.level(6)


def test_every_provisional_table_names_its_source() -> None:
    for key, f in POLICY.htz.factors.items():
        assert f.provisional and f.source, key
    assert "吕巍伟" in POLICY.htz.factors["A"].source and "Not the" in POLICY.htz.factors["A"].source
    assert "LY/T 1172" in (POLICY.htz.levels.source or "")
    text = fr.DANGER_FILE.read_text(encoding="utf-8")
    assert "GB/T 36743-2018" in text and "NOT available" in text


# --- factor bins at their edges -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tmax", "score"),
    [
        (-90, 0),
        (5.0, 0),
        (5.05, 4),
        (10.0, 4),
        (10.1, 8),
        (15.0, 8),
        (20.0, 12),
        (20.1, 16),
        (25.0, 16),
        (25.1, 20),
        (60, 20),
    ],
)
def test_factor_a_tmax(tmax: float, score: float) -> None:
    assert factor_score("A", tmax=tmax) == score


@pytest.mark.parametrize(
    ("rh", "score"),
    [
        (0, 20),
        (24.9, 20),
        (25, 16),
        (34.9, 16),
        (35, 12),
        (45, 8),
        (54.9, 8),
        (55, 4),
        (64.9, 4),
        (65, 0),
        (100, 0),
    ],
)
def test_factor_b_min_rh(rh: float, score: float) -> None:
    assert factor_score("B", rh_min=rh) == score


@pytest.mark.parametrize(("days", "score"), [(0, 0), (1, 5), (2, 10), (5, 25), (9, 45), (10, 50), (45, 50)])
def test_factor_c_dry_days(days: int, score: float) -> None:
    assert factor_score("C", dry_days=days) == score


@pytest.mark.parametrize(("force", "score"), [(0, 0), (1, 5), (4, 20), (7, 35), (8, 40), (12, 40)])
def test_factor_d_wind_force(force: int, score: float) -> None:
    assert factor_score("D", wind_force=force) == score


@pytest.mark.parametrize(
    ("wind_ms", "force"),
    [(0.0, 0), (0.2, 0), (0.3, 1), (1.5, 1), (1.6, 2), (3.3, 2), (3.4, 3), (5.4, 3), (5.5, 4), (7.9, 4),
     (8.0, 5), (10.7, 5), (10.8, 6), (13.8, 6), (13.9, 7), (17.1, 7), (17.2, 8), (20.7, 8), (20.8, 9),
     (24.5, 10), (28.5, 11), (32.6, 11), (32.7, 12), (60.0, 12)],
)  # fmt: skip
def test_beaufort_force_from_m_per_s(wind_ms: float, force: int) -> None:
    assert int(fr.beaufort_force(wind_ms)) == force


@pytest.mark.parametrize(
    ("green", "snow", "score"),
    [(0, 0, 0), (19.9, 0, 0), (20, 0, 5), (50, 0, 10), (75, 0, 15), (99.9, 0, 15), (100, 0, 20),
     (0, 9.9, 0), (0, 10, 5), (0, 30, 10), (0, 60, 15), (0, 90, 20), (20, 60, 15)],
)  # fmt: skip
def test_factor_e_phenology_takes_the_larger_correction(green: float, snow: float, score: float) -> None:
    assert factor_score("E", green_cover=green, snow_cover=snow) == score


@pytest.mark.parametrize(
    ("htz", "level"),
    [(-20, 1), (0, 1), (25, 1), (26, 2), (50, 2), (51, 3), (72, 3), (73, 4), (90, 4), (91, 5), (130, 5)],
)
def test_htz_levels_ly_t_1172_thresholds(htz: float, level: int) -> None:
    assert int(fr.htz_level(htz)) == level


def test_full_rating_sums_factors_minus_e() -> None:
    # A 30 °C → 20; B 30 % → 16; C 5 dry days → 25; D 6 m/s = force 4 → 20; E 50 % green → 10
    r = fr.rate_htz(30.0, 30.0, 0.0, 5, wind_ms=6.0, green_cover=50.0)
    assert {k: float(v) for k, v in r.scores.items()} == {"A": 20, "B": 16, "C": 25, "D": 20, "E": 10}
    assert float(r.htz) == 71 and int(r.level) == 3
    # one more dry day → 76 → 四级; the same day with snow 90 % → 61 → 三级
    assert int(fr.rate_htz(30.0, 30.0, 0.0, 6, wind_ms=6.0, green_cover=50.0).level) == 4
    r2 = fr.rate_htz(
        [30.0, 4.0], [30.0, 90.0], [0.0, 12.0], [6, 0], wind_force=[4, 0], snow_cover=[90.0, 0.0]
    )
    assert r2.htz.tolist() == [66.0, 0.0] and r2.level.tolist() == [3, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rh_min": 101.0}, r"rh_min = 101 is outside 0 to 100 %"),
        ({"tmax": math.nan}, r"tmax is missing \(NaN\)"),
        ({"dry_days": -1}, r"dry_days = -1 is outside 0 to 100000 days"),
        ({"dry_days": 1.5}, r"dry_days must be whole days, got 1.5"),
        ({"rain": 0.2, "dry_days": 3}, r"dry_days must be 0 on a day with more than 0.1 mm of rain"),
        ({"rain": -1.0}, r"rain = -1 is below 0 mm"),
        ({"green_cover": 120.0}, r"green_cover = 120 is outside 0 to 100 %"),
    ],
)
def test_rating_refuses_bad_inputs(kwargs: dict[str, float], message: str) -> None:
    a = {"tmax": 20.0, "rh_min": 40.0, "rain": 0.0, "dry_days": 2, "green_cover": 0.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        fr.rate_htz(
            a["tmax"], a["rh_min"], a["rain"], a["dry_days"], wind_force=2, green_cover=a["green_cover"]
        )


def test_rating_needs_exactly_one_wind() -> None:
    with pytest.raises(ValueError, match="give exactly one of wind_ms"):
        fr.rate_htz(20.0, 40.0, 0.0, 2)
    with pytest.raises(ValueError, match="give exactly one of wind_ms"):
        fr.rate_htz(20.0, 40.0, 0.0, 2, wind_ms=3.0, wind_force=2)


# --- consecutive dry days -------------------------------------------------------------------------


def test_consecutive_dry_days_series() -> None:
    rain = [0.0, 0.1, 0.11, 0.0, 0.0, 5.0, 0.0]
    assert fr.consecutive_dry_days(rain).tolist() == [1, 2, 0, 1, 2, 0, 1]
    assert fr.consecutive_dry_days(rain, before=10).tolist() == [11, 12, 0, 1, 2, 0, 1]
    assert fr.consecutive_dry_days(rain, dry_max_mm=0.0).tolist() == [1, 0, 0, 1, 2, 0, 1]
    grid = fr.consecutive_dry_days(np.array([[0.0, 3.0], [0.0, 0.0], [1.0, 0.0]]), before=[0, 4])
    assert grid.tolist() == [[1, 0], [2, 1], [0, 2]]
    with pytest.raises(ValueError, match=r"rain at index 1 = -2 is below 0 mm"):
        fr.consecutive_dry_days([0.0, -2.0])


def test_dry_days_feed_the_rating() -> None:
    rain = np.array([0.0, 0.0, 3.0, 0.0])
    dd = fr.consecutive_dry_days(rain)
    r = fr.rate_htz(np.full(4, 22.0), np.full(4, 40.0), rain, dd, wind_ms=np.full(4, 2.0))
    assert r.scores["C"].tolist() == [5.0, 10.0, 0.0, 5.0]


# --- FWI classes ----------------------------------------------------------------------------------


def test_effis_classes_lower_bound_included() -> None:
    fwi = [0.0, 5.19, 5.2, 11.19, 11.2, 21.29, 21.3, 37.99, 38.0, 49.99, 50.0, 120.0, math.nan]
    assert fr.effis_class(fwi).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 0]
    assert [fr.effis_label(c) for c in range(1, 7)] == [
        "very low",
        "low",
        "moderate",
        "high",
        "very high",
        "extreme",
    ]
    assert fr.effis_label(6, "zh") == "极端"
    assert "effis.jrc.ec.europa.eu" in (POLICY.effis.source or "")
    with pytest.raises(ValueError, match="EFFIS class must be 1-6, got 0"):
        fr.effis_label(0)


def test_fwi_five_level_scale() -> None:
    assert fr.fwi_level([5.19, 5.2, 21.3, 37.99, 38.0, 80.0, math.nan]).tolist() == [1, 2, 4, 4, 5, 5, 0]


# --- policy validation ----------------------------------------------------------------------------


def broken(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(fr.DANGER_FILE.read_text(encoding="utf-8"))
    change(data)
    p = tmp_path / "danger.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def set_(path: str, value: object):  # type: ignore[no-untyped-def]
    def change(d: dict) -> None:  # type: ignore[type-arg]
        *head, last = path.split(".")
        for k in head:
            d = d[int(k)] if k.isdigit() else d[k]
        d[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            set_("htz.factors.A.bins.2", [11.0, 15.0, 8]),
            "htz.factors.A: bins[2]: lower 11 does not continue the previous bin's upper 10 "
            "(bins must be contiguous and in increasing order)",
        ),
        (
            set_("beaufort.bins.0", [0.0, 0.2, 0]),
            "beaufort.bins: bins[0]: the first bin must start open (~), not at 0.0",
        ),
        (set_("effis.bins.3", [21.3, 21.3, 4]), "effis.bins: bins[3]: lower 21.3 is not below upper 21.3"),
        (
            lambda d: d["levels"]["items"].pop(),
            "levels.items: there must be exactly five levels numbered 1-5 in order, got [1, 2, 3, 4]",
        ),
        (set_("levels.items.0.colour", "green"), "levels.items[0].colour: String should match pattern"),
        (set_("htz.factors.B.input", "rh_noon"), 'htz.factors.B: unknown input "rh_noon"'),
        (
            set_("htz.levels.bins.4", [90, None, 4]),
            "htz.levels: bin values must go up through every level 1-5",
        ),
        (set_("fwi_levels.bins.0", [None, 5.2, 0]), "fwi_levels: bin values must be levels 1-5"),
        (set_("htz.factors.E.sign", 2), "htz.factors.E.sign: Input should be 1 or -1"),
        (lambda d: d["htz"].pop("dry_day_rain_max_mm"), "htz.dry_day_rain_max_mm: Field required"),
    ],
)
def test_broken_policy_names_file_and_key(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    p = broken(tmp_path, change)
    with pytest.raises(fr.PolicyError) as e:
        fr.load_danger_policy(p)
    assert str(e.value).startswith(f"{p}: ")
    assert message in str(e.value)


def test_unreadable_or_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(fr.PolicyError, match="missing.yaml: cannot read: No such file or directory"):
        fr.load_danger_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("levels: [\n", encoding="utf-8")
    with pytest.raises(fr.PolicyError, match="bad.yaml: not valid YAML"):
        fr.load_danger_policy(bad)


def test_replacing_a_table_is_a_data_change(tmp_path: Path) -> None:
    p = broken(tmp_path, set_("htz.factors.A.bins", [[None, 30.0, 0], [30.0, None, 25]]))
    pol = fr.load_danger_policy(p)
    assert float(fr.rate_htz(29.0, 100.0, 0.0, 0, wind_force=0, policy=pol).scores["A"]) == 0
    assert float(fr.rate_htz(31.0, 100.0, 0.0, 0, wind_force=0, policy=pol).scores["A"]) == 25
