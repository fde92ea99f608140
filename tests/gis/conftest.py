"""A throwaway PostgreSQL 15 + PostGIS server for the GIS tests.

Started once per test session with Debian's ``initdb``/``pg_ctl`` as the ``postgres`` user
(root may not run the server), with its data folder under a temporary directory, listening
on 127.0.0.1 and a free port only, ``fsync=off``; stopped and deleted at the end, also when
tests fail. Password authentication over TCP (scram-sha-256), so a wrong password is
refused as on a real server. Skips with the reason where the binaries are absent (``.ci/run``
installs ``postgresql-15`` and ``postgresql-15-postgis-3``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PGBIN = Path(os.environ.get("SAFESPACE_PGBIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
PASSWORD = "s3cret-Test-pw"


@dataclass(frozen=True)
class PgServer:
    """The running server: where it listens and how to reach its ``gis`` database."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def url(self, password: str | None = None, **options: str) -> str:
        """``postgresql://user:password@127.0.0.1:PORT/gis`` with safespace options."""
        from urllib.parse import quote, urlencode

        pw = self.password if password is None else password
        query = f"?{urlencode(options)}" if options else ""
        return (
            f"postgresql://{self.user}:{quote(pw)}@{self.host}:{self.port}/{self.database}{query}"
        )

    def sa_url(self) -> str:
        """The SQLAlchemy URL of the ``gis`` database (for test set-up)."""
        return (
            f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/"
            f"{self.database}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing() -> str | None:
    for tool in ("initdb", "pg_ctl", "psql"):
        if not (PGBIN / tool).exists():
            return f"PostgreSQL 15 binaries absent ({PGBIN / tool}); apt-get install postgresql-15"
    if not POSTGIS_CONTROL.exists():
        return "PostGIS absent; apt-get install postgresql-15-postgis-3"
    if shutil.which("runuser") is None:
        return "runuser absent (util-linux)"
    try:
        import geoalchemy2  # noqa: F401
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        return f"the postgis extra is not installed ({exc}); pip install -e '.[postgis]'"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres user to run the server as"
    return None


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL 15 + PostGIS server for this session (skips when it cannot exist)."""
    why = _missing()
    if why:
        pytest.skip(why)
    base = Path(tempfile.mkdtemp(prefix="safespace-pg-"))
    data, log = base / "data", base / "log"
    port = _free_port()
    env = dict(os.environ, LC_ALL="C.UTF-8")
    for key in ("PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSFILE"):
        env.pop(key, None)
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
        pwfile = base / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        subprocess.run(
            _as_postgres(str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                         "--auth-local=trust", "--auth-host=scram-sha-256",
                         f"--pwfile={pwfile}"),
            check=True, capture_output=True, env=env, cwd=base,
        )  # fmt: skip
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                         "-o", opts, "start"),
            check=True, capture_output=True, env=env, cwd=base,
        )  # fmt: skip
        started = True
        psql = [str(PGBIN / "psql"), "-h", str(base), "-p", str(port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q"]  # fmt: skip
        subprocess.run(_as_postgres(*psql, "-d", "postgres", "-c", "CREATE DATABASE gis"),
                       check=True, capture_output=True, env=env, cwd=base)  # fmt: skip
        subprocess.run(
            _as_postgres(*psql, "-d", "gis", "-c",
                         "CREATE EXTENSION postgis; CREATE EXTENSION hstore;"),
            check=True, capture_output=True, env=env, cwd=base,
        )  # fmt: skip
        yield PgServer("127.0.0.1", port, "postgres", PASSWORD, "gis")
    except subprocess.CalledProcessError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        pytest.fail(f"could not start PostgreSQL: {exc.stderr!r}\n{tail}")
    finally:
        if started:
            subprocess.run(
                _as_postgres(str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"),
                capture_output=True, env=env, cwd=base,
            )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_engine(pg_server):
    """A SQLAlchemy engine on the test database (for setting tables up and checking)."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg_server.sa_url())
    yield engine
    engine.dispose()
