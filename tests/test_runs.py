"""`python -m compiler run` and `compare`, for real: several targets run with real Locust against
recording servers on 127.0.0.1, one folder per run; run.json validated against its published
schema; junit.xml read by junitparser the way CI reads it; summary.json; the exit codes and
their order; `compare` on two comparable runs and on a planted regression; progress lines; the
index. Also the distributed recipe: a master and two separate
`--worker -f -` processes, where only the master decides the thresholds and writes the records.

The runs are made once per module (module-scoped fixtures) and the tests read what they left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from junitparser import JUnitXml
from referencing import Registry, Resource

from locust_runs import (
    ROOT,
    SECRET,
    TOKEN,
    Locust,
    clean_env,
    compile_inputs,
    free_port,
    write_inputs,
)
from recording_server import RecordingServer

from compiler.runs.launch import SEVERITY, history_rows, worst

SCHEMAS = ROOT / "compiler" / "schemas"
RUN_FOLDER = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
PROGRESS = re.compile(r"^\[\d+/\d+\] (\w+): \d+ users, [\d.]+ req/s, \d+ failures of \d+, \d+s left$", re.M)

GOOD = {  # two endpoints, a secret header; no thresholds: exit 0, or 1 on a failed request
    "host": "http://${domain}",
    "users": 2,
    "spawn_rate": 20,
    "run_time": "3s",
    "seed": 5,
    "think_time_seconds": 0.05,
    "report_html": None,
    "headers": {"Authorization": "Bearer ${env:APP_TOKEN}"},
    "endpoints": [
        {"name": "home", "path": "/", "weight": 2},
        {"name": "items", "path": "/items", "weight": 1},
    ],
}
BROKEN = {**GOOD, "run_time": "2s", "endpoints": [*GOOD["endpoints"], {"name": "broken", "path": "/broken"}]}
STRICT = {  # one threshold that cannot pass (exit 3), two that do
    **GOOD,
    "run_time": "2s",
    "thresholds": {"error_ratio": 0.5, "min_rps": 100000, "requests": {"home": {"max_ms": 10000}}},
}
STEADY = {  # paced, so two runs send the same requests at the same rate: comparable
    "host": "http://${domain}",
    "users": 2,
    "spawn_rate": 20,
    "run_time": "6s",  # enough samples that a loaded machine does not move a p95 by half
    "seed": 9,
    "pacing": {"iterations_per_second": 10},
    "report_html": None,
    "endpoints": [
        {"name": "fast", "path": "/fast", "weight": 1},
        {"name": "slow", "path": "/slow", "weight": 1},
    ],
}
LOCAL_MX = {"environments": ["local"], "countries": ["mx"]}


def compiler(cwd: Path, *args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m compiler ARGS` in CWD, with a clean environment plus `env`."""
    return subprocess.run(
        [sys.executable, "-m", "compiler", *args],
        cwd=cwd,
        env=clean_env(env, home=cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_command(project: Path, *args: str, locust_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return compiler(
        project,
        "--catalog", str(project / "catalog.json"), "run", *args,
        "--out", str(project / "generated"), "--results", str(project / "results"),
        *(("--", *locust_args) if locust_args else ()),
        env=TOKEN,
    )  # fmt: skip


def validator(name: str) -> Draft202012Validator:
    schemas = [json.loads(path.read_text("utf-8")) for path in sorted(SCHEMAS.glob("*.schema.json"))]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    schema = next(s for s in schemas if s["$id"] == name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def assert_valid(name: str, document: dict) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(document)]
    assert errors == [], errors


def run_folders(results: Path, target: str) -> list[Path]:
    return sorted(path for path in (results / target).iterdir() if path.is_dir())


def record(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text("utf-8"))


def junit_cases(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (classname, failure messages), as junitparser reads the file."""
    suites = list(JUnitXml.fromfile(str(path)))
    assert len(suites) == 1, suites
    return {case.name: (case.classname, [result.message for result in case.result]) for case in suites[0]}


# -- the runs, made once ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    server = RecordingServer(statuses={("GET", "/broken"): 500}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def project(server, tmp_path_factory) -> Path:
    """A catalog (good in mx and br, broken, strict), not compiled: `run` compiles what it needs."""
    folder = tmp_path_factory.mktemp("runs")
    apps = {
        "good": {"environments": ["local"], "countries": ["mx", "br"]},
        "broken": LOCAL_MX,
        "strict": LOCAL_MX,
    }
    write_inputs(folder, server.port, {"good": GOOD, "broken": BROKEN, "strict": STRICT}, apps)
    return folder


@pytest.fixture(scope="module")
def runs(project) -> dict[str, subprocess.CompletedProcess]:
    """Four targets in one command (exit 1: the worst of 0, 0, 1, 3), then two of them again
    (exit 3: the worst of 0 and 3)."""
    return {
        "all": run_command(project, "good_local_*", "broken_local_mx", "strict_local_mx", "--summary-json",
                           str(project / "summary.json")),  # fmt: skip
        "again": run_command(project, "good_local_mx", "strict_local_mx"),
    }


def test_exit_code_is_the_worst_of_the_runs(runs, project):
    assert runs["all"].returncode == 1, runs["all"].stdout + runs["all"].stderr
    assert runs["again"].returncode == 3, runs["again"].stdout + runs["again"].stderr
    codes = {target: [record(f)["exit_code"] for f in run_folders(project / "results", target)]
             for target in ("good_local_mx", "good_local_br", "broken_local_mx", "strict_local_mx")}  # fmt: skip
    assert codes == {"good_local_mx": [0, 0], "good_local_br": [0], "broken_local_mx": [1], "strict_local_mx": [3, 3]}


def test_severity_order():
    """Passed, then thresholds breached, then failed, then invalid; anything else (130, 143) worst."""
    assert sorted([2, 1, 3, 0], key=SEVERITY.get) == [0, 3, 1, 2]
    assert worst([]) == 0
    assert worst([0, 3]) == 3
    assert worst([3, 1, 0]) == 1
    assert worst([1, 2]) == 2
    assert worst([2, 130]) == 130


def test_one_folder_per_run_never_overwritten(runs, project):
    results = project / "results"
    assert sorted(p.name for p in results.iterdir() if p.is_dir()) == [
        "broken_local_mx", "good_local_br", "good_local_mx", "strict_local_mx",
    ]  # fmt: skip
    first, second = run_folders(results, "good_local_mx")  # two runs of one target, two folders
    assert first.name != second.name
    assert record(first)["folder"] == first.name and record(second)["folder"] == second.name
    assert record(first)["started"] < record(second)["started"]
    for folder in results.glob("*/*/"):
        assert RUN_FOLDER.match(folder.name), folder
        names = {p.name for p in folder.iterdir()}
        assert {"report.html", "run.json", "junit.xml", "summary.json", "locust.log", "stats_stats.csv",
                "stats_stats_history.csv", "stats_failures.csv"} <= names, (folder, names)  # fmt: skip
        assert not [n for n in names if n.endswith(".tmp")], names


def test_run_records_follow_their_schema(runs, project):
    for path in sorted((project / "results").glob("*/*/run.json")):
        document = json.loads(path.read_text("utf-8"))
        assert_valid("run.schema.json", document)
        assert document["target"] == path.parent.parent.name
        assert document["passed"] == (document["exit_code"] == 0)
        assert document["compiler_version"] and document["locust_version"]
        assert document["command"][:3] == [Path(sys.executable).name, "-m", "locust"]
        assert document["workers"] == 0
        assert SECRET not in path.read_text("utf-8")
        configuration = document["configuration"]
        assert configuration["run_time"] == {"value": 3 if "good" in path.parts[-3] else 2, "source": "template",
                                             "option": "-t/LOCUST_RUN_TIME"}  # fmt: skip
        assert configuration["headers"] == {"Authorization": "Bearer ${env:APP_TOKEN}"}
        totals = [row for row in document["requests"] if row["name"] is None]
        assert len(totals) == 1 and totals[0]["requests"] > 0


def test_run_record_verdicts_and_failures(runs, project):
    strict = record(run_folders(project / "results", "strict_local_mx")[0])
    assert [(row["scope"], row["key"], row["limit"], row["passed"]) for row in strict["thresholds"]] == [
        ("all requests", "error_ratio", 0.5, True),
        ("all requests", "min_rps", 100000, False),
        ("home", "max_ms", 10000, True),
    ]
    broken = record(run_folders(project / "results", "broken_local_mx")[0])
    assert broken["thresholds"] == [] and broken["problems"] == []
    assert {failure["name"] for failure in broken["failures"]} == {"broken"}
    assert "500" in broken["failures"][0]["message"]
    row = next(row for row in broken["requests"] if row["name"] == "broken")
    assert row["error_ratio"] == 1.0 and row["failures"] == row["requests"] > 0


def test_junit_one_case_per_threshold_and_request_name(runs, project):
    strict = junit_cases(run_folders(project / "results", "strict_local_mx")[0] / "junit.xml")
    assert strict["all requests min_rps >= 100000"][0] == "strict_local_mx.thresholds"
    assert re.fullmatch(r"measured [\d.e+]+", strict["all requests min_rps >= 100000"][1][0])
    assert strict["all requests error_ratio <= 0.5"][1] == []
    assert strict["home max_ms <= 10000"][1] == []
    assert strict["GET home"] == ("strict_local_mx.requests", [])
    assert strict["GET items"] == ("strict_local_mx.requests", [])
    assert len(strict) == 5

    broken = junit_cases(run_folders(project / "results", "broken_local_mx")[0] / "junit.xml")
    assert sorted(broken) == ["GET broken", "GET home", "GET items"]
    classname, messages = broken["GET broken"]
    assert classname == "broken_local_mx.requests" and len(messages) == 1
    assert "500" in messages[0] and re.search(r"\(\d+x\)$", messages[0]), messages
    assert broken["GET home"][1] == [] and broken["GET items"][1] == []

    good = junit_cases(run_folders(project / "results", "good_local_br")[0] / "junit.xml")
    assert sorted(good) == ["GET home", "GET items"]
    assert all(messages == [] for _, messages in good.values())


def test_summary_json(runs, project):
    for path in sorted((project / "results").glob("*/*/summary.json")):
        summary = json.loads(path.read_text("utf-8"))
        assert_valid("summary.schema.json", summary)
        full = record(path.parent)
        assert {key: summary[key] for key in ("target", "thresholds", "requests", "failures")} == {
            key: full[key] for key in ("target", "thresholds", "requests", "failures")
        }
    overall = json.loads((project / "summary.json").read_text("utf-8"))
    assert_valid("summary.schema.json", overall)
    assert overall["exit_code"] == 1
    assert [(run["target"], run["exit_code"]) for run in overall["runs"]] == [
        ("broken_local_mx", 1), ("good_local_br", 0), ("good_local_mx", 0), ("strict_local_mx", 3),
    ]  # fmt: skip (in the order of the target names, as `list` shows them)
    for run in overall["runs"]:
        assert Path(run["folder"]).parent == project / "results" / run["target"]
        assert (Path(run["folder"]) / "run.json").is_file()


def test_progress_and_summary_table(runs):
    result = runs["all"]
    for number, target in enumerate(("broken_local_mx", "good_local_br", "good_local_mx", "strict_local_mx"), 1):
        assert f"[{number}/4] {target}: running " in result.stderr, result.stderr
        assert re.search(rf"^\[{number}/4\] {target}: exit \d", result.stderr, re.M), result.stderr
    progressed = set(PROGRESS.findall(result.stderr))
    assert {"good_local_br", "good_local_mx"} <= progressed, result.stderr  # 3 s runs: at least one line each
    compiled = re.compile(r"^\S+: \d+ written, \d+ unchanged, \d+ removed$")  # compiled what was stale first
    lines = result.stdout.splitlines()
    table = lines[next(n for n, line in enumerate(lines) if compiled.match(line)) + 1 :]
    assert table[0].split()[:7] == ["target", "exit", "requests", "failures", "req/s", "p95", "ms"]
    rows = {line.split()[0]: line.split() for line in table[1:] if line and not line.startswith(" ")}
    assert rows["good_local_mx"][1:2] == ["0"] and "passed" in rows["good_local_mx"]
    assert rows["broken_local_mx"][1:2] == ["1"] and "failed" in rows["broken_local_mx"]
    assert rows["strict_local_mx"][1:2] == ["3"] and "breached" in rows["strict_local_mx"]
    assert re.search(r"^ +- \d+x broken: .*500", result.stdout, re.M), result.stdout
    assert re.search(r"^ +- threshold all requests min_rps 100000: measured", result.stdout, re.M), result.stdout
    assert result.stdout.rstrip().endswith("index.html")


# -- the index ------------------------------------------------------------------------------------
# The dashboard itself, in headless Chromium, is tests/test_dashboard.py's.


def test_index_lists_every_run_with_its_files(runs, project):
    results = project / "results"
    page = (results / "index.html").read_text("utf-8")
    for path in sorted(results.glob("*/*/run.json")):
        target, name = path.parent.parent.name, path.parent.name
        for file in ("report.html", "run.json", "junit.xml"):
            assert f"href='{target}/{name}/{file}'" in page, (target, name, file)
        assert f"id='run-{target}-{name}'" in page


# -- --processes --------------------------------------------------------------------------------------


def test_run_with_processes(runs, project):
    port = str(free_port())
    result = run_command(
        project, "good_local_br", "--processes", "2",
        locust_args=("--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port, "-t", "2s"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    newest = run_folders(project / "results", "good_local_br")[-1]
    document = record(newest)
    assert_valid("run.schema.json", document)
    assert document["workers"] == 2
    assert document["command"][document["command"].index("--processes") + 1] == "2"
    assert document["configuration"]["run_time"]["source"] == "cli"
    log = (newest / "locust.log").read_text()
    assert "2 workers connected" in log or "All users spawned" in log, log[-2000:]


def test_processes_must_be_a_count(project):
    for bad in ("0", "-2"):
        result = run_command(project, "good_local_br", "--processes", bad)
        assert result.returncode == 2 and "--processes is a number of worker processes" in result.stderr


# -- compare -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def steady(tmp_path_factory):
    """Three runs of one paced target, every answer 30 ms late: A and A' alike, B with /slow
    answering 250 ms late (the planted regression)."""
    with RecordingServer() as server:
        folder = tmp_path_factory.mktemp("steady")
        write_inputs(folder, server.port, {"steady": STEADY}, {"steady": LOCAL_MX})
        server.set_delay(0.03)
        codes = [run_command(folder, "steady_local_mx").returncode for _ in range(2)]
        server.set_delay(0.25, "GET", "/slow")
        codes.append(run_command(folder, "steady_local_mx").returncode)
    assert codes == [0, 0, 0]
    return run_folders(folder / "results", "steady_local_mx")


def test_compare_two_comparable_runs(steady):
    a, a_again, _ = steady
    # 100%, as below: the shared machine's noise on a 20 req/s request's p99 reached +83% (34 -> 62 ms)
    result = compiler(ROOT, "compare", str(a), str(a_again), "--tolerance", "1.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("no regression")
    assert re.search(r"^GET fast .* ok$", result.stdout, re.M), result.stdout


def test_compare_flags_the_planted_regression(steady):
    a, _, b = steady
    # The planted regression is 8 times the latency; a tolerance of 100% keeps the shared
    # machine's noise on the fast request's p99 (+75% seen, 34 -> 59 ms) from flagging it too.
    result = compiler(ROOT, "compare", str(a), str(b), "--tolerance", "1.0")
    assert result.returncode == 1, result.stdout + result.stderr
    slow = next(line for line in result.stdout.splitlines() if line.startswith("GET slow"))
    assert "REGRESSION: p50_ms" in slow, result.stdout
    assert re.search(r"^GET fast .* ok$", result.stdout, re.M), result.stdout
    assert result.stdout.rstrip().endswith("regression(s)")


def test_compare_a_request_gone_is_a_regression(steady, tmp_path):
    a, a_again, _ = steady
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    document = record(a_again)
    document["requests"] = [row for row in document["requests"] if row["name"] != "slow"]
    (fewer / "run.json").write_text(json.dumps(document))
    result = compiler(ROOT, "compare", str(a), str(fewer), "--tolerance", "0.5")
    assert result.returncode == 1, result.stdout
    assert re.search(r"^GET slow +only in A +REGRESSION: gone$", result.stdout, re.M), result.stdout


def test_compare_needs_run_folders(tmp_path):
    result = compiler(ROOT, "compare", str(tmp_path), str(tmp_path))
    assert result.returncode == 2 and "no run.json or summary.json" in result.stderr


# -- distributed: a master and two separate workers -------------------------------------------------


def test_master_and_two_workers_only_the_master_decides_and_writes(server, project, tmp_path):
    """Thresholds and records on the master; the workers get the file with `-f -` and each reads
    the secret from its own environment; asked for records too, they write none."""
    files = compile_inputs(project / "catalog.json", tmp_path / "generated")
    port = str(free_port())
    master_dir = tmp_path / "master"
    records = ("--run-record", "run.json", "--junit", "junit.xml", "--summary-json", "summary.json")
    master = Locust(
        files["strict_local_mx"], master_dir, "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--expect-workers", "2", "-t", "3s", *records, env=TOKEN,
    )  # fmt: skip
    time.sleep(0.5)
    workers = [
        Locust(Path("-"), tmp_path / f"worker{n}", "--worker", "--master-port", port, env=TOKEN)
        for n in (1, 2)
    ]
    try:
        master_run = master.wait(timeout=60)
        worker_runs = [worker.wait(timeout=30) for worker in workers]
    finally:
        for process in (master, *workers):
            process.kill()
    assert master_run.returncode == 3, master_run
    assert "1 of 3 threshold(s) failed" in master_run.stderr
    for worker_run in worker_runs:
        assert worker_run.returncode == 0, worker_run
        assert "threshold" not in worker_run.stderr.lower(), worker_run
    for n in (1, 2):
        assert [p.name for p in (tmp_path / f"worker{n}").rglob("*") if p.is_file()] == [], n

    document = json.loads((master_dir / "run.json").read_text("utf-8"))
    assert_valid("run.schema.json", document)
    assert (document["workers"], document["exit_code"], document["target"]) == (2, 3, "strict_local_mx")
    assert [row["passed"] for row in document["thresholds"]] == [True, False, True]
    assert SECRET not in (master_dir / "run.json").read_text("utf-8")
    cases = junit_cases(master_dir / "junit.xml")
    assert cases["all requests min_rps >= 100000"][1] and cases["GET home"][1] == []
    assert_valid("summary.schema.json", json.loads((master_dir / "summary.json").read_text("utf-8")))
    assert {r.header("Authorization") for r in server.received()} == {f"Bearer {SECRET}"}


def test_workers_asked_for_records_write_none(server, project, tmp_path):
    """The same, with the record options set on the workers through their environment."""
    files = compile_inputs(project / "catalog.json", tmp_path / "generated")
    port = str(free_port())
    master = Locust(
        files["good_local_mx"], tmp_path / "master", "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--expect-workers", "1", "-t", "2s", "--run-record", "run.json", env=TOKEN,
    )  # fmt: skip
    time.sleep(0.5)
    worker_env = {**TOKEN, "LOCUST_RUN_RECORD": "w.json", "LOCUST_JUNIT": "w.xml", "LOCUST_SUMMARY_JSON": "s.json"}
    worker = Locust(Path("-"), tmp_path / "worker", "--worker", "--master-port", port, env=worker_env)
    try:
        master_run, worker_run = master.wait(timeout=60), worker.wait(timeout=30)
    finally:
        master.kill()
        worker.kill()
    assert master_run.returncode == 0 and worker_run.returncode == 0, (master_run, worker_run)
    assert (tmp_path / "master" / "run.json").is_file()
    assert [p.name for p in (tmp_path / "worker").rglob("*") if p.is_file()] == []


def run_under_load(project: Path, results: Path, targets: str, seconds: str) -> subprocess.Popen:
    """`run TARGETS -- -t SECONDS` in a session of its own, returned once the load is on
    (Locust wrote a row of history for good_local_br, the first target)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "compiler", "--catalog", str(project / "catalog.json"), "run", targets,
         "--out", str(project / "generated"), "--results", str(results), "--", "-t", seconds],
        cwd=project, env=clean_env(TOKEN, home=project), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
        history_rows(path)[1] for path in results.glob("good_local_br/*/stats_stats_history.csv")
    ):
        time.sleep(0.2)
    return process


def test_ctrl_c_stops_the_run_and_the_targets_after_it(project, tmp_path):
    """Ctrl-C in the terminal reaches `run` and its Locust: that run writes its records, the
    next targets do not run, and the exit code says it was interrupted."""
    results = tmp_path / "results"
    process = run_under_load(project, results, "good_local_*", "20s")
    try:
        time.sleep(1)
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stdout + stderr
    assert "interrupted: not run: good_local_mx" in stderr
    assert sorted(p.name for p in results.iterdir() if p.is_dir()) == ["good_local_br"]
    (folder,) = run_folders(results, "good_local_br")
    assert_valid("run.schema.json", record(folder))
    # one Ctrl-C, though the terminal's group and `run` both signal: Locust stopped as asked and
    # wrote its own record, with every request it sent (not "interrupted again: exiting now")
    log = (folder / "locust.log").read_text()
    assert "Ctrl-C: stopping the run" in log and "interrupted again" not in log, log[-2000:]
    assert record(folder)["ended_by"] == "interrupted" and record(folder)["requests"], record(folder)
    assert (results / "index.html").is_file()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_run_alone_is_passed_on_and_the_records_kept(project, tmp_path, signum):
    """A CI that cancels the job (SIGTERM) or a closed terminal (SIGHUP) signals `run`: its Locust
    stops and writes its record, and the targets after it do not run."""
    results = tmp_path / "results"
    process = run_under_load(project, results, "good_local_*", "20s")
    try:
        time.sleep(1)
        started = time.monotonic()
        process.send_signal(signum)  # `run` alone, not its group
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert time.monotonic() - started < 15, stdout + stderr  # not the 20 s the run had left
    assert process.returncode != 0, stdout + stderr
    assert sorted(p.name for p in results.iterdir() if p.is_dir()) == ["good_local_br"], stderr
    (folder,) = run_folders(results, "good_local_br")
    assert_valid("run.schema.json", record(folder))
    assert record(folder)["requests"] and record(folder)["ended_by"] == "interrupted", record(folder)


def test_locust_does_not_outlive_a_killed_run(project, tmp_path):
    """`run` SIGKILLed (nothing passed on): its Locust is stopped too (Linux), records written."""
    if sys.platform != "linux":
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    results = tmp_path / "results"
    process = run_under_load(project, results, "good_local_br", "30s")
    try:
        process.kill()
        process.communicate(timeout=10)
        (folder,) = run_folders(results, "good_local_br")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (folder / "run.json").is_file():
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert (folder / "run.json").is_file(), (folder / "locust.log").read_text()[-2000:]
    assert record(folder)["ended_by"] == "interrupted" and record(folder)["requests"], record(folder)


def test_a_run_refused_before_load_says_why_in_the_summary(project):
    """The generated file exits 2 before it writes a record: `run` finds the reasons in its log."""
    (project / "simulations" / "secret.json").write_text(json.dumps({**GOOD, "headers": {"X-Key": "${env:NOT_SET_HERE}"}}))
    catalog = json.loads((project / "catalog.json").read_text())
    catalog["apps"]["secret"] = {"simulation": "simulations/secret.json", "environments": ["local"], "countries": ["mx"]}
    (project / "catalog.json").write_text(json.dumps(catalog))
    try:
        result = run_command(project, "secret_local_mx")
    finally:
        del catalog["apps"]["secret"]
        (project / "catalog.json").write_text(json.dumps(catalog))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "invalid configuration, no request sent: environment variable NOT_SET_HERE is not set" in result.stdout
    assert_valid("run.schema.json", record(run_folders(project / "results", "secret_local_mx")[-1]))
    index = (project / "results" / "index.html").read_text()  # the index says why, not only "invalid"
    assert "environment variable NOT_SET_HERE is not set" in index
