"""`compare RUN_A RUN_B`: per request name, the change in requests per second, p50/p95/p99 and
error ratio between two run folders; a change beyond the tolerance is flagged, and a regression
(slower, fewer requests per second, more errors, a request gone) exits 1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LATENCIES = ("p50_ms", "p95_ms", "p99_ms")
ERROR_RATIO_SLACK = 0.01  # an error ratio may rise this much (absolute) before it is a regression
LATENCY_FLOOR_MS = 1.0  # latencies this close are equal whatever the ratio (1 ms vs 2 ms)
DEFAULT_TOLERANCE = 0.10  # `compare`'s, and the dashboard's regression mark


class CompareError(Exception):
    pass


def record_of(folder: Path) -> dict:
    for name in ("run.json", "summary.json"):
        path = folder / name
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except ValueError as error:
                raise CompareError(f"{path}: not JSON ({error})") from None
    raise CompareError(f"{folder}: no run.json or summary.json; name a run folder (data/results/<target>/<time>)")


def rows_of(record: dict) -> dict[tuple[str, str], dict]:
    return {
        (row.get("method") or "", row["name"] if row.get("name") is not None else "all requests"): row
        for row in record.get("requests", [])
    }


def change(before, after) -> float | None:
    if before in (None, 0) or after is None:
        return None
    return (after - before) / before


def regressions(before: dict, after: dict, tolerance: float) -> list[str]:
    """What got worse beyond the tolerance, in words."""
    found = []
    for key in LATENCIES:
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None and b - a > LATENCY_FLOOR_MS and (change(a, b) or 0) > tolerance:
            found.append(f"{key} {a:g} -> {b:g}")
    a, b = before.get("rps"), after.get("rps")
    if a and b is not None and (change(a, b) or 0) < -tolerance:
        found.append(f"rps {a:.3g} -> {b:.3g}")
    a, b = before.get("error_ratio") or 0, after.get("error_ratio") or 0
    if b - a > ERROR_RATIO_SLACK:
        found.append(f"error_ratio {a:.3g} -> {b:.3g}")
    return found


def percent(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:+5.0f}%"


@dataclass(frozen=True)
class Row:
    """One request name and method (or all requests) of two runs."""

    request: str  # "GET home", or "all requests"
    before: dict | None  # A's statistics, None when only in B
    after: dict | None  # B's, None when gone from A to B
    regressions: tuple[str, ...]  # what got worse beyond the tolerance, in words

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)


def comparison(run_a: Path, run_b: Path, tolerance: float) -> list[Row]:
    """Per request name and method, then all requests: the two runs' statistics and the regressions."""
    rows_a, rows_b = rows_of(record_of(run_a)), rows_of(record_of(run_b))
    rows = []
    for key in sorted(set(rows_a) | set(rows_b), key=lambda k: (k[1] == "all requests", k[1], k[0])):
        before, after = rows_a.get(key), rows_b.get(key)
        if before is None or after is None:
            worse = ("gone",) if after is None else ()
        else:
            worse = tuple(regressions(before, after, tolerance))
        rows.append(Row(f"{key[0]} {key[1]}".strip(), before, after, worse))
    return rows


SETTINGS = (  # (what the warning calls it, how to read it from a record)
    ("users", lambda r: _value(r, "num_users")),
    ("run_time", lambda r: f"{_value(r, 'run_time')}s" if isinstance(_value(r, "run_time"), (int, float)) else _value(r, "run_time")),
    ("host", lambda r: _value(r, "host")),
    ("processes", lambda r: r.get("workers")),
    ("stages", lambda r: r.get("stages") or None),
    ("pacing", lambda r: r.get("pacing") or None),
    ("seed", lambda r: r.get("seed")),
)


def _value(record: dict, key: str):
    entry = record.get("configuration", {}).get(key)
    return entry.get("value") if isinstance(entry, dict) else entry


def _sent(record: dict) -> int:
    totals = [row for row in record.get("requests", []) if row.get("name") is None]
    return int(totals[0].get("requests") or 0) if totals else 0


def warnings(a: dict, b: dict) -> list[str]:
    """What makes two runs unlike: other targets, other settings. A comparison of unlike runs
    still prints, but says so first: 3 users against 10 is not a regression of the service."""
    found = []
    if a.get("target") != b.get("target"):
        found.append(f"warning: the runs are of two targets, {a.get('target')} and {b.get('target')}")
    differ = [f"{name} {get(a)} -> {get(b)}" for name, get in SETTINGS if get(a) != get(b)]
    if differ:
        found.append("warning: the runs' settings differ: " + "; ".join(differ) + "; their figures may differ for that alone")
    return found


def compare(run_a: Path, run_b: Path, tolerance: float) -> tuple[list[str], int]:
    """The lines to print and the exit code (1 on a regression). A baseline that sent nothing is
    no baseline: CompareError."""
    record_a, record_b = record_of(run_a), record_of(run_b)
    if _sent(record_a) == 0:
        raise CompareError(f"{run_a} sent no request: it is no baseline to compare with; pick a run that sent load")
    lines = [f"compare {run_a} -> {run_b} (tolerance {tolerance:.0%})", *warnings(record_a, record_b)]
    lines.append(f"{'request':<32} {'rps':>16} {'p50 ms':>14} {'p95 ms':>14} {'p99 ms':>14} {'error ratio':>16}  verdict")
    rows = comparison(run_a, run_b, tolerance)
    for row in rows:
        name, before, after, worse = row.request, row.before, row.after, row.regressions
        if before is None or after is None:
            gone = after is None
            lines.append(f"{name:<32} {'only in ' + ('A' if gone else 'B'):>16}  {'REGRESSION: gone' if gone else 'new'}")
            continue
        cells = [f"{(after.get('rps') or 0):8.3g} {percent(change(before.get('rps'), after.get('rps')))}"]
        cells += [f"{after.get(k) if after.get(k) is not None else '-':>7} {percent(change(before.get(k), after.get(k)))}" for k in LATENCIES]
        cells.append(f"{(after.get('error_ratio') or 0):9.3g} ({(after.get('error_ratio') or 0) - (before.get('error_ratio') or 0):+.3g})")
        lines.append(f"{name:<32} " + " ".join(cells) + ("  REGRESSION: " + "; ".join(worse) if worse else "  ok"))
    regressed = sum(row.regressed for row in rows)
    lines.append(f"{regressed} regression(s)" if regressed else "no regression")
    return lines, 1 if regressed else 0
