"""`<results>/index.html`: every run per target, its key figures and links, with charts.

The page stands alone (inline SVG, no script, nothing fetched at view time). Each run gets a
chart of requests per second, users and p95 over time (from the history Locust writes with
`--csv-full-history`); each target a line across its runs (p95 and requests per second). The
page is rebuilt from the run folders after every run, so it never disagrees with them.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

LINKS = ("report.html", "run.json", "junit.xml", "summary.json", "locust.log")
MARKED_POINTS = 60  # series with at most this many points get a dot on each
SERIES = (("Requests/s", "req/s", "#1f77b4"), ("User Count", "users", "#2ca02c"), ("95%", "p95 ms", "#d62728"))


def runs_of(results: Path) -> dict[str, list[tuple[Path, dict]]]:
    """Run folders with a record, by target, oldest first."""
    found: dict[str, list[tuple[Path, dict]]] = {}
    for record_path in sorted(results.glob("*/*/run.json")):
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.setdefault(record_path.parent.parent.name, []).append((record_path.parent, record))
    return found


def totals(record: dict) -> dict:
    return next((row for row in record.get("requests", []) if row.get("name") is None), {})


def history(folder: Path) -> list[dict]:
    try:
        with (folder / "stats_stats_history.csv").open(newline="") as file:
            return [row for row in csv.DictReader(file) if row.get("Name") == "Aggregated"]
    except OSError:
        return []


def number(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def line_chart(title: str, xs: list[float], series: list[tuple[str, str, list]], width=360, height=120) -> str:
    """An inline SVG line chart; each series scaled to its own maximum, labelled with it."""
    pad, parts = 4, []
    x_max = max(xs) if xs and max(xs) > 0 else 1
    for label, color, values in series:
        points = [(x, v) for x, v in zip(xs, values) if v is not None]
        if not points:
            continue
        top = max(v for _, v in points) or 1
        coords = " ".join(
            f"{pad + (width - 2 * pad) * x / x_max:.1f},{height - pad - (height - 2 * pad) * v / top:.1f}" for x, v in points
        )
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}"><title>{html.escape(label)}</title></polyline>')
        if len(points) <= MARKED_POINTS:  # a dot per point: a single run is a dot, not nothing
            parts[-1] += "".join(
                f'<circle cx="{c.split(",")[0]}" cy="{c.split(",")[1]}" r="2.5" fill="{color}"/>' for c in coords.split()
            )
        parts.append(f'<text x="{width - pad}" y="{12 + 12 * len(parts) // 2}" fill="{color}" font-size="10" text-anchor="end">{html.escape(label)} max {top:g}</text>')
    return (
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{html.escape(title)}</title>'
        f'<rect width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>{"".join(parts)}</svg>'
    )


def run_chart(folder: Path) -> str:
    rows = history(folder)
    if not rows:
        return "<span class='none'>no history</span>"
    start = number(rows[0]["Timestamp"]) or 0
    xs = [(number(row["Timestamp"]) or start) - start for row in rows]
    series = [(label, color, [number(row.get(column)) for row in rows]) for column, label, color in SERIES]
    return line_chart(f"{folder.parent.name} {folder.name}: requests per second, users and p95 over time", xs, series)


def target_chart(target: str, runs: list[tuple[Path, dict]]) -> str:
    xs = list(range(len(runs)))
    series = [
        ("p95 ms", "#d62728", [totals(record).get("p95_ms") for _, record in runs]),
        ("req/s", "#1f77b4", [totals(record).get("rps") for _, record in runs]),
    ]
    return line_chart(f"{target}: p95 and requests per second across runs", xs, series, width=480)


def verdict(record: dict) -> str:
    return {0: "passed", 1: "failed", 2: "invalid", 3: "thresholds breached"}.get(record.get("exit_code"), "error")


def shown(value, digits=3) -> str:
    return "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def reasons(record: dict) -> str:
    """Why a run did not pass, shown with its verdict: its problems (a missing secret, a run
    that sent nothing), escaped."""
    problems = [str(problem) for problem in record.get("problems", [])]
    return "".join(f"<br><small>{html.escape(problem)}</small>" for problem in problems[:3])


def index_html(results: Path) -> str:
    sections = []
    for target, runs in sorted(runs_of(results).items()):
        rows = []
        for folder, record in reversed(runs):
            figures = totals(record)
            links = " ".join(
                f'<a href="{html.escape(f"{target}/{folder.name}/{name}")}">{name}</a>'
                for name in LINKS if (folder / name).exists()
            )
            rows.append(
                f"<tr class='{verdict(record).split()[0]}'><td>{html.escape(folder.name)}</td>"
                f"<td>{html.escape(verdict(record))} ({record.get('exit_code')}){reasons(record)}</td>"
                f"<td>{shown(figures.get('requests'))}</td><td>{shown(figures.get('error_ratio'))}</td>"
                f"<td>{shown(figures.get('rps'))}</td><td>{shown(figures.get('p95_ms'))}</td>"
                f"<td>{links}</td><td>{run_chart(folder)}</td></tr>"
            )
        sections.append(
            f"<section id='{html.escape(target)}'><h2>{html.escape(target)}</h2>{target_chart(target, runs)}"
            "<table><tr><th>run (UTC)</th><th>verdict</th><th>requests</th><th>error ratio</th><th>req/s</th>"
            f"<th>p95 ms</th><th>files</th><th>over time</th></tr>{''.join(rows)}</table></section>"
        )
    body = "".join(sections) or "<p>No runs yet: <code>python -m compiler run TARGET</code>.</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Runs</title><style>"
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0 2em}"
        "td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:middle}"
        "tr.failed td:nth-child(2),tr.invalid td:nth-child(2),tr.thresholds td:nth-child(2){color:#b00;font-weight:bold}"
        "tr.passed td:nth-child(2){color:#070}</style></head>"
        f"<body><h1>Runs</h1><p>{sum(len(r) for r in runs_of(results).values())} run(s) of "
        f"{len(runs_of(results))} target(s), newest first.</p>{body}</body></html>\n"
    )


def refresh_index(results: Path) -> Path:
    path = results / "index.html"
    results.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(".index.html.tmp")
    partial.write_text(index_html(results), encoding="utf-8")
    partial.replace(path)
    return path
