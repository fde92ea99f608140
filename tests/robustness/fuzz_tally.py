"""Tally the outcomes of N generated layouts without stopping at the first problem.

The long fuzz test (``pytest -m fuzz``) stops and shrinks at the first failure; this counts
every outcome of the same strategy, for ``docs/reliability.md``::

    python -m tests.robustness.fuzz_tally 10000 --out fuzz_tally.json

Outcomes: ``result`` (no rule failure), ``result-with-rule-failures``, ``input-error``
(``safespace.errors.InputError`` or a subclass, such as a resource limit), ``escaped`` (any
other exception) and ``over-bound`` (a case over 20 s, timed again once so numba's first
compile does not count). The layouts of every case not ``result``/``input-error`` are
written to ``--out`` for regression tests.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
import warnings
from collections import Counter

from hypothesis import HealthCheck, given, settings

import safespace
from safespace.errors import InputError
from tests.robustness.layouts import documents

BOUND_S = 20.0


def _one(doc) -> tuple[str, float, str]:
    t0 = time.perf_counter()
    try:
        result = safespace.assess(doc)
    except InputError:
        return "input-error", time.perf_counter() - t0, ""
    except Exception:  # noqa: BLE001 - counting what escapes is the point
        return "escaped", time.perf_counter() - t0, traceback.format_exc(limit=3)
    took = time.perf_counter() - t0
    if result.failures:
        why = "; ".join(f"{f.rule_id}: {f.error}: {f.message}" for f in result.failures)
        return "result-with-rule-failures", took, why
    return "result", took, ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=10_000)
    ap.add_argument("--out", default="fuzz_tally.json")
    args = ap.parse_args()
    counts: Counter[str] = Counter()
    bad: list[dict] = []
    slowest = [0.0]
    t_start = time.perf_counter()

    @settings(
        max_examples=args.n,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(documents())
    def case(doc):
        outcome, took, why = _one(doc)
        if took >= BOUND_S:
            outcome, took, why = _one(doc)
            if took >= BOUND_S:
                outcome = "over-bound"
        counts[outcome] += 1
        slowest[0] = max(slowest[0], took)
        if outcome not in ("result", "input-error"):
            bad.append({"outcome": outcome, "why": why, "seconds": took, "doc": doc})
        n = sum(counts.values())
        if n % 500 == 0:
            print(f"{n} cases, {dict(counts)}, {time.perf_counter() - t_start:.0f} s", flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case()
    total = sum(counts.values())
    print(f"{total} cases in {time.perf_counter() - t_start:.0f} s: {dict(counts)}; "
          f"slowest case {slowest[0]:.1f} s")  # fmt: skip
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"counts": dict(counts), "cases": bad}, fh, default=str, allow_nan=True)
    return 0 if set(counts) <= {"result", "input-error"} else 1


if __name__ == "__main__":
    raise SystemExit(main())
