"""Thresholds: measured at the end, pass or fail; those with `for` judged every second on that
second's requests; `abort` judged during the run, on its own levels or the plain ones.

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
from compiler.runtime.arrival_figures import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- thresholds ------------------------------------------------------------------------------------

# measured <= limit
MAXIMA = ("error_ratio", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "avg_ms", "max_ms")
REQUEST_KEYS = MAXIMA + ("checks_failed_ratio", "min_rps")  # of requests: also per name and tag
RUN_KEYS = ("max_dropped_ratio", "min_iterations_per_second")  # the whole run's, not requests'
ABORT_EVERY_SECONDS = 2  # how often `abort` judges the run once its `after` has passed
WINDOW_SECONDS = 1  # a threshold with `for` is judged on each second's requests
ABORT = THRESHOLDS.get("abort", {})
ABORT_LEVELS = [key for key in (*MAXIMA, "checks_failed_ratio") if key in ABORT]
streaks = {}  # (scope, key) -> what the windows of a `for` threshold showed (see judge_window)


def scopes():
    """(what, request names or None for every request, limits) of each threshold object: the
    whole run, each requests.<name> (its request names, labels included), each tags.<tag>."""
    found = [("all requests", None, THRESHOLDS)]
    for kind, shown in (("requests", "{}"), ("tags", "tag {}")):
        for key, limits in sorted(THRESHOLDS.get(kind, {}).items()):
            found.append((shown.format(key), JUDGED_NAMES[kind][key], limits))
    return found


def entry_for(stats, names):
    """The statistics of some request names (all their methods), or of the whole run (None)."""
    if names is None:
        return stats.total
    entry = StatsEntry(stats, "", "", use_response_times_cache=False)
    for (entry_name, _method), found in stats.entries.items():
        if entry_name in names:
            entry.extend(found)
    return entry


def checks_of(names):
    """(checks made, checks failed) of some request names, or of the whole run (None)."""
    made = failed = 0
    for name, (its_made, its_failed) in check_totals()[0].items():
        if names is None or name in names:
            made, failed = made + its_made, failed + its_failed
    return made, failed


def bucket_margin(milliseconds):
    """How far a stored response time may be from the real one (half a bucket of
    bucket_response_time): a maximum is judged on the highest real time it can stand for."""
    for floor, half in ((100000, 500), (10000, 50), (1000, 5), (100, 0.5), (10, 0.05), (1, 0.005)):
        if milliseconds >= floor:
            return half
    return 0.0005


def measure(entry, key, names=None):
    if key == "checks_failed_ratio":
        made, failed = checks_of(names)
        return failed / made if made else None
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


def passes(key, measured, limit):
    """Whether a measure keeps its limit: a minimum at least, a maximum at most (a percentile
    judged on the highest time its bucket stands for)."""
    if measured is None:
        return False
    if key.startswith("min_"):
        return measured >= limit
    return (measured + bucket_margin(measured) if key[0] == "p" else measured) <= limit


def verdicts(stats, keys=REQUEST_KEYS + RUN_KEYS):
    """(what, key, limit, measured, passed, held) for every threshold among `keys`: held is None,
    or for a threshold with `for` {"for", "longest"} (its verdict is the windows', see
    judge_window); then abort's own levels (what "abort"), with the last value judged."""
    found = []
    for what, names, limits in scopes():
        entry = entry_for(stats, names)
        for key in keys:
            if key not in limits:
                continue
            limit = limits[key]
            if "for" in limits and key not in RUN_KEYS:
                seen = streaks.get((what, key), {})
                held = {"for": limits["for"], "longest": seen.get("longest", 0.0)}
                found.append(
                    (
                        what,
                        key,
                        limit,
                        seen.get("worst"),
                        "worst" in seen and not seen.get("breached"),
                        held,
                    )
                )
                continue
            measured = run_measure(key) if key in RUN_KEYS else measure(entry, key, names)
            found.append((what, key, limit, measured, passes(key, measured, limit), None))
    for key in ABORT_LEVELS if keys is not MAXIMA else ():
        seen = run.get("abort_seen", {}).get(key)
        found.append(("abort", key, ABORT[key], seen, run.get("aborted_by") != key, None))
    return found


def shown_measure(key, measured, held=None, what=None):
    """A measured value as every output shows it (the printout, JUnit, the record's `shown`,
    `run`'s table): four significant digits, or "no requests"; for a threshold with `for`, its
    worst second and its longest breach; for an abort level, "not judged" before it was."""
    if measured is None:
        if what == "abort":
            return "not judged"
        if key == "checks_failed_ratio":
            return "no checks"
        return "no iterations" if key in RUN_KEYS else "no requests"
    value = f"{measured:.4g}" + (f" (±{bucket_margin(measured):g})" if key[0] == "p" else "")
    if held is not None:
        value = f"worst second {value}, {held['longest']:g}s in a row past the limit"
    return value


def threshold_name(what, key, limit, held):
    """One threshold as the table and JUnit name it: `p95_ms <= 800`, `avg_ms <= 100 for 2s`."""
    sign = ">=" if key.startswith("min_") else "<="
    return f"{key} {sign} {limit:g}" + (f" for {held['for']}" if held else "")


def threshold_table(rows):
    lines = [f"Thresholds of {TARGET}:"]
    width = max([12] + [len(row[1]) for row in rows])
    for what, key, limit, measured, passed, held in rows:
        sign = ">=" if key.startswith("min_") else "<="
        value = shown_measure(key, measured, held, what)
        limit_text = f"{limit:g}" + (f" for {held['for']}" if held else "")
        lines.append(
            f"  {what:<20} {key:<{width}} {sign} {limit_text:<10} measured {value:<12} {'pass' if passed else 'FAIL'}"
        )
    return "\n".join(lines)


def abort_on_breach(runner, after):
    """From `after` on, judge abort's levels (else the plain thresholds' error ratio and
    latency) on the whole run so far, every few seconds; stop the run on the first breach (the
    master decides in distributed runs)."""
    time.sleep(parse_timespan(after))
    while runner.state not in ("stopping", "stopped") and not run.get("finished"):
        if ABORT_LEVELS:
            entry, breached = runner.stats.total, []
            for key in ABORT_LEVELS:
                measured = measure(entry, key)
                if measured is not None:
                    run.setdefault("abort_seen", {})[key] = measured
                    if not passes(key, measured, ABORT[key]):
                        breached.append(("abort", key, ABORT[key], measured))
        else:
            breached = [
                row[:4]
                for row in verdicts(runner.stats, MAXIMA)
                if not row[4] and row[3] is not None
            ]
        if breached:
            abort_the_run(*breached[0])
            return
        time.sleep(ABORT_EVERY_SECONDS)


def abort_the_run(what, key, limit, measured, held=""):
    run["aborted"] = f"{what} {key} {measured:.4g} breached its limit {limit:g}{held}"
    run["aborted_by"] = key if what == "abort" else None
    log.error("threshold breached: %s: aborting the run", run["aborted"])
    stop_the_run(run["aborted"])


# -- thresholds with `for`: judged on each second's requests ---------------------------------------


def windowed():
    """(what, names, limits) of what is judged second by second: the threshold objects with
    `for`, and abort when it has a `for` (its own levels, else the plain maxima)."""
    found = [(what, names, limits) for what, names, limits in scopes() if "for" in limits]
    if "for" in ABORT:
        levels = (
            ABORT if ABORT_LEVELS else {key: THRESHOLDS[key] for key in MAXIMA if key in THRESHOLDS}
        )
        found.append(("abort", None, {**levels, "for": ABORT["for"]}))
    return found


def snapshot(stats, names):
    """What a window is the difference of: the statistics so far of some request names."""
    entry = entry_for(stats, names)
    made, failed = checks_of(names)
    return (
        time.monotonic(),
        entry.num_requests,
        entry.num_failures,
        entry.total_response_time,
        dict(entry.response_times),
        made,
        failed,
    )


def window_measure(key, now, before):
    """A measure of the requests (and checks) between two snapshots; None when there were none."""
    seconds, count, failures = now[0] - before[0], now[1] - before[1], now[2] - before[2]
    if key == "checks_failed_ratio":
        made = now[5] - before[5]
        return (now[6] - before[6]) / made if made else None
    if count <= 0:
        return None
    if key == "error_ratio":
        return failures / count
    if key == "avg_ms":
        return (now[3] - before[3]) / count
    if key == "min_rps":
        return count / seconds if seconds > 0 else None
    times = {t: n - before[4].get(t, 0) for t, n in now[4].items() if n > before[4].get(t, 0)}
    if key == "max_ms":
        return max(times)
    return locust_stats.calculate_response_time_percentile(times, count, int(key[1:3]) / 100)


def judge_window(what, key, limit, held_for, value, now, judging_abort):
    """One second's verdict of a `for` threshold: a breach that goes on keeps its start; the
    threshold breaches once the first and the last breaching second of a run of them are
    `for` apart. A second without requests changes nothing."""
    seen = streaks.setdefault((what, key), {"since": None, "longest": 0.0})
    worse = min if key.startswith("min_") else max
    seen["worst"] = value if "worst" not in seen else worse(seen["worst"], value)
    if passes(key, value, limit):
        seen["since"] = None
        return False
    if seen["since"] is None:
        seen["since"] = now
    length = now - seen["since"]
    seen["longest"] = max(seen["longest"], round(length, 1))
    if length + 1e-6 >= parse_timespan(held_for):
        seen["breached"] = True
        return judging_abort
    return False


def watch_windows(runner):
    """Every second, on the master (or the only process): each `for` threshold on that second's
    requests; abort's, from its `after` on, stops the run."""
    judged = windowed()
    if not judged:
        return
    started, after = time.monotonic(), parse_timespan(ABORT.get("after", "0s"))
    last = {what: snapshot(runner.stats, names) for what, names, _ in judged}
    while runner.state not in ("stopping", "stopped") and not run.get("finished"):
        time.sleep(WINDOW_SECONDS)
        for what, names, limits in judged:
            now = snapshot(runner.stats, names)
            before, last[what] = last[what], now
            if what == "abort" and now[0] - started < after:
                continue
            for key in REQUEST_KEYS:
                if key not in limits or (value := window_measure(key, now, before)) is None:
                    continue
                if what == "abort":
                    run.setdefault("abort_seen", {})[key] = value
                if judge_window(
                    what, key, limits[key], limits["for"], value, now[0], what == "abort"
                ):
                    abort_the_run(what, key, limits[key], value, f" for {limits['for']}")
                    return
