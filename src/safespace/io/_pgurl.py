"""PostGIS addresses: recognising, parsing and redacting them, and checking identifiers.

Imports nothing beyond the standard library, so the rest of safespace can ask "is this a
database address?" without the ``postgis`` extra installed.

An address is a libpq URL (``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``)
whose query string may carry safespace's own options besides libpq's:

``table=SCHEMA.NAME``
    one table of OSM-tagged features (a ``tags`` jsonb/hstore column and/or ordinary
    columns as tags);
``query=SQL``
    the features a ``SELECT`` returns (percent-encoded);
``layers=LAYER:TABLE,...``
    one table per layer (``buildings:plan.buildings,lamps:plan.lamps``);
``geometry=COLUMN``
    the geometry column when a table or query has several;
``schema=NAME``, ``prefix=NAME``
    where :func:`safespace.io.postgis.write_postgis` writes its tables.

Credentials come from the URL, the ``PG*`` environment variables or a ``.pgpass`` file
(libpq's own rules); :func:`redact` gives the form every label, error and provenance
record uses: no user name, no password.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from safespace.errors import InputError

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
#: safespace's own query options; every other option is passed to libpq.
OWN_OPTIONS = ("table", "query", "layers", "geometry", "schema", "prefix")
#: An SQL identifier safespace will quote and use: letters, digits, underscore, at most 63
#: bytes (PostgreSQL's NAMEDATALEN - 1), not starting with a digit. Anything else (quotes,
#: semicolons, spaces, dots inside a name) is refused rather than escaped.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def is_postgis_url(value: object) -> bool:
    """Whether ``value`` is a string naming a PostgreSQL/PostGIS database."""
    if not isinstance(value, str):
        return False
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    return scheme in SCHEMES


def check_identifier(name: str, what: str, *, label: str | None = None) -> str:
    """``name`` if it is a plain SQL identifier, else an :class:`InputError`.

    Parameters
    ----------
    name
        A schema, table, column or prefix name.
    what
        What the name is, for the message (``"schema"``, ``"table"``).
    label
        The redacted database address the error names.

    Raises
    ------
    safespace.errors.InputError
        The name is not ``[A-Za-z_][A-Za-z0-9_]*`` of at most 63 characters: refused, never
        quoted into SQL.
    """
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise InputError(
            f"refused {what} name {name!r}: use letters, digits and underscores only "
            "(at most 63, not starting with a digit)",
            file=label,
        )
    return name


def split_table(ref: str, *, label: str | None = None, default_schema: str = "public"):
    """``(schema, table)`` from ``"schema.table"`` or ``"table"``, both checked."""
    parts = ref.split(".")
    if len(parts) == 1:
        schema, table = default_schema, parts[0]
    elif len(parts) == 2:
        schema, table = parts
    else:
        raise InputError(f"refused table name {ref!r}: use table or schema.table", file=label)
    return check_identifier(schema, "schema", label=label), check_identifier(
        table, "table", label=label
    )


@dataclass(frozen=True)
class PgAddress:
    """A parsed database address: libpq parts, safespace's options, and a safe label."""

    url: str = field(repr=False)
    host: str | None
    port: int | None
    database: str | None
    options: dict[str, str]
    libpq: dict[str, str] = field(repr=False)

    @property
    def label(self) -> str:
        """``postgresql://host:port/database``: no user name, no password."""
        return base_label(self)


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


def parse(url: str) -> PgAddress:
    """Split a database address into its libpq parts and safespace's options.

    Raises
    ------
    safespace.errors.InputError
        Not a PostgreSQL address, or a malformed one (the message never repeats it).
    """
    if not is_postgis_url(url):
        raise InputError("not a PostgreSQL address (postgresql://...)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InputError("malformed PostgreSQL address (check host and port)") from None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    own = {k: v for k, v in pairs if k in OWN_OPTIONS}
    libpq = {k: v for k, v in pairs if k not in OWN_OPTIONS}
    database = unquote(parts.path.lstrip("/")) or None
    return PgAddress(
        url=url,
        host=parts.hostname or libpq.get("host") or _env("PGHOST"),
        port=port or (int(_env("PGPORT")) if (_env("PGPORT") or "").isdigit() else None),
        database=database or libpq.get("dbname") or _env("PGDATABASE"),
        options=own,
        libpq=libpq,
    )


def base_label(address: PgAddress) -> str:
    """The address without credentials or options."""
    host = address.host or "localhost"
    if host.startswith("/"):
        host = "localhost"  # a Unix socket folder
    port = f":{address.port}" if address.port else ""
    return f"postgresql://{host}{port}/{address.database or ''}"


def redact(value: object) -> str:
    """A database address as it may be shown: credentials and options removed.

    Anything that is not a database address is returned as ``str(value)``.
    """
    if not is_postgis_url(value):
        return str(value)
    try:
        return base_label(parse(str(value)))
    except InputError:
        return "postgresql://<address>"


def scrub(text: str, address: PgAddress) -> str:
    """``text`` with the address's password and full URL removed (for driver messages)."""
    try:
        password = urlsplit(address.url).password
    except ValueError:
        password = None
    text = text.replace(address.url, address.label)
    for secret in (password, unquote(password) if password else None, _env("PGPASSWORD")):
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class PostGISSource:
    """Features to read from a PostGIS database: what :func:`safespace.load` accepts.

    Give exactly one of ``table``, ``query`` or ``layers``. The same can be said in the
    address's query string (``?table=...``), which is what the command line takes.

    Parameters
    ----------
    url
        ``postgresql://[user[:password]@]host[:port]/database``; parts left out come from the
        ``PG*`` environment variables and ``.pgpass`` as libpq reads them.
    table
        ``"schema.table"`` (or ``"table"`` in ``public``) of OSM-tagged features: a ``tags``
        jsonb or hstore column and/or ordinary columns (``building``, ``highway``, ...).
    query
        A ``SELECT`` returning one geometry column and tag columns.
    layers
        ``{"buildings": "plan.buildings", "lamps": "SELECT ..."}``: one table or query per
        layer; a feature without that layer's tag (``building=*``, ``highway=street_lamp``,
        ...) is read as a member of it.
    geometry
        The geometry column, when there are several.
    """

    url: str = field(repr=False)
    table: str | None = None
    query: str | None = field(default=None, repr=False)
    layers: dict[str, str] | None = None
    geometry: str | None = None

    @property
    def label(self) -> str:
        """The redacted address (see :func:`redact`)."""
        return redact(self.url)
