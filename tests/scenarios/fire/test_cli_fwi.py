"""``zhizhi fire fwi`` through typer's CliRunner on ``zhizhi.cli.app`` (no database needed)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from typer.testing import CliRunner

from zhizhi.cli import app

DATA = Path(__file__).parents[2] / "data" / "fire" / "fwi"
INPUT = DATA / "cffdrs_r_test_fwi_input.csv"
OUT_COLUMNS = ["ffmc", "dmc", "dc", "isi", "bui", "fwi", "dsr"]


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["fire", "fwi", *args], prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def rounds_to(got: float, want: float) -> bool:
    """Within the cffdrs harness rounding signif(x, max(ceiling(log10|x|) + 2, 4)) of ``want``."""
    if want == 0:
        return got == 0
    digits = max(math.ceil(math.log10(abs(want))) + 2, 4)
    return abs(got - want) <= 0.5 * 10 ** (math.floor(math.log10(abs(want))) - digits + 1) * (1 + 1e-9)


def test_fwi_reproduces_cffdrs_expected_file() -> None:
    code, out, err = zz(str(INPUT))
    assert code == 0, err
    got = rows_of(out)
    expected = rows_of((DATA / "cffdrs_r_fwi_01_expected.csv").read_text(encoding="utf-8"))
    header = out.splitlines()[0].split(",")
    assert header == INPUT.read_text(encoding="utf-8").splitlines()[0].split(",") + OUT_COLUMNS
    assert len(got) == len(expected) == 48
    for g, e in zip(got, expected, strict=True):
        assert g["temp"] == e["TEMP"] and g["day"] == e["DAY"]  # input columns kept as written
        for k in OUT_COLUMNS:
            assert rounds_to(float(g[k]), float(e[k.upper()])), (g["mon"], g["day"], k, g[k], e[k.upper()])


def test_fwi_legacy_coefficient_reproduces_cffdrs_1_8_18(tmp_path: Path) -> None:
    out_file = tmp_path / "out.csv"
    code, out, err = zz(str(INPUT), "-o", str(out_file), "--ffmc-coefficient", "147.2")
    assert code == 0 and out == ""
    assert err.splitlines() == [
        "wind: ws read as km/h (the default of this command; --wind-unit m/s for data in the other unit)",
        f"48 rows, 1 station → {out_file}",
    ]
    got = rows_of(out_file.read_text(encoding="utf-8"))
    ref = rows_of((DATA / "xclim_cffdrs_v1.8.18_test_fwi.csv").read_text(encoding="utf-8"))
    for g, x in zip(got, ref, strict=True):
        for k in OUT_COLUMNS[:6]:  # 7 significant digits written
            assert math.isclose(float(g[k]), float(x[f"{k}_test0"]), rel_tol=5e-7), (k, g[k], x[f"{k}_test0"])


def test_start_codes_lat_and_wind_unit_options(tmp_path: Path) -> None:
    """The sample in the date layout without lat, at Yongchuan's latitude, wind in m/s."""
    lines = INPUT.read_text(encoding="utf-8").splitlines()[1:]
    rows = ["date,temp,rh,ws,prec"]
    for line in lines:
        _lo, _la, yr, mon, day, temp, rh, ws, prec = line.split(",")
        rows.append(f"{yr}-{int(mon):02d}-{int(day):02d},{temp},{rh},{float(ws) / 3.6!r},{prec}")
    p = tmp_path / "yc.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, _, err = zz(str(p))
    assert code == 2 and "no latitude" in err
    opts = (str(p), "--lat", "29.35", "--wind-unit", "m/s", "--ffmc0", "80", "--dmc0", "10", "--dc0", "20")
    code, adj, _ = zz(*opts)
    assert code == 0
    code, std, _ = zz(*opts, "--no-lat-adjust")
    a, s = rows_of(adj), rows_of(std)
    assert float(a[0]["dmc"]) < float(s[0]["dmc"])  # 20N table (April 9.5) vs 46N (12.8)
    assert a[0]["dc"] == s[0]["dc"] and a[0]["ffmc"] == s[0]["ffmc"]
    code, km, _ = zz(str(p), "--lat", "29.35", "--ffmc0", "80", "--dmc0", "10", "--dc0", "20")
    assert float(rows_of(km)[0]["isi"]) < float(a[0]["isi"])  # read as km/h the wind is 3.6 times weaker


def test_bad_file_exits_2_with_one_error_line(tmp_path: Path) -> None:
    text = INPUT.read_text(encoding="utf-8").splitlines()
    cells = text[5].split(",")
    cells[5] = "abc"  # temp of 1985-04-17
    text[5] = ",".join(cells)
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(text) + "\n", encoding="utf-8")
    code, out, err = zz(str(p))
    assert (code, out) == (2, "")
    assert err == f'error: {p}: line 6, column temp: "abc" is not a number\n'
    p.write_text("long,lat,yr,mon,dia,temp,rh,ws,prec\n-100,40,1985,4,13,17,42,25,0\n", encoding="utf-8")
    code, _, err = zz(str(p))
    assert code == 2
    assert (
        err == f'error: {p}: line 1: missing column "day" for the cffdrs layout (is "dia" a misspelling?)\n'
    )
    p.write_text("date,temprature,rhh,ws,prec\n2026-08-13,31,38,12,0\n", encoding="utf-8")
    code, _, err = zz(str(p))
    assert (code, err) == (
        2,
        f'error: {p}: line 1: missing columns for the date layout: "temp" (is "temprature" a misspelling?), '
        '"rh" (is "rhh" a misspelling?)\n',
    )
    p.write_text("", encoding="utf-8")
    assert zz(str(p))[1:] == ("", f"error: {p}: empty file (no header line)\n")


def test_several_bad_rows_list_each_line(tmp_path: Path) -> None:
    text = INPUT.read_text(encoding="utf-8").splitlines()
    for i in (3, 9):
        cells = text[i].split(",")
        cells[6] = "101"
        text[i] = ",".join(cells)
    p = tmp_path / "rh.csv"
    p.write_text("\n".join(text) + "\n", encoding="utf-8")
    code, _, err = zz(str(p))
    assert code == 2
    assert err.splitlines() == [
        f"error: {p}: line 4, column rh: 101 is outside 0 to 100 % (and 1 more)",
        "  line 4, column rh: 101 is outside 0 to 100 %",
        "  line 10, column rh: 101 is outside 0 to 100 %",
    ]


def test_missing_file_and_bad_option_exit_2(tmp_path: Path) -> None:
    code, _, err = zz(str(tmp_path / "nope.csv"))
    assert code == 2 and err == f"error: {tmp_path / 'nope.csv'}: No such file or directory\n"
    code, _, err = zz(str(INPUT), "--wind-unit", "mph")
    assert code == 2 and err.startswith("error: ") and "mph" in err and err.count("\n") == 1
    code, _, err = zz(str(INPUT), "--ffmc0", "120")
    assert code == 2 and "'--ffmc0'" in err and "101" in err and err.count("\n") == 1


def test_slash_dates_are_refused_naming_line_and_column(tmp_path: Path) -> None:
    """issue 5: ``2026/08/13`` is not the documented YYYY-MM-DD; refused, exit 2, nothing written."""
    p = tmp_path / "slash.csv"
    p.write_text("date,temp,rh,ws,prec,lat\n2026-08-12,30,40,10,0,29.35\n2026/08/13,31,38,12,0,29.35\n")
    code, out, err = zz(str(p))
    assert (code, out) == (2, "")
    assert err == (
        f'error: {p}: line 3, column date: "2026/08/13" is not a date (YYYY-MM-DD); write 2026-08-13\n'
    )


def _fire_paths() -> list[list[str]]:
    import typer.main

    def walk(cmd: object, path: list[str]) -> list[list[str]]:
        subs = getattr(cmd, "commands", None)
        if not subs:
            return [path]
        return [p for name, sub in sorted(subs.items()) for p in walk(sub, [*path, name])]

    fire = typer.main.get_command(app).commands["fire"]  # type: ignore[attr-defined]
    return walk(fire, ["fire"])


def test_usage_lines_show_plain_argument_names() -> None:
    """issue 5: no typer ``{input_csv}`` braces in a fire command's usage line."""
    usages = {}
    for path in _fire_paths():
        r = CliRunner().invoke(app, [*path, "--help"], prog_name="zhizhi", env={"COLUMNS": "200"})
        assert r.exit_code == 0, (path, r.output)
        usages[" ".join(path)] = r.stdout.splitlines()[0]
    assert not [u for u in usages.values() if "{" in u or "}" in u]
    assert usages["fire fwi"] == "Usage: zhizhi fire fwi [OPTIONS] INPUT.csv"
    assert usages["fire danger"] == "Usage: zhizhi fire danger [OPTIONS] WEATHER.csv"
    assert usages["fire hotspots verify"] == "Usage: zhizhi fire hotspots verify [OPTIONS] CLUSTER_ID"


def test_drill_delay_help_says_it_counts_from_the_previous_move() -> None:
    r = CliRunner().invoke(app, ["fire", "drill", "--help"], prog_name="zhizhi", env={"COLUMNS": "200"})
    assert "--delay MOVE=SECONDS  with --simulate: seconds from the previous move" in r.stdout
    assert "Each delay counts from the previous move" in " ".join(r.stdout.split())


def test_a_file_without_latitude_names_the_lat_option(tmp_path: Path) -> None:
    p = tmp_path / "nolat.csv"
    p.write_text("date,temp,rh,ws,prec\n1985-04-13,17,42,25,0\n", encoding="utf-8")
    code, out, err = zz(str(p))
    assert (code, out) == (2, "")
    assert "no latitude: add a lat column or give the --lat option (Yongchuan: --lat 29.35)" in err
    code, out, _ = zz(str(p), "--lat", "29.35")
    assert code == 0 and out.splitlines()[0].endswith("ffmc,dmc,dc,isi,bui,fwi,dsr")


def test_the_km_h_as_m_s_refusal_gives_the_advice_of_the_help() -> None:
    code, out, err = zz(str(INPUT), "--wind-unit", "m/s")
    assert (code, out) == (2, "")
    advice = (
        "Drop --wind-unit m/s if the file is in km/h (km/h is the default), or pass "
        "--accept-implausible-wind to compute it as m/s all the same"
    )
    assert err.rstrip().endswith(advice)
    _, help_text, _ = zz("--help")
    flat = " ".join(help_text.replace("│", " ").split())
    assert (
        "drop --wind-unit m/s (km/h is the default), or pass --accept-implausible-wind to compute it as m/s "
        "all the same" in flat
    )
