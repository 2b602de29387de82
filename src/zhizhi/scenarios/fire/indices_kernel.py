"""Compiled FWI chain (编译内核): the equations of :mod:`.indices` fused into one numba loop.

:func:`chain` computes, for a block of cells at a time and day after day, FFMC, DMC, DC, ISI, BUI,
FWI and DSR without building any temporary array: the weather of a day is read once and the seven
outputs are written once. Blocks of cells are shared out to :data:`THREADS` Python threads, each
running the compiled loop without the GIL. The loop over the cells of a block is vectorised by LLVM
(AVX2/AVX-512) because every operation in it is plain arithmetic: branches become selects, and
``exp`` / ``log`` / ``x**y`` are the polynomial versions below instead of calls into the C library,
which the compiler cannot vectorise (numba's own route to vector math, Intel SVML, is not in the
PyPI llvmlite wheel). That is worth ~4x on one core; without it the compiled loop is no faster than
xclim's (also numba, scalar). On Intel AVX-512 CPUs the module asks for 512-bit vectors, which LLVM
would otherwise not use there (:func:`_prefer_512_bit_vectors`).

It is the fast engine of :func:`.indices.fwi_series`; the numpy code in :mod:`.indices` stays the
reference and the fallback (no numba, small inputs). The two agree to ~1e-13 relative: the
polynomial exp/log are within 1-2 ulp of the C library's, ``x**y`` is ``exp(y·log x)``, a·b + c is
one fused multiply-add. Every reference table passes with both (tests/scenarios/fire/
test_indices_kernel.py). Semantics are those of the numpy code, select for select, including what
becomes NaN (``np.maximum``/``np.minimum``/``np.clip`` propagate NaN; a comparison with NaN is false).

Sources: the equations and their sources are those of :mod:`.indices` (Van Wagner & Pickett 1985;
cffdrs). exp/log: Cody & Waite range reduction with fdlibm's two-part ln 2, polynomials fitted here
(Chebyshev interpolation at 50 digits with mpmath; Muller, *Elementary Functions*, 3rd ed., 2016).

Importing this module imports numba and needs it; :mod:`.indices` imports it only when it is used.
The first call in a fresh checkout compiles the kernel (15-60 s on the project's 2-core machine,
longer when it is busy) and caches it in ``__pycache__`` beside this file (``cache=True``); later
processes load it in about a second.
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor


def _prefer_512_bit_vectors() -> str | None:
    """Ask numba's code generator for full 512-bit vectors on an AVX-512 CPU; returns the setting
    made (None when nothing was changed).

    LLVM tunes Intel server CPUs (Skylake-SP … Emerald Rapids) to prefer 256-bit vectors even where
    AVX-512 exists (``prefer-256-bit``, what clang's ``-mprefer-vector-width=256`` does), to avoid
    the clock drop of early AVX-512 parts; AMD Zen 4 is tuned for 512 bits already. For this loop,
    which is all arithmetic, 512 bits is ~1.45x faster on the project's Intel Xeon (Emerald Rapids:
    112 -> 77 ns per cell-day on one core). The setting is numba's own documented pair of
    environment variables ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` (the host's name and features
    plus ``-prefer-256-bit``), so it applies to every numba function compiled in this process; it is
    made only when numba is not imported yet and the user has set neither variable, and numba's
    cache keys on it (a cached kernel compiled without it is not reused).
    """
    if "numba" in sys.modules or "NUMBA_CPU_NAME" in os.environ or "NUMBA_CPU_FEATURES" in os.environ:
        return None
    import llvmlite.binding as ll

    features = ll.get_host_cpu_features().flatten()
    if "+avx512f" not in features.split(","):
        return None
    features += ",-prefer-256-bit"
    os.environ["NUMBA_CPU_NAME"] = ll.get_host_cpu_name()
    os.environ["NUMBA_CPU_FEATURES"] = features
    return features


VECTOR_SETTING = _prefer_512_bit_vectors()
"""The CPU features given to numba by :func:`_prefer_512_bit_vectors`, or None (left as numba's)."""

import numba as nb  # noqa: E402  (after the vector-width setting, which must precede it)
import numpy as np  # noqa: E402
from llvmlite import ir  # noqa: E402
from numba import types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

BLOCK_CELLS = 512
"""Cells per block: one block's state and day rows stay in the L1/L2 cache; blocks run in parallel."""

THREADS = max(1, min(os.cpu_count() or 1, 8))
"""Threads used by :func:`chain` by default: each runs the compiled loop on its share of the blocks
without the GIL (plain Python threads, so no numba threading layer and no limit on concurrent calls)."""

LN10 = math.log(10.0)
LN_0114 = math.log(0.0114)  # (0.0114·DMC)^1.7 = e^(1.7·(ln DMC + ln 0.0114))
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: LN2_HI has 32 significant bits
LN2_LO = 1.90821492927058770002e-10
TINY = 2.2250738585072014e-308  # smallest normal double
POS_INF = math.inf


@intrinsic
def _bits(typingctx, x):  # type: ignore[no-untyped-def]
    """The IEEE-754 bits of a float64 as an int64 (an LLVM bitcast, vectorisable)."""

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, x):  # type: ignore[no-untyped-def]
    """The float64 whose IEEE-754 bits are the int64 ``x``."""

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_FM = {"contract"}
"""Only fused multiply-add (a·b + c rounded once): no other fast-math liberty, so NaN, inf and the
order of operations stay IEEE (numpy rounds a·b and then the sum: the two differ by ~1 ulp)."""
# inline="always": numba inlines the helpers into the loop before LLVM sees it (LLVM alone does not,
# and a call in the loop body stops vectorisation: ~10x slower); error_model="numpy": no
# ZeroDivisionError checks in the loop (x/0 is inf or NaN, as in numpy)
_jit = nb.njit(inline="always", error_model="numpy", fastmath=_FM)


# Polynomials: Chebyshev interpolants (near minimax) computed with mpmath at 50 digits.
# e**r = 1 + r + r²·P(r) on |r| <= ln2/2, P of degree 9: |error| < 1.3e-17.
EXP_P = (
    0.5000000000000001,
    0.16666666666666669,
    0.041666666666624164,
    0.008333333333330065,
    0.0013888888917196719,
    0.00019841269863040545,
    2.4801521322368692e-05,
    2.7557268480310024e-06,
    2.7620075879983367e-07,
    2.5100375832561234e-08,
)
# atanh(s) = s + s·z·Q(z), z = s² <= 0.0295 (s for m in [√½, √2)), Q of degree 6: relative error < 5e-18.
LOG_Q = (
    0.3333333333333335,
    0.19999999999949752,
    0.14285714312987743,
    0.1111110556739754,
    0.09091444562630861,
    0.07665860800278021,
    0.07308224842521703,
)
EXP_MIN = -708.3964185322641  # below: the result is not a normal double; 0 is returned
EXP_MAX = 709.782712893384  # above: inf


@_jit
def vexp(x: float) -> float:
    """e**x to within 1 ulp of the C library: x = k·ln2 + r, |r| <= ln2/2 (Cody & Waite), e**r from
    :data:`EXP_P`, times 2**k built from its bits. Below :data:`EXP_MIN` it returns 0 (the C library
    returns subnormals there, < 2.3e-308); above :data:`EXP_MAX`, inf; NaN stays NaN."""
    k = math.floor(x * LOG2E + 0.5)  # out of range or NaN: garbage, replaced below
    r = (x - k * LN2_HI) - k * LN2_LO
    p = EXP_P[9]
    p = p * r + EXP_P[8]
    p = p * r + EXP_P[7]
    p = p * r + EXP_P[6]
    p = p * r + EXP_P[5]
    p = p * r + EXP_P[4]
    p = p * r + EXP_P[3]
    p = p * r + EXP_P[2]
    p = p * r + EXP_P[1]
    p = p * r + EXP_P[0]
    er = 1.0 + (r + r * r * p)
    top = k > 1023.0  # x in (709.43, 709.78]: 2**k is not a double, scale by 2**(k-1) and then 2
    kk = min(max(k, -1022.0), 1023.0)
    res = er * _from_bits((np.int64(kk) + 1023) << 52)  # type: ignore[call-arg]
    if top:
        res = res * 2.0
    if x < EXP_MIN:
        res = 0.0
    if x > EXP_MAX:
        res = POS_INF
    return res  # NaN x: r, and so res, is NaN


@_jit
def vlog(x: float) -> float:
    """Natural log to within 1-2 ulp of the C library: x = m·2**e with m in [√½, √2), s = (m−1)/(m+1),
    ln m = 2·atanh s (:data:`LOG_Q`), then e·ln2 added in two parts. log 0 = −inf, log of a negative
    number or NaN = NaN, log inf = inf (as numpy)."""
    xs = x
    e_adj = 0
    if x < TINY:  # subnormal (or <= 0): scale up by 2**54 first
        xs = x * 18014398509481984.0
        e_adj = -54
    b: int = _bits(xs)  # type: ignore[call-arg]
    e = ((b >> 52) & 0x7FF) - 1023 + e_adj
    m = _from_bits((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # type: ignore[call-arg]  # [1, 2)
    if m > 1.4142135623730951:
        m = m * 0.5
        e = e + 1
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    q = LOG_Q[6]
    q = q * z + LOG_Q[5]
    q = q * z + LOG_Q[4]
    q = q * z + LOG_Q[3]
    q = q * z + LOG_Q[2]
    q = q * z + LOG_Q[1]
    q = q * z + LOG_Q[0]
    lm = 2.0 * s + 2.0 * s * z * q
    ef = float(e)
    res = ef * LN2_HI + (lm + ef * LN2_LO)
    if x == 0.0:
        res = -POS_INF
    if x < 0.0:
        res = math.nan
    if x == POS_INF:
        res = x
    if x != x:
        res = x
    return res


@_jit
def vpow(x: float, y: float) -> float:
    """x**y for a constant y > 0 as exp(y·log x): 0 for x = 0, NaN for x < 0 or NaN (as numpy)."""
    return vexp(y * vlog(x))


@_jit
def _max(a: float, b: float) -> float:
    """np.maximum: NaN if either is NaN."""
    return a if (a != a or a > b) else b


@_jit
def _min(a: float, b: float) -> float:
    """np.minimum: NaN if either is NaN."""
    return a if (a != a or a < b) else b


@_jit
def _codes(mo, d0, ld, q0, t, h, w, p, le, lf, c):  # type: ignore[no-untyped-def]
    """The moisture codes of one cell-day, the equations of :mod:`.indices` operation for operation.

    mo: yesterday's FFMC as moisture content (Eq. 1); d0, q0: yesterday's DMC and DC; weather as
    :func:`chain`; le, lf: day-length factors; c: the FFMC coefficient. Returns (FFMC, today's FFMC as
    moisture content — tomorrow's ``mo`` and the ISI's m, the same Eq. 1 on the same value —, DMC, DC).
    rh is taken as given (the chain caps it at 99.9999 first, as ``cffdrs::fwi``).
    """
    # FFMC, Eqs. 2-10
    if p > 0.5:
        rf = p - 0.5
        wet = mo + 42.5 * rf * vexp(-100.0 / (251.0 - mo)) * (1.0 - vexp(-6.93 / rf))
        over = mo - 150.0
        if over > 0.0:
            wet = wet + 0.0015 * over * over * math.sqrt(rf)
        mo = _min(wet, 250.0)
    lh = vlog(h)
    e100 = vexp((h - 100.0) * 0.1)
    cool = 0.18 * (21.1 - t) * (1.0 - vexp(-0.115 * h))
    ed = 0.942 * vexp(0.679 * lh) + 11.0 * e100 + cool
    ew = 0.618 * vexp(0.753 * lh) + 10.0 * e100 + cool
    temp_factor = 0.581 * vexp(0.0365 * t)
    sw = 0.0694 * math.sqrt(w)
    hum = h * 0.01
    drying = mo > ed
    # drying uses the humidity fraction, wetting from below its complement: one k, one exp
    x = hum if drying else 1.0 - hum
    x2 = x * x
    x4 = x2 * x2
    k = (0.424 * (1.0 - vpow(x, 1.7)) + sw * (1.0 - x4 * x4)) * temp_factor
    decay = vexp(-LN10 * k)
    m = mo
    if drying:
        m = ed + (mo - ed) * decay
    elif mo < ed and mo < ew:
        m = ew - (ew - mo) * decay
    if ed != ed or p != p:  # (NaN rain: no number, as cffdrs' NA)
        m = math.nan
    ffmc = 59.5 * (250.0 - m) / (c + m)
    ffmc = _min(_max(ffmc, 0.0), 101.0)
    fm = c * (101.0 - ffmc) / (59.5 + ffmc)
    # DMC, Eqs. 11-16
    rk = 1.894e-4 * (_max(t, -1.1) + 1.1) * (100.0 - h) * le
    pr = d0
    if p > 1.5:
        rw = 0.92 * p - 1.27
        wmi = 20.0 + 280.0 * vexp(-0.023 * d0)
        # b = b_num / b_den (Eqs. 13a-c; b_den is 1 but for d0 <= 33), and 1000·rw/(48.77 + b·rw)
        # = 1000·rw·b_den/(48.77·b_den + b_num·rw): one division instead of two
        b_den = 1.0
        if d0 <= 33.0:
            b_num = 100.0
            b_den = 0.5 + 0.3 * d0
        elif d0 <= 65.0:
            b_num = 14.0 - 1.3 * ld
        else:
            b_num = 6.2 * ld - 17.2
        wmr = wmi + 1000.0 * rw * b_den / (48.77 * b_den + b_num * rw)
        pr = _max(43.43 * (5.6348 - vlog(wmr - 20.0)), 0.0)
    dmc = _max(_max(pr, 0.0) + rk, 0.0)
    # DC, Eqs. 18-23
    pe = _max((0.36 * (_max(t, -2.8) + 2.8) + lf) / 2.0, 0.0)
    dr = q0
    if p > 2.8:
        rw = 0.83 * p - 1.27
        # 3.937·rw / SMI with SMI = 800·e^(−q0/400): a product instead of a division
        dr = _max(q0 - 400.0 * vlog(1.0 + (3.937 / 800.0) * rw * vexp(q0 * 0.0025)), 0.0)
    dc = _max(dr + pe, 0.0)
    if p != p:  # NaN rain: NaN, not a dry day
        dmc = math.nan
        dc = math.nan
    return ffmc, fm, dmc, dc


@_jit
def _isi(fm, w):  # type: ignore[no-untyped-def]
    """ISI, Eqs. 24-26, from FFMC as moisture content and wind (km/h):
    fW·fF = 91.9·e^(0.05039·ws − 0.1386·m)·(1 + m^5.31/4.93e7), one exp for both."""
    return 0.208 * 91.9 * vexp(0.05039 * w - 0.1386 * fm) * (1.0 + vpow(fm, 5.31) * (1.0 / 4.93e7))


@_jit
def _bui(dmc, dc, ldmc):  # type: ignore[no-untyped-def]
    """BUI from today's DMC and DC, Eqs. 27a, 27b; ``ldmc`` = ln DMC (carried: it is tomorrow's ln d0)."""
    inv = 1.0 / (dmc + 0.4 * dc)
    bui = 0.8 * dc * dmc * inv
    if dmc == 0.0 and dc == 0.0:
        bui = 0.0
    if bui < dmc:  # then dmc > 0: (dmc − bui)/dmc = (dmc − 0.4·dc)/(dmc + 0.4·dc), no second division
        frac = (dmc - 0.4 * dc) * inv
        bui = _max(dmc - (0.92 + vexp(1.7 * (ldmc + LN_0114))) * frac, 0.0)
    return bui


@_jit
def _fwi_dsr(isi, bui):  # type: ignore[no-untyped-def]
    """FWI (Eqs. 28-30) and DSR (Van Wagner 1987 Eq. 31) from ISI and BUI: one exp for either
    branch of fD, and DSR = 0.0272·FWI^1.77 from log FWI, which both branches have."""
    high = bui > 80.0
    ex = vexp(0.023 * bui if high else 0.809 * vlog(bui))
    fd = 1000.0 * ex / (25.0 * ex + 108.64) if high else 0.626 * ex + 2.0
    bq = 0.1 * isi * fd
    lb = vlog(bq)
    log_fwi = lb
    fwi = bq
    if bq > 1.0:
        log_fwi = 2.72 * vpow(0.434 * lb, 0.647)
        fwi = vexp(log_fwi)
    dsr = 0.0272 * vexp(1.77 * log_fwi)
    return fwi, dsr


@_jit
def _indices(fm, w, dmc, dc, ldmc):  # type: ignore[no-untyped-def]
    """ISI, BUI, FWI and DSR of one cell-day from today's FFMC as moisture content ``fm``, wind
    (km/h), DMC and DC, as :mod:`.indices`."""
    isi = _isi(fm, w)
    bui = _bui(dmc, dc, ldmc)
    fwi, dsr = _fwi_dsr(isi, bui)
    return isi, bui, fwi, dsr


@nb.njit(nogil=True, error_model="numpy", cache=True, fastmath=_FM)
def _chain(t, h, w, p, rows, le_src, lf_src, f0, d0, q0, c, out, b0, b1):  # type: ignore[no-untyped-def]
    """Blocks b0 .. b1-1 of BLOCK_CELLS cells, every day (runs without the GIL)."""
    days, n = t.shape
    for blk in range(b0, b1):
        s = blk * BLOCK_CELLS
        e = min(n, s + BLOCK_CELLS)
        m = c * (101.0 - f0[s:e]) / (59.5 + f0[s:e])  # yesterday's FFMC as moisture content
        d = d0[s:e].copy()
        ld = np.log(d)  # ln DMC, carried from day to day (the DMC rain phase and the BUI need it)
        q = q0[s:e].copy()
        for i in range(days):
            # 1-D row views: the loops then read and write unit-stride memory, which LLVM vectorises
            # (indexing the 2-D arrays directly defeats it, ~10x slower). Two loops per row (codes,
            # then indices) keep fewer values live than one.
            r = rows[i]
            tr, hr, wr, pr = t[i, s:e], h[i, s:e], w[i, s:e], p[i, s:e]
            ler, lfr = le_src[r, s:e], lf_src[r, s:e]
            o0, o1, o2, o3 = out[0, i, s:e], out[1, i, s:e], out[2, i, s:e], out[3, i, s:e]
            o4, o5, o6 = out[4, i, s:e], out[5, i, s:e], out[6, i, s:e]
            for j in range(e - s):
                hj = hr[j]
                if hj >= 100.0:
                    hj = 99.9999
                ffmc, fm, dmc, dc = _codes(
                    m[j], d[j], ld[j], q[j], tr[j], hj, wr[j], pr[j], ler[j], lfr[j], c
                )
                m[j] = fm
                d[j] = dmc
                q[j] = dc
                o0[j] = ffmc
                o1[j] = dmc
                o2[j] = dc
            for j in range(e - s):
                ldj = vlog(d[j])
                ld[j] = ldj
                isi, bui, fwi, dsr = _indices(m[j], wr[j], d[j], q[j], ldj)
                o3[j] = isi
                o4[j] = bui
                o5[j] = fwi
                o6[j] = dsr


@nb.njit(error_model="numpy", cache=True, fastmath=_FM)
def one_day(f0, d0, q0, t, h, w, p, le, lf, isi_in, bui_in, c, out):  # type: ignore[no-untyped-def]
    """Each component for one day, element by element over 1-D arrays, with the kernel's code (for
    the per-component reference tables). ``out`` (11, n) receives FFMC, DMC, DC, ISI, BUI, FWI, DSR
    of the day from yesterday's codes f0, d0, q0 and the weather (rh NOT capped), then the ISI of
    f0 itself with wind w, the BUI of d0 and q0, and FWI and DSR of ``isi_in`` and ``bui_in``."""
    for j in range(t.size):
        mo = c * (101.0 - f0[j]) / (59.5 + f0[j])
        ffmc, fm, dmc, dc = _codes(mo, d0[j], vlog(d0[j]), q0[j], t[j], h[j], w[j], p[j], le[j], lf[j], c)
        isi, bui, fwi, dsr = _indices(fm, w[j], dmc, dc, vlog(dmc))
        out[0, j], out[1, j], out[2, j], out[3, j], out[4, j], out[5, j], out[6, j] = (
            ffmc,
            dmc,
            dc,
            isi,
            bui,
            fwi,
            dsr,
        )
        out[7, j] = _isi(mo, w[j])
        out[8, j] = _bui(d0[j], q0[j], vlog(d0[j]))
        out[9, j], out[10, j] = _fwi_dsr(isi_in[j], bui_in[j])


FloatArray = NDArray[np.float64]


def chain(
    temp: FloatArray,
    rh: FloatArray,
    ws: FloatArray,
    prec: FloatArray,
    rows: NDArray[np.intp],
    le_src: FloatArray,
    lf_src: FloatArray,
    ffmc0: FloatArray,
    dmc0: FloatArray,
    dc0: FloatArray,
    coefficient: float,
    threads: int | None = None,
) -> FloatArray:
    """The FWI System chained over (days, n) weather with the compiled kernel.

    Parameters
    ----------
    temp, rh, ws, prec : float64 arrays (days, n): °C, %, km/h, mm (checked by the caller: rh, ws,
        prec not negative).
    rows : int array (days,): for day i the row of ``le_src`` / ``lf_src`` holding that day's
        day-length factors (the month's row of a (12, n) table, or i of a (days, n) table).
    le_src, lf_src : float64 arrays (R, n): DMC day length Le and DC adjustment Lf per row and cell.
    ffmc0, dmc0, dc0 : float64 arrays (n,): yesterday's codes for the first day.
    coefficient : the FFMC ↔ moisture coefficient (:data:`.indices.FFMC_COEFFICIENT` or 147.2).

    Returns
    -------
    float64 array (7, days, n): FFMC, DMC, DC, ISI, BUI, FWI, DSR in that order.
    """
    days, n = temp.shape
    c = np.ascontiguousarray
    args = [c(a, dtype=np.float64) for a in (temp, rh, ws, prec)]
    tabs = [c(a, dtype=np.float64) for a in (le_src, lf_src)]
    starts = [c(a, dtype=np.float64) for a in (ffmc0, dmc0, dc0)]
    out = np.empty((7, days, n))
    blocks = (n + BLOCK_CELLS - 1) // BLOCK_CELLS
    k = max(1, min(threads or THREADS, blocks))
    rest = (*args, c(rows, dtype=np.intp), *tabs, *starts, float(coefficient), out)
    if k == 1:
        _chain(*rest, 0, blocks)  # type: ignore[call-arg]
    else:  # ~8 tasks per thread, taken in turn: a thread slowed by other work on its core takes fewer
        step = max(1, blocks // (8 * k))
        with ThreadPoolExecutor(k) as pool:
            tasks = range(0, blocks, step)
            list(pool.map(lambda b: _chain(*rest, b, min(blocks, b + step)), tasks))  # type: ignore[call-arg]
    return out
