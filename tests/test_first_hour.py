"""What a newcomer tripped on in the first hour, each against real runs and real servers on
127.0.0.1: the cause of a failed run quoted, --processes on a free port, the countdown from the
start of load, one formatting of figures, compare by target name and its warnings, failures by
status that say what the target answered, secrets from .env, a file edited by hand, a worker
given `-f -`, and a feed file's near name."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from locust_runs import ROOT, TOKEN, Locust, clean_env, compile_inputs, processes, run_locust, write_inputs
from recording_server import RecordingServer

from compiler.runs.launch import last_error, print_progress

SAMPLE = ROOT / "tests" / "sample"
LOCAL_MX = {"environments": ["local"], "countries": ["mx"]}
GOOD = {
    "host": "http://${domain}", "users": 2, "spawn_rate": 20, "run_time": "2s", "seed": 5,
    "think_time_seconds": 0.05, "report_html": None,
    "headers": {"Authorization": "Bearer ${env:APP_TOKEN}"},
    "endpoints": [{"name": "home", "path": "/", "weight": 2}, {"name": "items", "path": "/items"}],
}  # fmt: skip


def compiler(cwd: Path, *args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "compiler", *args], cwd=cwd, env=clean_env(env, home=cwd),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def run_command(project: Path, *args: str, locust_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return compiler(
        project, "--catalog", str(project / "catalog.json"), "run", *args, "--out", str(project / "generated"),
        "--results", str(project / "results"), *(("--", *locust_args) if locust_args else ()), env=TOKEN,
    )  # fmt: skip


@pytest.fixture
def recorder():
    with RecordingServer() as server:
        yield server


def project_of(tmp_path: Path, port: int, simulations: dict[str, dict]) -> Path:
    write_inputs(tmp_path, port, simulations, {name: LOCAL_MX for name in simulations})
    return tmp_path


# -- 3. the cause of a failed run, and --processes on a free port ----------------------------------


def test_a_run_that_wrote_no_record_quotes_the_last_error_of_its_log(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_command(project, "good_local_mx", "--processes", "1",
                             locust_args=("--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port))  # fmt: skip
    assert result.returncode != 0, result.stdout + result.stderr
    problem = next(line for line in result.stdout.splitlines() if "the run wrote no record" in line)
    assert "Address already in use" in problem and "(locust.log)" in problem, result.stdout
    assert "see locust.log" not in problem


def test_processes_take_a_free_port_when_5557_is_held(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD})
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            held.bind(("0.0.0.0", 5557))
        except OSError:
            pytest.skip("port 5557 is taken by something else already")  # the test's point is made anyway
        held.listen()
        result = run_command(project, "good_local_mx", "--processes", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert recorder.count() > 0
    record = json.loads(next((project / "results" / "good_local_mx").glob("*/run.json")).read_text())
    command = record["command"]
    assert command[command.index("--master-bind-host") + 1] == "127.0.0.1"
    assert command[command.index("--master-bind-port") + 1] == command[command.index("--master-port") + 1] != "5557"


def test_last_error_reads_locusts_log_lines_and_tracebacks():
    lines = [
        "[2026-12-01 10:00:00,000] vm/INFO/locust.main: Starting Locust 2.47.0",
        "[2026-12-01 10:00:00,100] vm/ERROR/locust.runners: Socket bind failure: Address already in use (addr='tcp://*:5557')",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "OSError: something else",
    ]
    assert last_error(lines) == "Socket bind failure: Address already in use (addr='tcp://*:5557')"
    assert last_error(lines[2:]) == "OSError: something else"
    assert last_error(["all fine"]) is None


# -- 4. one formatting of figures; 5. the countdown counts from the start of load ----------------


def test_the_summary_table_shows_figures_as_the_file_prints_them(tmp_path, recorder):
    strict = {**GOOD, "thresholds": {"error_ratio": 0.001, "min_rps": 100000, "requests": {"never": {"p95_ms": 10}}}}
    strict["endpoints"] = [*GOOD["endpoints"], {"name": "never", "path": "/never", "tags": ["rare"]}]
    recorder.set_status("GET", "/items", 500)
    project = project_of(tmp_path, recorder.port, {"strict": strict})
    result = run_command(project, "strict_local_mx", locust_args=("--exclude-tags", "rare"))  # "never" is never sent
    lines = [line for line in result.stdout.splitlines() if "threshold" in line]
    assert any(line.endswith("measured no requests") for line in lines), result.stdout
    assert not any(re.search(r"measured (None|\d+\.\d{5,})", line) for line in lines), result.stdout
    measured = [line.split("measured ", 1)[1] for line in lines]
    assert measured, result.stdout
    for value in measured:  # four significant digits or "no requests", never Python's repr
        assert value == "no requests" or re.fullmatch(r"-?\d+(\.\d+)?(e[-+]\d+)?( \(±[\d.]+\))?", value), value
        assert len(value.split(" ")[0].replace(".", "").replace("-", "").lstrip("0")) <= 4, value
    log = next((project / "results" / "strict_local_mx").glob("*/locust.log")).read_text()
    for line in lines:  # the same figure in the file's own printout
        scope_key, value = line.split(" - threshold ", 1)[1].split(": measured ")
        assert re.search(rf"measured {re.escape(value)}\b", log), (line, log[-2000:])


def test_the_countdown_starts_when_the_load_does(tmp_path, capsys):
    history = tmp_path / "stats_stats_history.csv"
    now = time.time()
    rows = ["Timestamp,User Count,Type,Name,Requests/s,Failures/s,Total Request Count,Total Failure Count"]
    rows += [f"{int(now - 20)},0,,Aggregated,0,0,0,0", f"{int(now - 15)},0,,Aggregated,0,0,0,0"]  # workers connecting
    rows += [f"{int(now - 4)},2,,Aggregated,10,0,40,0", f"{int(now)},2,,Aggregated,10,0,80,0"]
    history.write_text("\n".join(rows) + "\n")
    print_progress("[1/1]", "t", tmp_path, time.monotonic(), 10)
    line = capsys.readouterr().err.strip()
    assert line.endswith(("6s left", "5s left")), line  # from the first row with users, not from launch
    print_progress("[1/1]", "t", tmp_path, time.monotonic(), 3)
    assert capsys.readouterr().err.strip().endswith("ending: stopping users, writing the report")


# -- 7. compare by target name, with a word on unlike runs -----------------------------------------


def test_compare_takes_a_target_and_warns_when_settings_differ(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD, "other": GOOD})
    assert run_command(project, "good_local_mx", locust_args=("-u", "1")).returncode == 0
    assert run_command(project, "good_local_mx", locust_args=("-u", "3", "-t", "3s")).returncode in (0, 1)
    assert run_command(project, "other_local_mx").returncode == 0
    results = ("--results", str(project / "results"))
    latest_two = compiler(project, "--catalog", str(project / "catalog.json"), "compare", "good_local_mx", *results)
    lines = latest_two.stdout.splitlines()
    assert lines[0].startswith("compare ") and "good_local_mx/" in lines[0], latest_two.stdout + latest_two.stderr
    assert lines[1] == "warning: the runs' settings differ: users 1 -> 3; run_time 2s -> 3s; their figures may differ for that alone"
    two_targets = compiler(project, "--catalog", str(project / "catalog.json"), "compare", "good_local_mx", "other_local_mx", *results)
    assert "warning: the runs are of two targets, good_local_mx and other_local_mx" in two_targets.stdout
    alone = compiler(project, "--catalog", str(project / "catalog.json"), "compare", "other_local_mx", *results)
    assert alone.returncode == 2 and "other_local_mx has 1 run(s) with a record" in alone.stderr


def test_compare_refuses_a_baseline_that_sent_nothing(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD})
    assert run_command(project, "good_local_mx").returncode == 0
    (sent,) = (project / "results" / "good_local_mx").iterdir()
    empty = sent.parent / "20000101T000000Z"
    empty.mkdir()
    record = json.loads((sent / "run.json").read_text())
    record["requests"] = [{**row, "requests": 0} for row in record["requests"]]
    (empty / "run.json").write_text(json.dumps(record))
    result = compiler(project, "compare", str(empty), str(sent))
    assert result.returncode == 2
    assert "sent no request: it is no baseline to compare with" in result.stderr
    assert "no regression" not in result.stdout


# -- 8. a failure by status says what the target answered -----------------------------------------


def test_a_failure_by_status_quotes_the_start_of_the_answer(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD})
    recorder.set_status("GET", "/items", 400)
    recorder.set_body("unknown country 'pe'\n" + "x" * 500, "GET", "/items")
    generated = compile_inputs(project / "catalog.json", project / "generated")
    run = run_locust(generated["good_local_mx"], project, "-t", "2s", env=TOKEN)
    assert run.returncode == 1, run
    assert re.search(r"GET items: status 400, answer \"unknown country 'pe' x+", run.output), run.output[-3000:]


def test_varying_answers_are_quoted_only_so_many_times(tmp_path):
    """An id in every answer would give Locust's failures table a row per request."""
    project = tmp_path
    with RecordingServer() as server:
        write_inputs(project, server.port, {"good": {**GOOD, "users": 4, "think_time_seconds": 0}}, {"good": LOCAL_MX})
        server.set_status("GET", "/items", 503)
        generated = compile_inputs(project / "catalog.json", project / "generated")
        server.set_numbered_body("try again, request id ", "GET", "/items")  # each answer differs
        run = run_locust(generated["good_local_mx"], project, "-t", "3s", "--csv", "stats", env=TOKEN)
        received = sum(1 for r in server.received() if r.path == "/items")
    failures = (project / "stats_failures.csv").read_text().splitlines()[1:]
    items = [line for line in failures if ",items," in line]
    assert received > 25, received
    assert len(items) == 21, items  # 20 answers quoted, then one row for the rest
    assert any("answer not quoted (more than 20 different ones)" in line for line in items)


# -- 10. secrets from .env --------------------------------------------------------------------------


def test_a_dotenv_file_gives_the_secrets_the_file_reads(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD})
    generated = compile_inputs(project / "catalog.json", project / "generated")
    (project / ".env").write_text("# local secrets\nexport APP_TOKEN='from-dotenv'\nUNUSED=never-read\n")
    run = run_locust(generated["good_local_mx"], project, "-t", "1s")
    assert run.returncode == 0, run
    assert {r.header("Authorization") for r in recorder.received()} == {"Bearer from-dotenv"}
    assert "  env_file    .env: APP_TOKEN" in run.stderr
    assert "from-dotenv" not in run.output and "never-read" not in run.output
    recorder.reset()
    set_already = run_locust(generated["good_local_mx"], project, "-t", "1s", env={"APP_TOKEN": "from-shell"})
    assert set_already.returncode == 0
    assert {r.header("Authorization") for r in recorder.received()} == {"Bearer from-shell"}  # the environment wins
    (project / "other.env").write_text("APP_TOKEN=from-option\n")
    recorder.reset()
    named = run_locust(generated["good_local_mx"], project, "-t", "1s", "--env-file", "other.env")
    assert named.returncode == 0 and {r.header("Authorization") for r in recorder.received()} == {"Bearer from-option"}


# -- 12. small things -------------------------------------------------------------------------------


def test_a_file_edited_by_hand_says_so_when_it_runs(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD})
    generated = compile_inputs(project / "catalog.json", project / "generated")
    path = generated["good_local_mx"]
    intact = run_locust(path, project, "--check-config", env=TOKEN)
    assert "edited by hand" not in intact.output
    path.write_text(path.read_text().replace('"weight": 2', '"weight": 3'))
    edited = run_locust(path, project, "--check-config", env=TOKEN)
    assert edited.returncode == 0
    assert "warning     this file was edited by hand since it was generated" in edited.output


def test_a_worker_given_the_file_by_its_master_names_it_and_its_digest(tmp_path, recorder):
    project = project_of(tmp_path, recorder.port, {"good": GOOD})
    generated = compile_inputs(project / "catalog.json", project / "generated")
    port = processes(1)[-1]
    master = Locust(generated["good_local_mx"], project, "--master", "--master-bind-host", "127.0.0.1",
                    "--master-bind-port", port, "--expect-workers", "1", "-t", "2s", env=TOKEN)  # fmt: skip
    worker = Locust("-", tmp_path, "--worker", "--master-port", port, env=TOKEN)
    try:
        master_run, worker_run = master.wait(timeout=60), worker.wait(timeout=60)
    finally:
        master.kill()
        worker.kill()
    import hashlib

    digest = hashlib.sha256(generated["good_local_mx"].read_text().encode()).hexdigest()
    assert master_run.returncode == 0, master_run
    assert f"good_local_mx: received good_local_mx.py from the master (sha256 {digest})" in worker_run.output, worker_run


def test_a_missing_feed_file_suggests_the_near_name_and_feeds_stay_in_the_catalogs_folder(tmp_path):
    shutil.copytree(SAMPLE / "data", tmp_path / "data")
    simulation = tmp_path / "data" / "simulations" / "shop.json"
    text = simulation.read_text()
    simulation.write_text(text.replace("feeds/shoppers_${country}.csv", "feeds/shopper_${country}.csv"))
    near = compiler(tmp_path, "validate")
    assert near.returncode == 2
    assert "feed file data/feeds/shopper_mx.csv not found; did you mean 'shoppers_mx.csv'?" in near.stderr
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mx.csv").write_text("TOPSECRET_COLUMN\nx\n")
    simulation.write_text(text.replace("feeds/shoppers_${country}.csv", "../outside/${country}.csv"))
    refused = compiler(tmp_path, "validate")
    assert refused.returncode == 2
    assert "feed file '../outside/mx.csv' is outside the catalog's folder" in refused.stderr
    assert "TOPSECRET" not in refused.stdout + refused.stderr
