"""Event category catalogue (事件分类, 立结案标准).

The catalogue is policy held as data in ``event/data/categories.yaml``. It is a tree root → 大类 (group,
2-digit code) → 小类 (leaf, 4-digit code). Each leaf carries 立案条件, 结案条件, board (板块), default
unit (责任单位) and per-node time limits (时限). :func:`load_catalogue` validates the file against
``org/data/departments.yaml`` and ``org/data/boards.yaml`` and returns a :class:`Catalogue`. Every
problem raises :class:`CatalogueError`, and the message names the file, the category code, the field
and the reason.

:func:`classify_message` (``event/message_rules.py``) maps a free-text citizen message onto a leaf.

Pure module: no database, no web framework. Both default loads are cached, so loading at start-up
costs one YAML parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from zhizhi.core.time import ClockType

_HERE = Path(__file__).resolve().parent
CATALOGUE_PATH = _HERE / "data" / "categories.yaml"
DEPARTMENTS_PATH = _HERE.parent / "org" / "data" / "departments.yaml"
BOARDS_PATH = _HERE.parent / "org" / "data" / "boards.yaml"

NODES: tuple[str, ...] = ("accept", "register", "dispatch", "sign", "handle", "verify", "close")
"""Nodes with a time limit: accept 上报→受理, register 受理→立案, dispatch 立案→派遣, sign 派遣→签收,
handle 签收→处置反馈, verify 处置→核查, close 核查通过→结案."""
URGENCIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TOWN = "town"
"""``default_unit`` value meaning 属地: the event is handed down to the township centre."""
CLOCKS: tuple[str, ...] = tuple(c.value for c in ClockType)
_HOUR_CLOCKS = frozenset({ClockType.continuous.value, ClockType.working_hours.value})
_UNITS = {"minutes": 1 / 60, "hours": 1.0, "days": 1.0}

_GROUP_DEFAULT_KEYS = ("board", "default_unit", "urgency", "allow_out_of_area", "confidential")
_LEAF_KEYS = frozenset({"code", "name", "register_conditions", "close_conditions", "limits", "source",
                        *_GROUP_DEFAULT_KEYS})
_GROUP_KEYS = frozenset({"code", "name", "defaults", "leaves"})
_ROOT_KEYS = frozenset({"key", "name", "groups"})
_TOP_KEYS = frozenset({"version", "default_limits", "urgency_limits", "roots"})

try:  # the libyaml loader is several times faster; fall back to the pure-Python one
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader


class CatalogueError(ValueError):
    """An invalid catalogue or rules file, or a lookup of an unknown category or node."""


@dataclass(frozen=True, slots=True)
class Limit:
    """One node's time limit (时限): ``amount`` in hours (continuous, working_hours) or days
    (working_days, natural_days) on ``clock``."""

    amount: float
    clock: str


@dataclass(frozen=True, slots=True)
class Leaf:
    """A 小类 (leaf category) with its 立结案标准.

    ``limits`` holds all 7 nodes after defaults have been applied. ``own_limits`` lists the nodes the
    leaf sets itself.
    """

    code: str
    name: str
    root: str
    group_code: str
    group_name: str
    register_conditions: tuple[str, ...]
    close_conditions: tuple[str, ...]
    board: str
    default_unit: str
    urgency: str
    allow_out_of_area: bool
    confidential: bool
    limits: Mapping[str, Limit]
    own_limits: frozenset[str]
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (lists, dicts, str, float, bool)."""
        return {
            "code": self.code, "name": self.name, "root": self.root, "group_code": self.group_code,
            "group_name": self.group_name, "register_conditions": list(self.register_conditions),
            "close_conditions": list(self.close_conditions), "board": self.board,
            "default_unit": self.default_unit, "urgency": self.urgency,
            "allow_out_of_area": self.allow_out_of_area, "confidential": self.confidential,
            "limits": {n: {"amount": self.limits[n].amount, "clock": self.limits[n].clock} for n in NODES},
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Group:
    """A 大类 (group): 2-digit code, name, its root key and its leaf codes in file order."""

    code: str
    name: str
    root: str
    leaf_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Root:
    """A root of the tree (urban / governance / hotline) and its group codes in file order."""

    key: str
    name: str
    group_codes: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """The validated category catalogue. Build it with :func:`load_catalogue`."""

    path: str
    version: int
    roots: tuple[Root, ...]
    groups: Mapping[str, Group]
    default_limits: Mapping[str, Limit]
    urgency_limits: Mapping[str, Mapping[str, Limit]]
    _leaves: Mapping[str, Leaf] = field(repr=False)
    _by_name: Mapping[str, Leaf] = field(repr=False)

    def leaf(self, code: str) -> Leaf:
        """The leaf with 4-digit ``code``. Raises CatalogueError 'unknown category "X"' if absent."""
        try:
            return self._leaves[code]
        except (KeyError, TypeError):
            raise CatalogueError(f'unknown category "{code}"') from None

    def has_leaf(self, code: str) -> bool:
        """Whether ``code`` is a leaf of this catalogue."""
        return code in self._leaves

    def leaves(self) -> list[Leaf]:
        """All leaves in file order (root, group, leaf)."""
        return list(self._leaves.values())

    def group(self, code: str) -> Group:
        """The 大类 with 2-digit ``code``. Raises CatalogueError 'unknown category group "X"'."""
        try:
            return self.groups[code]
        except (KeyError, TypeError):
            raise CatalogueError(f'unknown category group "{code}"') from None

    def find_by_name(self, name: str) -> Leaf | None:
        """The leaf whose name is exactly ``name`` (e.g. "暴露垃圾"), or None. Leaf names are unique."""
        return self._by_name.get(name.strip())

    def limit(self, code: str, node: str, urgency: str | None = None) -> tuple[float, str]:
        """Time limit of ``node`` for leaf ``code``: ``(amount, clock)``.

        ``amount`` is in hours for the clocks "continuous" and "working_hours" and in days for
        "working_days" and "natural_days". The value falls back leaf → urgency_limits → default_limits.
        ``urgency`` (low|normal|high|urgent) is the event's own when it differs from the leaf's (a
        report marked 紧急): the leaf's own limits still win, then ``urgency_limits[urgency]``, then
        ``default_limits``. Raises CatalogueError for an unknown category, node or urgency.
        """
        leaf = self.leaf(code)
        if node not in NODES:
            raise CatalogueError(_unknown("node", node, NODES))
        if urgency is None or urgency == leaf.urgency or node in leaf.own_limits:
            lim = leaf.limits[node]
        elif urgency not in URGENCIES:
            raise CatalogueError(_unknown("urgency", urgency, URGENCIES))
        else:
            lim = self.urgency_limits.get(urgency, {}).get(node) or self.default_limits[node]
        return lim.amount, lim.clock

    def tree(self) -> list[dict[str, Any]]:
        """The whole tree as JSON-ready data: ``[{key, name, groups: [{code, name, leaves: [...]}]}]``."""
        return [
            {"key": r.key, "name": r.name, "groups": [
                {"code": g, "name": self.groups[g].name,
                 "leaves": [self._leaves[c].as_dict() for c in self.groups[g].leaf_codes]}
                for g in r.group_codes]}
            for r in self.roots
        ]


# ---------------------------------------------------------------------------------------------------
# loading


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: invalid YAML: {exc}") from None


def _unknown(kind: str, value: Any, allowed: Iterable[str]) -> str:
    return f'unknown {kind} "{value}" (expected one of {", ".join(allowed)})'


class _Checker:
    """Builds error messages that name the file, the category code and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, code: str | None, fld: str, reason: str) -> CatalogueError:
        where = f'category "{code}" field "{fld}"' if code is not None else f'field "{fld}"'
        return CatalogueError(f"{self.path}: {where}: {reason}")

    def text(self, value: Any, code: str | None, fld: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(code, fld, "must be a non-empty string")
        return value.strip()

    def flag(self, value: Any, code: str | None, fld: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(code, fld, f"must be true or false, not {value!r}")
        return value

    def texts(self, value: Any, code: str | None, fld: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(code, fld, "must be a non-empty list of strings")
        return tuple(self.text(v, code, f"{fld}[{i}]") for i, v in enumerate(value))

    def mapping(self, value: Any, code: str | None, fld: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(code, fld, "must be a mapping")
        return value

    def keys(self, value: Mapping[str, Any], allowed: frozenset[str], code: str | None, fld: str) -> None:
        extra = sorted(str(k) for k in value if k not in allowed)
        if extra:
            raise self.fail(code, fld, f'unknown key "{extra[0]}" (allowed: {", ".join(sorted(allowed))})')

    def limit(self, value: Any, code: str | None, fld: str) -> Limit:
        m = self.mapping(value, code, fld)
        self.keys(m, frozenset({"amount", "clock", "unit"}), code, fld)
        clock = m.get("clock")
        if clock not in CLOCKS:
            raise self.fail(code, f"{fld}.clock", _unknown("clock", clock, CLOCKS))
        amount = m.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise self.fail(code, f"{fld}.amount", f"must be a number, not {amount!r}")
        if amount < 0:
            raise self.fail(code, f"{fld}.amount", f"negative amount {amount}")
        if amount == 0:
            raise self.fail(code, f"{fld}.amount", "amount must be greater than 0")
        unit = m.get("unit", "hours" if clock in _HOUR_CLOCKS else "days")
        if unit not in _UNITS:
            raise self.fail(code, f"{fld}.unit", f'unknown unit "{unit}" (expected minutes, hours or days)')
        if (unit == "days") == (clock in _HOUR_CLOCKS):
            raise self.fail(code, f"{fld}.unit", f'unit "{unit}" does not fit clock "{clock}"')
        return Limit(float(amount) * _UNITS[unit], str(clock))

    def limits(self, value: Any, code: str | None, fld: str, complete: bool) -> dict[str, Limit]:
        m = self.mapping(value, code, fld)
        out: dict[str, Limit] = {}
        for node, raw in m.items():
            if node not in NODES:
                raise self.fail(code, f"{fld}.{node}", _unknown("node", node, NODES))
            out[node] = self.limit(raw, code, f"{fld}.{node}")
        if complete:
            missing = [n for n in NODES if n not in out]
            if missing:
                raise self.fail(code, fld, f'missing node "{missing[0]}"')
        return out


def _known_departments(path: Path) -> frozenset[str]:
    doc = _read_yaml(path)
    rows = doc.get("departments") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise CatalogueError(f'{path}: field "departments": must be a list')
    abbrs = set()
    for i, row in enumerate(rows):
        abbr = row.get("abbr") if isinstance(row, dict) else None
        if not isinstance(abbr, str) or not abbr:
            raise CatalogueError(f'{path}: field "departments[{i}].abbr": must be a non-empty string')
        if abbr in abbrs:
            raise CatalogueError(f'{path}: field "departments[{i}].abbr": duplicate abbr "{abbr}"')
        abbrs.add(abbr)
    return frozenset(abbrs)


def _known_boards(path: Path) -> frozenset[str]:
    doc = _read_yaml(path)
    rows = doc.get("boards") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise CatalogueError(f'{path}: field "boards": must be a list')
    keys = [row.get("key") if isinstance(row, dict) else None for row in rows]
    if not all(isinstance(k, str) and k for k in keys):
        raise CatalogueError(f'{path}: field "boards[].key": must be a non-empty string')
    return frozenset(str(k) for k in keys)


def _build(path: Path, departments: frozenset[str], boards: frozenset[str]) -> Catalogue:
    ck = _Checker(path)
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise CatalogueError(f"{path}: the file must hold a mapping with version, default_limits, roots")
    ck.keys(doc, _TOP_KEYS, None, "(top level)")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ck.fail(None, "version", f"must be an integer, not {version!r}")
    default_limits = ck.limits(doc.get("default_limits"), None, "default_limits", complete=True)
    urgency_limits: dict[str, dict[str, Limit]] = {}
    for urg, raw in ck.mapping(doc.get("urgency_limits", {}), None, "urgency_limits").items():
        if urg not in URGENCIES:
            raise ck.fail(None, f"urgency_limits.{urg}", _unknown("urgency", urg, URGENCIES))
        urgency_limits[urg] = ck.limits(raw, None, f"urgency_limits.{urg}", complete=False)

    roots_raw = doc.get("roots")
    if not isinstance(roots_raw, list) or not roots_raw:
        raise ck.fail(None, "roots", "must be a non-empty list")
    roots: list[Root] = []
    groups: dict[str, Group] = {}
    leaves: dict[str, Leaf] = {}
    by_name: dict[str, Leaf] = {}
    for ri, root_raw in enumerate(roots_raw):
        rm = ck.mapping(root_raw, None, f"roots[{ri}]")
        ck.keys(rm, _ROOT_KEYS, None, f"roots[{ri}]")
        key = ck.text(rm.get("key"), None, f"roots[{ri}].key")
        if any(r.key == key for r in roots):
            raise ck.fail(None, f"roots[{ri}].key", f'duplicate root "{key}"')
        rname = ck.text(rm.get("name"), None, f"roots[{ri}].name")
        groups_raw = rm.get("groups")
        if not isinstance(groups_raw, list) or not groups_raw:
            raise ck.fail(None, f"roots[{ri}].groups", "must be a non-empty list")
        gcodes: list[str] = []
        for gi, group_raw in enumerate(groups_raw):
            gm = ck.mapping(group_raw, None, f"roots[{ri}].groups[{gi}]")
            gcode = gm.get("code")
            if not isinstance(gcode, str) or len(gcode) != 2 or not gcode.isdigit():
                raise ck.fail(None if gcode is None else str(gcode), "code",
                              "a group code must be a quoted string of 2 digits")
            ck.keys(gm, _GROUP_KEYS, gcode, "(group)")
            if gcode in groups:
                raise ck.fail(gcode, "code", "duplicate code")
            gname = ck.text(gm.get("name"), gcode, "name")
            defaults = ck.mapping(gm.get("defaults", {}), gcode, "defaults")
            ck.keys(defaults, frozenset(_GROUP_DEFAULT_KEYS), gcode, "defaults")
            leaves_raw = gm.get("leaves")
            if not isinstance(leaves_raw, list) or not leaves_raw:
                raise ck.fail(gcode, "leaves", "must be a non-empty list")
            lcodes: list[str] = []
            for li, leaf_raw in enumerate(leaves_raw):
                leaf = _build_leaf(ck, leaf_raw, f"{gcode}.leaves[{li}]", key, gcode, gname, defaults,
                                   default_limits, urgency_limits, departments, boards)
                if leaf.code in leaves or leaf.code in groups or leaf.code == gcode:
                    raise ck.fail(leaf.code, "code", "duplicate code")
                if leaf.name in by_name:
                    other = by_name[leaf.name].code
                    raise ck.fail(leaf.code, "name", f'duplicate name "{leaf.name}" (also {other})')
                leaves[leaf.code] = leaf
                by_name[leaf.name] = leaf
                lcodes.append(leaf.code)
            groups[gcode] = Group(gcode, gname, key, tuple(lcodes))
            gcodes.append(gcode)
        roots.append(Root(key, rname, tuple(gcodes)))
    return Catalogue(str(path), version, tuple(roots), groups, default_limits, urgency_limits, leaves,
                     by_name)


def _build_leaf(ck: _Checker, raw: Any, where: str, root: str, gcode: str, gname: str,
                defaults: Mapping[str, Any], default_limits: Mapping[str, Limit],
                urgency_limits: Mapping[str, Mapping[str, Limit]], departments: frozenset[str],
                boards: frozenset[str]) -> Leaf:
    m = ck.mapping(raw, gcode, where)
    code = m.get("code")
    if not isinstance(code, str) or len(code) != 4 or not code.isdigit():
        raise ck.fail(None if code is None else str(code), "code",
                      f"a leaf code must be a quoted string of 4 digits (in group {gcode})")
    if not code.startswith(gcode):
        raise ck.fail(code, "code", f'leaf code is not prefixed by its group code "{gcode}"')
    ck.keys(m, _LEAF_KEYS, code, "(leaf)")
    merged = {**defaults, **{k: m[k] for k in _GROUP_DEFAULT_KEYS if k in m}}
    for req in ("board", "default_unit", "urgency"):
        if req not in merged:
            raise ck.fail(code, req, "missing (set it on the leaf or in the group defaults)")
    board = merged["board"]
    if board not in boards:
        raise ck.fail(code, "board", _unknown("board", board, sorted(boards)))
    unit = merged["default_unit"]
    if unit != TOWN and unit not in departments:
        raise ck.fail(code, "default_unit", f'unknown department abbr "{unit}" (not in departments.yaml, '
                      f'and not "{TOWN}")')
    urgency = merged["urgency"]
    if urgency not in URGENCIES:
        raise ck.fail(code, "urgency", _unknown("urgency", urgency, URGENCIES))
    own = ck.limits(m.get("limits", {}), code, "limits", complete=False)
    resolved = {**default_limits, **urgency_limits.get(urgency, {}), **own}
    source = m.get("source")
    if source is not None:
        source = ck.text(source, code, "source")
    return Leaf(
        code=code, name=ck.text(m.get("name"), code, "name"), root=root, group_code=gcode, group_name=gname,
        register_conditions=ck.texts(m.get("register_conditions"), code, "register_conditions"),
        close_conditions=ck.texts(m.get("close_conditions"), code, "close_conditions"),
        board=str(board), default_unit=str(unit), urgency=str(urgency),
        allow_out_of_area=ck.flag(merged.get("allow_out_of_area", False), code, "allow_out_of_area"),
        confidential=ck.flag(merged.get("confidential", False), code, "confidential"),
        limits=MappingProxyType({n: resolved[n] for n in NODES}), own_limits=frozenset(own), source=source,
    )


@lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return _build(CATALOGUE_PATH, _known_departments(DEPARTMENTS_PATH), _known_boards(BOARDS_PATH))


def load_catalogue(path: str | Path | None = None, departments_path: str | Path | None = None,
                   boards_path: str | Path | None = None) -> Catalogue:
    """Load and validate the event category catalogue (事件分类目录).

    Parameters
    ----------
    path : YAML catalogue file. None means the shipped ``event/data/categories.yaml``. That default
        load, with the default departments and boards, is cached for the life of the process.
    departments_path : ``departments.yaml`` whose ``abbr`` values are the valid ``default_unit`` values
        (besides "town"). None means ``org/data/departments.yaml``.
    boards_path : ``boards.yaml`` whose ``key`` values are the valid ``board`` values. None means
        ``org/data/boards.yaml``.

    Returns
    -------
    Catalogue
        Every leaf has all 7 node limits after the fallback leaf → urgency_limits → default_limits.

    Raises
    ------
    CatalogueError
        The message names the file, the category code, the field and the reason. Reasons include
        an unreadable or non-YAML file, an unknown board, an unknown department abbr, an unknown
        clock/node/urgency, a negative or zero amount, a duplicate code or name, a leaf code not
        prefixed by its group code, and a missing required field.

    Source: the 立结案标准 table layout (大类/小类 → 立案条件, 处置时限, 结案条件, 责任单位) and node
    limits of GB/T 30428.8 / CJ/T 315-2009 practice, as in governance-features.md §5-§6.
    """
    if path is None and departments_path is None and boards_path is None:
        return _default_catalogue()
    return _build(Path(path) if path is not None else CATALOGUE_PATH,
                  _known_departments(Path(departments_path) if departments_path else DEPARTMENTS_PATH),
                  _known_boards(Path(boards_path) if boards_path else BOARDS_PATH))
