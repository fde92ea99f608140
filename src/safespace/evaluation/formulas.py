"""The measures of a test-area evaluation: WDQ, success measure, total net effect, WDD.

See the package docstring for the formulas and their references."""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

#: The areas, in the order an incident on a shared edge is given to (first wins).
AREAS: tuple[str, ...] = ("treated", "buffer", "control", "control_buffer")

#: Count columns of the result, per area and period.
COUNT_COLUMNS: tuple[str, ...] = tuple(f"{a}_{p}" for a in AREAS for p in ("before", "after"))

#: Every column of the table :func:`evaluate` returns, in order.
COLUMNS: tuple[str, ...] = (
    "category",
    *COUNT_COLUMNS,
    "success_measure",
    "buffer_measure",
    "wdq",
    "total_net_effect",
    "wdd",
    "wdd_local",
    "wdd_displacement",
    "wdd_se",
    "wdd_z",
    "wdd_p",
    "wdd_ci_low",
    "wdd_ci_high",
    "note",
)

#: The category label of the row that sums every selected category.
ALL = "all"


def _ratio(num: float, den: float) -> float:
    return num / den if den != 0 else math.nan


def wdq_measures(
    treated: tuple[float, float],
    control: tuple[float, float],
    buffer: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Bowers & Johnson's (2003) success measure, WDQ and total net effect from counts.

    Parameters
    ----------
    treated, control, buffer
        ``(before, after)`` counts of the treated area ``R``, the control area ``C`` and
        the buffer (displacement area) ``D``; ``buffer=None`` when there is none.

    Returns
    -------
    dict
        ``success_measure`` ``Ra/Ca − Rb/Cb``; ``buffer_measure`` ``Da/Ca − Db/Cb``;
        ``wdq`` their quotient ``BM/SM``; ``total_net_effect``
        ``[Rb·Ca/Cb − Ra] + [Db·Ca/Cb − Da]`` (the second bracket only with a buffer);
        ``notes``, a list of sentences. A quotient whose denominator is zero is NaN with
        a note, never an error or an infinity.

    Notes
    -----
    The formulas as restated by Guerette (2009, appendix B). The WDQ is read only when
    the success measure is negative (the treated area improved relative to the control,
    Bowers & Johnson 2003): a positive WDQ then means a diffusion of benefit to the
    buffer, a negative one displacement into it; beyond ±1 the buffer's change exceeds
    the treated area's.
    """
    rb, ra = (float(v) for v in treated)
    cb, ca = (float(v) for v in control)
    notes: list[str] = []
    if cb == 0 or ca == 0:
        which = " and ".join(p for p, v in (("before", cb), ("after", ca)) if v == 0)
        undefined = (
            "success measure, WDQ and total net effect" if cb == 0 else ("success measure and WDQ")
        )
        notes.append(f"the control area has no incidents {which}: {undefined} undefined")
    sm = _ratio(ra, ca) - _ratio(rb, cb)
    bm = math.nan
    if buffer is not None:
        db, da = (float(v) for v in buffer)
        bm = _ratio(da, ca) - _ratio(db, cb)
    wdq = math.nan
    if buffer is None:
        notes.append("no buffer: WDQ undefined")
    elif math.isfinite(sm) and sm == 0:
        notes.append("success measure 0 (no change relative to the control): WDQ undefined")
    elif math.isfinite(sm) and math.isfinite(bm):
        wdq = bm / sm
        if sm > 0:
            notes.append(
                "success measure > 0 (the treated area did not improve relative to the "
                "control): the WDQ is not a displacement measure here"
            )
    scale = _ratio(ca, cb)
    tne = rb * scale - ra
    if buffer is not None:
        tne += db * scale - da
    return {
        "success_measure": sm,
        "buffer_measure": bm,
        "wdq": wdq,
        "total_net_effect": tne,
        "notes": notes,
    }


def wdd_test(
    treated: tuple[float, float],
    control: tuple[float, float],
    buffer: tuple[float, float] | None = None,
    control_buffer: tuple[float, float] | None = None,
    *,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Wheeler & Ratcliffe's (2018) weighted displacement difference and its test.

    Parameters
    ----------
    treated, control, buffer, control_buffer
        ``(before, after)`` counts of the treated area, its control, the treated area's
        displacement area and the control's displacement area. The displacement term
        ``ΔD − ΔCD`` is used only when both buffers are given.
    alpha
        Two-sided level of the confidence interval (0.05: a 95 % interval).

    Returns
    -------
    dict
        ``wdd`` ``ΔR − ΔC + ΔD − ΔCD``, ``wdd_local`` ``ΔR − ΔC``, ``wdd_displacement``
        ``ΔD − ΔCD`` (NaN without both buffers), ``wdd_se`` the square root of the sum of
        the counts used (each count an independent Poisson variable, whose variance is its
        mean), ``wdd_z`` ``WDD/SE``, ``wdd_p`` its two-sided normal p-value,
        ``wdd_ci_low``/``wdd_ci_high`` ``WDD ∓ z_{1−α/2}·SE``, and ``notes``.

    Examples
    --------
    The paper's worked example (control 308→318, treated 207→110, control displacement
    150→140, treated displacement 178→157):

    >>> r = wdd_test((207, 110), (308, 318), (178, 157), (150, 140))
    >>> r["wdd"], r["wdd_se"] ** 2, round(r["wdd_z"], 2)
    (-118.0, 1568.0, -2.98)
    """
    rb, ra = (float(v) for v in treated)
    cb, ca = (float(v) for v in control)
    notes: list[str] = []
    local = (ra - rb) - (ca - cb)
    var = rb + ra + cb + ca
    disp = math.nan
    if buffer is not None and control_buffer is not None:
        db, da = (float(v) for v in buffer)
        cdb, cda = (float(v) for v in control_buffer)
        disp = (da - db) - (cda - cdb)
        var += db + da + cdb + cda
    elif buffer is not None:
        notes.append("no control buffer: WDD covers the treated area only (no displacement term)")
    wdd = local + (disp if math.isfinite(disp) else 0.0)
    se = math.sqrt(var)
    if se > 0:
        z = wdd / se
        p = 2.0 * (1.0 - NormalDist().cdf(abs(z)))
        half = NormalDist().inv_cdf(1.0 - alpha / 2.0) * se
        lo, hi = wdd - half, wdd + half
    else:
        z = p = math.nan
        lo = hi = wdd
        notes.append("no incidents in any area: WDD's standard error is 0, z undefined")
    return {
        "wdd": wdd,
        "wdd_local": local,
        "wdd_displacement": disp,
        "wdd_se": se,
        "wdd_z": z,
        "wdd_p": p,
        "wdd_ci_low": lo,
        "wdd_ci_high": hi,
        "notes": notes,
    }


def measures(counts: Mapping[str, float], *, alpha: float = 0.05) -> dict[str, Any]:
    """Every measure of one table row from its counts (:data:`COUNT_COLUMNS` keys).

    A missing area (no buffer, no control buffer) has NaN counts; the measures that need
    it are NaN and say so in ``note``.
    """

    def pair(area: str) -> tuple[float, float] | None:
        b, a = counts.get(f"{area}_before", math.nan), counts.get(f"{area}_after", math.nan)
        return None if (b is None or a is None or math.isnan(b) or math.isnan(a)) else (b, a)

    r, d, c, cd = (pair(a) for a in AREAS)  # AREAS: treated, buffer, control, control buffer
    if r is None or c is None:
        raise ValueError("measures need the treated and control counts")
    q = wdq_measures(r, c, d)
    w = wdd_test(r, c, d, cd, alpha=alpha)
    notes = q.pop("notes") + w.pop("notes")
    return {**q, **w, "note": "; ".join(dict.fromkeys(notes))}
