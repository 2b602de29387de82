"""Converting columns of fixed-width numpy strings (``S``/``U`` arrays, see ``table``) without a Python
object per value: decimals to float64 (:func:`to_float`) and distinct values with each element's index
(:func:`unique_inverse`).

Both work on the characters as 64-bit words, 8 bytes at a time ("SWAR": SIMD within a register), in
chunks of rows so that the temporaries stay in the CPU cache. Pure: no database.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

_POW10 = np.array([float(10**k) for k in range(23)])
"""10^0 .. 10^22, all exact doubles (the exact-division fast path of Clinger 1990)."""
_MAX_DIGITS = 14
"""Digits of a decimal read by :func:`to_float` itself: 10^14 < 2^53, so the mantissa is exact."""
_ROW_CHUNK = 1 << 16
"""Rows converted at a time (the temporaries then fit in the CPU cache)."""

# Byte-parallel ("SWAR") arithmetic on 64-bit words holding 8 characters each, first character in the
# lowest byte. Every mask below is per byte; H marks each byte's high bit.
_ONES = np.uint64(0x0101010101010101)
_H = np.uint64(0x8080808080808080)
_LO7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_LOW = np.array([(1 << (8 * q)) - 1 for q in range(9)], dtype=np.uint64)
"""_LOW[q]: the low q bytes of a word set."""
_LOW_AT = np.array([(1 << (8 * min(max(q - 8, 0), 8))) - 1 for q in range(8 + 17 + 8)], dtype=np.uint64)
"""_LOW_AT[q + 8]: _LOW[clip(q, 0, 8)] for -8 <= q <= 24, a lookup without a clip."""
_POW10_U = np.array([10**k for k in range(20)], dtype=np.uint64)


def _zero_bytes(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """H-bit set in each byte of x that is 0 (exact, no false positives)."""
    return ~(((x & _LO7) + _LO7) | x) & _H


def _digit_bytes(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """H-bit set in each byte of x that is an ASCII digit (valid where every byte of x is < 0x80)."""
    ge_0 = ((x | _H) - _ONES * np.uint64(0x30)) & _H
    le_9 = ~(x + _ONES * np.uint64(0x46)) & _H
    return ge_0 & le_9


def _eight_digits(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The 8 characters of x read as an 8-digit number, each byte taken mod 16 (a NUL counts as 0)."""
    x = ((x & np.uint64(0x0F0F0F0F0F0F0F0F)) * np.uint64(2561)) >> np.uint64(8)
    x = ((x & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> np.uint64(16)
    return ((x & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> np.uint64(32)


def _lowest_byte(flags: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Index (0-7) of the lowest byte whose H-bit is set in ``flags`` (8 when none is)."""
    low = flags & (np.uint64(0) - flags)
    return np.where(flags != 0, np.bitwise_count(low - np.uint64(1)).astype(np.int64) // 8, 8)


def low_bytes(q: NDArray[np.int64], skip: int) -> NDArray[np.uint64]:
    """Per row, a word mask of its bytes i < q among bytes ``skip`` .. ``skip + 7`` (q - skip clipped
    to 0..8)."""
    return _LOW[np.minimum(np.maximum(q - skip, 0), 8)]


def _bytes_between(a: NDArray[np.int64], b: NDArray[np.int64], word: int) -> NDArray[np.uint64]:
    """Mask of bytes a <= i < b of a row (0 <= a, b <= 16), restricted to its ``word``-th 64-bit word."""
    return _LOW_AT[b + (8 - 8 * word)] & ~_LOW_AT[a + (8 - 8 * word)]


def _words(a: NDArray[Any]) -> NDArray[np.uint64]:
    """An (n,) ``S``/``U`` column as (n, k) little-endian 64-bit words of its characters, NUL-padded
    (an ``S`` column must have no NUL before its last character, as the splitter's never do); in a
    ``U`` column a non-ASCII character or an inner NUL becomes byte 0x01, neither digit nor padding."""
    n = len(a)
    if a.dtype.kind == "S":
        w = 8 * max(1, -(-a.dtype.itemsize // 8))
        b = a if a.dtype.itemsize == w else a.astype(f"S{w}")
        return np.ascontiguousarray(b).view("<u8").reshape(n, w // 8)
    codes = np.ascontiguousarray(a).view(np.uint32).reshape(n, a.dtype.itemsize // 4)
    w = 8 * max(1, -(-codes.shape[1] // 8))
    m = np.zeros((n, w), np.uint8)
    inner = np.cumsum((codes != 0)[:, ::-1], axis=1)[:, ::-1] > 0  # up to the last character
    m[:, : codes.shape[1]] = np.where((codes < 128) & ((codes != 0) | ~inner), codes, 1)
    return m.view("<u8").reshape(n, w // 8)


def text_of(v: Any) -> str:
    """One element of an ``S`` or ``U`` column as str (``S`` columns are ASCII)."""
    return v.decode("ascii") if isinstance(v, bytes) else str(v)


def to_float(a: NDArray[Any]) -> NDArray[np.float64]:
    """Numbers in an ``S``/``U`` column as float64, NaN where the text is not a number.

    Plain decimals (``-?digits[.digits]``, at most 16 characters and 14 digits) are read 8 characters
    at a time with integer arithmetic into an exact integer mantissa M and a digit count k after the
    point; M / 10^k divides two exact doubles, so it is the correctly rounded value, the same double as
    ``float()`` gives (Clinger 1990). Anything else (blanks, exponents, ``+``, ``inf``, longer
    numbers, non-ASCII digits) goes to ``float()`` one value at a time, as ``numpy.array(values,
    float)`` would, with NaN for what ``float()`` refuses.
    """
    n = len(a)
    out = np.empty(n, dtype=np.float64)
    for i in range(0, n, _ROW_CHUNK):  # chunks: the temporaries stay in the CPU cache
        part = a[i : i + _ROW_CHUNK]
        out[i : i + len(part)] = _to_float(part)
    return out


def _to_float(a: NDArray[Any]) -> NDArray[np.float64]:
    n = len(a)
    words = _words(a)
    two = words.shape[1] > 1
    lo = words[:, 0]
    hi = words[:, 1] if two else lo  # hi is only read when two
    length = np.zeros(n, np.int64)
    high_bits = np.zeros(n, np.uint64)
    for j in range(words.shape[1]):
        length += 8 - np.bitwise_count(_zero_bytes(words[:, j])).astype(np.int64)
        high_bits |= words[:, j] & _H
    dots = _ONES * np.uint64(0x2E)
    digits = np.bitwise_count(_digit_bytes(lo)).astype(np.int64)
    dot_lo = _zero_bytes(lo ^ dots)
    point = np.where(dot_lo != 0, _lowest_byte(dot_lo), length)
    has_dot = dot_lo != 0
    if two:
        digits += np.bitwise_count(_digit_bytes(hi))
        dot_hi = _zero_bytes(hi ^ dots)
        point = np.where((dot_lo == 0) & (dot_hi != 0), 8 + _lowest_byte(dot_hi), point)
        has_dot |= dot_hi != 0
    neg = (lo & np.uint64(0xFF)) == np.uint64(0x2D)
    plain = (
        (high_bits == 0)
        & (length <= 16)
        & (digits == length - neg - has_dot)
        & (digits >= 1)
        & (digits <= _MAX_DIGITS)
    )
    point = np.minimum(point, 16)
    end = np.minimum(length, 16)
    first = neg.astype(np.int64)
    e8 = np.uint64(10**8)
    # both parts as 16-digit numbers (NULs count as 0): whole = W * 10^(16 - point), part = F * 10^(16 - end)
    whole = _eight_digits(lo & _bytes_between(first, point, 0)) * e8
    part = _eight_digits(lo & _bytes_between(point + 1, end, 0)) * e8
    if two:
        whole += _eight_digits(hi & _bytes_between(first, point, 1))
        part += _eight_digits(hi & _bytes_between(point + 1, end, 1))
    after = np.where(has_dot, np.maximum(end - point - 1, 0), 0)
    mantissa = (whole // _POW10_U[16 - point]) * _POW10_U[after] + part // _POW10_U[16 - end]
    out = mantissa.astype(np.float64) / _POW10[after]
    out = np.where(neg, -out, out)
    for i in np.flatnonzero(~plain).tolist():
        try:
            out[i] = float(text_of(a[i]))
        except ValueError:
            out[i] = np.nan
    return np.asarray(out, dtype=np.float64)


def _unique_keys(key: NDArray[np.uint64]) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
    """Sorted distinct values of ``key`` and each element's index among them. The distinct values of
    a strided sample are found first and every key is looked up among them (binary search in a short
    array); only keys the sample missed are sorted."""
    sample = np.unique(key[:: max(1, len(key) // 4096)])
    inv = np.empty(len(key), dtype=np.intp)
    missed = []
    for i in range(0, len(key), _ROW_CHUNK):
        part = key[i : i + _ROW_CHUNK]
        pos = np.minimum(np.searchsorted(sample, part), len(sample) - 1)
        inv[i : i + len(part)] = pos
        if not (sample[pos] == part).all():
            missed.append(part[sample[pos] != part])
    if not missed:
        return sample, inv
    uk = np.union1d(sample, np.concatenate(missed))
    return uk, np.searchsorted(uk, key)


def _small_key(key: NDArray[np.uint64]) -> NDArray[np.intp] | None:
    """A key under 2^16 standing for each 64-bit word one to one, when the words are short enough:
    under 2^16 already (one or two characters), or up to four digits each (``acq_time``, MODIS
    ``confidence``): digit d becomes nibble d + 1 and a NUL 0. None otherwise."""
    if int(key.max()) < 1 << 16:
        return key.astype(np.intp)
    if (
        int(key.max()) >= 1 << 32
        or (key & _H).any()
        or not (_digit_bytes(key) | _zero_bytes(key) == _H).all()
    ):
        return None
    t = (key & np.uint64(0x0F0F0F0F)) + (_digit_bytes(key) >> np.uint64(7))  # 1..10 per digit, 0 per NUL
    t = (t | (t >> np.uint64(4))) & np.uint64(0x00FF00FF)
    return ((t | (t >> np.uint64(8))) & np.uint64(0xFFFF)).astype(np.intp)


def unique_inverse(a: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Distinct values of an ``S``/``U`` column and, per element, the index of its value.

    Byte strings of up to 16 bytes are compared as one or two 64-bit integers, much faster than
    sorting strings: short ones are counted in a table of 2^16, others looked up among the distinct
    values of a sample; for two words the key is a hash, and equal keys are checked against the words
    themselves (any collision falls back to sorting the strings)."""
    n = len(a)
    if a.dtype.kind == "S" and a.dtype.itemsize <= 16 and n:
        words = _words(a)
        if words.shape[1] == 1:
            small = _small_key(words[:, 0])
            if small is not None:
                present = np.flatnonzero(np.bincount(small, minlength=1 << 16))
                slot = np.zeros(1 << 16, dtype=np.intp)
                slot[present] = np.arange(len(present))
                rep = np.zeros(1 << 16, dtype=np.intp)
                rep[small] = np.arange(n)
                return a[rep[present]], slot[small]
            uk, inv = _unique_keys(words[:, 0])
            return uk.view("S8"), inv
        uk, inv = _unique_keys(words[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ words[:, 1])
        rep = np.zeros(len(uk), np.intp)
        rep[inv] = np.arange(n)
        if np.array_equal(words[rep][inv], words):
            return a[rep], inv
    uniq, inv = np.unique(a, return_inverse=True)
    return uniq, inv.reshape(-1)
