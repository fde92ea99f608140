"""IES LM-63 reader (1986 without a format line, 1991, 1995, 2002 and 2019 formats).

Only type C photometry (photometric type 1, the street/area lighting convention) is read;
types A and B are refused. ``TILT=NONE`` is required: ``TILT=INCLUDE`` and ``TILT=<file>``
(lamp-tilt multiplier tables) are refused with an explicit error rather than silently ignored.

Candela values are multiplied by the candela multiplier and by the ballast factor; in the
1995 format also by the ballast-lamp photometric factor (the second field of that line is
"future use" in 2002 and the file-generation type in 2019, and is then ignored).
``rated_flux`` is lumens per lamp × number of lamps, or ``None`` for absolute photometry
(lumens per lamp = −1).

Horizontal-angle layouts for type C: a single 0° plane (rotationally symmetric); 0–90°
(symmetric about both the C0–C180 and C90–C270 planes); 0–180° (symmetric about C0–C180);
90–270° (symmetric about C90–C270); a full turn (0–360°, or any set of planes spanning less
than 360° that wraps round).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from safespace.errors import InputError
from safespace.photometry._model import Photometry, expand_symmetry

_FORMAT = re.compile(r"^\s*IES(?:NA)?\s*:?\s*(LM-63-?\d{4}|91|LM-63-1991)", re.IGNORECASE)


def read_ies(path: str | Path) -> Photometry:
    """Read an IES LM-63 file. See the module docstring for conventions."""
    path = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read photometry file: {exc.strerror}", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.splitlines()
    if not lines:
        raise InputError("empty IES file", file=path)

    m = _FORMAT.match(lines[0])
    version = m.group(1).upper() if m else "LM-63-1986"
    if "2019" in version:
        version = "LM-63-2019"
    elif "2002" in version:
        version = "LM-63-2002"
    elif "1995" in version:
        version = "LM-63-1995"
    keywords: dict[str, str] = {}
    tilt_at = None
    for k, line in enumerate(lines):
        s = line.strip()
        if s.upper().startswith("TILT"):
            tilt_at = k
            break
        km = re.match(r"^\[([^\]]+)\]\s*(.*)$", s)
        if km:
            key = km.group(1).strip().upper()
            keywords[key] = (
                (keywords[key] + " " + km.group(2).strip()).strip()
                if (key in keywords)
                else km.group(2).strip()
            )
    if tilt_at is None:
        raise InputError("no TILT= line: not an IES LM-63 file", file=path)
    tilt = lines[tilt_at].strip().split("=", 1)[-1].strip()
    if tilt.upper() == "INCLUDE":
        raise InputError(
            "TILT=INCLUDE (lamp-tilt multiplier table) is not supported; "
            "re-export the file with TILT=NONE",
            file=path,
        )
    if tilt.upper() != "NONE":
        raise InputError(
            f"TILT={tilt} refers to a separate tilt file, which is not supported; "
            "re-export the file with TILT=NONE",
            file=path,
        )

    tokens = " ".join(lines[tilt_at + 1 :]).replace(",", " ").split()
    try:
        nums = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise InputError(f"non-numeric value {bad!r} after the TILT line", file=path) from None
    if nums.size < 13:
        raise InputError("the IES numeric header after TILT is incomplete", file=path)
    n_lamps, lumens, multiplier = nums[0], nums[1], nums[2]
    n_vert, n_horiz = int(nums[3]), int(nums[4])
    ptype, units = int(nums[5]), int(nums[6])
    width, length, height = nums[7:10]
    ballast, second, watts = nums[10:13]
    if ptype in (2, 3):
        kind = {2: "B", 3: "A"}[ptype]
        raise InputError(
            f"type {kind} photometry is not supported: only type C (street and area "
            "luminaires) can be used",
            file=path,
        )
    if ptype != 1:
        raise InputError(f"unknown photometric type {ptype} (expected 1 = type C)", file=path)
    if n_vert < 2 or n_horiz < 1:
        raise InputError(f"{n_vert} vertical × {n_horiz} horizontal angles: too few", file=path)
    need = 13 + n_vert + n_horiz + n_vert * n_horiz
    if nums.size < need:
        raise InputError(
            f"expected {need - 13} angle and candela values, found {nums.size - 13}", file=path
        )
    p = 13
    gam = nums[p : p + n_vert]
    p += n_vert
    hor = nums[p : p + n_horiz]
    p += n_horiz
    table = nums[p : p + n_vert * n_horiz].reshape(n_horiz, n_vert)
    if np.any(np.diff(gam) <= 0) or gam[0] < 0 or gam[-1] > 180:
        raise InputError("vertical angles must ascend inside 0-180 degrees", file=path)
    if np.any(np.diff(hor) <= 0) or hor[0] < 0 or hor[-1] > 360:
        raise InputError("horizontal angles must ascend inside 0-360 degrees", file=path)
    if np.any(table < 0):
        raise InputError("negative candela value in the table", file=path)

    factor = multiplier * ballast * (second if version == "LM-63-1995" else 1.0)
    if not factor > 0:
        raise InputError(
            f"candela multiplier × ballast factor must be positive, got {factor}", file=path
        )
    table = table * factor
    c, cand = _expand_horizontal(hor, table, path)
    rated = None if lumens < 0 else float(lumens * n_lamps)
    return Photometry(
        c,
        gam,
        cand,
        rated_flux=rated,
        name=keywords.get("LUMINAIRE", "") or keywords.get("LUMCAT", ""),
        source=path,
        meta={
            "format": f"IES {version}",
            "keywords": keywords,
            "lamps": n_lamps,
            "lumens_per_lamp": lumens,
            "multiplier": multiplier,
            "ballast_factor": ballast,
            "units": "feet" if units == 1 else "metres",
            "dimensions": (width, length, height),
            "input_watts": watts,
        },
    )


def _expand_horizontal(hor: np.ndarray, table: np.ndarray, path: str):
    first, last = hor[0], hor[-1]
    if hor.size == 1:
        if first != 0:
            raise InputError("a single horizontal angle must be 0", file=path)
        return expand_symmetry(hor, table, np.array([0.0]), "rot")
    if first == 0 and last == 90:
        full = np.concatenate([hor, 180 - hor[::-1][1:], 180 + hor[1:], 360 - hor[::-1][1:-1]])
        return expand_symmetry(hor, table, full, "both")
    if first == 0 and last == 180:
        full = np.concatenate([hor, 360 - hor[::-1][1:-1]])
        return expand_symmetry(hor, table, full, "c0")
    if first == 90 and last == 270:
        low = 180 - hor[hor > 90][::-1]  # 90-side mirror gives 0..90 (exclusive of 90)
        low = low[low >= 0]
        high = 540 - hor[hor < 270][::-1]
        high = high[high < 360]
        full = np.unique(np.concatenate([low, hor, high]))
        return expand_symmetry(hor, table, full, "c90")
    if last - first > 360 - 1e-9:
        # Full turn including the closing plane: drop it, the model re-adds the wrap.
        return expand_symmetry(hor[:-1], table[:-1], hor[:-1], "none")
    if last - first > 180:
        return expand_symmetry(hor, table, hor, "none")
    raise InputError(
        f"horizontal angles {first:g}-{last:g} are not a type C layout this reader knows "
        "(0, 0-90, 0-180, 90-270 or a full turn)",
        file=path,
    )


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True
