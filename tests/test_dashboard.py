"""The results dashboard (`<results>/index.html`), for real: runs of several targets made with
`python -m compiler run` against a recording server on 127.0.0.1 (passed, passed with a
quarter of its requests failing, breached, slower than the run before, interrupted), then the
page opened in headless Chromium over the DevTools protocol: no console error, every chart
drawn with its axes and the series expected, every link resolving, hostile text from the
target shown as text, the filters and a chart point's link working. A screenshot is kept as
a test artifact (build/test-artifacts/, or $TEST_ARTIFACTS).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser import Browser, chromium_path
from locust_runs import ROOT, TOKEN, clean_env, write_inputs
from recording_server import RecordingServer

from compiler.runs import dashboard_data
from compiler.runs.index_page import refresh_index
from compiler.runs.launch import history_rows, refreshed

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "build" / "test-artifacts")
HOSTILE = "</script><script>window.pwned=1</script>'\"<b>x</b>&amp;"  # in a check's message, as JSON
PLANTED_NAME = 'GET /items?q="x"</script><img src=x onerror="window.pwned=1">'

BASE = {
    "host": "http://${domain}",
    "users": 2,
    "spawn_rate": 20,
    "run_time": "2s",
    "seed": 5,
    "think_time_seconds": 0.02,
    "report_html": None,
    "headers": {"Authorization": "Bearer ${env:APP_TOKEN}"},
}
GOOD = {**BASE, "endpoints": [{"name": "home", "path": "/", "weight": 2}, {"name": "items", "path": "/items"}]}
STRICT = {**GOOD, "thresholds": {"error_ratio": 0.5, "min_rps": 100000, "p95_ms": 5000}}
HOSTILE_SIM = {  # a quarter of its requests fail a check, with the target's text in the message
    **BASE,
    "endpoints": [
        {"name": "home", "path": "/", "weight": 3},
        {"name": "status", "path": "/status", "checks": [{"json": "$.status", "equals": "ok"}]},
    ],
    "thresholds": {"error_ratio": 0.9},
}
LONG = {**GOOD, "run_time": "30s"}
LOCAL_MX = {"environments": ["local"], "countries": ["mx"]}


def compiler_run(project: Path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(project / "catalog.json"), "run", *targets,
         "--out", str(project / "generated"), "--results", str(project / "results")],
        cwd=project, env=clean_env(TOKEN, home=project), capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def interrupted_run(project: Path, target: str) -> int:
    """`run TARGET`, Ctrl-C'd (SIGINT to its process group) once the load is on."""
    results = project / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "compiler", "--catalog", str(project / "catalog.json"), "run", target,
         "--out", str(project / "generated"), "--results", str(results)],
        cwd=project, env=clean_env(TOKEN, home=project), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            (history_rows(path)[1] or {}).get("Total Request Count", "0") != "0"
            for path in results.glob(f"{target}/*/stats_stats_history.csv")
        ):
            time.sleep(0.2)
        time.sleep(1.2)
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """The results folder of every run below, and a planted record with hostile names."""
    with RecordingServer(statuses={("GET", "/broken"): 500}) as server:
        server.set_body(json.dumps({"status": HOSTILE}), "GET", "/status")
        project = tmp_path_factory.mktemp("dashboard")
        sims = {"good": GOOD, "strict": STRICT, "hostile": HOSTILE_SIM, "long": LONG}
        write_inputs(project, server.port, sims, {name: LOCAL_MX for name in sims})
        first = compiler_run(project, "good_local_mx", "hostile_local_mx", "strict_local_mx")
        assert first.returncode == 3, first.stdout + first.stderr
        server.set_delay(0.06)  # the second run of good is slower: compare flags it
        second = compiler_run(project, "good_local_mx")
        assert second.returncode == 0, second.stdout + second.stderr
        server.set_delay(0)
        assert interrupted_run(project, "long_local_mx") == 130
    results = project / "results"
    planted = results / "planted_local_mx" / "20260101T000000Z"  # a record from elsewhere: names as data
    shutil.copytree(next((results / "hostile_local_mx").iterdir()), planted)
    record = json.loads((planted / "run.json").read_text())
    record.update(target="planted_local_mx", folder=planted.name, ended_by="worker_lost", dropped_iterations=7)
    record["requests"][0]["name"] = PLANTED_NAME
    record["failures"][0]["name"] = PLANTED_NAME
    (planted / "run.json").write_text(json.dumps(record))
    refresh_index(results)
    return results


@pytest.fixture(scope="module")
def page(results):
    """The dashboard open in headless Chromium, every run's details opened and drawn."""
    with Browser(chromium_path()) as browser:
        browser.open((results / "index.html").as_uri(), "window.dashboard && window.dashboard.ready")
        browser.evaluate("document.querySelectorAll('details.run').forEach(d => { d.open = true; })")
        browser.wait_for("document.querySelectorAll('.chart[data-chart]').length === "
                         "Object.keys(window.dashboard.plots).length")  # fmt: skip
        yield browser


CHARTS_JS = """Object.entries(window.dashboard.plots).map(([id, plot]) => {
  const canvas = plot.root.querySelector('canvas');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
  return {id, title: plot.root.parentElement.getAttribute('aria-label'), series: plot.series.length - 1,
          labels: plot.series.slice(1).map(s => s.label), axes: window.dashboard.axes[id],
          axisLabels: plot.axes.map(a => a.label || null), width: canvas.width, inked,
          points: plot.data.slice(1).map(values => values.filter(v => v != null && !Number.isNaN(v)).length)};
})"""


def charts(page) -> dict[str, dict]:
    return {chart["title"]: chart for chart in page.evaluate(CHARTS_JS)}


def folders(results: Path, target: str) -> list[Path]:
    return sorted(p for p in (results / target).iterdir() if p.is_dir())


def test_no_console_error_and_a_screenshot_is_kept(page, results):
    assert page.errors == []
    assert page.evaluate("window.dashboard.errors") == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(ARTIFACTS / "dashboard.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 100_000, shot


def test_every_chart_is_drawn_with_axes_and_its_series(page, results):
    drawn = charts(page)
    expected = {  # title -> the series' labels
        "good_local_mx: requests per second, per run": ["req/s"],
        "good_local_mx: latency p50, p95, p99, per run": ["p50", "p95", "p99"],
        "good_local_mx: error ratio, per run": ["error ratio"],
        "strict_local_mx: requests per second, per run": ["req/s", "min_rps limit 100000"],
        "strict_local_mx: latency p50, p95, p99, per run": ["p50", "p95", "p99", "p95_ms limit 5000 ms"],
        "strict_local_mx: error ratio, per run": ["error ratio", "error_ratio limit 0.5"],
        "hostile_local_mx: error ratio, per run": ["error ratio", "error_ratio limit 0.9"],
        "planted_local_mx: dropped iterations, per run": ["dropped iterations"],
        "good_local_mx: p95 per run": ["p95"],
        "good_local_mx: error ratio per run": ["error ratio"],
    }
    for title, labels in expected.items():
        assert title in drawn, sorted(drawn)
        assert drawn[title]["labels"] == labels, (title, drawn[title])
    for target in ("good_local_mx", "strict_local_mx", "hostile_local_mx", "long_local_mx", "planted_local_mx"):
        for folder in folders(results, target):
            prefix = f"{target} {folder.name}: "
            assert drawn[prefix + "users and requests per second over the run"]["labels"] == ["users", "req/s"]
            assert drawn[prefix + "latency p50 and p95 over the run (last 10 s)"]["labels"][:2] == ["p50", "p95"]
            assert prefix + "error ratio over the run" in drawn
    assert not any("dropped" in title for title in drawn if not title.startswith("planted")), sorted(drawn)
    assert len(drawn) == 5 * 2 + 5 * 3 + 1 + 3 * sum(len(folders(results, t)) for t in
                                                       ("good_local_mx", "strict_local_mx", "hostile_local_mx",
                                                        "long_local_mx", "planted_local_mx"))  # fmt: skip
    for title, chart in drawn.items():
        assert chart["inked"] > 500, (title, chart["inked"])  # lines and axes on the canvas
        assert len(chart["points"]) == chart["series"] and all(chart["points"]), (title, chart)  # data, not only axes
        assert len(chart["axes"]) == len(chart["axisLabels"]) >= 2, (title, chart)  # x and one per unit
        assert all(ticks and len(ticks) >= 2 for ticks in chart["axes"]), (title, chart["axes"])
        if ", per run" in title or "over the run" in title:  # the big charts name their axes
            assert all(chart["axisLabels"]), (title, chart["axisLabels"])
    latency = drawn["strict_local_mx: latency p50, p95, p99, per run"]
    assert latency["axisLabels"] == ["run start (UTC)", "latency (ms)"]
    assert all(re.fullmatch(r"\d{2}:\d{2}:\d{2}", tick) for tick in latency["axes"][0]), latency["axes"][0]
    errors = drawn["hostile_local_mx: error ratio, per run"]
    assert all(tick.endswith("%") for tick in errors["axes"][1]), errors["axes"]


def test_the_over_time_series_hold_the_whole_run(results):
    """A short run's requests per second come from the counts, closed by the record's end:
    not Locust's lagging current rate (which reads 0 or 1 in a 2 s run)."""
    (folder,) = folders(results, "strict_local_mx")
    record = json.loads((folder / "run.json").read_text())
    totals = next(row for row in record["requests"] if row["name"] is None)
    series = dashboard_data.history_series(folder, record, totals)
    rates = [rate for rate in series["rps"] if rate is not None]
    assert max(rates) >= 0.5 * totals["rps"] > 10, (rates, totals["rps"])
    assert series["t"][-1] == pytest.approx(record["ended"] - record["started"], abs=0.01)
    assert series["rps"][-1] is not None  # the last interval, up to the end, is measured
    area, since = 0.0, 0.0
    for at, rate in zip(series["t"], series["rps"]):
        if rate is not None:
            area, since = area + rate * (at - since), at
    assert area == pytest.approx(totals["requests"], rel=0.01)  # the rates add up to every request


def test_verdicts_failures_endings_and_regressions(page, results):
    text = page.evaluate("document.body.innerText")
    fleet = {row[0]: row for row in page.evaluate(
        "[...document.querySelectorAll('tr.fleet-row')].map(r => [...r.cells].map(c => c.innerText))")}  # fmt: skip
    assert sorted(fleet) == ["good_local_mx", "hostile_local_mx", "long_local_mx", "planted_local_mx", "strict_local_mx"]
    assert "thresholds breached (exit 3)" in fleet["strict_local_mx"][5]
    assert fleet["long_local_mx"][5].startswith("interrupted"), fleet["long_local_mx"]  # whatever its exit code
    assert fleet["planted_local_mx"][5].startswith("failed"), fleet["planted_local_mx"]  # a worker lost: never passed
    hostile = fleet["hostile_local_mx"][5]
    assert hostile.startswith("passed (exit 0)") and re.search(r"\d+ failed \((1\d|2\d|3\d)\.\d%\)", hostile), hostile
    assert "regression against the run before" in fleet["good_local_mx"][5], fleet["good_local_mx"]
    assert "regression" not in fleet["strict_local_mx"][5]
    assert re.search(r"GET home: p50_ms [\d.]+ -> [\d.]+", page.evaluate(
        "document.querySelector('#target-good_local_mx .mark-regression').title")), text  # fmt: skip
    assert "a worker was lost (worker_lost)" in text
    assert "how it ended: interrupted (interrupted)" in text
    thresholds = page.evaluate(
        "[...document.querySelectorAll('#target-strict_local_mx table.thresholds tr')].map(r => r.innerText)")
    assert any("min_rps" in row and "FAIL" in row for row in thresholds), thresholds
    assert any("p95_ms" in row and "pass" in row for row in thresholds), thresholds
    (strict,) = folders(results, "strict_local_mx")
    for verdict in json.loads((strict / "run.json").read_text())["thresholds"]:  # figures as the run printed them
        assert any(row.split("\t")[1:2] == [verdict["key"]] and f"\t{verdict['shown']}\t" in row for row in thresholds), (verdict, thresholds)


def test_hostile_text_is_shown_as_text(page, results):
    assert page.evaluate("document.title") == "Load test results"
    assert page.evaluate("window.pwned === undefined")
    assert page.evaluate("document.scripts.length") == 3  # the data, uPlot, the page's own
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    messages = page.evaluate("[...document.querySelectorAll('td.message')].map(c => c.textContent)")
    assert any(json.dumps(HOSTILE) in message for message in messages), messages
    assert '</script><script>window.pwned=1</script>' in json.dumps(HOSTILE)
    names = page.evaluate("[...document.querySelectorAll('table.requests td')].map(c => c.textContent)")
    assert PLANTED_NAME in names


def test_every_link_resolves(page, results):
    links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    assert len(links) > 50
    for link in links:
        if link.startswith("#"):
            assert page.evaluate(f"!!document.getElementById({json.dumps(link[1:])})"), link
        else:
            assert "://" not in link and not link.startswith("/"), link  # nothing leaves the folder
            assert (results / link).is_file(), link
    for folder in results.glob("*/*/"):
        for name in ("report.html", "run.json", "junit.xml", "summary.json", "locust.log", "stats_stats_history.csv"):
            if (folder / name).is_file():
                assert f"{folder.parent.name}/{folder.name}/{name}" in links
    assert page.evaluate("[...document.querySelectorAll('[src], link[href]')].length") == 0


def test_filters_show_one_environment_app_or_country(page):
    shown = "[...document.querySelectorAll('tr.fleet-row, section.target')].filter(e => e.style.display !== 'none').length"
    assert page.evaluate(shown) == 10
    page.evaluate("const s = document.querySelector('select.filter[data-key=app]'); s.value = 'strict';"
                  "s.dispatchEvent(new Event('change'))")  # fmt: skip
    assert page.evaluate(shown) == 2
    page.evaluate("const t = document.querySelector('select.filter[data-key=app]'); t.value = '';"
                  "t.dispatchEvent(new Event('change'))")  # fmt: skip
    assert page.evaluate(shown) == 10


def test_a_chart_point_opens_its_run(page, results):
    page.evaluate("document.querySelectorAll('details.run').forEach(d => { d.open = false; }); location.hash = ''")
    first = folders(results, "good_local_mx")[0].name
    point = page.evaluate("""(() => {
      const plot = Object.values(window.dashboard.plots).find(p =>
        p.root.parentElement.getAttribute('aria-label') === 'good_local_mx: requests per second, per run');
      plot.root.scrollIntoView();
      const box = plot.over.getBoundingClientRect();
      return {x: box.left + plot.valToPos(plot.data[0][0], 'x'), y: box.top + plot.valToPos(plot.data[1][0], 'rps')};
    })()""")
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=kind, x=point["x"], y=point["y"], button="left", clickCount=1)
    page.wait_for(f"location.hash === '#run-good_local_mx-{first}'", timeout=5)
    assert page.evaluate(f"document.getElementById('run-good_local_mx-{first}').open")


def test_the_charting_library_is_the_vendored_one(results):
    vendor = ROOT / "compiler" / "runs" / "vendor"
    manifest = json.loads((vendor / "uPlot.json").read_text())
    for name, facts in manifest["files"].items():
        data = (vendor / name).read_bytes()
        if "sha256" in facts:
            assert hashlib.sha256(data).hexdigest() == facts["sha256"] and len(data) == facts["bytes"], name
    page = (results / "index.html").read_text("utf-8")
    assert page.count((vendor / "uPlot.iife.min.js").read_text("utf-8")) == 1
    assert f"(v{manifest['version']})" in page


def test_the_page_is_deterministic_and_written_atomically(results, tmp_path):
    before = (results / "index.html").read_bytes()
    refresh_index(results)
    assert (results / "index.html").read_bytes() == before
    assert not [p for p in results.iterdir() if p.name.endswith(".tmp")]
    blocked = tmp_path / "blocked"
    (blocked / "index.html").mkdir(parents=True)  # a folder where the page goes: it cannot be written
    problem = refreshed(blocked)
    assert problem and problem.startswith(f"{blocked / 'index.html'} could not be written: "), problem
    assert [p.name for p in blocked.iterdir()] == ["index.html"]


def test_an_empty_results_folder_says_how_to_make_a_run(tmp_path):
    refresh_index(tmp_path)
    assert "No runs yet" in (tmp_path / "index.html").read_text()
