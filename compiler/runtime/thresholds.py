"""Thresholds: measured at the end (and every few seconds with abort), pass or fail.

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
from compiler.runtime.flows import *  # noqa: F401,F403
from compiler.runtime.load import *  # noqa: F401,F403
from compiler.runtime.iterations import *  # noqa: F401,F403
from compiler.runtime.arrivals import *  # noqa: F401,F403
from compiler.runtime.arrival_figures import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- thresholds ------------------------------------------------------------------------------------

# measured <= limit
MAXIMA = ("error_ratio", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "avg_ms", "max_ms")
RUN_KEYS = ("max_dropped_ratio", "min_iterations_per_second")  # the whole run's, not requests'
ABORT_EVERY_SECONDS = 2  # how often `abort` judges the run once its `after` has passed


def entry_for(stats, name):
    """The statistics of one request name (all its methods), or of the whole run (None)."""
    if name is None:
        return stats.total
    entry = StatsEntry(stats, name, "", use_response_times_cache=False)
    for (entry_name, _method), found in stats.entries.items():
        if entry_name == name:
            entry.extend(found)
    return entry


def bucket_response_time(milliseconds):
    """Response times as Locust stores them for percentiles, to 3 significant digits (0.5% at
    most from the real time) from 0.1 ms to 10 min, instead of Locust's 2 (347 ms is not 350):
    Locust lets a locustfile replace its bucketing, so its tables, CSVs, web UI and the
    distributed merge gain the precision too. Deterministic keys: workers' buckets sum exactly."""
    # int(x * scale + 0.5) / scale: round() with digits formats the number, ten times the cost.
    if milliseconds < 10:
        if milliseconds >= 1:
            return int(milliseconds * 100 + 0.5) / 100
        return int(milliseconds * 1000 + 0.5) / 1000
    if milliseconds < 100:
        return int(milliseconds * 10 + 0.5) / 10
    if milliseconds < 1000:
        return int(milliseconds + 0.5)
    if milliseconds < 10000:
        return int(milliseconds / 10 + 0.5) * 10
    if milliseconds < 100000:
        return int(milliseconds / 100 + 0.5) * 100
    return int(milliseconds / 1000 + 0.5) * 1000


locust_stats.bucket_response_time = bucket_response_time


def bucket_margin(milliseconds):
    """How far a stored response time may be from the real one (half a bucket of
    bucket_response_time): a maximum is judged on the highest real time it can stand for."""
    for floor, half in ((100000, 500), (10000, 50), (1000, 5), (100, 0.5), (10, 0.05), (1, 0.005)):
        if milliseconds >= floor:
            return half
    return 0.0005


def measure(entry, key):
    if entry.num_requests == 0:
        return None
    if key == "error_ratio":
        return entry.num_failures / entry.num_requests
    if key == "avg_ms":
        return entry.avg_response_time
    if key == "max_ms":
        return entry.max_response_time
    if key == "min_rps":
        return entry.total_rps
    return entry.get_response_time_percentile(int(key[1:3]) / 100)


def verdicts(stats, keys=MAXIMA + ("min_rps",) + RUN_KEYS):
    """(what, key, limit, measured, passed) for every threshold among `keys`."""
    scopes = [(None, THRESHOLDS)] + sorted(THRESHOLDS.get("requests", {}).items())
    found = []
    for name, limits in scopes:
        entry = entry_for(stats, name)
        for key in keys:
            if key in limits:
                measured = run_measure(key) if key in RUN_KEYS else measure(entry, key)
                limit = limits[key]
                worst = (
                    measured + bucket_margin(measured)
                    if measured is not None and key[0] == "p"
                    else measured
                )
                passed = measured is not None and (
                    measured >= limit if key.startswith("min_") else worst <= limit
                )
                found.append((name or "all requests", key, limit, measured, passed))
    return found


def shown_measure(key, measured):
    """A measured value as every output shows it (the printout, JUnit, the record's `shown`,
    `run`'s table): four significant digits, or "no requests"."""
    if measured is None:
        return "no iterations" if key in RUN_KEYS else "no requests"
    return f"{measured:.4g}" + (f" (±{bucket_margin(measured):g})" if key[0] == "p" else "")


def threshold_table(rows):
    lines = [f"Thresholds of {TARGET}:"]
    width = max([12] + [len(row[1]) for row in rows])
    for what, key, limit, measured, passed in rows:
        sign = ">=" if key.startswith("min_") else "<="
        value = shown_measure(key, measured)
        lines.append(
            f"  {what:<20} {key:<{width}} {sign} {limit:<10g} measured {value:<12} {'pass' if passed else 'FAIL'}"
        )
    return "\n".join(lines)


def abort_on_breach(runner, after):
    """From `after` on, judge the error ratio and latency every few seconds; stop the run on
    the first breach (the master decides in distributed runs)."""
    time.sleep(parse_timespan(after))
    while runner.state not in ("stopping", "stopped") and not run.get("finished"):
        breached = [
            row for row in verdicts(runner.stats, MAXIMA) if not row[4] and row[3] is not None
        ]
        if breached:
            what, key, limit, measured, _ = breached[0]
            run["aborted"] = f"{what} {key} {measured:.4g} breached its limit {limit:g}"
            log.error("threshold breached: %s: aborting the run", run["aborted"])
            stop_the_run(run["aborted"])
            return
        time.sleep(ABORT_EVERY_SECONDS)
