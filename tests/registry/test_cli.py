"""``zhizhi id check``: JSON on stdout; exit 0 valid, 1 invalid, 2 usage error."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from zhizhi.cli import app


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def test_a_valid_value_exits_0_with_the_guess_named() -> None:
    code, out, err = zz("id", "check", "１１０１０５１９４９１２３１００２ｘ")
    assert (code, err) == (0, "")
    body = json.loads(out)
    assert (body["valid"], body["normalized"], body["kind"], body["guessed"]) == (
        True,
        "11010519491231002X",
        "citizen-id",
        True,
    )
    assert (body["birth_date"], body["sex"], body["region_name"]) == ("1949-12-31", "female", "朝阳区")


def test_an_invalid_value_exits_1() -> None:
    code, out, err = zz("id", "check", "4.40524E+17")
    body = json.loads(out)
    assert (code, err, body["valid"], body["kind"]) == (1, "", False, "citizen-id")
    assert body["errors"][0].startswith("stored as a number, last digits lost")


def test_a_kind_can_be_named() -> None:
    code, out, _ = zz("id", "check", "023-49851234", "--kind", "phone")
    body = json.loads(out)
    assert (code, body["guessed"], body["normalized"], body["line_type"]) == (
        0,
        False,
        "023-49851234",
        "landline",
    )
    code, out, _ = zz("id", "check", "11010519491231002X", "--kind", "uscc")
    assert code == 1 and json.loads(out)["kind"] == "uscc"


def test_an_unknown_kind_is_a_usage_error() -> None:
    code, out, err = zz("id", "check", "123", "--kind", "passport")
    assert (code, out) == (2, "")
    assert err == 'error: --kind "passport": use one of citizen-id, uscc, org-code, phone, division\n'


def test_a_missing_value_is_a_usage_error() -> None:
    code, _, err = zz("id", "check")
    assert code == 2 and err == "error: Missing argument 'VALUE' (see: zhizhi id check --help)\n"


def test_an_unguessable_value_exits_1() -> None:
    code, out, _ = zz("id", "check", "hello")
    body = json.loads(out)
    assert (code, body["kind"], body["guessed"]) == (1, None, True)
    assert body["errors"] == ["cannot tell which kind of identifier this is (无法判断类型): name the kind"]
