"""`explain`: every resolved value of a target with the layer, file and pointer that set it, and
for a string made with variables, where each variable was set.

A view of the typed model and its origins, as rows of data (the MCP server's `explain` returns
them) and as the aligned lines the command line prints.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.problems import pointer_join
from compiler.resolve.model import Expansion, JsonPath, Pause, Target, as_written


def plain(item: Any) -> Any:
    """A resolved value as JSON data: objects, lists, and `${env:NAME}` as written."""
    if hasattr(item, "items"):  # dict, or a frozen MappingProxyType
        return {k: plain(v) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return [plain(v) for v in item]
    return as_written(item)


def shown(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False)


def made_with(target: Target, value: Any, pointer: str) -> str:
    """", ${currency} from catalog (...)" for each variable the value at `pointer` was made
    with, each once; a list shown whole (expect_status, a repeated query parameter) counts its
    items'."""
    expansions: list[Expansion] = []

    def collect(item: Any, at: str) -> None:
        expansions.extend(e for e in target.expansions.get(at, ()) if e not in expansions)
        if isinstance(item, (list, tuple)):
            for index, element in enumerate(item):
                collect(element, pointer_join(at, index))

    collect(value, pointer)
    return "".join(f", {expansion}" for expansion in expansions)


STEP_FIELDS = ("label", "method", "path", "headers", "query", "json", "body", "form", "expect_status", "follow_redirects",
               "capture", "checks", "timeout_seconds", "max_answer_bytes", "continue_on_failure", "when", "retry", "repeat")
ENDPOINT_FIELDS = ("label", "method", "path", "weight", "tags", "headers", "query", "json", "body", "form", "expect_status",
                   "checks", "timeout_seconds", "max_answer_bytes", "when", "retry", "repeat")


def as_written_path(value: Any) -> Any:
    return value.text if isinstance(value, JsonPath) else as_written(value)


def explain_rows(target: Target, catalog_label: str) -> list[tuple[str, Any, str]]:
    """Every resolved value of a target with the layer (and file, pointer) that wrote it, and for
    a string made with variables, where each variable was set: (key, value, origin)."""
    rows: list[tuple[str, Any, str]] = []

    def add(key: str, value: Any, pointer: str) -> None:
        rows.append((key, value, str(target.origin_of(pointer)) + made_with(target, value, pointer)))

    for key, value in (
        ("host", target.host), ("users", target.users), ("spawn_rate", target.spawn_rate),
        ("run_time", target.run_time), ("seed", target.seed), ("client", target.client),
        ("request_timeout_seconds", target.request_timeout_seconds),
        ("max_answer_bytes", target.max_answer_bytes),
        ("report_html", target.report_html),
    ):
        if target.arrivals is not None and key in ("users", "spawn_rate", "run_time") and f"/{key}" not in target.origins:
            shown = {"users": f"(the arrivals decide, up to max_users {value})", "spawn_rate": "(the arrivals decide)",
                     "run_time": f"(the arrivals' total duration, {value})"}[key]
            rows.append((key, shown, "arrivals"))
            continue
        if value is None and key in ("users", "spawn_rate", "run_time"):
            rows.append((key, "(the stages decide)", "stages"))
            continue
        add(key, value, f"/{key}")
    think = target.think_time
    if "/think_time_seconds/min" in target.origins:  # an object, merged key by key
        add("think_time_seconds.min", think.min, "/think_time_seconds/min")
        add("think_time_seconds.max", think.max, "/think_time_seconds/max")
    else:
        add("think_time_seconds", think.min, "/think_time_seconds")

    def add_leaves(key: str, value: Any, pointer: str) -> None:
        """Objects are merged key by key, so each of their leaves has an origin of its own;
        absent values (None, empty objects, empty lists) are not shown."""
        if hasattr(value, "items"):
            for name, item in value.items():
                add_leaves(f"{key}.{name}", item, pointer_join(pointer, name))
        elif value not in (None, ()):
            add(key, value, pointer)

    add_leaves("headers", target.headers, "/headers")
    if target.stages:
        rows.append(("stages", "decide users, spawn rate and duration", str(target.origin_of("/stages"))))
        for index, stage in enumerate(target.stages):
            add(f"stages.{index}", f"{stage.duration} at {stage.users} users, spawn rate {stage.spawn_rate}", f"/stages/{index}")
    if target.arrivals is not None:
        arrivals = target.arrivals
        rows.append(("arrivals", "decide users (up to max_users), spawn rate and duration", str(target.origin_of("/arrivals"))))
        for index, stage in enumerate(arrivals.stages):
            add(f"arrivals.stages.{index}", f"{stage.duration} to {stage.rate:g}/s", f"/arrivals/stages/{index}")
        for key in ("start_rate", "max_users", "distribution", "max_dropped_ratio"):
            pointer = f"/arrivals/{key}"
            if pointer in target.origins:
                add(f"arrivals.{key}", getattr(arrivals, key), pointer)
            else:
                why = " (the first stage's rate)" if key == "start_rate" else ""
                rows.append((f"arrivals.{key}", getattr(arrivals, key), f"default{why}"))
    if target.iterations is not None:
        add("iterations", target.iterations, "/iterations")
    add("task_order", target.task_order, "/task_order")
    add_leaves("pacing", target.pacing, "/pacing")
    add_leaves("thresholds", target.thresholds, "/thresholds")
    for feed in target.feeds:
        for field in ("file", "mode", "when_exhausted"):
            add(f"feeds.{feed.name}.{field}", getattr(feed, field), pointer_join("/feeds", feed.name, field))

    def add_step(key: str, step: Any, pointer: str, fields: tuple[str, ...] = STEP_FIELDS) -> None:
        if isinstance(step, Pause):
            span = f"{step.min:g}s" if step.min == step.max else f"{step.min:g}-{step.max:g}s"
            add(f"{key}.pause", span, pointer_join(pointer, "pause"))
            return
        for field in fields:
            value = getattr(step, field)
            if field == "capture":
                value = {name: {k: as_written_path(v) for k, v in c.items()} for name, c in value.items()}
            elif field == "checks":  # one line each
                for index, check in enumerate(value):
                    plain = {k: as_written_path(v) for k, v in check.items()}
                    add(f"{key}.checks.{index}", plain, pointer_join(pointer, "checks", index))
                continue
            if value is None and field in ("label", "when", "retry", "repeat"):
                continue
            if (field, value) not in (("continue_on_failure", False), ("follow_redirects", True)):
                add_leaves(f"{key}.{field}", value, pointer_join(pointer, field))

    def add_tasks(key: str, base: str, on_start: Any, flows: Any, endpoints: Any) -> None:
        prefix = f"{base}/on_start/"
        start_keys = [k for k in target.origins if k.startswith(prefix) and k.count("/") == prefix.count("/")]
        for pointer, step in zip(start_keys, on_start):
            add_step(f"{key}on_start.{pointer.rsplit('/', 1)[1].replace('~1', '/').replace('~0', '~')}", step, pointer)
        for flow in flows:
            here = pointer_join(base, "flows", flow.name)
            add(f"{key}flows.{flow.name}.weight", flow.weight, pointer_join(here, "weight"))
            if flow.tags:
                add(f"{key}flows.{flow.name}.tags", flow.tags, pointer_join(here, "tags"))
            for index, step in enumerate(flow.steps):
                add_step(f"{key}flows.{flow.name}.steps.{index}", step, pointer_join(here, "steps", index))
        for endpoint in endpoints:
            add_step(f"{key}endpoints.{endpoint.name}", endpoint, pointer_join(base, "endpoints", endpoint.name), ENDPOINT_FIELDS)

    add_tasks("", "", target.on_start, target.flows, target.endpoints)
    for population in target.populations:
        base, key = pointer_join("/populations", population.name), f"populations.{population.name}."
        share = ("fixed_count", population.fixed_count) if population.fixed_count is not None else ("weight", population.weight)
        add(key + share[0], share[1], pointer_join(base, share[0]))
        pace = "pacing" if population.pacing else "think_time_seconds"
        if pointer_join(base, pace) in target.origins or any(k.startswith(pointer_join(base, pace) + "/") for k in target.origins):
            value = population.pacing if population.pacing else f"{population.think_time.min:g}-{population.think_time.max:g}s"
            add(key + pace, value, pointer_join(base, pace))
        else:
            rows.append((key + pace, plain(population.pacing) or f"{population.think_time.min:g}-{population.think_time.max:g}s",
                         "the template's"))
        if population.tags:
            add(key + "tags", population.tags, pointer_join(base, "tags"))
        add_leaves(key + "headers", population.headers, pointer_join(base, "headers"))
        add_tasks(key, base, population.on_start, population.flows, population.endpoints)
    environment_pointer = f"/environments/{target.environment}"
    for key in ("max_users", "max_spawn_rate", "max_run_time"):
        value = getattr(target.limits, key)
        if value is not None:
            rows.append((f"limits.{key}", value, f"catalog ({catalog_label} {environment_pointer}/limits/{key})"))
    rows.append(("protected", target.protected, f"catalog ({catalog_label} {environment_pointer})"))
    return rows


def explain_lines(target: Target, catalog_label: str) -> list[str]:
    """`explain`'s lines: the target, its sources, then one aligned line per value and origin."""
    rows = explain_rows(target, catalog_label)
    width = max(len(key) for key, _, _ in rows)
    lines = [
        f"{target.name}: app {target.app}, environment {target.environment}, country {target.country}",
        f"sources: {', '.join(target.sources)} (relative to the catalog's folder)",
    ]
    lines += [f"{key:<{width}}  {shown(value)}  <- {origin}" for key, value, origin in rows]
    return lines
