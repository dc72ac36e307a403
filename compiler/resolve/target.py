"""Resolve one target: layers, variables, defaults and checks turn a template into a typed
`Target`, or into the problems that stop it.

For one target the layers apply in order, last wins (layers.py); variables are expanded after
the merge (variables.py); then defaults, the checks that need merged values (target_checks.py),
the journeys (journeys.py) and the typed model (model.py). Problems are collected, never raised:
`resolve_all` reports a problem shared by several targets once, naming them.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace
from pathlib import PurePosixPath

from compiler.problems import pointer_join
from compiler.resolve import journeys
from compiler.resolve.layers import layers_of, merge
from compiler.resolve.model import Limits, Origin, Stage, Target, freeze
from compiler.resolve.open_model import arrivals_of, arrivals_seconds, check_iterations
from compiler.resolve.populations import populations_of
from compiler.resolve.resolution import Resolution
from compiler.resolve.thresholds import judged_names
from compiler.resolve.target_checks import check_host_and_headers, check_limits, check_verbatim, think_time_of
from compiler.resolve.variables import expand_merged, variables_for
from compiler.sources import feeds
from compiler.sources.targets import TargetRef
from compiler.sources.validate import Inputs

DEFAULTS = {
    "think_time_seconds": 0,
    "client": "fasthttp",
    "request_timeout_seconds": 60,
    "max_answer_bytes": 64 * 1024 * 1024,
    "headers": {},
    "report_html": None,
    "follow_redirects": True,
}
ENDPOINT_DEFAULTS = {"method": "GET", "weight": 1}


def derived_seed(target_name: str) -> int:
    """A stable seed for a template without one: the first 4 bytes of sha256(target name)."""
    return int.from_bytes(hashlib.sha256(target_name.encode()).digest()[:4], "big")


def resolve_target(inputs: Inputs, ref: TargetRef) -> tuple[Target | None, list[tuple[str, str, str]]]:
    """The typed target, or None with its problems as (file, pointer, message)."""
    catalog = inputs.catalog.data
    document = inputs.simulations[catalog["apps"][ref.app]["simulation"]]
    resolution = Resolution(ref, document.label)
    for layer in layers_of(document, ref):
        merge(resolution, resolution.merged, layer.data, "", Origin(layer.name, layer.file, layer.pointer))
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
    scopes = [("", merged)] + [(pointer_join("/populations", n), p) for n, p in merged.get("populations", {}).items()]
    for base, scope in scopes:
        for name, fields in scope.get("endpoints", {}).items():
            for key, default in ENDPOINT_DEFAULTS.items():
                if key not in fields:
                    fields[key] = default
                    origins[pointer_join(base, "endpoints", name, key)] = Origin("default")


def _build(inputs: Inputs, ref: TargetRef, resolution: Resolution) -> Target | None:
    """Defaults, the checks that need merged values, and the typed model."""
    catalog = inputs.catalog.data
    environment = catalog["environments"][ref.environment]
    limits = Limits(**environment.get("limits", {}))
    _apply_defaults(resolution)
    check_host_and_headers(resolution)
    check_verbatim(resolution)
    think_time = think_time_of(resolution)
    check_limits(resolution, limits, inputs.catalog.label)
    arrivals = arrivals_of(resolution, limits, inputs.catalog.label)
    check_iterations(resolution)
    merged = resolution.merged
    populations = populations_of(resolution, think_time)
    if journeys.enabled_populations(merged):
        on_start, flows, endpoints = (), (), ()
    else:
        on_start, flows = journeys.on_start(resolution, merged), journeys.flows(resolution, merged)
        endpoints = journeys.endpoints(resolution, merged)
        if not endpoints and not flows and not resolution.problems:
            resolution.problem("/endpoints", "no enabled endpoint or flow for this target; a simulation needs at least one")
    feeds = journeys.check_references(resolution, inputs.catalog.path.parent)
    judged = judged_names(resolution, on_start, flows, endpoints, populations)
    if resolution.problems:
        return None
    staged = bool(merged.get("stages"))
    if arrivals is not None:  # the arrivals decide: users start as needed, up to max_users (-u)
        users, spawn_rate, run_time = arrivals.max_users, None, merged.get("run_time") or f"{arrivals_seconds(arrivals)}s"
    elif staged:
        users, spawn_rate, run_time = None, None, None
    else:
        users, spawn_rate, run_time = int(merged["users"]), merged["spawn_rate"], merged.get("run_time")
    return Target(
        name=ref.name,
        app=ref.app,
        environment=ref.environment,
        country=ref.country,
        sources=(inputs.catalog.path.name, PurePosixPath(catalog["apps"][ref.app]["simulation"]).as_posix()),
        host=merged["host"],
        users=users,
        spawn_rate=spawn_rate,
        run_time=run_time,
        report_html=merged["report_html"],
        seed=merged["seed"],
        seed_derived=resolution.origins["/seed"].layer == "derived",
        think_time=think_time,
        client=merged["client"],
        request_timeout_seconds=merged["request_timeout_seconds"],
        max_answer_bytes=merged["max_answer_bytes"],
        headers=freeze(merged["headers"]),
        endpoints=endpoints,
        on_start=on_start,
        flows=flows,
        feeds=feeds,
        pacing=freeze(merged.get("pacing", {})),
        stages=tuple(Stage(s["duration"], s["users"], s["spawn_rate"]) for s in merged.get("stages", ())),
        arrivals=arrivals,
        iterations=merged.get("iterations"),
        task_order=merged.get("task_order", "weighted"),
        thresholds=freeze(merged.get("thresholds", {})),
        judged_names=freeze(judged),
        populations=populations,
        limits=limits,
        protected=bool(environment.get("protected", False)),
        protected_hosts=(),  # filled in by resolve_all, which sees every target
        origins=freeze(dict(sorted(resolution.origins.items()))),
        expansions=freeze({at: tuple(used) for at, used in sorted(resolution.expansions.items())}),
    )
