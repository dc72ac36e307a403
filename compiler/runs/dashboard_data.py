"""What the results dashboard shows, gathered from the run folders as plain data.

The page (dashboard_page.py) only lays it out. Everything here comes from the folders as
they are: each run's record (`run.json`), the statistics history Locust wrote every second
(`stats_stats_history.csv`) and the files beside them. A regression is what `compare` would
flag against the run before (compare.py, its one rule); nothing is computed a second way.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from compiler.runs.compare import DEFAULT_TOLERANCE, CompareError, comparison
from compiler.runs.records import all_runs

FILES = (
    "report.html", "run.json", "junit.xml", "summary.json", "locust.log",
    "stats_stats.csv", "stats_stats_history.csv", "stats_failures.csv", "stats_exceptions.csv",
)  # fmt: skip
SERIES_RUNS = 25  # the newest runs of a target that get their time series (older: their files)
MESSAGE_CHARACTERS = 2000  # a failure message longer than this is clipped on the page
ENDINGS = {  # how a run ended, in words (SPEC: run_time, iterations, interrupted, ...)
    "run_time": "ran its run time",
    "iterations": "every user did its iterations",
    "interrupted": "interrupted",
    "aborted": "aborted by a threshold",
    "feed_exhausted": "a feed ran out",
    "worker_lost": "a worker was lost",
}
MIN_INTERVAL_SECONDS = 0.5  # a rate over less time than this is left to the next point
NOT_AS_ASKED = {"interrupted", "feed_exhausted", "worker_lost"}


def gather(results: Path) -> dict:
    """Every target with its runs, oldest first, and what the fleet view needs of each."""
    grouped: dict[str, list[str]] = {}
    for target, name in all_runs(results):
        grouped.setdefault(target, []).insert(0, name)  # all_runs lists newest first
    targets = [target_data(results, target, names) for target, names in sorted(grouped.items())]
    return {"targets": [t for t in targets if t["runs"]]}


def target_data(results: Path, target: str, names: list[str]) -> dict:
    runs = []
    for number, name in enumerate(names):
        record = read(results / target / name)
        if record is None:
            continue
        with_series = number >= len(names) - SERIES_RUNS
        runs.append(run_data(results, target, name, record, with_series))
    for before, after in zip(runs, runs[1:]):
        after["regressions"] = regressions_between(results / target / before["folder"], results / target / after["folder"])
    app, environment, country = (target.split("_") + ["", "", ""])[:3]
    latest = runs[-1] if runs else {}
    record_names = latest.get("names", {})
    return {
        "target": target,
        "app": record_names.get("app") or app,
        "environment": record_names.get("environment") or environment,
        "country": record_names.get("country") or country,
        "anchor": f"target-{target}",
        "runs": runs,
    }


def read(folder: Path) -> dict | None:
    """The record, or None when it cannot be read (a run being written, a broken file)."""
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def run_data(results: Path, target: str, name: str, record: dict, with_series: bool) -> dict:
    folder = results / target / name
    totals = next((row for row in rows_of(record) if row.get("name") is None), {})
    ended_by = text_or_none(record.get("ended_by"))
    return {
        "folder": name,
        "anchor": f"run-{target}-{name}",
        "names": {key: text_or_none(record.get(key)) for key in ("app", "environment", "country")},
        "started": number(record.get("started")),
        "ended": number(record.get("ended")),
        "exit_code": record.get("exit_code") if isinstance(record.get("exit_code"), int) else None,
        "verdict": verdict(record, ended_by),
        "ended_by": ended_by,
        "ending": ending_words(record, ended_by),
        "totals": {key: number(totals.get(key)) for key in STATISTICS},
        "dropped_iterations": dropped_iterations(record),
        "requests": [
            {"name": text_or_none(row.get("name")), "method": text_or_none(row.get("method")),
             **{key: number(row.get(key)) for key in STATISTICS}}
            for row in rows_of(record)
        ],  # fmt: skip
        "failures": [
            {"name": str(f.get("name")), "message": clipped(str(f.get("message"))), "occurrences": number(f.get("occurrences"))}
            for f in sorted(list_of(record, "failures"), key=lambda f: -(number(f.get("occurrences")) or 0))
            if isinstance(f, dict)
        ],  # fmt: skip
        "thresholds": [
            {"scope": str(t.get("scope")), "key": str(t.get("key")), "limit": number(t.get("limit")),
             "measured": number(t.get("measured")), "passed": t.get("passed") is True,
             "shown": text_or_none(t.get("shown"))}  # the measure as the printout, JUnit and run show it
            for t in list_of(record, "thresholds") if isinstance(t, dict)
        ],  # fmt: skip
        "problems": [clipped(str(p)) for p in list_of(record, "problems")],
        "files": [f"{target}/{name}/{file}" for file in FILES if (folder / file).is_file()],
        "series": history_series(folder, record, totals) if with_series else None,
        "regressions": [],
    }


STATISTICS = ("requests", "failures", "error_ratio", "rps", "avg_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")


def rows_of(record: dict) -> list[dict]:
    return [row for row in list_of(record, "requests") if isinstance(row, dict)]


def list_of(record: dict, key: str) -> list:
    value = record.get(key)
    return value if isinstance(value, list) else []


def number(value) -> float | int | None:
    """A finite number from a record, else None (a record is data, never trusted as such)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def text_or_none(value) -> str | None:
    return value if isinstance(value, str) else None


def clipped(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARACTERS else text[:MESSAGE_CHARACTERS] + f"... ({len(text)} characters)"


def dropped_iterations(record: dict) -> int | float | None:
    """`dropped_iterations` of an open-model run (top level, or under `arrivals`), else None."""
    found = number(record.get("dropped_iterations"))
    arrivals = record.get("arrivals")
    if found is None and isinstance(arrivals, dict):
        found = number(arrivals.get("dropped_iterations"))
    return found


def verdict(record: dict, ended_by: str | None) -> str:
    """passed, breached, failed, invalid or interrupted: never passed for a run that did not
    end as asked, whatever its exit code says."""
    code = record.get("exit_code")
    if ended_by in NOT_AS_ASKED or code in (130, 143):
        return "interrupted" if ended_by in (None, "interrupted") else "failed"
    return {0: "passed", 1: "failed", 2: "invalid", 3: "breached"}.get(code, "failed")


def ending_words(record: dict, ended_by: str | None) -> str:
    if ended_by is not None:
        return ENDINGS.get(ended_by, ended_by)
    code = record.get("exit_code")
    if code in (130, 143):
        return f"interrupted (exit {code})"
    if code == 2:
        return "stopped before any load"
    return "not recorded"


def history_series(folder: Path, record: dict, totals: dict) -> dict | None:
    """Seconds since the start, users, requests per second, error ratio, p50 and p95, from the
    history Locust wrote every second (its "Aggregated" rows).

    Requests per second are the change in the request count between two rows over the time
    between them: the history's own "Requests/s" is Locust's current rate, a window that lags
    two seconds and reads about nothing in a short run. The history misses the run's last
    second; the record's totals at its end close the series. Its times are whole seconds, so a
    rate is measured over half a second at least. p50 and p95 are Locust's current ones (the
    last 10 s)."""
    try:
        with (folder / "stats_stats_history.csv").open(newline="", encoding="utf-8", errors="replace") as file:
            rows = [row for row in csv.DictReader(file) if row.get("Name") == "Aggregated"]
    except (OSError, csv.Error):
        rows = []
    points = []  # (time, users, requests, failures, p50, p95)
    for row in rows:
        at, count = number_in(row.get("Timestamp")), number_in(row.get("Total Request Count"))
        if at is None or count is None:
            continue
        p50, p95 = number_in(row.get("50%")), number_in(row.get("95%"))
        points.append((at, number_in(row.get("User Count")), count, number_in(row.get("Total Failure Count")) or 0, p50, p95))
    started, ended = number(record.get("started")), number(record.get("ended"))
    final = (number(totals.get("requests")), number(totals.get("failures")) or 0)
    if points and ended is not None and final[0] == points[-1][2] and ended >= points[-1][0]:
        # the history's last row holds the final counts (the file writes it at the end, at a whole
        # second): it is the run's end
        points[-1] = (ended, *points[-1][1:])
    elif ended is not None and final[0] is not None and (not points or (ended > points[-1][0] and final[0] >= points[-1][2])):
        last_users = points[-1][1] if points else None
        points.append((ended, last_users, final[0], final[1], None, None))
    if not points:
        return None
    origin = started if started is not None else points[0][0]
    series = {"t": [], "users": [], "rps": [], "error_ratio": [], "p50_ms": [], "p95_ms": []}
    before = (origin, 0, 0)  # the last point a rate was measured at
    for at, users, count, failures, p50, p95 in points:
        at = max(at, origin)  # the history's times are whole seconds, cut down
        seconds, sent, failed = at - before[0], count - before[1], failures - before[2]
        measured = seconds >= MIN_INTERVAL_SECONDS and sent >= 0
        series["t"].append(round(at - origin, 3))
        series["users"].append(users)
        series["rps"].append(round(sent / seconds, 3) if measured else None)
        series["error_ratio"].append(round(failed / sent, 4) if measured and sent > 0 and failed >= 0 else None)
        series["p50_ms"].append(p50 if count else None)
        series["p95_ms"].append(p95 if count else None)
        if measured:
            before = (at, count, failures)
    return series


def number_in(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def regressions_between(before: Path, after: Path) -> list[str]:
    """What `compare before after` flags, per request, in its words."""
    try:
        rows = comparison(before, after, DEFAULT_TOLERANCE)
    except (CompareError, OSError, KeyError, TypeError, ValueError):
        return []
    return [f"{row.request}: {'; '.join(row.regressions)}" for row in rows if row.regressed]
