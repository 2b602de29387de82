"""Rebuild derived_yongchuan_stations_daily_2007-05.csv from the real records (see SOURCES.md).

Run from the repository root: ``python tests/data/fire/danger/make_derived.py SHARED_FWI_DIR``
(SHARED_FWI_DIR: the shared data folder ``fire/fwi`` holding ngfwi_PRF2007_hourly_wx.csv; the
Hailar rows come from tests/data/fire/fwi/cffdrs_r_test_wDC_input.csv).
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "derived_yongchuan_stations_daily_2007-05.csv"
FIRST, LAST = date(2007, 5, 11), date(2007, 5, 25)
# positions chosen by us inside Yongchuan (NOT real weather-station sites)
STATIONS = {"YC-A": (105.9, 29.36), "YC-B": (105.82, 29.04)}


def num(x: float) -> str:
    return f"{round(x, 4):g}"


def prf(shared: Path) -> list[list[str]]:
    """YC-A: Petawawa Research Forest 2007, hourly (hr = local daylight time, LDT)."""
    hours: dict[datetime, dict[str, float]] = {}
    for r in csv.DictReader((shared / "ngfwi_PRF2007_hourly_wx.csv").open(encoding="utf-8")):
        t = datetime(int(r["yr"]), int(r["mon"]), int(r["day"]), int(r["hr"]))
        hours[t] = {k: float(r[k]) for k in ("temp", "rh", "ws", "prec")}
    by_day: dict[date, list[dict[str, float]]] = defaultdict(list)
    for t, v in hours.items():
        by_day[t.date()].append(v)
    out = []
    d = FIRST
    while d <= LAST:
        day = by_day[d]
        assert len(day) == 24, d
        noon = hours[datetime(d.year, d.month, d.day, 13)]  # 13:00 LDT = 12:00 LST
        to_noon = sum(
            hours[datetime(d.year, d.month, d.day, 13) - timedelta(hours=h)]["prec"] for h in range(24)
        )
        lon, lat = STATIONS["YC-A"]
        out.append(
            [
                "YC-A",
                f"{lon:g}",
                f"{lat:g}",
                d.isoformat(),
                num(max(v["temp"] for v in day)),
                num(min(v["rh"] for v in day)),
                num(sum(v["prec"] for v in day)),
                num(max(v["ws"] for v in day)),
                num(noon["temp"]),
                num(noon["rh"]),
                num(noon["ws"]),
                num(to_noon),
            ]
        )
        d += timedelta(days=1)
    return out


def hailar() -> list[list[str]]:
    """YC-B: station 1 of cffdrs test_wDC (Hailar, Inner Mongolia), May 2013 relabelled 2007."""
    src = HERE.parent / "fwi" / "cffdrs_r_test_wDC_input.csv"
    out = []
    lon, lat = STATIONS["YC-B"]
    for r in csv.DictReader(src.open(encoding="utf-8")):
        if r["id"] != "1" or r["yr"] != "2013":
            continue
        d = date(2007, int(r["mon"]), int(r["day"]))
        if FIRST <= d <= LAST:
            # rh_min and wind_max stand in with the noon rh and ws (the file has no daily extremes)
            out.append(
                ["YC-B", f"{lon:g}", f"{lat:g}", d.isoformat(), r["tmax"], r["rh"], r["prec"], r["ws"]]
                + [r["temp"], r["rh"], r["ws"], r["prec"]]
            )
    return out


def main() -> None:
    rows = prf(Path(sys.argv[1])) + hailar()
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "station",
                "lon",
                "lat",
                "date",
                "tmax",
                "rh_min",
                "rain",
                "wind_max",
                "temp",
                "rh",
                "ws",
                "prec",
            ]
        )
        w.writerows(rows)


if __name__ == "__main__":
    main()
