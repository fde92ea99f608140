"""Profiles: TOML data choosing which rules run with which thresholds, each with its source."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from safespace.errors import ProfileError, RuleError
from safespace.rules.engine import Param, Rule, discover_rules, select_rules

_TOP_KEYS = {"profile", "rules", "settings", "assessment", "conditions", "policy", "crime"}
_PROFILE_KEYS = {"name", "description", "extends", "rules", "view", "jurisdiction"}

#: Parameters of the assessment itself (``[assessment]`` in a profile), not of one rule.
ASSESSMENT_PARAMS: dict[str, Param] = {
    "edge_margin_m": Param(
        50.0,
        "m",
        "findings lying wholly within this distance of where the data stops (the hull of the "
        "building data) are at most advisory: what lies beyond is not known",
        "safespace convention [unverified]: about one plot depth plus a street",
    ),
    "issue_cluster_m": Param(
        40.0,
        "m",
        "findings on the same street or feature, or within this distance of each other, "
        "form one issue",
        "safespace convention [unverified]",
    ),
    "key_concerns": Param(
        10, "", "at most this many issues lead the report and response", "safespace convention"
    ),
    "plugin_time_limit_s": Param(
        300.0,
        "s",
        "a rule from an installed rule pack still running after this long is stopped and "
        "recorded as a failure (0: no limit); safespace's own rules are bounded by the "
        "resource limits instead",
        "safespace convention: five times the longest built-in rule on the Monaco extract",
    ),
}


@dataclass
class Profile:
    """A resolved profile.

    Attributes
    ----------
    name, description
        From the ``[profile]`` table.
    path
        The file it was read from.
    rule_ids
        The rules that run, in id order.
    params
        Per rule id, every parameter's value (defaults overridden by the profile).
    sources
        Per rule id and parameter, the source the value comes from.
    sha256
        Of the profile file (and those it extends), for provenance.
    """

    name: str
    description: str
    path: str
    rule_ids: list[str]
    params: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, str]]
    sha256: str
    view: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    assessment: dict[str, Any] = field(
        default_factory=lambda: {k: p.default for k, p in ASSESSMENT_PARAMS.items()}
    )
    assessment_sources: dict[str, str] = field(
        default_factory=lambda: {k: p.source for k, p in ASSESSMENT_PARAMS.items()}
    )
    jurisdiction: str = ""

    def table(self, name: str) -> dict[str, Any]:
        """A data table of the profile (``conditions``, ``policy``, ``crime``), merged over
        extends."""
        value = self.data.get(name, {})
        return value if isinstance(value, dict) else {}


def profiles_dir() -> Path:
    """Where built-in profiles live: inside the installed wheel, or the source tree's rules/."""
    packaged = resources.files("safespace") / "profiles"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "rules"


def available_profiles() -> list[str]:
    """Names of the built-in profiles."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def _locate(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    candidate = Path(text)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        if not candidate.is_file():
            raise ProfileError("profile file not found", file=text)
        return candidate
    path = profiles_dir() / f"{text}.toml"
    if not path.is_file():
        raise ProfileError(
            f"no built-in profile named {text!r}; available: {', '.join(available_profiles())}"
        )
    return path


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    blob = path.read_bytes()
    try:
        return tomllib.loads(blob.decode("utf-8")), blob
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"not valid TOML ({exc})", file=str(path)) from None


def _check_value(value: Any, param: Param, file: str, key: str) -> Any:
    kind = param.kind
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is list or kind is tuple:
        ok = isinstance(value, list)
        value = kind(value) if ok else value
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ProfileError(
            f"expected {kind.__name__} ({param.unit or 'no unit'}), got {value!r} "
            f"({type(value).__name__})",
            file=file,
            key=key,
        )
    return value


def _entry(raw: Any, param: Param, file: str, key: str, path: Path) -> tuple[Any, str]:
    """A profile entry's checked value and its source (plain value or inline table)."""
    source = None
    if isinstance(raw, dict):
        extra = set(raw) - {"value", "unit", "source"}
        if extra or "value" not in raw:
            raise ProfileError(
                "an inline table needs 'value' and may have 'unit' and 'source'",
                file=file,
                key=key,
            )
        unit = raw.get("unit")
        if unit is not None and unit != param.unit:
            raise ProfileError(
                f"unit {unit!r} does not match the parameter's unit {param.unit!r}",
                file=file,
                key=key,
            )
        source = raw.get("source")
        raw = raw["value"]
    return _check_value(raw, param, file, key), source or f"{path.name} (no source given)"


def _apply_settings(
    tables: Any,
    registry: Mapping[str, Rule],
    params: dict[str, dict[str, Any]],
    sources: dict[str, dict[str, str]],
    file: str,
    path: Path,
) -> None:
    """Apply ``[settings.GROUP]`` tables to every rule that reads the group."""
    if not isinstance(tables, dict):
        raise ProfileError("expected tables [settings.GROUP]", file=file, key="settings")
    groups: dict[str, dict[str, Param]] = {}
    for r in registry.values():
        for group, declared in r.settings.items():
            groups.setdefault(group, {}).update(declared)
    for group, table in tables.items():
        key = f"settings.{group}"
        if group not in groups:
            raise ProfileError(
                f"unknown settings group; known: {', '.join(sorted(groups)) or 'none'}",
                file=file,
                key=key,
            )
        if not isinstance(table, dict):
            raise ProfileError("expected a table of parameters", file=file, key=key)
        for pname, raw in table.items():
            pkey = f"{key}.{pname}"
            if pname not in groups[group]:
                raise ProfileError(
                    f"settings group {group!r} has no parameter {pname!r} "
                    f"(parameters: {', '.join(groups[group])})",
                    file=file,
                    key=pkey,
                )
            value, source = _entry(raw, groups[group][pname], file, pkey, path)
            for rid, r in registry.items():
                if group in r.settings:
                    params[rid][pname] = value
                    sources[rid][pname] = source


def load_profile(
    name_or_path: str | Path = "default", registry: Mapping[str, Rule] | None = None
) -> Profile:
    """Read, check and resolve a profile by built-in name or file path.

    Parameters
    ----------
    name_or_path
        A built-in profile name (``default``) or a path to a TOML file.
    registry
        The rules to check against (default: every discovered rule).

    Raises
    ------
    ProfileError
        Unknown keys, rule ids or parameters; values of the wrong type; a unit that differs
        from the parameter's unit. The message names the file and key.
    """
    registry = discover_rules() if registry is None else registry
    path = _locate(name_or_path)
    return _resolve(path, registry, seen=())


def _resolve(path: Path, registry: Mapping[str, Rule], seen: tuple[str, ...]) -> Profile:
    file = str(path)
    if file in seen:
        raise ProfileError("profile extends itself in a cycle", file=file, key="profile.extends")
    data, blob = _read(path)
    for key in data:
        if key not in _TOP_KEYS:
            raise ProfileError(
                f"unknown table [{key}]; use [profile] and [rules.ID]", file=file, key=key
            )
    head = data.get("profile", {})
    for key in head:
        if key not in _PROFILE_KEYS:
            raise ProfileError(
                f"unknown key; use one of {sorted(_PROFILE_KEYS)}", file=file, key=f"profile.{key}"
            )
    if "extends" in head:
        base = _resolve(
            _locate(head["extends"])
            if not str(head["extends"]).endswith(".toml")
            else (path.parent / head["extends"]),
            registry,
            seen + (file,),
        )
        params = {rid: dict(v) for rid, v in base.params.items()}
        sources = {rid: dict(v) for rid, v in base.sources.items()}
        selected = list(base.rule_ids)
        digest = base.sha256
        assessment = dict(base.assessment)
        assessment_sources = dict(base.assessment_sources)
        merged = {k: v for k, v in base.data.items() if k in ("conditions", "policy", "crime")}
    else:
        params = {rid: r.defaults() for rid, r in registry.items()}
        sources = {
            rid: {n: p.source for n, p in r.all_params.items()} for rid, r in registry.items()
        }
        selected = list(registry)
        digest = ""
        assessment = {k: p.default for k, p in ASSESSMENT_PARAMS.items()}
        assessment_sources = {k: p.source for k, p in ASSESSMENT_PARAMS.items()}
        merged = {}
    if "rules" in head:
        if not isinstance(head["rules"], list):
            raise ProfileError(
                "expected a list of rule ids or prefixes", file=file, key="profile.rules"
            )
        try:
            selected = select_rules(registry, head["rules"])
        except RuleError as exc:
            raise ProfileError(str(exc), file=file, key="profile.rules") from None

    _apply_settings(data.get("settings", {}), registry, params, sources, file, path)

    tables = data.get("rules", {})
    if not isinstance(tables, dict):
        raise ProfileError("expected tables [rules.ID]", file=file, key="rules")
    for rid, table in tables.items():
        key = f"rules.{rid}"
        if rid not in registry:
            raise ProfileError(
                f"unknown rule id {rid!r}; known: {', '.join(registry)}", file=file, key=key
            )
        if not isinstance(table, dict):
            raise ProfileError("expected a table of parameters", file=file, key=key)
        rule_ = registry[rid]
        for pname, raw in table.items():
            pkey = f"{key}.{pname}"
            if pname == "enabled":
                if not isinstance(raw, bool):
                    raise ProfileError("expected true or false", file=file, key=pkey)
                if raw and rid not in selected:
                    selected.append(rid)
                if not raw and rid in selected:
                    selected.remove(rid)
                continue
            group = rule_.setting_group(pname)
            if group is not None:
                readers = [i for i, r in registry.items() if group in r.settings]
                raise ProfileError(
                    f"{pname!r} is shared by every rule reading [settings.{group}] "
                    f"({', '.join(readers)}): set it there, once for all of them, instead "
                    f"of under [rules.{rid}]",
                    file=file,
                    key=pkey,
                )
            if pname not in rule_.params:
                known = ", ".join(rule_.params) or "none"
                raise ProfileError(
                    f"rule {rid} has no parameter {pname!r} (parameters: {known})",
                    file=file,
                    key=pkey,
                )
            value, source = _entry(raw, rule_.params[pname], file, pkey, path)
            params[rid][pname] = value
            sources[rid][pname] = source
    table = data.get("assessment", {})
    if not isinstance(table, dict):
        raise ProfileError("expected a table of parameters", file=file, key="assessment")
    for pname, raw in table.items():
        if pname not in ASSESSMENT_PARAMS:
            raise ProfileError(
                f"unknown parameter; use one of {', '.join(ASSESSMENT_PARAMS)}",
                file=file,
                key=f"assessment.{pname}",
            )
        value, source = _entry(raw, ASSESSMENT_PARAMS[pname], file, f"assessment.{pname}", path)
        assessment[pname], assessment_sources[pname] = value, source
    for name in ("conditions", "policy", "crime"):
        if name in data:
            if not isinstance(data[name], dict):
                raise ProfileError("expected a table", file=file, key=name)
            merged[name] = {**merged.get(name, {}), **data[name]}
    data = {**data, **merged}
    digest = hashlib.sha256(digest.encode() + blob).hexdigest()
    return Profile(
        name=str(head.get("name", path.stem)),
        description=str(head.get("description", "")),
        path=file,
        rule_ids=sorted(selected),
        params=params,
        sources=sources,
        sha256=digest,
        view=head.get("view"),
        data=data,
        assessment=assessment,
        assessment_sources=assessment_sources,
        jurisdiction=str(head.get("jurisdiction", "")),
    )
