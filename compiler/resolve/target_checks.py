"""The checks that need a target's merged values: its host and headers as HTTP sends them, text
that clients or the file system would change (see sources/verbatim.py), think time against
pacing, and the load against the environment's limits.
"""

from __future__ import annotations

import re
from typing import Any

from compiler.problems import pointer_join
from compiler.resolve.model import Limits, Text, ThinkTime, as_written
from compiler.resolve.open_model import later_of
from compiler.resolve.resolution import Resolution
from compiler.sources.verbatim import header_value_problem, host_problem, path_problem, report_path_problem
from compiler.timespan import parse_timespan


def check_host_and_headers(resolution: Resolution) -> None:
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


def check_verbatim(resolution: Resolution) -> None:
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


def think_time_of(resolution: Resolution) -> ThinkTime:
    think = resolution.merged["think_time_seconds"]
    if resolution.merged.get("pacing"):
        if resolution.origins["/think_time_seconds"].layer != "default":
            later = later_of(resolution, "/pacing", "/think_time_seconds")
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


def check_limits(resolution: Resolution, limits: Limits, catalog_label: str) -> None:
    """The load under the environment's limits: users, spawn_rate and run_time, or with stages,
    every stage and their total duration (the stages decide: a run_time set too is not used).
    Arrivals are checked by open_model.py (their max_users and duration); run_time here too."""
    merged, environment = resolution.merged, resolution.ref.environment
    stages, closed = merged.get("stages"), "arrivals" not in merged
    total = sum(parse_timespan(stage["duration"]) for stage in stages or ())
    if not stages and closed:
        missing = [key for key in ("users", "spawn_rate", "run_time") if key not in merged]
        if missing:
            resolution.problem(
                "",
                f"missing required key {', '.join(repr(k) for k in missing)} (after overrides): a simulation "
                "without stages or arrivals needs users, spawn_rate and run_time",
            )
            return
    checked: list[tuple[str, str, str, Any, float]] = []  # (pointer, what, limit key, shown, value)
    if "run_time" in merged and parse_timespan(merged["run_time"]) == 0:
        resolution.problem("/run_time", "run_time must be longer than 0s (Locust would run forever)")
    if not stages and closed:
        checked.append(("/users", "users", "max_users", merged["users"], merged["users"]))
        checked.append(("/spawn_rate", "spawn_rate", "max_spawn_rate", merged["spawn_rate"], merged["spawn_rate"]))
    else:
        for index, stage in enumerate(stages or ()):
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
                f"{what}{shown} is above the {limit_key} of environment '{environment}', {limit} "
                f"({catalog_label} {pointer_join('', 'environments', environment, 'limits', limit_key)})",
            )
