"""The wheel ships the profiles, and an installed safespace finds them outside the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_every_profile(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("safespace-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    profiles = sorted(p.name for p in (ROOT / "rules").glob("*.toml"))
    assert profiles and "default.toml" in profiles
    for name in profiles:
        assert f"safespace/profiles/{name}" in names
    # the report's inlined assets travel too
    assert any(n.startswith("safespace/report/assets/leaflet/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[safespace.rules]" in text and "safespace.rules.lighting" in text
