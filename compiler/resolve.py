"""Stage 3, resolve: layers and variables turn a template into one typed `Target`.

For one target the layers apply in order, last wins: the template, then
`overrides.environments[env]`, `overrides.countries[country]`, `overrides.targets["env/country"]`.
Objects merge key by key, other values replace, endpoints merge by name. Variables (`${name}`)
are expanded in each layer before it is merged, so every problem points at the file and the
JSON pointer where the text was written. Each merged leaf records its `Origin`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from compiler.load import Document
from compiler.model import EnvRef, Endpoint, Limits, Origin, Target, Text, ThinkTime, freeze
from compiler.problems import Problems, did_you_mean, pointer_join
from compiler.targets import TargetRef
from compiler.timespan import parse_timespan
from compiler.validate import Inputs

PLACEHOLDER = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RUNTIME_FIELDS = {"headers", "query", "json", "body"}  # where ${env:NAME} may stand
ENDPOINT_DEFAULTS = {"method": "GET", "weight": 1}


@dataclass
class Layer:
    name: str  # template, environments.qa, countries.mx, targets.qa/mx
    file: str
    pointer: str  # of the layer in its file
    data: dict


@dataclass
class Resolution:
    """The state of one target's resolution: merged values, their origins, its problems."""

    ref: TargetRef
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    merged: dict = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)

    def problem(self, origin: Origin, message: str) -> None:
        self.problems.append((origin.file, origin.pointer, message))


def _render_variable(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def expand(text: str, variables: dict[str, str], allow_env: bool, report) -> str | Text:
    """Expand `${name}`, keep `${env:NAME}` for run time, turn `$${` into a literal `${`."""
    parts: list[str | EnvRef] = []
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
                    "headers, query, json and body"
                )
            else:
                parts += ["".join(literal), EnvRef(name)]
                literal = []
        elif not VARIABLE_NAME.match(body):
            report(f"'${{{body}}}' is not a valid placeholder; write ${{name}} or ${{env:NAME}}")
        elif body not in variables:
            report(
                f"unknown variable '${{{body}}}'{did_you_mean(body, variables)}; "
                f"known: {', '.join(sorted(variables))}"
            )
        else:
            literal.append(variables[body])
    literal.append(text[position:])
    parts.append("".join(literal))
    parts = [part for part in parts if part != ""]
    if not any(isinstance(part, EnvRef) for part in parts):
        return "".join(parts)  # type: ignore[arg-type]
    return Text(tuple(parts))


def _expand_all(value: Any, pointer: str, variables, allow_env: bool, report) -> Any:
    if isinstance(value, str):
        return expand(value, variables, allow_env, lambda message: report(pointer, message))
    if isinstance(value, list):
        return [_expand_all(item, pointer_join(pointer, i), variables, allow_env, report) for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            here = pointer_join(pointer, key)
            new_key = expand(key, variables, False, lambda message: report(here, f"in this key: {message}"))
            result[new_key if isinstance(new_key, str) else key] = _expand_all(item, here, variables, allow_env, report)
        return result
    return value


def expand_layer(layer: Layer, variables: dict[str, str], report) -> dict:
    """A layer with its variables expanded; `${env:...}` allowed only where it is read at run time."""
    result = {}
    for key, value in layer.data.items():
        here = pointer_join(layer.pointer, key)
        if key == "endpoints":
            result[key] = [
                {
                    name: _expand_all(item, pointer_join(here, index, name), variables, name in RUNTIME_FIELDS, report)
                    for name, item in endpoint.items()
                }
                for index, endpoint in enumerate(value)
            ]
        else:
            result[key] = _expand_all(value, here, variables, key == "headers", report)
    return result


def _mark(resolution: Resolution, value: Any, pointer: str, origin: Origin) -> None:
    """Record the origin of `value` and of every leaf below it; forget what it replaced."""
    for known in [p for p in resolution.origins if p == pointer or p.startswith(pointer + "/")]:
        del resolution.origins[known]
    resolution.origins[pointer] = origin
    if isinstance(value, dict):
        for key, item in value.items():
            _mark(resolution, item, pointer_join(pointer, key), Origin(origin.layer, origin.file, pointer_join(origin.pointer, key)))


def _merge(resolution: Resolution, base: dict, patch: dict, pointer: str, origin: Origin) -> None:
    for key, value in patch.items():
        here, there = pointer_join(pointer, key), Origin(origin.layer, origin.file, pointer_join(origin.pointer, key))
        if key == "endpoints" and pointer == "":
            _merge_endpoints(resolution, base.setdefault("endpoints", {}), value, there)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(resolution, base[key], value, here, there)
        else:
            base[key] = copy.deepcopy(value)
            _mark(resolution, value, here, there)


def _merge_endpoints(resolution: Resolution, endpoints: dict, patches: list, origin: Origin) -> None:
    for index, patch in enumerate(patches):
        name = patch["name"]
        here = pointer_join("/endpoints", name)
        there = Origin(origin.layer, origin.file, pointer_join(origin.pointer, index))
        if name not in endpoints:
            endpoints[name] = {}
            resolution.origins[here] = there
        _merge(resolution, endpoints[name], patch, here, there)


def derived_seed(target_name: str) -> int:
    """A stable seed for a template without one: the first 4 bytes of sha256(target name)."""
    return int.from_bytes(hashlib.sha256(target_name.encode()).digest()[:4], "big")


def _layers(document: Document, ref: TargetRef) -> list[Layer]:
    data = {k: v for k, v in document.data.items() if k not in ("overrides", "$schema")}
    layers = [Layer("template", document.label, "", data)]
    overrides = document.data.get("overrides", {})
    for kind, key in (("environments", ref.environment), ("countries", ref.country), ("targets", f"{ref.environment}/{ref.country}")):
        if key in overrides.get(kind, {}):
            layers.append(Layer(f"{kind}.{key}", document.label, pointer_join("", "overrides", kind, key), overrides[kind][key]))
    return layers


def variables_for(catalog: dict, ref: TargetRef, layers: list[Layer]) -> dict[str, str]:
    """Built-ins, then the vars of the environment, the country, the app, the simulation."""
    variables = {"app": ref.app, "environment": ref.environment, "country": ref.country, "target": ref.name}
    for scope in (catalog["environments"][ref.environment], catalog["countries"][ref.country], catalog["apps"][ref.app]):
        variables.update({k: _render_variable(v) for k, v in scope.get("vars", {}).items()})
    for layer in layers:
        variables.update({k: _render_variable(v) for k, v in layer.data.get("vars", {}).items()})
    return variables


def resolve_target(inputs: Inputs, ref: TargetRef) -> tuple[Target | None, list[tuple[str, str, str]]]:
    """The typed target, or None with its problems as (file, pointer, message)."""
    catalog = inputs.catalog.data
    app = catalog["apps"][ref.app]
    document = inputs.simulations[app["simulation"]]
    resolution = Resolution(ref)
    layers = _layers(document, ref)
    variables = variables_for(catalog, ref, layers)
    for layer in layers:
        def report(pointer: str, message: str, file: str = layer.file) -> None:
            resolution.problems.append((file, pointer, message))

        expanded = expand_layer(layer, variables, report)
        _merge(resolution, resolution.merged, expanded, "", Origin(layer.name, layer.file, layer.pointer))
    if resolution.problems:
        return None, resolution.problems
    target = _build(inputs, ref, resolution, document)
    return (None, resolution.problems) if resolution.problems else (target, [])


def _build(inputs: Inputs, ref: TargetRef, resolution: Resolution, document: Document) -> Target | None:
    """Defaults, checks that need the merged values, and the typed model."""
    merged, origins = resolution.merged, resolution.origins
    catalog = inputs.catalog.data
    environment = catalog["environments"][ref.environment]
    env_pointer = pointer_join("", "environments", ref.environment)

    def origin(pointer: str) -> Origin:
        while pointer not in origins and pointer:
            pointer = pointer.rsplit("/", 1)[0]
        return origins.get(pointer, Origin("template", document.label, ""))

    host = merged["host"]
    if not host.startswith(("http://", "https://")) or host.rstrip("/") in ("http:/", "https:/"):
        resolution.problem(origin("/host"), f"host {host!r} must be a URL starting with http:// or https://")
    for default_key, default in (("think_time_seconds", 0), ("client", "fasthttp"), ("headers", {}), ("report_html", None)):
        if default_key not in merged:
            merged[default_key] = default
            origins[f"/{default_key}"] = Origin("default")
    seed_derived = "seed" not in merged
    if seed_derived:
        merged["seed"] = derived_seed(ref.name)
        origins["/seed"] = Origin("derived", "", "from the target's name")
    think = merged["think_time_seconds"]
    if isinstance(think, dict):
        if set(think) != {"min", "max"}:
            resolution.problem(origin("/think_time_seconds"), "think_time_seconds needs both min and max after overrides")
            return None
        if think["min"] > think["max"]:
            resolution.problem(origin("/think_time_seconds/max"), f"think time min {think['min']} is above max {think['max']} after overrides")
        think_time = ThinkTime(think["min"], think["max"])
    else:
        think_time = ThinkTime(think, think)

    limits = Limits(**environment.get("limits", {}))
    for key, limit_key, value in (
        ("users", "max_users", merged["users"]),
        ("spawn_rate", "max_spawn_rate", merged["spawn_rate"]),
        ("run_time", "max_run_time", parse_timespan(merged["run_time"])),
    ):
        limit = getattr(limits, limit_key)
        if limit is not None and value > (parse_timespan(limit) if key == "run_time" else limit):
            resolution.problem(
                origin(f"/{key}"),
                f"{key} {merged[key]} is above environment '{ref.environment}'s {limit_key} {limit} "
                f"({inputs.catalog.label} {env_pointer}/limits/{limit_key})",
            )
    if parse_timespan(merged["run_time"]) == 0:
        resolution.problem(origin("/run_time"), "run_time must be longer than 0s")

    endpoints = []
    for name, fields in merged.get("endpoints", {}).items():
        if fields.get("enabled", True) is False:
            continue
        where = origin(pointer_join("/endpoints", name))
        if "path" not in fields:
            resolution.problem(where, f"endpoint '{name}' is added here without a path")
            continue
        if "json" in fields and "body" in fields:
            order = list(origins)  # _mark re-inserts what a layer sets, so the later one is last
            later = max((pointer_join("/endpoints", name, key) for key in ("json", "body")), key=order.index)
            resolution.problem(origin(later), f"endpoint '{name}' has both json and body after overrides; keep one")
            continue
        for key, default in ENDPOINT_DEFAULTS.items():
            if key not in fields:
                origins[pointer_join("/endpoints", name, key)] = Origin("default")
        endpoints.append(
            Endpoint(
                name=name,
                method=fields.get("method", "GET"),
                path=fields["path"],
                weight=int(fields.get("weight", 1)),
                headers=freeze(fields.get("headers", {})),
                query=freeze({k: _query_value(v) for k, v in fields.get("query", {}).items()}),
                json=freeze(fields.get("json")),
                body=fields.get("body"),
                expect_status=tuple(fields.get("expect_status", ())),
            )
        )
    if not endpoints and not resolution.problems:
        resolution.problem(Origin("template", document.label, "/endpoints"), "no enabled endpoint for this target; a simulation needs at least one")
    if resolution.problems:
        return None
    catalog_name = inputs.catalog.path.name
    simulation = PurePosixPath(catalog["apps"][ref.app]["simulation"]).as_posix()
    return Target(
        name=ref.name,
        app=ref.app,
        environment=ref.environment,
        country=ref.country,
        sources=(catalog_name, simulation),
        host=host,
        users=int(merged["users"]),
        spawn_rate=merged["spawn_rate"],
        run_time=merged["run_time"],
        report_html=merged["report_html"],
        seed=merged["seed"],
        seed_derived=seed_derived,
        think_time=think_time,
        client=merged["client"],
        headers=freeze(merged["headers"]),
        endpoints=tuple(endpoints),
        limits=limits,
        protected=bool(environment.get("protected", False)),
        origins=freeze(dict(sorted(origins.items()))),
    )


def _query_value(value: Any) -> Any:
    """Query values as strings, the way they are sent: true, 3, 2.5; a list repeats the key."""
    if isinstance(value, list):
        return [_query_value(item) for item in value]
    return value if isinstance(value, (str, Text)) else json.dumps(value)


def resolve_all(inputs: Inputs, refs: list[TargetRef], problems: Problems) -> list[Target]:
    """Resolve every target; problems shared by several targets are reported once, naming them."""
    targets: list[Target] = []
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for ref in refs:
        target, found = resolve_target(inputs, ref)
        if target is not None:
            targets.append(target)
        for key in found:
            grouped.setdefault(key, [])
            if ref.name not in grouped[key]:
                grouped[key].append(ref.name)
    for (file, pointer, message), names in grouped.items():
        which = f"target {names[0]}" if len(names) == 1 else f"targets {', '.join(names)}"
        problems.add(file, pointer, f"{message} (for {which})")
    return targets
