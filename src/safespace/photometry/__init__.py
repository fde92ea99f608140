"""Luminaire photometry: EULUMDAT and IES LM-63 readers and one intensity model.

>>> from safespace import photometry
>>> ph = photometry.read("luminaire.ldt")          # doctest: +SKIP
>>> ph.intensity(90.0, 60.0), ph.flux, ph.rated_flux  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from safespace.errors import InputError
from safespace.photometry._eulumdat import read_eulumdat
from safespace.photometry._generic import generic_streetlight
from safespace.photometry._ies import read_ies
from safespace.photometry._model import Photometry

__all__ = ["Photometry", "generic_streetlight", "read", "read_eulumdat", "read_ies"]


def read(path: str | Path) -> Photometry:
    """Read a luminaire photometry file (EULUMDAT ``.ldt`` or IES LM-63 ``.ies``).

    The format is chosen by extension, or for other extensions by content (an IES file has a
    ``TILT=`` line).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    Photometry
        Intensities in cd for the luminaire's rated flux, expanded to a full C turn.

    Raises
    ------
    InputError
        The file is missing, malformed, or uses an unsupported feature (type A/B photometry,
        ``TILT=INCLUDE`` or a tilt file).
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext == ".ldt":
        return read_eulumdat(p)
    if ext == ".ies":
        return read_ies(p)
    try:
        head = p.read_bytes()[:20000].decode("latin-1").upper()
    except OSError as exc:
        raise InputError(f"cannot read photometry file: {exc.strerror}", file=str(p)) from None
    if "TILT" in head:
        return read_ies(p)
    return read_eulumdat(p)
