"""Shared checks of the fire weather CSV files (气象文件字段检查): the one date form they take and
the hints for misspelt column names. Used by ``weather`` (``zhizhi fire fwi``) and ``station``
(``zhizhi fire danger``), so both commands say the same thing about the same mistake."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_LOOSE_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", re.ASCII)


def parse_iso_date(text: str) -> date | None:
    """The date of ``text`` written exactly ``YYYY-MM-DD`` (surrounding blanks ignored), else None.

    ``2026/08/13``, ``2026-8-13``, ``2026.08.13``, ``20260813`` and impossible days
    (``2026-02-30``) are all None: the weather files document one date form and keep to it.
    """
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def date_problem(text: str) -> str:
    """Why ``text`` is not a ``YYYY-MM-DD`` date, for a message: ``"X" is not a date (YYYY-MM-DD)``,
    plus the ISO spelling when the text is a real date with another separator or padding
    (``2026/08/13`` → ``; write 2026-08-13``)."""
    text = text.strip()
    m = None if _ISO_DATE.fullmatch(text) else _LOOSE_DATE.fullmatch(text)
    fixed = ""
    if m:
        try:
            fixed = f"; write {date(int(m[1]), int(m[2]), int(m[3])).isoformat()}"
        except ValueError:
            fixed = ""
    return f'"{text}" is not a date (YYYY-MM-DD){fixed}'


def _likeness(need: str, got: str) -> float:
    """How much column ``got`` (lower case) looks like the expected name ``need``, 0…1: difflib's
    ratio, or 0.9 when one starts with the other (``temprature`` for ``temp``)."""
    if len(got) >= 2 and (got.startswith(need) or need.startswith(got)):
        return 0.9
    return difflib.SequenceMatcher(None, need, got).ratio()


def misspellings(missing: Sequence[str], unknown: Sequence[str]) -> dict[str, str]:
    """For each missing column name, the unknown header (as written) most likely meant for it.

    Parameters
    ----------
    missing : expected column names (lower case) absent from the header, in the order to report.
    unknown : the header's columns that the layout does not know, as written in the file.

    Returns
    -------
    missing name → unknown header, only for a likeness of at least 0.6 (:func:`_likeness`); each
    unknown header is proposed for one missing name at most.
    """
    found: dict[str, str] = {}
    left = [u for u in unknown if u.strip()]
    for need in missing:
        scored = [(_likeness(need, u.strip().lower()), u) for u in left]
        best = max(scored, default=(0.0, ""), key=lambda s: s[0])
        if best[0] >= 0.6:
            found[need] = best[1].strip()
            left.remove(best[1])
    return found


def missing_columns(missing: Sequence[str], unknown: Sequence[str], where: str = "") -> str:
    """The message for absent columns, with a hint for each likely misspelling.

    ``missing`` non-empty, lower case; ``unknown`` the file's unrecognised headers as written;
    ``where`` e.g. ``" for the date layout"``. One column gives
    ``missing column "temp" for the date layout (is "temprature" a misspelling?)``; several give
    ``missing columns for the date layout: "temp" (is "temprature" a misspelling?), "rh" (…)``.
    """
    guess = misspellings(missing, unknown)

    def hint(name: str) -> str:
        return f' (is "{guess[name]}" a misspelling?)' if name in guess else ""

    if len(missing) == 1:
        return f'missing column "{missing[0]}"{where}{hint(missing[0])}'
    return f"missing columns{where}: " + ", ".join(f'"{m}"{hint(m)}' for m in missing)
