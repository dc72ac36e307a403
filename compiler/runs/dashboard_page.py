"""The results dashboard as one HTML file: the fleet, each target's runs, each run.

Laid out from dashboard_data.gather's data. Every text from a record is escaped as HTML here;
the charts' data travels as JSON in a `<script type="application/json">` element (with `<`,
`>` and `&` escaped, so no text can end it) that the page's own script parses; no value is
ever pasted into script text. The charting library (uPlot, vendored in vendor/) and the page's
script and style (dashboard.js, dashboard.css) are inlined: the page fetches nothing.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERDICTS = {
    "passed": "passed",
    "breached": "thresholds breached",
    "failed": "failed",
    "invalid": "invalid, nothing sent",
    "interrupted": "interrupted",
}
COLORS = {"p50_ms": "#2ca02c", "p95_ms": "#d62728", "p99_ms": "#9467bd", "rps": "#1f77b4",
          "users": "#7f7f7f", "error_ratio": "#ff7f0e", "dropped": "#8c564b", "limit": "#444444"}  # fmt: skip
LATENCIES = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))


def asset(name: str) -> str:
    text = (HERE / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():  # it would end its element
        raise ValueError(f"{name} holds a closing tag and cannot be inlined")
    return text


def e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def data_json(value) -> str:
    """JSON that can stand inside a <script type="application/json"> element."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def shown(value, kind: str = "") -> str:
    """A figure with its unit, as people read them: 6,810.2 req/s, 612 ms, 25.0%."""
    if value is None:
        return "-"
    if kind == "ratio":
        return f"{value * 100:.1f}%" if value >= 0.001 or value == 0 else f"{value * 100:.3f}%"
    if kind == "ms":
        return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"
    if kind == "rps":
        return f"{value:,.1f} req/s"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3g}"
    return f"{int(value):,}"


def utc(seconds) -> str:
    if seconds is None:
        return "-"
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class Charts:
    """The chart specifications the page's script draws, by id, in page order."""

    def __init__(self):
        self.specs: dict[str, dict] = {}

    def add(self, kind: str, title: str, x: list, xlabel: str, scales: dict, series: list[dict],
            links: list[str] | None = None, time: bool = False) -> str:  # fmt: skip
        chart_id = f"c{len(self.specs)}"
        self.specs[chart_id] = {"kind": kind, "title": title, "x": x, "xlabel": xlabel, "time": time,
                                "scales": scales, "series": series, "links": links}  # fmt: skip
        return (f'<div class="chart chart-{kind}" data-chart="{chart_id}" role="img" '
                f'aria-label="{e(title)}"></div>')  # fmt: skip


def line(key: str, label: str, scale: str, unit: str, values: list, color: str | None = None) -> dict:
    return {"key": key, "label": label, "scale": scale, "unit": unit, "values": values,
            "color": color or COLORS.get(key, "#1f77b4"), "limit": False}  # fmt: skip


def limit_line(label: str, scale: str, unit: str, value: float, count: int) -> dict:
    return {"key": "limit", "label": label, "scale": scale, "unit": unit, "values": [value] * count,
            "color": COLORS["limit"], "limit": True}  # fmt: skip


def limits_of(run: dict) -> dict[str, float]:
    """The run's thresholds on all requests: key -> limit."""
    return {t["key"]: t["limit"] for t in run["thresholds"] if t["scope"] == "all requests" and t["limit"] is not None}


def trend_x(runs: list[dict]) -> list[float]:
    """Each run's start (its end when it never started), never going back."""
    xs, last = [], 0.0
    for run in runs:
        at = run["started"] if run["started"] is not None else run["ended"] if run["ended"] is not None else last
        last = max(last, at)
        xs.append(last)
    return xs


def target_charts(charts: Charts, target: dict) -> str:
    runs, name = target["runs"], target["target"]
    xs, links, count = trend_x(runs), ["#" + run["anchor"] for run in runs], len(runs)
    limits = limits_of(next((r for r in reversed(runs) if r["thresholds"]), runs[-1]))
    total = lambda key: [run["totals"][key] for run in runs]  # noqa: E731
    parts = []
    rps = [line("rps", "req/s", "rps", "req/s", total("rps"))]
    if "min_rps" in limits:
        rps.append(limit_line(f"min_rps limit {limits['min_rps']:g}", "rps", "req/s", limits["min_rps"], count))
    parts.append(charts.add("trend", f"{name}: requests per second, per run", xs, "run start (UTC)",
                            {"rps": "requests per second"}, rps, links, time=True))  # fmt: skip
    latency = [line(key, label, "ms", "ms", total(key)) for key, label in LATENCIES]
    latency += [limit_line(f"{key} limit {limits[key]:g} ms", "ms", "ms", limits[key], count)
                for key, _ in LATENCIES if key in limits]  # fmt: skip
    parts.append(charts.add("trend", f"{name}: latency p50, p95, p99, per run", xs, "run start (UTC)",
                            {"ms": "latency (ms)"}, latency, links, time=True))  # fmt: skip
    errors = [line("error_ratio", "error ratio", "ratio", "%", total("error_ratio"))]
    if "error_ratio" in limits:
        errors.append(limit_line(f"error_ratio limit {limits['error_ratio']:g}", "ratio", "%", limits["error_ratio"], count))
    parts.append(charts.add("trend", f"{name}: error ratio, per run", xs, "run start (UTC)",
                            {"ratio": "failed requests (%)"}, errors, links, time=True))  # fmt: skip
    if any(run["dropped_iterations"] is not None for run in runs):
        dropped = [line("dropped", "dropped iterations", "count", "", [run["dropped_iterations"] for run in runs])]
        parts.append(charts.add("trend", f"{name}: dropped iterations, per run", xs, "run start (UTC)",
                                {"count": "dropped iterations"}, dropped, links, time=True))  # fmt: skip
    return '<div class="charts">' + "".join(parts) + "</div>"


def run_charts(charts: Charts, target: str, run: dict) -> str:
    series = run["series"]
    if series is None:
        return "<p class='none'>No statistics history for this run (it sent nothing, or it is one of the older runs).</p>"
    title, xs, limits = f"{target} {run['folder']}", series["t"], limits_of(run)
    parts = [charts.add("run", f"{title}: users and requests per second over the run", xs, "seconds since the start",
                        {"users": "users", "rps": "requests per second"},
                        [line("users", "users", "users", "", series["users"]),
                         line("rps", "req/s", "rps", "req/s", series["rps"])])]  # fmt: skip
    latency = [line(key, label, "ms", "ms", series[key]) for key, label in LATENCIES[:2]]
    latency += [limit_line(f"{key} limit {limits[key]:g} ms", "ms", "ms", limits[key], len(xs))
                for key, _ in LATENCIES[:2] if key in limits]  # fmt: skip
    parts.append(charts.add("run", f"{title}: latency p50 and p95 over the run (last 10 s)", xs,
                            "seconds since the start", {"ms": "latency (ms)"}, latency))  # fmt: skip
    errors = [line("error_ratio", "error ratio", "ratio", "%", series["error_ratio"])]
    if "error_ratio" in limits:
        errors.append(limit_line(f"error_ratio limit {limits['error_ratio']:g}", "ratio", "%", limits["error_ratio"], len(xs)))
    parts.append(charts.add("run", f"{title}: error ratio over the run", xs, "seconds since the start",
                            {"ratio": "failed requests (%)"}, errors))  # fmt: skip
    return '<div class="charts">' + "".join(parts) + "</div>"


def verdict_badge(run: dict) -> str:
    words = VERDICTS.get(run["verdict"], run["verdict"])
    code = "" if run["exit_code"] is None else f" (exit {run['exit_code']})"
    badge = f"<span class='verdict verdict-{e(run['verdict'])}'>{e(words)}{e(code)}</span>"
    failures = run["totals"]["failures"]
    if failures and run["verdict"] in ("passed", "breached"):
        badge += f" <span class='mark mark-failures' title='requests failed'>{e(shown(failures))} failed ({e(shown(run['totals']['error_ratio'], 'ratio'))})</span>"
    return badge


def reasons(run: dict) -> str:
    """Why a run did not pass, beside its verdict: its first problems (a missing secret, a run
    that sent nothing)."""
    return "".join(f"<br><small class='problem'>{e(problem)}</small>" for problem in run["problems"][:3])


def regression_mark(run: dict) -> str:
    if not run["regressions"]:
        return ""
    return (f"<span class='mark mark-regression' title='{e('; '.join(run['regressions']))}'>"
            f"regression against the run before</span>")  # fmt: skip


def fleet(charts: Charts, targets: list[dict]) -> str:
    options = {key: sorted({t[key] for t in targets}) for key in ("app", "environment", "country")}
    filters = "".join(
        f"<label>{e(key)} <select class='filter' data-key='{e(key)}'><option value=''>every {e(key)}</option>"
        + "".join(f"<option value='{e(v)}'>{e(v)}</option>" for v in values) + "</select></label> "
        for key, values in options.items()
    )
    rows = []
    for target in targets:
        runs, latest = target["runs"], target["runs"][-1]
        xs, links = trend_x(runs), ["#" + run["anchor"] for run in runs]
        p95 = charts.add("spark", f"{target['target']}: p95 per run", xs, "run", {"ms": "p95 (ms)"},
                         [line("p95_ms", "p95", "ms", "ms", [r["totals"]["p95_ms"] for r in runs])], links, time=True)  # fmt: skip
        errors = charts.add("spark", f"{target['target']}: error ratio per run", xs, "run", {"ratio": "errors (%)"},
                            [line("error_ratio", "error ratio", "ratio", "%", [r["totals"]["error_ratio"] for r in runs])],
                            links, time=True)  # fmt: skip
        rows.append(
            f"<tr class='fleet-row' data-app='{e(target['app'])}' data-environment='{e(target['environment'])}' "
            f"data-country='{e(target['country'])}'><td><a href='#{e(target['anchor'])}'>{e(target['target'])}</a></td>"
            f"<td>{e(target['app'])}</td><td>{e(target['environment'])}</td><td>{e(target['country'])}</td>"
            f"<td><a href='#{e(latest['anchor'])}'>{e(utc(latest['started'] or latest['ended']))}</a><br>{len(runs)} run(s)</td>"
            f"<td>{verdict_badge(latest)} {regression_mark(latest)}{reasons(latest)}</td><td>{p95}</td><td>{errors}</td></tr>"
        )
    return (
        "<section id='fleet'><h2>Fleet</h2><p class='filters'>Show only: " + filters + "</p>"
        "<table class='fleet'><thead><tr><th>target</th><th>app</th><th>environment</th><th>country</th>"
        "<th>last run</th><th>last verdict</th><th>p95 across runs</th><th>error ratio across runs</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def files(run: dict) -> str:
    return " ".join(f"<a href='{e(path)}'>{e(path.rsplit('/', 1)[1])}</a>" for path in run["files"]) or "-"


def runs_table(target: dict) -> str:
    rows = []
    for run in reversed(target["runs"]):
        t = run["totals"]
        rows.append(
            f"<tr><td><a href='#{e(run['anchor'])}'>{e(run['folder'])}</a></td><td>{verdict_badge(run)} {regression_mark(run)}{reasons(run)}</td>"
            f"<td>{e(run['ending'])}</td><td>{e(shown(t['requests']))}</td><td>{e(shown(t['error_ratio'], 'ratio'))}</td>"
            f"<td>{e(shown(t['rps'], 'rps'))}</td>"
            + "".join(f"<td>{e(shown(t[key], 'ms'))}</td>" for key, _ in LATENCIES)
            + f"<td>{e(shown(run['dropped_iterations']))}</td><td class='files'>{files(run)}</td></tr>"
        )
    return (
        "<table class='runs'><thead><tr><th>run (UTC)</th><th>verdict</th><th>how it ended</th><th>requests</th>"
        "<th>error ratio</th><th>throughput</th><th>p50</th><th>p95</th><th>p99</th><th>dropped iterations</th>"
        f"<th>files</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def run_details(charts: Charts, target: str, run: dict) -> str:
    requests = "".join(
        f"<tr><td>{e(r['method'] or '')}</td><td>{e(r['name'] if r['name'] is not None else 'all requests')}</td>"
        f"<td>{e(shown(r['requests']))}</td><td>{e(shown(r['failures']))}</td><td>{e(shown(r['error_ratio'], 'ratio'))}</td>"
        f"<td>{e(shown(r['rps'], 'rps'))}</td>"
        + "".join(f"<td>{e(shown(r[key], 'ms'))}</td>" for key in ("avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"))
        + "</tr>"
        for r in run["requests"]
    )
    failures = "".join(
        f"<tr><td>{e(f['name'])}</td><td class='message'>{e(f['message'])}</td><td>{e(shown(f['occurrences']))}</td></tr>"
        for f in run["failures"]
    )
    thresholds = "".join(
        f"<tr class='{'pass' if t['passed'] else 'fail'}'><td>{e(t['scope'])}</td><td>{e(t['key'])}</td>"
        f"<td>{'&ge;' if t['key'].startswith('min_') else '&le;'} {e(shown(t['limit']))}</td><td>{e(t['shown'] or shown(t['measured']))}</td>"
        f"<td>{'pass' if t['passed'] else 'FAIL'}</td></tr>"
        for t in run["thresholds"]
    )
    problems = "".join(f"<li>{e(p)}</li>" for p in run["problems"])
    regressions = "".join(f"<li>{e(r)}</li>" for r in run["regressions"])
    return (
        f"<details class='run' id='{e(run['anchor'])}'><summary><span class='when'>{e(run['folder'])}</span> "
        f"{verdict_badge(run)} {regression_mark(run)} <span class='ending'>{e(run['ending'])}</span></summary>"
        f"<p>Started {e(utc(run['started']))}, ended {e(utc(run['ended']))}; how it ended: {e(run['ending'])}"
        f"{'' if run['ended_by'] is None else ' (' + e(run['ended_by']) + ')'}. Files: {files(run)}</p>"
        + (f"<h4>What went wrong</h4><ul class='problems'>{problems}</ul>" if problems else "")
        + (f"<h4>Regressions against the run before (compare)</h4><ul class='regressions'>{regressions}</ul>" if regressions else "")
        + run_charts(charts, target, run)
        + "<h4>Requests</h4><table class='requests'><thead><tr><th>method</th><th>name</th><th>requests</th>"
        "<th>failures</th><th>error ratio</th><th>throughput</th><th>avg</th><th>p50</th><th>p95</th><th>p99</th>"
        f"<th>max</th></tr></thead><tbody>{requests}</tbody></table>"
        + (f"<h4>Thresholds</h4><table class='thresholds'><thead><tr><th>scope</th><th>key</th><th>limit</th>"
           f"<th>measured</th><th>verdict</th></tr></thead><tbody>{thresholds}</tbody></table>" if thresholds else "")
        + (f"<h4>Failures</h4><table class='failures'><thead><tr><th>request</th><th>message</th><th>occurrences</th>"
           f"</tr></thead><tbody>{failures}</tbody></table>" if failures else "")
        + "</details>"
    )  # fmt: skip


def target_section(charts: Charts, target: dict) -> str:
    runs = target["runs"]
    return (
        f"<section class='target' id='{e(target['anchor'])}' data-app='{e(target['app'])}' "
        f"data-environment='{e(target['environment'])}' data-country='{e(target['country'])}'>"
        f"<h2>{e(target['target'])}</h2><p>{len(runs)} run(s); app {e(target['app'])}, environment "
        f"{e(target['environment'])}, country {e(target['country'])}. A point of a chart opens its run.</p>"
        + target_charts(charts, target) + runs_table(target)
        + "<h3>Runs, newest first</h3>" + "".join(run_details(charts, target["target"], run) for run in reversed(runs))
        + "</section>"
    )  # fmt: skip


def page(data: dict) -> str:
    charts, targets = Charts(), data["targets"]
    count = sum(len(t["runs"]) for t in targets)
    if targets:
        body = fleet(charts, targets) + "".join(target_section(charts, t) for t in targets)
    else:
        body = "<p>No runs yet: <code>python -m compiler run TARGET</code> makes one.</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Load test results</title>"
        f"<style>{asset('vendor/uPlot.min.css')}\n{asset('dashboard.css')}</style></head><body>"
        f"<header><h1>Load test results</h1><p>{count} run(s) of {len(targets)} target(s). Times are UTC; "
        "latencies in milliseconds; hover a chart for its values.</p></header>"
        f"<main>{body}</main>"
        f"<script type='application/json' id='dashboard-data'>{data_json({'charts': charts.specs})}</script>"
        f"<script>{asset('vendor/uPlot.iife.min.js')}</script><script>{asset('dashboard.js')}</script>"
        "</body></html>\n"
    )
