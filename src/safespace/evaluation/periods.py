"""Before and after periods: months and month ranges."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from safespace.errors import InputError

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def _one_month(text: str, what: str) -> pd.Period:
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputError(
            f"{what}: {text!r} is not a month: write YYYY-MM (2016-07) or a range "
            "YYYY-MM..YYYY-MM (2016-01..2016-06)"
        )
    return pd.Period(year=int(m.group(1)), month=int(m.group(2)), freq="M")


def parse_months(spec: Any, what: str = "period") -> list[str]:
    """Months named by ``"2016-07"``, ``"2016-01..2016-06"``, or a list of either.

    Also accepts :class:`pandas.Period`, ``datetime.date`` and anything with ``year`` and
    ``month``. Returns sorted, distinct ``"YYYY-MM"`` strings.

    Raises
    ------
    InputError
        A malformed month, a range that ends before it starts, or no month at all.
    """
    items: Iterable[Any]
    if spec is None:
        items = []
    elif isinstance(spec, str) or hasattr(spec, "month"):
        items = [spec]
    elif isinstance(spec, Iterable):
        items = list(spec)
    else:
        raise InputError(f"{what}: cannot read {spec!r} as months")
    months: set[pd.Period] = set()
    for item in items:
        if hasattr(item, "year") and hasattr(item, "month") and not isinstance(item, str):
            months.add(pd.Period(year=int(item.year), month=int(item.month), freq="M"))
            continue
        text = str(item)
        if ".." in text:
            start_text, _, end_text = text.partition("..")
            start, end = _one_month(start_text, what), _one_month(end_text, what)
            if end < start:
                raise InputError(f"{what}: the range {text!r} ends before it starts")
            months.update(pd.period_range(start, end, freq="M"))
        else:
            months.add(_one_month(text, what))
    if not months:
        raise InputError(f"{what}: no month given (e.g. before='2016-07')")
    return [str(p) for p in sorted(months)]
