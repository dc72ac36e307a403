"""What the open model did: per stage the rate asked and reached, dropped iterations, the start
lag of iterations, merged from every worker on the master; the printout's lines and problems.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403
from compiler.runtime.secrets import *  # noqa: F401,F403
from compiler.runtime.values import *  # noqa: F401,F403
from compiler.runtime.requests import *  # noqa: F401,F403
from compiler.runtime.answers import *  # noqa: F401,F403
from compiler.runtime.sending import *  # noqa: F401,F403
from compiler.runtime.flows import *  # noqa: F401,F403
from compiler.runtime.load import *  # noqa: F401,F403
from compiler.runtime.iterations import *  # noqa: F401,F403
from compiler.runtime.arrivals import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- what the arrivals did -------------------------------------------------------------------------


def arrival_totals():
    """Per stage (scheduled, started, dropped), the start lags, the longest, the users started:
    this process's, or on the master the sum of every worker's last report."""
    if isinstance(run.get("runner"), MasterRunner):
        reports = list(arrivals["workers"].values())
    else:
        reports = [arrivals]
    counts = [
        [sum(report["counts"][stage][i] for report in reports) for i in range(3)]
        for stage in range(len(ARRIVAL_PLAN))
    ]
    lags = {}
    for report in reports:
        for bucket, number in report["lags"].items():
            lags[float(bucket)] = lags.get(float(bucket), 0) + number
    lag_max = max((report["lag_max"] for report in reports), default=0.0)
    return counts, lags, lag_max, sum(report["users"] for report in reports)


def lag_percentile(lags, fraction):
    total = sum(lags.values())
    if not total:
        return None
    seen = 0
    for bucket in sorted(lags):
        seen += lags[bucket]
        if seen >= fraction * total:
            return bucket
    return max(lags)


def arrival_figures():
    """What the arrivals did in the whole run: per stage the rate asked (the stages' mean over
    the part that ran) and reached (iterations started per second), dropped iterations, start
    lag (how late iterations started against their schedule), users started."""
    counts, lags, lag_max, users = arrival_totals()
    origin = arrivals["origin"]
    end = run.get("end_at") or run.get("ending") or time.monotonic()
    elapsed = end - origin if origin is not None else 0
    stages = []
    for (start, end, first, last, _), stage, (scheduled, started, dropped) in zip(
        ARRIVAL_PLAN, ARRIVALS["stages"], counts
    ):
        seconds = max(0.0, min(end, elapsed) - start)
        reached = first + (last - first) * seconds / (end - start)  # the rate where it stopped
        stages.append(
            {
                "duration": stage["duration"],
                "start_rate": first,
                "rate": last,
                "seconds": round(seconds, 3),
                "asked_per_second": (first + reached) / 2 if seconds else None,
                "reached_per_second": started / seconds if seconds else None,
                "scheduled": scheduled,
                "started": started,
                "dropped": dropped,
            }
        )
    scheduled, dropped = sum(c[0] for c in counts), sum(c[2] for c in counts)
    p99 = lag_percentile(lags, 0.99)
    late = p99 is not None and p99 > START_LAG_WARNING_MS
    return {
        "distribution": ARRIVALS["distribution"],
        "max_users": run.get("max_users"),
        "users_started": users,
        "scheduled": scheduled,
        "started": sum(c[1] for c in counts),
        "dropped_iterations": dropped,
        "dropped_ratio": dropped / scheduled if scheduled else None,
        "max_dropped_ratio": ARRIVALS["max_dropped_ratio"],
        "start_lag_ms": {
            "p50": lag_percentile(lags, 0.5),
            "p99": p99,
            "max": round(lag_max, 3) if lags else None,
        },
        "warning": (
            f"start lag p99 {p99:.3g} ms is above {START_LAG_WARNING_MS} ms: iterations started late "
            "against their schedule, and their latencies include the generator's own delay"
            if late
            else None
        ),
        "stages": stages,
    }


def arrival_problems(figures):
    """Too many iterations dropped: the run did not send the load asked for."""
    ratio, most = figures["dropped_ratio"], figures["max_dropped_ratio"]
    if ratio is None or ratio <= most:
        return []
    return [
        f"{figures['dropped_iterations']} of {figures['scheduled']} scheduled iterations were dropped "
        f"({ratio:.1%}, above max_dropped_ratio {most:.1%}): every one of the {figures['max_users']} "
        "users was busy; the run did not send the load asked for: raise max_users (-u), or lower the rate"
    ]


def arrival_lines(figures):
    """The end of the run's printout: per stage asked and reached, dropped, start lag."""
    lines = []
    for number, stage in enumerate(figures["stages"], 1):
        if stage["seconds"] == 0:
            lines.append(f"{TARGET}: arrivals: stage {number} ({stage['duration']}): not reached")
            continue
        lines.append(
            f"{TARGET}: arrivals: stage {number} ({stage['duration']}, {stage['start_rate']:g} to "
            f"{stage['rate']:g}/s): asked {stage['asked_per_second']:.4g}/s, reached "
            f"{stage['reached_per_second']:.4g}/s ({stage['started']} of {stage['scheduled']} started, "
            f"{stage['dropped']} dropped)"
        )
    lag = figures["start_lag_ms"]
    shown = ", ".join(f"{key} {value:.3g} ms" for key, value in lag.items() if value is not None)
    ratio = figures["dropped_ratio"]
    lines.append(
        f"{TARGET}: arrivals: {figures['dropped_iterations']} of {figures['scheduled']} iterations dropped"
        + (
            f" ({ratio:.2%}, at most {figures['max_dropped_ratio']:.2%})"
            if ratio is not None
            else ""
        )
        + f"; {figures['users_started']} users started (at most {figures['max_users']})"
        + f"; start lag {shown or 'none'}"
    )
    if figures["warning"]:
        lines.append(f"{TARGET}: warning: {figures['warning']}")
    return lines


def arrival_line(options):
    """The printout's line of the arrivals, before the run."""
    parts, rate = [], ARRIVALS["start_rate"]
    for stage in ARRIVALS["stages"]:
        if stage["rate"] == rate:
            parts.append(f"{rate:g}/s for {stage['duration']}")
        else:
            parts.append(f"{rate:g} to {stage['rate']:g}/s over {stage['duration']}")
        rate = stage["rate"]
    return (
        f"  {'arrivals':<11} {', then '.join(parts)} ({ARRIVALS_SECONDS}s), {ARRIVALS['distribution']}; "
        f"up to {options.num_users} users (num_users); at most {ARRIVALS['max_dropped_ratio']:.1%} dropped"
    )


def arrival_problems_before(options, workers):
    """What stops an open-model run before any load."""
    users = options.num_users or 0
    if users < max(workers, 1):
        return [
            f"max_users {users} (num_users, -u) is fewer than the {max(workers, 1)} process(es) that "
            "share the arrivals: each needs at least one user"
        ]
    return []


def run_measure(key):
    """The thresholds of the whole run that are not in Locust's statistics."""
    if key == "max_dropped_ratio":
        return run["arrival_figures"]["dropped_ratio"] if run.get("arrival_figures") else None
    seconds = (
        (run.get("end_wall") or time.time()) - run["started_at"] if run.get("started_at") else 0
    )
    return run["iterations"] / seconds if seconds and run["iterations"] else None
