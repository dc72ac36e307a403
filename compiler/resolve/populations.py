"""Populations: several kinds of users in one run (shoppers and an admin), each a Locust user
class with its own login, headers, tasks, pace and tags, sharing the users by weight or taking a
fixed number of them. Turns a target's merged `populations` into typed `Population`s, or into
the problems that stop them.

Without populations the template's own keys are the one population, as before. With them, the
template's on_start, endpoints and flows have no user to run them (they belong to a
population), and the open model (arrivals) is refused: its iterations have no population to
choose. What the template sets besides (headers, think time or pacing) every population has,
unless it sets its own.
"""

from __future__ import annotations

import ast
import builtins
from functools import cache
from pathlib import Path
from typing import Any

from compiler.problems import pointer_join
from compiler.resolve import journeys
from compiler.resolve.model import Population, ThinkTime, freeze
from compiler.resolve.open_model import later_of
from compiler.resolve.resolution import Resolution

TASK_KEYS = ("on_start", "endpoints", "flows")
RUNTIME = Path(__file__).resolve().parent.parent / "runtime"  # read as text: never imported here


@cache
def runtime_names() -> frozenset[str]:
    """The names a generated file defines at its top level (the runtime's classes, functions,
    values and imports): a population's user class is one more, and must not replace one."""
    names: set[str] = set()
    for path in sorted(RUNTIME.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    # Python's builtins too: a user class named `max` would replace the one the runtime calls.
    return frozenset(names | set(dir(builtins)))


def populations_of(resolution: Resolution, think_time: ThinkTime) -> tuple[Population, ...]:
    """The target's populations, typed (() without any); `think_time` is the template's."""
    merged = resolution.merged
    populations = journeys.enabled_populations(merged)
    if not populations:
        if merged.get("populations"):
            resolution.problem("/populations", "every population is disabled for this target; enable one, or leave populations out")
        return ()
    for key in TASK_KEYS:
        own = [name for name, fields in merged.get(key, {}).items() if fields.get("enabled", True) is not False]
        if own:
            resolution.problem(
                pointer_join("", key, own[0]),
                f"with populations, {key} belong to a population: move {', '.join(repr(n) for n in own)} under "
                f"populations.<name>.{key} (the template's headers, think time and pacing are every population's)",
            )
    if "arrivals" in merged:
        resolution.problem(
            later_of(resolution, "/arrivals", "/populations"),
            "arrivals start iterations of one kind of user, and populations are several: use users or stages "
            "with populations (after overrides), or arrivals without them",
        )
    for name in populations:
        if name in runtime_names() or (name.startswith("__") and name.endswith("__")):
            resolution.problem(
                pointer_join("/populations", name),
                f"population name '{name}' is a name the generated file already uses (each population is a "
                f"Locust user class of that name): pick another, like '{name}_users'",
            )
    typed = [_population(resolution, name, fields, think_time) for name, fields in populations.items()]
    _check_counts(resolution, populations)
    return tuple(p for p in typed if p is not None)


def _population(resolution: Resolution, name: str, fields: dict, think_time: ThinkTime) -> Population | None:
    base = pointer_join("/populations", name)
    tags = tuple(fields.get("tags", ()))
    on_start = journeys.on_start(resolution, fields, base)
    flows = journeys.flows(resolution, fields, base, tags)
    endpoints = journeys.endpoints(resolution, fields, base, tags)
    if not flows and not endpoints:
        resolution.problem(base, f"population '{name}' has no enabled endpoint or flow; a population needs at least one")
    pace = _pace(resolution, fields, base, think_time)
    if pace is None:
        return None
    fixed = fields.get("fixed_count")
    return Population(
        name=name,
        weight=None if fixed is not None else int(fields.get("weight", 1)),
        fixed_count=fixed,
        think_time=pace[0],
        pacing=pace[1],
        tags=tags,
        headers=freeze(fields.get("headers", {})),
        on_start=on_start,
        endpoints=endpoints,
        flows=flows,
    )


def _pace(resolution: Resolution, fields: dict, base: str, think_time: ThinkTime) -> tuple[ThinkTime, Any] | None:
    """A population's think time and pacing: its own (one of them), else the template's."""
    merged = resolution.merged
    for where, pacing in (("", merged.get("pacing", {})), (base, fields.get("pacing", {}))):
        if "total_iterations_per_second" in pacing:
            resolution.problem(
                pointer_join(where, "pacing", "total_iterations_per_second"),
                "total_iterations_per_second spreads one rate over every user of the run; with populations, pace "
                "each one: iteration_seconds or iterations_per_second (per user)",
            )
            return None
    if fields.get("pacing") and "think_time_seconds" in fields:
        later = later_of(resolution, pointer_join(base, "pacing"), pointer_join(base, "think_time_seconds"))
        resolution.problem(later, "pacing replaces think_time_seconds: set one of them, not both (after overrides)")
        return None
    if fields.get("pacing"):
        return ThinkTime(0, 0), freeze(fields["pacing"])
    think = fields.get("think_time_seconds")
    if think is None:
        return think_time, freeze(merged.get("pacing", {}))
    if not isinstance(think, dict):
        return ThinkTime(think, think), freeze({})
    here = pointer_join(base, "think_time_seconds")
    if set(think) != {"min", "max"}:
        resolution.problem(here, "think_time_seconds needs both min and max after overrides")
        return None
    if think["min"] > think["max"]:
        resolution.problem(pointer_join(here, "max"), f"think time min {think['min']} is above max {think['max']} after overrides")
    return ThinkTime(think["min"], think["max"]), freeze({})


def _check_counts(resolution: Resolution, populations: dict[str, dict]) -> None:
    """Fixed counts against the users: they start first, and without a weighted population the
    users are exactly their sum."""
    merged = resolution.merged
    fixed = {name: p["fixed_count"] for name, p in populations.items() if "fixed_count" in p}
    if not fixed or merged.get("stages") or "users" not in merged:
        return
    total, users = sum(fixed.values()), merged["users"]
    counts = ", ".join(f"{name} {count}" for name, count in fixed.items())
    if total > users:
        resolution.problem(
            later_of(resolution, "/users", *(pointer_join("/populations", n, "fixed_count") for n in fixed)),
            f"the populations' fixed counts add up to {total} ({counts}), above users {users}: raise users or lower a fixed_count",
        )
    elif len(fixed) == len(populations) and total != users:
        resolution.problem(
            "/users",
            f"users {users}, but every population has a fixed_count and they add up to {total} ({counts}): the other "
            f"{users - total} users would belong to no population; set users to {total}, or give a population a weight",
        )
