"""Test-area evaluation: did crime fall in a treated area, and did it move next door?

``evaluate(treated, control, buffer=..., before=..., after=..., incidents=...)`` counts
recorded incidents in four areas — the treated area ``R``, the buffer (displacement area)
``D`` around it, the control area ``C`` and, for the weighted displacement difference, the
control's own buffer ``CD`` — in a before and an after period, and computes per crime
category:

* the **success measure**, **weighted displacement quotient** and **total net effect** of
  Bowers & Johnson (2003), in the notation of Guerette (2009, appendix B)::

      SM   = Ra/Ca − Rb/Cb                                   (< 0: the treated area improved)
      BM   = Da/Ca − Db/Cb                                   (the buffer displacement measure)
      WDQ  = BM / SM                                         (> 0 diffusion, < 0 displacement)
      TNE  = [Rb·(Ca/Cb) − Ra] + [Db·(Ca/Cb) − Da]           (crimes prevented, net)

  with ``b`` before and ``a`` after;

* the **weighted displacement difference** of Wheeler & Ratcliffe (2018)::

      WDD  = ΔR − ΔC + ΔD − ΔCD,   ΔX = X_after − X_before
      Var(WDD) = Rb + Ra + Cb + Ca + Db + Da + CDb + CDa     (independent Poisson counts)
      z = WDD / √Var,   95 % CI = WDD ± 1.96·√Var

  (negative: fewer crimes than the control's trend predicts).

References
----------
Bowers, K. J. and Johnson, S. D. (2003). Measuring the geographical displacement and
diffusion of benefit effects of crime prevention activity. *Journal of Quantitative
Criminology* 19(3), 275–301. doi:10.1023/A:1024909009240
Guerette, R. T. (2009). *Analyzing Crime Displacement and Diffusion*. Problem-Oriented
Guides for Police, Problem-Solving Tools Series No. 10, appendix B (the WDQ and TNE
formulas as used here). Center for Problem-Oriented Policing.
Wheeler, A. P. and Ratcliffe, J. H. (2018). A simple weighted displacement difference test
to evaluate place based crime interventions. *Crime Science* 7:11.
doi:10.1186/s40163-018-0085-5

Modules
-------
``formulas`` (the measures from counts), ``periods`` (months and ranges), ``areas``
(polygons, rings, overlap checks), ``incidents`` (the incidents counted), ``matching`` (a
control made of street segments matched on their before-period counts), ``counting``
(:func:`evaluate`), ``table`` (:func:`format_table`).
"""

from __future__ import annotations

from safespace.evaluation.areas import OVERLAP_TOLERANCE_M2
from safespace.evaluation.counting import EvaluationContext, evaluate
from safespace.evaluation.formulas import (
    ALL,
    AREAS,
    COLUMNS,
    COUNT_COLUMNS,
    measures,
    wdd_test,
    wdq_measures,
)
from safespace.evaluation.matching import MatchedSegments
from safespace.evaluation.periods import parse_months
from safespace.evaluation.table import format_table

__all__ = [
    "ALL",
    "AREAS",
    "COLUMNS",
    "COUNT_COLUMNS",
    "OVERLAP_TOLERANCE_M2",
    "EvaluationContext",
    "MatchedSegments",
    "evaluate",
    "format_table",
    "measures",
    "parse_months",
    "wdd_test",
    "wdq_measures",
]
