"""The open model and iterations, after layers: `arrivals` against the keys it replaces, its
stages and limits; `iterations` against the load it counts; the thresholds only arrivals can
judge. Turns a target's merged `arrivals` into the typed `Arrivals`, or into its problems.
"""

from __future__ import annotations

from compiler.problems import pointer_join
from compiler.resolve.model import ArrivalStage, Arrivals, Limits
from compiler.resolve.resolution import Resolution
from compiler.timespan import parse_timespan

REPLACED = ("users", "spawn_rate", "stages", "pacing", "think_time_seconds")  # by arrivals
DEFAULT_MAX_DROPPED_RATIO = 0.01


def later_of(resolution: Resolution, *pointers: str, deepest: tuple[str, ...] = ()) -> str:
    """Of values set by different layers, the pointer of the one set last (the layer to change):
    `_mark` re-inserts what a layer sets, so the later one is last in the origins. For a pointer
    in `deepest` (an object merged key by key), the key inside it set last: that layer's."""
    order = list(resolution.origins)
    found = {
        pointer: max(
            ((i, key) for i, key in enumerate(order) if key == pointer or key.startswith(pointer + "/")),
            default=(-1, pointer),
        )
        for pointer in pointers
    }
    pointer = max(pointers, key=lambda p: found[p][0])
    return found[pointer][1] if pointer in deepest else pointer


def _set_by_a_layer(resolution: Resolution, key: str) -> bool:
    origin = resolution.origins.get(f"/{key}")
    return key in resolution.merged and (origin is None or origin.layer != "default")


def check_iterations(resolution: Resolution) -> None:
    """`iterations` counts per user of a fixed number of users, or in all with arrivals; a
    threshold on dropped iterations needs arrivals to drop any."""
    merged = resolution.merged
    if "iterations" in merged and merged.get("stages") and "arrivals" not in merged:
        resolution.problem(
            later_of(resolution, "/iterations", "/stages"),
            "iterations needs users (N per user) or arrivals (N in all), not stages, whose users change over "
            "the run: set one of iterations and stages, not both (after overrides)",
        )
    if "max_dropped_ratio" in merged.get("thresholds", {}) and "arrivals" not in merged:
        resolution.problem(
            "/thresholds/max_dropped_ratio",
            "max_dropped_ratio judges the iterations that arrivals drop; this target has no arrivals (after "
            "overrides): remove the threshold, or add arrivals",
        )


def arrivals_of(resolution: Resolution, limits: Limits, catalog_label: str) -> Arrivals | None:
    """The typed arrivals of a target (None for the closed model, or when they have problems)."""
    merged, environment = resolution.merged, resolution.ref.environment
    arrivals = merged.get("arrivals")
    if arrivals is None:
        return None
    before = len(resolution.problems)
    for key in REPLACED:
        if _set_by_a_layer(resolution, key):
            resolution.problem(
                later_of(resolution, "/arrivals", f"/{key}", deepest=("/arrivals",)),
                f"arrivals replaces {key}: set one of them, not both (after overrides)",
            )
    missing = [key for key in ("stages", "max_users") if key not in arrivals]
    if missing:
        resolution.problem(
            "/arrivals",
            f"arrivals needs stages and max_users (after overrides); missing {', '.join(repr(k) for k in missing)}",
        )
        return None
    total = 0
    for index, stage in enumerate(arrivals["stages"]):
        seconds = parse_timespan(stage["duration"])
        if seconds == 0:
            here = pointer_join("/arrivals/stages", index, "duration")
            resolution.problem(here, f"arrivals stage {index + 1} lasts 0s; give it a duration")
        total += seconds
    start_rate = arrivals.get("start_rate", arrivals["stages"][0]["rate"])
    if not any(rate > 0 for rate in (start_rate, *(stage["rate"] for stage in arrivals["stages"]))):
        resolution.problem("/arrivals/stages", "every rate of the arrivals is 0: they would start no iteration")
    where = f"({catalog_label} {pointer_join('', 'environments', environment, 'limits')}"
    if limits.max_users is not None and arrivals["max_users"] > limits.max_users:
        resolution.problem(
            "/arrivals/max_users",
            f"arrivals max_users {arrivals['max_users']} is above the max_users of environment '{environment}', "
            f"{limits.max_users} {where}/max_users)",
        )
    run_time = parse_timespan(merged["run_time"]) if "run_time" in merged else None
    if run_time is not None and run_time > total:
        resolution.problem(
            "/run_time",
            f"run_time {merged['run_time']} ({run_time}s) is longer than the arrivals' stages ({total}s), after "
            "which no iteration is scheduled: leave run_time out (it defaults to their total) or lengthen the stages",
        )
    if limits.max_run_time is not None and run_time is None and total > parse_timespan(limits.max_run_time):
        resolution.problem(
            "/arrivals/stages",
            f"the arrivals' total duration ({total}s) is above the max_run_time of environment '{environment}', "
            f"{limits.max_run_time} {where}/max_run_time)",
        )
    if len(resolution.problems) > before:
        return None
    return Arrivals(
        stages=tuple(ArrivalStage(stage["duration"], stage["rate"]) for stage in arrivals["stages"]),
        start_rate=start_rate,
        max_users=arrivals["max_users"],
        distribution=arrivals.get("distribution", "constant"),
        max_dropped_ratio=arrivals.get("max_dropped_ratio", DEFAULT_MAX_DROPPED_RATIO),
    )


def arrivals_seconds(arrivals: Arrivals) -> int:
    """The arrivals' total duration: the run's length unless run_time (or -t) ends it earlier."""
    return sum(parse_timespan(stage.duration) for stage in arrivals.stages)
