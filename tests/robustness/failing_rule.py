"""A rule that always raises: makes a batch site partial (tests/robustness/test_batch_partial)."""

from safespace import rule


@rule("XF001", "Always fails", "x-fail")
def always_fails(site):
    """Raise, to show a partial site."""
    raise RuntimeError("deliberate failure")
    yield  # pragma: no cover
