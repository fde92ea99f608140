"""EULUMDAT (.ldt) reader.

Layout of the format (one field a line): company; Ityp; Isym; Mc; Dc; Ng; Dg; report no.;
luminaire name; luminaire no.; file name; date/user; six luminaire and luminous-area
dimensions plus four luminous-area heights; DFF; LORL; intensity conversion factor; tilt;
n lamp sets, then for each set: number of lamps, lamp type, total lamp flux, colour
temperature, colour rendering, wattage; ten direct ratios; Mc C angles; Ng γ angles; and the
intensities of the stored C planes, each plane's Ng values in turn.

Intensities are in cd per 1000 lm of lamp flux. They are converted to cd for the **first lamp
set's** flux (× the conversion factor), and that flux is the ``rated_flux``.

Quirks tolerated: comma decimal separators, blank optional fields, several numbers on one
line in the numeric blocks, CRLF line ends, Latin-1 text, non-equidistant angles
(Dc or Dg = 0: the listed angles are used in every case).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from safespace.errors import InputError
from safespace.photometry._model import Photometry, expand_symmetry

_SYMMETRY = {0: "none", 1: "rot", 2: "c0", 3: "c90", 4: "both"}


def _num(text: str, what: str, path: str, *, default: float | None = None) -> float:
    s = text.strip().replace(",", ".")
    if not s:
        if default is not None:
            return default
        raise InputError(f"EULUMDAT field '{what}' is blank", file=path)
    try:
        return float(s)
    except ValueError:
        raise InputError(
            f"EULUMDAT field '{what}' is not a number: {text.strip()!r}", file=path
        ) from None


def _int(text: str, what: str, path: str) -> int:
    v = _num(text, what, path)
    if v != int(v):
        raise InputError(f"EULUMDAT field '{what}' must be a whole number, got {v}", file=path)
    return int(v)


def _stored_planes(isym: int, mc: int, path: str) -> tuple[int, int]:
    """(first index into the C-angle list, number of stored planes) for a symmetry type."""
    if isym == 0:
        return 0, mc
    if isym == 1:
        return 0, 1
    if mc % 4 if isym in (3, 4) else mc % 2:
        raise InputError(f"Mc={mc} does not suit symmetry type Isym={isym}", file=path)
    if isym == 2:
        return 0, mc // 2 + 1
    if isym == 3:
        return mc // 4, mc // 2 + 1
    return 0, mc // 4 + 1


def read_eulumdat(path: str | Path) -> Photometry:
    """Read an EULUMDAT file. See the module docstring for conventions."""
    path = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read photometry file: {exc.strerror}", file=path) from None
    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")
    lines = text.splitlines()
    if len(lines) < 27:
        raise InputError("too short to be an EULUMDAT file", file=path)

    company = lines[0].strip()
    ityp = _int(lines[1], "Ityp", path)
    isym = _int(lines[2], "Isym", path)
    mc = _int(lines[3], "Mc", path)
    ng = _int(lines[5], "Ng", path)
    if isym not in _SYMMETRY:
        raise InputError(f"unknown symmetry type Isym={isym} (expected 0-4)", file=path)
    if mc < 1 or ng < 2:
        raise InputError(f"Mc={mc}, Ng={ng}: too few angles", file=path)
    name = lines[8].strip()
    lorl = _num(lines[22], "LORL", path, default=float("nan"))
    dff = _num(lines[21], "DFF", path, default=float("nan"))
    conversion = _num(lines[23], "conversion factor", path, default=1.0) or 1.0
    n_sets = _int(lines[25], "number of lamp sets", path)
    if n_sets < 1:
        raise InputError(f"number of lamp sets is {n_sets}; need at least one", file=path)
    pos = 26
    lamp_sets = []
    for k in range(n_sets):
        block = lines[pos : pos + 6]
        if len(block) < 6:
            raise InputError(f"lamp set {k + 1} is incomplete", file=path)
        lamp_sets.append(
            {
                "count": _num(block[0], f"lamp set {k + 1} number of lamps", path),
                "type": block[1].strip(),
                "flux": _num(block[2], f"lamp set {k + 1} luminous flux", path),
                "colour": block[3].strip(),
                "cri": block[4].strip(),
                "watts": _num(block[5], f"lamp set {k + 1} wattage", path, default=float("nan")),
            }
        )
        pos += 6

    # Everything after the lamp sets is numeric: 10 direct ratios, Mc C angles, Ng γ angles,
    # then the intensities. Tokenise it, tolerating several values a line and blank lines.
    tokens = " ".join(lines[pos:]).replace(",", ".").split()
    first, n_planes = _stored_planes(isym, mc, path)
    need = 10 + mc + ng + n_planes * ng
    if len(tokens) < need:
        raise InputError(
            f"expected {need} numbers after the header (10 direct ratios, {mc} C angles, "
            f"{ng} gamma angles, {n_planes}×{ng} intensities), found {len(tokens)}",
            file=path,
        )
    try:
        values = np.array(tokens[:need], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens[:need] if not _is_float(t))
        raise InputError(
            f"non-numeric value {bad!r} in the angle/intensity block", file=path
        ) from None
    c_list = values[10 : 10 + mc]
    g_list = values[10 + mc : 10 + mc + ng]
    table = values[10 + mc + ng :].reshape(n_planes, ng)
    if np.any(np.diff(g_list) <= 0) or g_list[0] < 0 or g_list[-1] > 180:
        raise InputError("gamma angles must ascend inside 0-180 degrees", file=path)
    if mc > 1 and (np.any(np.diff(c_list) <= 0) or c_list[0] < 0 or c_list[-1] >= 360):
        raise InputError("C angles must ascend inside 0-360 degrees", file=path)
    if np.any(table < 0):
        raise InputError("negative luminous intensity in the table", file=path)

    flux = lamp_sets[0]["flux"]
    if not flux > 0:
        raise InputError(f"lamp set 1 luminous flux must be positive, got {flux}", file=path)
    stored_c = c_list[first : first + n_planes]
    c, cand = expand_symmetry(stored_c, table, c_list, _SYMMETRY[isym])
    cand = cand * conversion * flux / 1000.0
    return Photometry(
        c,
        g_list,
        cand,
        rated_flux=float(flux),
        name=name,
        source=path,
        meta={
            "format": "EULUMDAT",
            "company": company,
            "ityp": ityp,
            "isym": isym,
            "lorl_percent": lorl,
            "dff_percent": dff,
            "lamp_sets": lamp_sets,
        },
    )


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
