"""Finding and running the external ``safespace`` command (never imported into QGIS).

QGIS bundles its own Python, numpy and GDAL, which conflict with safespace's requirements,
so like QGIS's providers for SAGA, GRASS or WhiteboxTools this plugin runs the command of
an environment the user names, and passes data as files.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading

try:
    from qgis.core import QgsProcessingException
except ImportError:  # outside QGIS: the runner's own tests

    class QgsProcessingException(Exception):  # noqa: N818 - QGIS's name
        """Stands in for QGIS's exception outside QGIS."""


POSIX = hasattr(os, "killpg")
#: The oldest safespace whose command line this plugin speaks (repeatable -o, site-police).
MIN_VERSION = (0, 1, 0)
#: Environment variable naming the command (or its environment folder); wins over the setting.
ENV_VAR = "SAFESPACE_COMMAND"
SETTING = "SAFESPACE_ENV"
#: QGIS's own paths, which must not leak into safespace's Python, PROJ or GDAL.
_STRIP = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PROJ_LIB",
    "PROJ_DATA",
    "GDAL_DATA",
    "GDAL_DRIVER_PATH",
    "PYTHONSTARTUP",
    "QGIS_PREFIX_PATH",
)
_RULE_LINE = re.compile(r"^\[\s*[\d.]+s\] ([A-Z]{2}\d{3}) ")
_VERSION = re.compile(r"safespace (\d+)\.(\d+)\.(\d+)")


class SafespaceNotFound(Exception):
    """The safespace command is missing, does not run, or is too old."""


def configured_location():
    """The command or environment folder the user named: the env variable, else the setting."""
    value = os.environ.get(ENV_VAR)
    if value:
        return value
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        value = ProcessingConfig.getSetting(SETTING)
    except Exception:  # outside Processing (tests)
        value = None
    return value or ""


def resolve_command(location=None):
    """The path of the ``safespace`` executable for a setting value (folder or file)."""
    location = configured_location() if location is None else location
    if location:
        location = os.path.expanduser(location)
        if os.path.isdir(location):
            for rel in (("bin", "safespace"), ("Scripts", "safespace.exe"), ("safespace",)):
                candidate = os.path.join(location, *rel)
                if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                    return candidate
            raise SafespaceNotFound(
                f"no safespace command in {location} (looked for bin/safespace). Install it "
                "there with: python -m venv ENV && ENV/bin/pip install safespace, then set "
                "Settings > Options > Processing > Providers > safespace > environment folder."
            )
        if os.path.isfile(location) and os.access(location, os.X_OK):
            return location
        raise SafespaceNotFound(
            f"the safespace command {location} does not exist or is not executable; set "
            "Settings > Options > Processing > Providers > safespace > environment folder."
        )
    found = shutil.which("safespace")
    if found:
        return found
    raise SafespaceNotFound(
        "safespace is not set up: install it in a Python environment (python -m venv ENV && "
        "ENV/bin/pip install safespace) and name that folder in Settings > Options > "
        f"Processing > Providers > safespace, or set {ENV_VAR}."
    )


def clean_env():
    """The environment for the command: QGIS's Python, PROJ and GDAL paths removed."""
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def check_command(location=None):
    """``(path, version)`` of a usable safespace command, or :class:`SafespaceNotFound`."""
    command = resolve_command(location)
    try:
        done = subprocess.run(
            [command, "--version"], capture_output=True, text=True, timeout=60, env=clean_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SafespaceNotFound(f"{command} does not run: {exc}") from None
    match = _VERSION.search(done.stdout + done.stderr)
    if done.returncode != 0 or not match:
        raise SafespaceNotFound(
            f"{command} is not a working safespace command: {(done.stderr or done.stdout)[-300:]}"
        )
    version = tuple(int(x) for x in match.groups())
    if version < MIN_VERSION:
        need = ".".join(map(str, MIN_VERSION))
        have = ".".join(map(str, version))
        raise SafespaceNotFound(
            f"safespace {have} at {command} is too old for this plugin (needs {need} or later): "
            "upgrade it with ENV/bin/pip install -U safespace"
        )
    return command, version


def rule_count(command, profile):
    """How many rules a profile runs (for the progress bar); None if it cannot be told."""
    done = subprocess.run(
        [command, "rules", "--profile", profile],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    match = re.search(r"^(\d+) rules in profile", done.stdout, re.M)
    return int(match.group(1)) if match else None


def run(command, args, feedback, *, steps=None, start=0.0, span=100.0):
    """Run ``safespace ARGS``; safespace's progress lines move the progress bar.

    Parameters
    ----------
    command
        The safespace executable.
    args
        Its arguments.
    feedback
        The algorithm's QgsProcessingFeedback: progress, messages, cancellation.
    steps
        Rule lines expected (each ``[ t s] SL001 ...`` line is one step), or None.
    start, span
        The share of the progress bar this run fills (percent).

    Returns
    -------
    str
        The command's standard output (its summary line).
    """
    out = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    feedback.pushCommandInfo(" ".join([os.path.basename(command), *args]))
    proc = subprocess.Popen(
        [command, *args],
        stdout=out,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=clean_env(),
        start_new_session=POSIX,  # its own process group: cancelling stops its workers too
    )

    def watch_cancel():
        while proc.poll() is None:
            if feedback.isCanceled():
                if POSIX:
                    os.killpg(proc.pid, signal.SIGTERM)
                else:
                    proc.terminate()
                return
            threading.Event().wait(0.2)

    threading.Thread(target=watch_cancel, daemon=True).start()
    seen, tail = 0, []
    for line in proc.stderr:
        line = line.rstrip("\n")
        tail = (tail + [line])[-20:]
        feedback.pushConsoleInfo(line)
        if _RULE_LINE.match(line) and steps:
            seen += 1
            feedback.setProgress(start + span * min(seen, steps) / steps)
    proc.stderr.close()
    code = proc.wait()
    out.seek(0)
    stdout = out.read()
    out.close()
    if feedback.isCanceled():
        raise QgsProcessingException("cancelled")
    if code not in (0, 1):  # 1: findings at --fail-on; the run itself succeeded
        last = "\n".join(tail[-5:])
        raise QgsProcessingException(f"safespace failed (exit {code}): {last}")
    feedback.setProgress(start + span)
    if stdout.strip():
        feedback.pushInfo(stdout.strip())
    return stdout
