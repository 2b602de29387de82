"""Cell values (单元格取值): dates in the ways clerks write them, identifiers that must not have gone
through a number, tag lists, coded values and how a cell is shown in a report. Pure functions; each
parser returns the value to pass on or raises ValueError with the reason (never the cell's personal
content).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from zhizhi.core.access import mask_name, mask_phone
from zhizhi.registry import rules
from zhizhi.registry.identifiers import NUMBER_LOST, clean_identifier
from zhizhi.registry.identifiers.common import prepare
from zhizhi.registry.intake.source import Cell

EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system as Excel counts it (serial 60 is the 29 February 1900 that
never was, so serials from 61 on are days since this date; ECMA-376 Part 1 §18.17.4.1)."""
MAX_SERIAL = 2958465  # 9999-12-31
_DATE_TEXT = re.compile(
    r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+0{1,2}:0{1,2}(?::0{1,2}(?:\.0+)?)?)?"
)
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")
TAG_SEPARATORS = re.compile(r"[、,，;；/|\s]+")
DATE_FORMATS = "2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301, an Excel date or date serial"


def _digits(text: str) -> str:
    """Full-width digits and punctuation of a date or number folded (NFKC); only used on values that
    are parsed, never on text that is stored."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _ymd(y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise ValueError(f"not a real date ({DATE_FORMATS})") from None


def excel_serial(n: float) -> date:
    """The date of an Excel serial day number (1900 date system); a fraction (time of day) is
    dropped. Raises ValueError outside 1..2958465 and for serial 60 (1900-02-29, which did not
    exist). Source: ECMA-376 Part 1 §18.17.4.1."""
    if not 1 <= n <= MAX_SERIAL:
        raise ValueError(f"a number that is not a date ({DATE_FORMATS})")
    day = int(n)
    if day == 60:
        raise ValueError("serial 60 is 1900-02-29, which does not exist")
    return EXCEL_EPOCH + timedelta(days=day if day > 60 else day + 1)


def parse_date_cell(value: Cell) -> date | None:
    """A date from a cell: a date or datetime cell (a time of day is dropped), an Excel serial, an
    8-digit number ``20240301``, or text ``2024-03-01``, ``2024/3/1``, ``2024.3.1``, ``2024年3月1日``,
    ``20240301`` (a time ``00:00[:00]`` after it is allowed). Empty → None.
    Raises ValueError saying which forms are understood."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"true/false is not a date ({DATE_FORMATS})")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a date")
        if float(value).is_integer() and 18000101 <= value <= 29991231:
            s = str(int(value))
            return _ymd(int(s[:4]), int(s[4:6]), int(s[6:]))
        return excel_serial(float(value))
    if isinstance(value, time | timedelta):
        raise ValueError(f"a time, not a date ({DATE_FORMATS})")
    s = _digits(str(value)).strip()
    if not s:
        return None
    m = _DATE_TEXT.fullmatch(s) or _DATE_DIGITS.fullmatch(s)
    if m is None:
        raise ValueError(f"not a date: write it as {DATE_FORMATS}")
    return _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def identifier_text(value: Cell, max_number_digits: int = 15) -> tuple[str | None, str | None]:
    """A key that is not checksummed (户号, 房屋编码) from a cell: ``(text, warning)``. Cleaned like an
    identifier (full width folded, invisible characters and spaces removed); a whole number of at
    most ``max_number_digits`` digits is accepted with a warning (leading zeros may be lost); a
    longer number, or its rendering (``4.40524E+17``), is refused. Empty → ``(None, None)``.
    Raises ValueError (:data:`~zhizhi.registry.identifiers.NUMBER_LOST`)."""
    if value == "" or value is None:
        return None, None
    text, errors, warnings = prepare(value, max_number_digits=max_number_digits)
    if text is None:
        if errors and errors[0].startswith("empty"):
            return None, None
        raise ValueError("; ".join(errors) or NUMBER_LOST)
    return text, (warnings[0] if warnings else None)


def plain_text(value: Cell) -> str | None:
    """A free-text cell (name, address …) as text, not width-folded: a whole number without its
    ``.0``, a date in ISO form; empty → None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def number_value(value: Cell) -> int | float | str | None:
    """A numeric cell as it is, or text with full-width digits folded (the service checks ranges)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("true/false is not a number")
    if isinstance(value, int | float):
        return value
    s = _digits(str(value)).strip().replace(",", "")
    return s or None


def parse_tags(value: Cell, aliases: Mapping[str, str]) -> list[str]:
    """Tag codes of a cell listing tags (``低保、高龄``, ``低保,残疾人``, ``dibao;tekun``): split on
    、,，;；/| and spaces; each item a tag label or code of ``tags.yaml`` or a spelling of ``aliases``.
    Returns the codes in catalogue order without repeats. Raises ValueError naming the unknown
    item and the known labels."""
    text = plain_text(value)
    if not text:
        return []
    cat = rules.tag_catalogue()
    by_label = {t.label: t.code for t in cat.values()}
    found: set[str] = set()
    for item in TAG_SEPARATORS.split(text):
        if not item:
            continue
        code = by_label.get(item) or aliases.get(item) or (item.lower() if item.lower() in cat else None)
        if code is None:
            known = "、".join(t.label for t in cat.values())
            raise ValueError(f'"{item[:20]}" is not a tag: use the labels {known}')
        found.add(code)
    return [c for c in cat if c in found]


def coded_value(value: Cell, aliases: Mapping[str, str], table: Mapping[str, str] | None = None) -> Cell:
    """A coded cell (民族, 与户主关系, 状态 …) as its code where it can be told: a clerk's spelling of
    ``aliases`` (``儿子`` → ``20``), a label of the code ``table`` (``汉族`` → ``01``), an ethnicity
    written without 族 (``汉`` → ``01``). Anything else passes unchanged: the service checks it against
    the code table and says what is wrong."""
    if isinstance(value, str):
        s = value.strip()
        if s in aliases:
            return aliases[s]
        if table is not None and s not in table:
            for code, label in table.items():
                if s == label or s + "族" == label:
                    return code
        return s
    return value


IDENTIFIER_FIELDS = frozenset({"citizen_id", "head_citizen_id", "uscc", "org_code"})
"""Fields a number can never be: a number in them is shown as Excel shows it."""


CITIZEN_ID_FIELDS = frozenset({"citizen_id", "head_citizen_id"})
_SCIENTIFIC = re.compile(r"\s*[+-]?(\d)(?:\.(\d*))?[eE][+-]?\d+\s*")
EXCEL_DIGITS = 15
"""Significant digits Excel keeps of a number (IEEE 754 double, shown to 15 digits)."""


def _id_char(c: str) -> bool:
    """A character of an identifier's body: a digit or a letter, full width included."""
    return (c.isascii() or "\uff10" <= c <= "\uff5a") and unicodedata.normalize("NFKC", c).isalnum()


def mask_id_text(text: str) -> str:
    """A citizen ID cell's text masked in the middle, everything else of the text kept as the cell
    held it, so the clerk recognises the value and sees what is wrong with it.

    The masking rule of the registers (``mask_citizen_id``; core.access.mask_text for free text): an
    ID's first 6 characters (the region) and last 4 are kept, those between are stars. Here it is
    applied to the ID's characters (digits and letters, full width too) where they stand, so
    separators, quotes and ``=`` stay: ``="500118********1234"``, ``500118 ******** 1234``,
    ``440,524,***,***,**0,000``. A value of 16 or 17 characters keeps only those past the 14th (the
    birth date stays hidden), one under 15 characters only its last 2. A number's rendering
    (``4.40524E+17``) keeps its first 6 significant digits and its exponent:
    ``4.4052418800101e+17`` → ``4.40524********e+17``."""
    m = _SCIENTIFIC.fullmatch(unicodedata.normalize("NFKC", text)) if "e" in text.lower() else None
    if m is not None and len(text) == len(m.group(0)):
        first, frac = m.start(1), m.start(2) if m.group(2) else -1
        keep = {first} | ({*range(frac, frac + 5)} if frac >= 0 else set())
        return "".join(
            "*" if frac <= i < m.end(2) and i not in keep and frac >= 0 else c for i, c in enumerate(text)
        )
    where = [i for i, c in enumerate(text) if _id_char(c)]
    n = len(where)
    head, tail = (6, 4) if n in (15, 18) or n > 18 else (6, n - 14) if n > 15 else (0, 2)
    hidden = set(where[head : n - tail])
    return "".join("*" if i in hidden else c for i, c in enumerate(text))


def _number_shown(name: str, value: int | float) -> str:
    """An identifier cell that holds a number, as the clerk finds it: the digits the cell holds (a
    float to Excel's 15 significant digits, so lost digits show as zeros), masked like an ID for
    citizen IDs, then ``(a number, shown as 4.40524E+17)`` — Excel's General display, from 12
    digits on — or ``(a number)``."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} (a number)"
    if isinstance(value, int):
        digits = str(value)
    elif value.is_integer():
        digits = str(int(Decimal(f"{value:.{EXCEL_DIGITS}g}")))
    else:
        digits = f"{value:.{EXCEL_DIGITS}g}"
    if name in CITIZEN_ID_FIELDS:
        digits = mask_id_text(digits)
    if abs(value) >= 1e11:  # Excel's General format switches to E notation: 4.40524E+17
        return f"{digits} (a number, shown as {value:.6G})"
    return f"{digits} (a number)"


def shown_value(name: str, value: Cell) -> str:
    """A cell as shown in a report line: personal fields masked (citizen IDs ``500118********123X``
    as the cell held them, :func:`mask_id_text`; phones ``138****5678``, names ``张**``, addresses
    ``***``, birth dates to the year); an identifier cell holding a number as its digits with
    ``(a number, shown as 5.00118E+17)``; other fields as text (at most 40 characters)."""
    text = report_text(value)
    if not text:
        return ""
    if name in IDENTIFIER_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return _number_shown(name, value)
    if name in CITIZEN_ID_FIELDS:
        return mask_id_text(text if len(text) <= 60 else text[:59] + "…")
    if name == "phone":
        return mask_phone(clean_identifier(text)) or ""
    if name in ("name", "head_name", "legal_rep"):
        return mask_name(text) or ""
    if name == "address":
        return "***"
    if name == "birth_date":
        return text[:4] + "***"
    return text if len(text) <= 40 else text[:39] + "…"


def report_text(value: Cell) -> str:
    """A cell as text in the reject workbook, so that it survives a round trip as text: a number
    that cannot be an exact whole number of 15 digits or less keeps Python's rendering
    (``4.4052418800101e+17``, which the importer refuses again until the clerk retypes it), a whole
    number loses its ``.0``, dates are ISO, true/false are TRUE/FALSE."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


__all__ = [
    "CITIZEN_ID_FIELDS",
    "IDENTIFIER_FIELDS",
    "coded_value",
    "excel_serial",
    "identifier_text",
    "mask_id_text",
    "number_value",
    "parse_date_cell",
    "parse_tags",
    "plain_text",
    "report_text",
    "shown_value",
]
