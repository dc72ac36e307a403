"""Stage 3, resolve: layers and variables turn a template into one typed `Target`.

For one target the layers apply in order, last wins: the template, then
`overrides.environments[env]`, `overrides.countries[country]`, `overrides.targets["env/country"]`.
Objects merge key by key (header names ignoring case), other values replace, endpoints merge by
name. Every merged leaf records its `Origin`, the layer and the place in the file that set it, so
that variables, expanded after the merge, and every later check report where the text was
written; a value that a later layer replaced is never expanded.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from compiler.resolve import journeys
from compiler.sources import feeds
from compiler.sources.load import Document
from compiler.resolve.model import (
    AT_RUN_TIME,
    BUILT_IN,
    CaptureRef,
    EnvRef,
    Endpoint,
    FeedRef,
    Expansion,
    Limits,
    Origin,
    ProtectedHost,
    Stage,
    Target,
    Text,
    ThinkTime,
    as_written,
    freeze,
    locate,
)
from compiler.problems import Problems, did_you_mean, pointer_join
from compiler.sources.targets import TargetRef, compatible_targets
from compiler.timespan import parse_timespan
from compiler.sources.validate import Inputs
from compiler.sources.verbatim import header_value_problem, host_problem, path_problem, report_path_problem

PLACEHOLDER = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RUNTIME_FIELDS = {"headers", "query", "json", "body", "form"}  # where ${env:NAME} may stand
NAMED_LISTS = ("endpoints", "flows", "on_start")  # lists that layers merge by name
CAPTURED = Origin("captured at run time")  # ${capture:NAME}
FROM_FEED = Origin("read from the feed at run time")  # ${feed:FEED.COLUMN}
DEFAULTS = {
    "think_time_seconds": 0,
    "client": "fasthttp",
    "request_timeout_seconds": 60,
    "headers": {},
    "report_html": None,
    "follow_redirects": True,
}
ENDPOINT_DEFAULTS = {"method": "GET", "weight": 1}


@dataclass
class Layer:
    name: str  # template, environments.qa, countries.mx, targets.qa/mx
    file: str
    pointer: str  # of the layer in its file
    data: dict


@dataclass
class Resolution:
    """One target's resolution under way: merged values, their origins, its problems."""

    ref: TargetRef
    file: str  # the simulation's label, for values no layer set
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    flagged: set[str] = field(default_factory=set)  # pointers with a problem already
    merged: dict = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    parents: set[str] = field(default_factory=set)  # pointers with origins recorded below them
    expansions: dict[str, list[Expansion]] = field(default_factory=dict)  # resolved pointer -> ${...} used

    def problem(self, pointer: str, message: str) -> None:
        """A problem with the value at `pointer` of the merged configuration."""
        origin = locate(self.origins, pointer)
        self.problems.append((origin.file, origin.pointer, message) if origin.file else (self.file, pointer, message))
        self.flagged.add(pointer)


# -- variables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variables:
    """What `${name}` expands to for one target, and where each value was set (for explain)."""

    values: dict[str, str]
    sources: dict[str, Origin]


def _runtime_ref(body: str, allow_refs: bool, report) -> CaptureRef | FeedRef | None:
    """The reference `${capture:NAME}` or `${feed:FEED.COLUMN}` stands for, or None after a problem."""
    kind, _, name = body.partition(":")
    feed, dot, column = name.partition(".")
    if kind == "capture" and not VARIABLE_NAME.match(name):
        report(f"'${{{body}}}' is not a valid capture reference; write ${{capture:NAME}}")
    elif kind == "feed" and not (VARIABLE_NAME.match(feed) and dot and column):
        report(f"'${{{body}}}' is not a valid feed reference; write ${{feed:FEED.COLUMN}}")
    elif not allow_refs:
        report(
            f"'${{{body}}}' is read when the request is sent and may only stand in paths, query, headers, "
            "bodies (json, body, form) and check values"
        )
    else:
        return CaptureRef(name) if kind == "capture" else FeedRef(feed, column)
    return None


def expand(
    text: str, variables: dict[str, str], allow_env: bool, report, used: list[str] | None = None, allow_refs: bool = False
) -> str | Text | CaptureRef | FeedRef:
    """Expand `${name}`, keep `${env:NAME}`, `${capture:NAME}` and `${feed:FEED.COLUMN}` for run
    time (where allowed), turn `$${` into a literal `${`. A string that is exactly one capture or
    feed reference is that reference (in `json` it keeps the captured value's type).

    Each placeholder expanded (or kept for run time) is appended to `used`: `name`, `env:NAME`."""
    parts: list[str | EnvRef | CaptureRef | FeedRef] = []
    literal: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token, body = match.group(0), match.group(1)
        if token == "$${":
            literal.append("${")
        elif body is None:
            report(
                f"unclosed or malformed placeholder at character {match.start() + 1}: "
                "write ${name}, ${env:NAME}, or $${ for a literal '${'"
            )
        elif body.startswith("env:"):
            name = body[4:]
            if not VARIABLE_NAME.match(name):
                report(f"'${{{body}}}' is not a valid environment variable name")
            elif not allow_env:
                report(
                    f"'${{env:{name}}}' is read when the locustfile starts and may only stand in "
                    "headers, query, json, form and body"
                )
            else:
                parts += ["".join(literal), EnvRef(name)]
                literal = []
                if used is not None:
                    used.append(body)
        elif body.startswith(("capture:", "feed:")):
            ref = _runtime_ref(body, allow_refs, report)
            if ref is not None:
                parts += ["".join(literal), ref]
                literal = []
                if used is not None:
                    used.append(body)
        elif not VARIABLE_NAME.match(body):
            report(f"'${{{body}}}' is not a valid placeholder; write ${{name}} or ${{env:NAME}}")
        elif body not in variables:
            report(
                f"unknown variable '${{{body}}}'{did_you_mean(body, variables)}; "
                f"known: {', '.join(sorted(variables))}"
            )
        else:
            literal.append(variables[body])
            if used is not None:
                used.append(body)
    literal.append(text[position:])
    parts.append("".join(literal))
    parts = [part for part in parts if part != ""]
    if all(isinstance(part, str) for part in parts):
        return "".join(parts)  # type: ignore[arg-type]
    if len(parts) == 1 and isinstance(parts[0], (CaptureRef, FeedRef)):
        return parts[0]
    return Text(tuple(parts))


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def variables_for(catalog: Document, ref: TargetRef, resolution: Resolution) -> Variables:
    """Built-ins, then the vars of the environment, the country, the app, the simulation (merged
    from its layers, whose origins `resolution` recorded); a later one wins."""
    values = {"app": ref.app, "environment": ref.environment, "country": ref.country, "target": ref.name}
    sources = dict.fromkeys(values, BUILT_IN)
    for kind, name in (("environments", ref.environment), ("countries", ref.country), ("apps", ref.app)):
        for key, value in catalog.data[kind][name].get("vars", {}).items():
            values[key] = _as_text(value)
            sources[key] = Origin("catalog", catalog.label, pointer_join("", kind, name, "vars", key))
    for key, value in resolution.merged.get("vars", {}).items():
        values[key] = _as_text(value)
        sources[key] = locate(resolution.origins, pointer_join("/vars", key))
    return Variables(values, sources)


def _note(resolution: Resolution, at: str, used: list[str], variables: Variables) -> None:
    """Record the placeholders a string at `at` (resolved pointer) was made with, each once."""
    if not used:
        return
    known = resolution.expansions.setdefault(at, [])
    for name in used:
        placeholder = "${" + name + "}"
        if all(expansion.placeholder != placeholder for expansion in known):
            kind = name.partition(":")[0] if ":" in name else ""
            source = {"env": AT_RUN_TIME, "capture": CAPTURED, "feed": FROM_FEED}.get(kind) or variables.sources[name]
            known.append(Expansion(placeholder, source))


def _expand_value(
    resolution: Resolution, value: Any, pointer: str, at: str, variables: Variables, allow_env: bool, allow_refs: bool = False
) -> Any:
    """`value` with its strings expanded. `pointer` is where it was written (problems name it),
    `at` where it ends up in the resolved configuration, keys expanded (explain looks there)."""
    if isinstance(value, str):
        used: list[str] = []
        report = lambda message: resolution.problem(pointer, message)  # noqa: E731
        result = expand(value, variables.values, allow_env, report, used, allow_refs)
        _note(resolution, at, used, variables)
        return result
    if isinstance(value, list):
        return [
            _expand_value(resolution, v, pointer_join(pointer, i), pointer_join(at, i), variables, allow_env, allow_refs)
            for i, v in enumerate(value)
        ]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            here, used = pointer_join(pointer, key), []
            name = expand(key, variables.values, False, lambda message: resolution.problem(here, f"in this key: {message}"), used)
            key = name if isinstance(name, str) else key
            _note(resolution, pointer_join(at, key), used, variables)
            result[key] = _expand_value(resolution, item, here, pointer_join(at, key), variables, allow_env, allow_refs)
        return result
    return value


def _expand_step(resolution: Resolution, fields: dict, pointer: str, variables: Variables) -> None:
    """A request's fields expanded in place: run-time references only where a request sends them
    (paths take captures and feeds, not ${env:..}), and in check values."""
    for key, item in fields.items():
        here = pointer_join(pointer, key)
        if key == "checks":
            fields[key] = [
                {
                    name: _expand_value(resolution, v, pointer_join(here, i, name), pointer_join(here, i, name), variables,
                                        False, name in journeys.CHECK_VALUES)
                    for name, v in check.items()
                }
                for i, check in enumerate(item)
            ]
        else:
            fields[key] = _expand_value(resolution, item, here, here, variables, key in RUNTIME_FIELDS,
                                        key in RUNTIME_FIELDS or key == "path")


def expand_merged(resolution: Resolution, variables: Variables) -> None:
    """Expand every string of the merged configuration; `${env:...}` only where it is sent."""
    merged = resolution.merged
    for key, value in merged.items():
        if key in ("endpoints", "on_start"):
            for name, fields in value.items():
                _expand_step(resolution, fields, pointer_join("", key, name), variables)
        elif key == "flows":
            for name, flow in value.items():
                for field_name, item in flow.items():
                    if field_name != "steps":
                        here = pointer_join("/flows", name, field_name)
                        flow[field_name] = _expand_value(resolution, item, here, here, variables, False)
                for index, step in enumerate(flow.get("steps", [])):
                    _expand_step(resolution, step, pointer_join("/flows", name, "steps", index), variables)
        elif key != "vars":  # variable values are literal text
            here = pointer_join("", key)
            merged[key] = _expand_value(resolution, value, here, here, variables, key == "headers", key == "headers")


# -- layers ----------------------------------------------------------------------------------------


def layers_of(document: Document, ref: TargetRef) -> list[Layer]:
    data = {k: v for k, v in document.data.items() if k not in ("overrides", "$schema")}
    layers = [Layer("template", document.label, "", data)]
    overrides = document.data.get("overrides", {})
    for kind, key in (("environments", ref.environment), ("countries", ref.country), ("targets", f"{ref.environment}/{ref.country}")):
        if key in overrides.get(kind, {}):
            layers.append(Layer(f"{kind}.{key}", document.label, pointer_join("", "overrides", kind, key), overrides[kind][key]))
    return layers


def _forget(resolution: Resolution, pointer: str) -> None:
    """Drop the origins of a replaced value and of everything below it. Only a pointer with
    something recorded below it is searched for: patching 1000 endpoints stays linear."""
    resolution.origins.pop(pointer, None)
    if pointer in resolution.parents:
        for known in [p for p in resolution.origins if p.startswith(pointer + "/")]:
            del resolution.origins[known]


def _mark(resolution: Resolution, value: Any, pointer: str, origin: Origin) -> None:
    """Record the origin of `value` and of every leaf below it; forget what it replaced."""
    _forget(resolution, pointer)
    resolution.origins[pointer] = origin
    parent = pointer.rsplit("/", 1)[0]
    while parent and parent not in resolution.parents:
        resolution.parents.add(parent)
        parent = parent.rsplit("/", 1)[0]
    if isinstance(value, dict):
        for key, item in value.items():
            _mark(resolution, item, pointer_join(pointer, key), Origin(origin.layer, origin.file, pointer_join(origin.pointer, key)))


def _is_headers(pointer: str) -> bool:
    parts = pointer.split("/")
    return pointer == "/headers" or (len(parts) == 4 and parts[1] in ("endpoints", "on_start") and parts[3] == "headers")


def _is_capture(pointer: str) -> bool:
    parts = pointer.split("/")
    return len(parts) == 4 and parts[1] == "on_start" and parts[3] == "capture"


def _merge(resolution: Resolution, base: dict, patch: dict, pointer: str, origin: Origin) -> None:
    for key, value in patch.items():
        here, there = pointer_join(pointer, key), Origin(origin.layer, origin.file, pointer_join(origin.pointer, key))
        if key in NAMED_LISTS and pointer == "":
            _merge_named(resolution, base.setdefault(key, {}), value, there, f"/{key}")
            continue
        if (key == "pacing" and pointer == "") or _is_capture(pointer):  # replaced as a whole
            base.pop(key, None)
        if _is_headers(pointer):  # header names ignore case: a later layer's name replaces
            for same in [k for k in base if k.lower() == key.lower() and k != key]:
                del base[same]
                _forget(resolution, pointer_join(pointer, same))
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(resolution, base[key], value, here, there)
        else:
            base[key] = copy.deepcopy(value)
            _mark(resolution, value, here, there)


def _merge_named(resolution: Resolution, items: dict, patches: list, origin: Origin, pointer: str) -> None:
    """Endpoints, flows and on_start steps merge by name: a name present is patched, a new one is
    added at the end. A pause step (on_start's, which has no name) is always added, as `#N`."""
    for index, patch in enumerate(patches):
        name = patch.get("name", f"#{len(items) + 1}")
        here = pointer_join(pointer, name)
        there = Origin(origin.layer, origin.file, pointer_join(origin.pointer, index))
        resolution.origins.setdefault(pointer, origin)
        if name not in items:
            items[name] = {}
            resolution.origins[here] = there
        _merge(resolution, items[name], patch, here, there)


# -- the target ------------------------------------------------------------------------------------


def derived_seed(target_name: str) -> int:
    """A stable seed for a template without one: the first 4 bytes of sha256(target name)."""
    return int.from_bytes(hashlib.sha256(target_name.encode()).digest()[:4], "big")


def resolve_target(inputs: Inputs, ref: TargetRef) -> tuple[Target | None, list[tuple[str, str, str]]]:
    """The typed target, or None with its problems as (file, pointer, message)."""
    catalog = inputs.catalog.data
    document = inputs.simulations[catalog["apps"][ref.app]["simulation"]]
    resolution = Resolution(ref, document.label)
    for layer in layers_of(document, ref):
        _merge(resolution, resolution.merged, layer.data, "", Origin(layer.name, layer.file, layer.pointer))
    expand_merged(resolution, variables_for(inputs.catalog, ref, resolution))
    with feeds.recording({}) as read:
        target = _build(inputs, ref, resolution)
    if resolution.problems or target is None:
        return None, resolution.problems
    return replace(target, feeds_read=tuple(sorted(read.items()))), []


def _apply_defaults(resolution: Resolution) -> None:
    merged, origins = resolution.merged, resolution.origins
    for key, default in DEFAULTS.items():
        if key not in merged:
            merged[key] = copy.deepcopy(default)
            origins[f"/{key}"] = Origin("default")
    if "seed" not in merged:
        merged["seed"] = derived_seed(resolution.ref.name)
        origins["/seed"] = Origin("derived", "", "from the target's name")
    for name, fields in merged.get("endpoints", {}).items():
        for key, default in ENDPOINT_DEFAULTS.items():
            if key not in fields:
                fields[key] = default
                origins[pointer_join("/endpoints", name, key)] = Origin("default")


def _check_host_and_headers(resolution: Resolution) -> None:
    host = resolution.merged["host"]
    if "/host" not in resolution.flagged and not re.match(r"https?://[^/\s]", host):
        resolution.problem("/host", f"host {host!r} must be a URL starting with http:// or https://")
    for pointer, key, value in _header_values(resolution.merged):
        literal = "".join(p for p in (value.parts if isinstance(value, Text) else [value]) if isinstance(p, str))
        if not literal.isascii() or not literal.isprintable():
            resolution.problem(
                pointer,
                f"header {key} has non-ASCII or control characters ({literal!r}); HTTP sends "
                "header values as ASCII: percent-encode it, or move it to the body",
            )


def _requests(merged: dict):
    """(pointer, fields) of every request step: on_start's, the flows', the endpoints'."""
    for key in ("on_start", "endpoints"):
        for name, fields in merged.get(key, {}).items():
            if "pause" not in fields:
                yield pointer_join("", key, name), fields
    for name, flow in merged.get("flows", {}).items():
        for index, step in enumerate(flow.get("steps", [])):
            if "pause" not in step:
                yield pointer_join("/flows", name, "steps", index), step


def _header_values(merged: dict):
    """(pointer, name, value) of every header: the shared ones, then each request's."""
    header_sets = [("/headers", merged["headers"])] + [
        (pointer_join(pointer, "headers"), fields.get("headers", {})) for pointer, fields in _requests(merged)
    ]
    for base, headers in header_sets:
        for name, value in headers.items():
            yield pointer_join(base, name), name, value


def _check_verbatim(resolution: Resolution) -> None:
    """Text that HTTP clients or the file system would change on the way is refused: see verbatim.py."""
    merged = resolution.merged
    checks = [("/host", merged["host"], host_problem), ("/report_html", merged["report_html"], report_path_problem)]
    checks += [
        (pointer_join(pointer, "path"), _path_as_sent(fields.get("path")), path_problem)
        for pointer, fields in _requests(merged)
        if fields.get("enabled", True) is not False
    ]
    checks += [
        (pointer, as_written(value), lambda text, key=key: header_value_problem(key, text))
        for pointer, key, value in _header_values(merged)
    ]
    for pointer, value, check in checks:
        message = check(value) if isinstance(value, str) and pointer not in resolution.flagged else None
        if message:
            resolution.problem(pointer, message)


def _path_as_sent(path: Any) -> Any:
    """A path's literal text, a captured or feed value (sent percent-encoded) standing as `x`."""
    if isinstance(path, Text):
        return "".join(part if isinstance(part, str) else "x" for part in path.parts)
    return path


def _think_time(resolution: Resolution) -> ThinkTime:
    think = resolution.merged["think_time_seconds"]
    if resolution.merged.get("pacing"):
        if resolution.origins["/think_time_seconds"].layer != "default":
            order = list(resolution.origins)  # _mark re-inserts what a layer sets: the later one is last
            later = max(("/pacing", "/think_time_seconds"), key=lambda p: max(i for i, k in enumerate(order) if k == p or k.startswith(p + "/")))
            resolution.problem(later, "pacing replaces think_time_seconds: set one of them, not both (after overrides)")
        return ThinkTime(0, 0)
    if not isinstance(think, dict):
        return ThinkTime(think, think)
    if set(think) != {"min", "max"}:
        resolution.problem("/think_time_seconds", "think_time_seconds needs both min and max after overrides")
        return ThinkTime(0, 0)
    if think["min"] > think["max"]:
        resolution.problem("/think_time_seconds/max", f"think time min {think['min']} is above max {think['max']} after overrides")
    return ThinkTime(think["min"], think["max"])


def _check_limits(resolution: Resolution, limits: Limits, catalog_label: str) -> None:
    """The load under the environment's limits: users, spawn_rate and run_time, or with stages,
    every stage and their total duration (the stages decide: a run_time set too is not used)."""
    merged, environment = resolution.merged, resolution.ref.environment
    stages = merged.get("stages")
    total = sum(parse_timespan(stage["duration"]) for stage in stages or ())
    if not stages:
        missing = [key for key in ("users", "spawn_rate", "run_time") if key not in merged]
        if missing:
            resolution.problem(
                "",
                f"missing required key {', '.join(repr(k) for k in missing)} (after overrides): a simulation "
                "without stages needs users, spawn_rate and run_time",
            )
            return
    checked: list[tuple[str, str, str, Any, float]] = []  # (pointer, what, limit key, shown, value)
    if "run_time" in merged and parse_timespan(merged["run_time"]) == 0:
        resolution.problem("/run_time", "run_time must be longer than 0s (Locust would run forever)")
    if not stages:
        checked.append(("/users", "users", "max_users", merged["users"], merged["users"]))
        checked.append(("/spawn_rate", "spawn_rate", "max_spawn_rate", merged["spawn_rate"], merged["spawn_rate"]))
    else:
        for index, stage in enumerate(stages):
            here, seconds = pointer_join("/stages", index), parse_timespan(stage["duration"])
            if seconds == 0:
                resolution.problem(pointer_join(here, "duration"), f"stage {index + 1} lasts 0s; give it a duration")
            for key, limit_key in (("users", "max_users"), ("spawn_rate", "max_spawn_rate")):
                checked.append((pointer_join(here, key), f"stage {index + 1} {key}", limit_key, stage[key], stage[key]))
    if "run_time" in merged and not stages:  # with stages, the stages decide (-t ends a run earlier)
        checked.append(("/run_time", "run_time", "max_run_time", merged["run_time"], parse_timespan(merged["run_time"])))
    if stages:
        checked.append(("/stages", f"the stages' total duration ({total}s)", "max_run_time", f"{total}s", total))
    for pointer, what, limit_key, shown, value in checked:
        limit = getattr(limits, limit_key)
        if limit is not None and value > (parse_timespan(limit) if limit_key == "max_run_time" else limit):
            shown = "" if what.startswith("the stages") else f" {shown}"
            resolution.problem(
                pointer,
                f"{what}{shown} is above environment '{environment}'s {limit_key} {limit} "
                f"({catalog_label} {pointer_join('', 'environments', environment, 'limits', limit_key)})",
            )


def _endpoints(resolution: Resolution, has_flows: bool) -> tuple[Endpoint, ...]:
    endpoints = []
    for name, fields in resolution.merged.get("endpoints", {}).items():
        if fields.get("enabled", True) is False:
            continue
        here = pointer_join("/endpoints", name)
        if "path" not in fields:
            resolution.problem(here, f"endpoint '{name}' is added here without a path")
            continue
        endpoint = journeys.request(resolution, fields, here, endpoint=True)
        if endpoint is not None:
            endpoints.append(endpoint)
    if not endpoints and not has_flows and not resolution.problems:
        resolution.problem("/endpoints", "no enabled endpoint or flow for this target; a simulation needs at least one")
    return tuple(endpoints)


def _build(inputs: Inputs, ref: TargetRef, resolution: Resolution) -> Target | None:
    """Defaults, the checks that need merged values, and the typed model."""
    catalog = inputs.catalog.data
    environment = catalog["environments"][ref.environment]
    limits = Limits(**environment.get("limits", {}))
    _apply_defaults(resolution)
    _check_host_and_headers(resolution)
    _check_verbatim(resolution)
    think_time = _think_time(resolution)
    _check_limits(resolution, limits, inputs.catalog.label)
    on_start, flows = journeys.on_start(resolution), journeys.flows(resolution)
    endpoints = _endpoints(resolution, bool(flows))
    feeds = journeys.check_references(resolution, inputs.catalog.path.parent)
    journeys.check_thresholds(resolution, journeys.request_names(on_start, flows, endpoints))
    if resolution.problems:
        return None
    merged = resolution.merged
    staged = bool(merged.get("stages"))
    return Target(
        name=ref.name,
        app=ref.app,
        environment=ref.environment,
        country=ref.country,
        sources=(inputs.catalog.path.name, PurePosixPath(catalog["apps"][ref.app]["simulation"]).as_posix()),
        host=merged["host"],
        users=None if staged else int(merged["users"]),
        spawn_rate=None if staged else merged["spawn_rate"],
        run_time=None if staged else merged.get("run_time"),
        report_html=merged["report_html"],
        seed=merged["seed"],
        seed_derived=resolution.origins["/seed"].layer == "derived",
        think_time=think_time,
        client=merged["client"],
        request_timeout_seconds=merged["request_timeout_seconds"],
        headers=freeze(merged["headers"]),
        endpoints=endpoints,
        on_start=on_start,
        flows=flows,
        feeds=feeds,
        pacing=freeze(merged.get("pacing", {})),
        stages=tuple(Stage(s["duration"], s["users"], s["spawn_rate"]) for s in merged.get("stages", ())),
        thresholds=freeze(merged.get("thresholds", {})),
        limits=limits,
        protected=bool(environment.get("protected", False)),
        protected_hosts=(),  # filled in by resolve_all, which sees every target
        origins=freeze(dict(sorted(resolution.origins.items()))),
        expansions=freeze({at: tuple(used) for at, used in sorted(resolution.expansions.items())}),
    )


def resolve_all(inputs: Inputs, refs: list[TargetRef], problems: Problems) -> list[Target]:
    """Resolve every target; problems shared by several targets are reported once, naming them.
    Each target also learns the hosts of the catalog's protected targets, whichever are asked."""
    resolved: dict[str, Target] = {}
    found_by_target: list[tuple[str, list[tuple[str, str, str]]]] = []
    for ref in refs:
        target, found = resolve_target(inputs, ref)
        if target is not None:
            resolved[ref.name] = target
        found_by_target.append((ref.name, found))
    report_found(found_by_target, problems)
    hosts = protected_hosts(inputs, resolved)
    return [replace(target, protected_hosts=hosts) for target in resolved.values()]


def report_found(found_by_target: list[tuple[str, list[tuple[str, str, str]]]], problems: Problems) -> None:
    """The targets' problems, in the targets' order: one found by several targets is reported
    once, naming them, and a value's problems stay together in the order they were found."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for name, found in found_by_target:
        for key in found:
            names = grouped.setdefault(key, [])
            if name not in names:
                names.append(name)
    first_seen: dict[tuple[str, str], int] = {}
    for file, pointer, _message in grouped:
        first_seen.setdefault((file, pointer), len(first_seen))
    for (file, pointer, message), names in sorted(grouped.items(), key=lambda item: first_seen[item[0][:2]]):
        which = f"target {names[0]}" if len(names) == 1 else f"targets {', '.join(names)}"
        problems.add(file, pointer, f"{message} (for {which})")


def is_protected(inputs: Inputs, ref: TargetRef) -> bool:
    return bool(inputs.catalog.data["environments"].get(ref.environment, {}).get("protected", False))


def protected_hosts(inputs: Inputs, resolved: dict[str, Target]) -> tuple[ProtectedHost, ...]:
    """The hosts of every compatible target in a protected environment, in a stable order,
    each once; targets not resolved yet are resolved here (their problems are their own run's)."""
    catalog = inputs.catalog.data
    found: dict[tuple, ProtectedHost] = {}
    for ref in compatible_targets(catalog):
        if not is_protected(inputs, ref):
            continue
        target = resolved.get(ref.name) or (resolve_target(inputs, ref)[0] if inputs.can_resolve(ref) else None)
        if target is not None:
            entry = ProtectedHost(target.host, target.environment, target.limits)
            found.setdefault((as_written(entry.host), entry.environment), entry)
    return tuple(found[key] for key in sorted(found))
