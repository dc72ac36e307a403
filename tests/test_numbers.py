"""Numbers you can trust, whatever the target does: every attempt counted (no retry hidden by a
client), timeouts that bound the whole answer, answers bounded in size and in memory, and
secrets masked in every form and every piece, in every file of a run folder, stdout and stderr.
Each against a hostile server on 127.0.0.1 that the test starts."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from locust_runs import ROOT, clean_env, compile_inputs, run_locust, write_inputs
from recording_server import RecordingServer

LOCAL_MX = {"environments": ["local"], "countries": ["mx"]}
PLAIN = {
    "host": "http://${domain}", "users": 1, "spawn_rate": 10, "run_time": "3s", "seed": 1,
    "think_time_seconds": 0.02, "report_html": None, "endpoints": [{"name": "item", "path": "/item"}],
}  # fmt: skip
CLIENTS = ["fasthttp", "requests"]


@pytest.fixture
def hostile():
    with RecordingServer() as server:
        yield server


def generated(folder: Path, port: int, simulation: dict) -> Path:
    write_inputs(folder, port, {"num": simulation}, {"num": LOCAL_MX})
    return compile_inputs(folder / "catalog.json", folder / "generated")["num_local_mx"]


def run_measured(path: Path, cwd: Path, *args: str) -> tuple[str, float]:
    """Run `locust -f PATH ARGS` and return (its output, its own peak resident memory in MiB),
    started by tools/peak_rss.py: started from this test process, it would report our peak."""
    locust = Path(sys.executable).parent / "locust"
    report = cwd / "peak_rss_kib"
    launcher = [sys.executable, str(ROOT / "tools/peak_rss.py"), str(report), "--"]
    process = subprocess.run([*launcher, str(locust), "-f", str(path), *args], cwd=cwd, env=clean_env(home=cwd),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    return process.stdout.decode("utf-8", "replace"), int(report.read_text()) / 1024


def stats_rows(folder: Path) -> dict[str, dict]:
    import csv

    with (folder / "stats_stats.csv").open(newline="") as file:
        return {row["Name"]: row for row in csv.DictReader(file)}


@pytest.mark.parametrize("client", CLIENTS)
def test_every_attempt_is_counted_when_the_target_resets_every_other_connection(tmp_path, hostile, client):
    path = generated(tmp_path, hostile.port, {**PLAIN, "client": client, "think_time_seconds": 0.01})
    hostile.set_reset_every(2, "GET", "/item")
    run = run_locust(path, tmp_path, "-t", "2s", "--csv", "stats", "--run-record", "run.json")
    received = len([r for r in hostile.received() if r.path == "/item"])
    record = json.loads((tmp_path / "run.json").read_text())
    (total,) = [row for row in record["requests"] if row["name"] is None]
    assert received > 10, run
    # Every request the target saw is counted, but for the one a user had in flight when the
    # run ended (Locust stops users at once: RUNNING.md). A hidden retry would count half.
    assert received - PLAIN["users"] <= total["requests"] <= received, (total, received)
    assert total["failures"] >= received // 2 - 1, total  # the resets, each a failure
    assert re.search(r"GET +item: connection closed before an answer", run.output), run.output[-2000:]


@pytest.mark.parametrize("client", CLIENTS)
def test_a_timeout_bounds_the_whole_answer_of_a_dripping_target(tmp_path, hostile, client):
    path = generated(tmp_path, hostile.port, {**PLAIN, "client": client, "request_timeout_seconds": 1})
    hostile.set_drip(8, 0.5, "GET", "/item")  # 4 s for 8 bytes: never 1 s without a byte
    run = run_locust(path, tmp_path, "-t", "3s", "--run-record", "run.json")
    record = json.loads((tmp_path / "run.json").read_text())
    (row,) = [row for row in record["requests"] if row["name"] == "item"]
    assert row["requests"] >= 2 and row["failures"] == row["requests"], row
    assert row["max_ms"] < 1600, row  # the whole answer within the timeout, not 4 s
    assert any("timed out after 1s" in f["message"] for f in record["failures"]), record["failures"]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("shape", ["length", "chunked", "gzip"])
def test_an_answer_larger_than_the_limit_fails_and_memory_stays_bounded(tmp_path, hostile, client, shape):
    size = 300 * 1024 * 1024  # 300 MiB, against a limit of 4 MiB
    path = generated(tmp_path, hostile.port, {**PLAIN, "client": client, "max_answer_bytes": 4 * 1024 * 1024})
    hostile.set_huge(size, "GET", "/item", chunked=shape == "chunked", gzip_bomb=shape == "gzip")
    output, peak_mib = run_measured(path, tmp_path, "-t", "3s", "--run-record", "run.json")
    record = json.loads((tmp_path / "run.json").read_text())
    (row,) = [row for row in record["requests"] if row["name"] == "item"]
    assert row["requests"] >= 1 and row["failures"] == row["requests"], (row, output[-2000:])
    assert any(f["message"] == "answer larger than 4 MiB" for f in record["failures"]), record["failures"]
    assert peak_mib < 200, f"the run's process peaked at {peak_mib:.0f} MiB, for answers of 300 MiB"


@pytest.mark.parametrize("client", CLIENTS)
def test_an_error_answer_larger_than_the_limit_is_bounded_too(tmp_path, hostile, client):
    """A status the client does not expect (a 500) is read no further than any other answer:
    FastHttpUser's client would read its whole body on its own, for its error's log."""
    size = 300 * 1024 * 1024
    path = generated(tmp_path, hostile.port, {**PLAIN, "client": client, "max_answer_bytes": 4 * 1024 * 1024})
    hostile.set_huge(size, "GET", "/item", status=500)
    output, peak_mib = run_measured(path, tmp_path, "-t", "3s", "--run-record", "run.json")
    record = json.loads((tmp_path / "run.json").read_text())
    (row,) = [row for row in record["requests"] if row["name"] == "item"]
    assert row["requests"] >= 1 and row["failures"] == row["requests"], (row, output[-2000:])
    assert {f["message"] for f in record["failures"]} == {"answer larger than 4 MiB"}, record["failures"]
    assert peak_mib < 200, f"the run's process peaked at {peak_mib:.0f} MiB, for answers of 300 MiB"


def test_a_step_can_take_a_larger_answer_than_the_simulation(tmp_path, hostile):
    simulation = {**PLAIN, "max_answer_bytes": 1000, "endpoints": [
        {"name": "item", "path": "/item"}, {"name": "big", "path": "/big", "max_answer_bytes": 100000}]}  # fmt: skip
    path = generated(tmp_path, hostile.port, simulation)
    hostile.set_huge(5000, "GET", "/item")
    hostile.set_huge(5000, "GET", "/big")
    run_locust(path, tmp_path, "-t", "2s", "--run-record", "run.json")
    rows = {row["name"]: row for row in json.loads((tmp_path / "run.json").read_text())["requests"]}
    assert rows["item"]["failures"] == rows["item"]["requests"] > 0
    assert rows["big"]["failures"] == 0 and rows["big"]["requests"] > 0
    assert rows["big"]["avg_length"] == 5000 if "avg_length" in rows["big"] else True


# -- secrets, whatever their shape ------------------------------------------------------------------

SECRET = 'eyJhbGciOiJIUzI1NiJ9."quoted"' + "x7Kq9" * 16 + "-tail-of-the-token"  # 119 characters, a quote in it


def pieces(secret: str, size: int = 8) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def test_no_piece_of_a_long_secret_reaches_any_file_or_stream(tmp_path, hostile):
    """A header with the secret, a target that echoes it, and a check that fails on it: the
    failure message quotes the answer, clipped. No 8 characters of the secret (raw, JSON-escaped,
    percent-encoded, base64) in any file of the run folder, stdout or stderr."""
    simulation = {
        **PLAIN, "run_time": "2s", "headers": {"Authorization": "Bearer ${env:TOK}"},
        "endpoints": [{"name": "item", "path": "/item", "checks": [{"json": "$.echo", "equals": "nope"}]}],
        "thresholds": {"error_ratio": 1},
    }  # fmt: skip
    write_inputs(tmp_path, hostile.port, {"num": simulation}, {"num": LOCAL_MX})
    hostile.set_echo("Authorization", "GET", "/item")
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(tmp_path / "catalog.json"), "run", "num_local_mx",
         "--out", str(tmp_path / "generated"), "--results", str(tmp_path / "results"),
         "--summary-json", str(tmp_path / "summary.json"), "--", "--csv-full-history"],
        cwd=tmp_path, env=clean_env({"TOK": SECRET}, home=tmp_path), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stdout + result.stderr
    assert hostile.received() and hostile.received()[0].header("Authorization") == f"Bearer {SECRET}"
    import base64
    from urllib.parse import quote

    forms = {SECRET, json.dumps(SECRET)[1:-1], quote(SECRET, safe=""), base64.b64encode(SECRET.encode()).decode()}
    wanted = set().union(*(pieces(form) for form in forms))
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for path in [*tmp_path.joinpath("results").rglob("*"), tmp_path / "summary.json"]:
        if path.is_file():
            texts[str(path.relative_to(tmp_path))] = path.read_text(encoding="utf-8", errors="replace")
    assert any(name.endswith("report.html") for name in texts) and any(name.endswith("junit.xml") for name in texts)
    leaks = {name: sorted({p for p in wanted if p in text})[:3] for name, text in texts.items()}
    assert not {name: found for name, found in leaks.items() if found}, leaks
    record = json.loads(next(tmp_path.joinpath("results").rglob("run.json")).read_text())
    (failure,) = [f for f in record["failures"] if f["name"] == "item"]
    assert failure["message"].startswith('check $.echo: expected "nope", got "Bearer ***'), failure


# -- how the run ended ------------------------------------------------------------------------------


def run_in_background(tmp_path: Path, port: int, simulation: dict, shell: bool = False):
    write_inputs(tmp_path, port, {"num": simulation}, {"num": LOCAL_MX})
    command = [sys.executable, "-m", "compiler", "--catalog", str(tmp_path / "catalog.json"), "run", "num_local_mx",
               "--out", str(tmp_path / "generated"), "--results", str(tmp_path / "results")]  # fmt: skip
    if shell:  # a non-interactive shell's `&`: SIGINT is ignored in the job it starts
        import shlex

        script = " ".join(map(shlex.quote, command)) + " & echo $! > pid; wait $!; echo $? > code"
        return subprocess.Popen(["sh", "-c", script], cwd=tmp_path, env=clean_env(home=tmp_path))
    return subprocess.Popen(command, cwd=tmp_path, env=clean_env(home=tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_load(server: RecordingServer, count: int = 5) -> None:
    assert server.wait_for(count, timeout=60), "the run did not start"


def test_a_run_stopped_early_is_never_recorded_as_passed(tmp_path, hostile):
    import signal

    process = run_in_background(tmp_path, hostile.port, {**PLAIN, "run_time": "30s"})
    wait_for_load(hostile)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    record = json.loads(next(tmp_path.joinpath("results").rglob("run.json")).read_text())
    assert (record["ended_by"], record["passed"], record["exit_code"]) == ("interrupted", False, 1), record
    assert re.search(r"^num_local_mx +1 .* failed ", out, re.M), out
    assert "the run was interrupted" in " ".join(record["problems"])


def test_sigint_stops_a_run_started_with_an_ampersand_by_a_script(tmp_path, hostile):
    import os
    import signal
    import time

    shell = run_in_background(tmp_path, hostile.port, {**PLAIN, "run_time": "30s"}, shell=True)
    wait_for_load(hostile)
    pid = int((tmp_path / "pid").read_text())
    started = time.monotonic()
    os.kill(pid, signal.SIGINT)
    shell.wait(timeout=60)
    assert time.monotonic() - started < 20, "SIGINT was ignored: the run went on to its end"
    assert int((tmp_path / "code").read_text()) != 0
    record = json.loads(next(tmp_path.joinpath("results").rglob("run.json")).read_text())
    assert (record["ended_by"], record["passed"]) == ("interrupted", False), record


def test_a_unique_feed_that_stops_the_run_ends_it_as_feed_exhausted(tmp_path, hostile):
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "rows.csv").write_text("id\n1\n2\n3\n")
    simulation = {**PLAIN, "users": 2, "run_time": "20s",
                  "feeds": {"rows": {"file": "feeds/rows.csv", "mode": "unique", "when_exhausted": "stop_run"}},
                  "endpoints": [{"name": "item", "path": "/item/${feed:rows.id}"}]}  # fmt: skip
    write_inputs(tmp_path, hostile.port, {"num": simulation}, {"num": LOCAL_MX})
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(tmp_path / "catalog.json"), "run", "num_local_mx",
         "--processes", "2", "--out", str(tmp_path / "generated"), "--results", str(tmp_path / "results")],
        cwd=tmp_path, env=clean_env(home=tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    record = json.loads(next(tmp_path.joinpath("results").rglob("run.json")).read_text())
    assert (record["ended_by"], record["passed"]) == ("feed_exhausted", False), record
    assert sorted(r.path for r in hostile.received()) == ["/item/1", "/item/2", "/item/3"]


# -- records valid whatever the text -----------------------------------------------------------------


def test_a_lone_surrogate_in_an_answer_and_a_control_character_in_the_config_keep_records_valid(tmp_path, hostile):
    from xml.etree import ElementTree

    simulation = {
        **PLAIN, "run_time": "2s",
        "endpoints": [{"name": "item", "path": "/item", "checks": [{"json": "$.a", "equals": "x"}]}],
        "flows": [{"name": "f", "steps": [{"name": "other", "path": "/other", "capture": {"c": {"regex": "\u0001(z)"}}}]}],
    }  # fmt: skip
    hostile.set_body(b'{"a": "\\ud800"}', "GET", "/item")
    write_inputs(tmp_path, hostile.port, {"num": simulation}, {"num": LOCAL_MX})
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(tmp_path / "catalog.json"), "run", "num_local_mx",
         "--out", str(tmp_path / "generated"), "--results", str(tmp_path / "results")],
        cwd=tmp_path, env=clean_env(home=tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr  # failed requests, not a crash (70)
    (folder,) = (tmp_path / "results" / "num_local_mx").iterdir()
    assert not list(folder.glob("*.tmp"))
    names = {p.name for p in folder.iterdir()}
    assert {"run.json", "summary.json", "junit.xml", "report.html"} <= names, names
    record = json.loads((folder / "run.json").read_text())
    messages = [f["message"] for f in record["failures"]]
    assert 'check $.a: expected "x", got "\\ud800"' in messages, messages
    ElementTree.parse(folder / "junit.xml")  # valid XML 1.0
    assert "\\u0001" in (folder / "junit.xml").read_text()


def test_the_csvs_hold_the_final_statistics_of_the_record(tmp_path, hostile):
    import csv

    path = generated(tmp_path, hostile.port, {**PLAIN, "users": 4, "think_time_seconds": 0, "run_time": "2s"})
    run = run_locust(path, tmp_path, "--csv", "stats", "--csv-full-history", "--run-record", "run.json")
    assert run.returncode == 0, run
    record = json.loads((tmp_path / "run.json").read_text())
    (total,) = [row for row in record["requests"] if row["name"] is None]
    rows = stats_rows(tmp_path)
    assert int(rows["Aggregated"]["Request Count"]) == total["requests"] > 100, (rows["Aggregated"], total)
    with (tmp_path / "stats_stats_history.csv").open(newline="") as file:
        history = [row for row in csv.DictReader(file) if row["Name"] == "Aggregated"]
    assert int(history[-1]["Total Request Count"]) == total["requests"]
    assert not list(tmp_path.glob("*.final_*"))


# -- precision ----------------------------------------------------------------------------------------


def test_percentiles_are_within_one_percent_of_the_targets_own_timings(tmp_path, hostile):
    """p50, p95 and p99 as recorded against the exact percentiles of the times the target took,
    the way Locust ranks them (the time at which the share of requests is reached)."""
    import math
    import random

    generator = random.Random(7)
    delays = [round(generator.uniform(0.5, 2.0), 4) for _ in range(2000)]
    hostile.set_delay_sequence(delays)
    path = generated(tmp_path, hostile.port, {**PLAIN, "users": 5, "spawn_rate": 5, "think_time_seconds": 0})
    run = run_locust(path, tmp_path, "-t", "20s", "--run-record", "run.json", timeout=120)
    assert run.returncode == 0, run
    record = json.loads((tmp_path / "run.json").read_text())
    (total,) = [row for row in record["requests"] if row["name"] is None]
    served = sorted(seconds * 1000 for seconds in hostile.served[: total["requests"]])
    assert total["requests"] >= 50 and len(served) >= total["requests"], (total, len(served))
    for key, share in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        exact = served[max(0, math.ceil(share * len(served)) - 1)]
        assert abs(total[key] - exact) <= 0.01 * exact, (key, total[key], exact)
        assert total[key] != round(total[key], -2) or exact == round(exact, -2), (key, total[key])  # not Locust's 2 digits


# -- a results folder on a full disk ------------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path):
    """A results folder on a file system of 200 KiB, nearly full: room for a run folder and the
    start of its log, not for the report or the records."""
    import os

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}): needs root, as CI has")
    try:
        descriptor = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while True:
                os.write(descriptor, b"\0" * 4096)
        os.ftruncate(descriptor, max(0, os.fstat(descriptor).st_size - 12 * 1024))
        os.close(descriptor)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        os.sync()


def test_a_full_disk_after_the_load_is_exit_1_with_the_table_and_the_summary_written_elsewhere(tmp_path, hostile, full_disk):
    write_inputs(tmp_path, hostile.port, {"num": {**PLAIN, "run_time": "2s"}}, {"num": LOCAL_MX})
    summary = tmp_path / "summary.json"
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(tmp_path / "catalog.json"), "run", "num_local_mx",
         "--out", str(tmp_path / "generated"), "--results", str(full_disk), "--summary-json", str(summary)],
        cwd=tmp_path, env=clean_env(home=tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert hostile.received(), result.stderr  # the load was sent
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(r"^num_local_mx +1 ", result.stdout, re.M), result.stdout  # the table, with the run
    assert "No space left on device" in result.stdout + result.stderr
    data = json.loads(summary.read_text())
    assert data["exit_code"] == 1 and data["runs"][0]["target"] == "num_local_mx"


# -- the generator's own health -----------------------------------------------------------------------


def test_the_record_holds_the_generators_peak_cpu_and_says_when_it_was_saturated(tmp_path, hostile):
    calm = generated(tmp_path / "calm", hostile.port, {**PLAIN, "think_time_seconds": 0.2})
    run = run_locust(calm, tmp_path, "-t", "3s", "--run-record", "calm.json")
    generator = json.loads((tmp_path / "calm.json").read_text())["generator"]
    (own,) = generator["processes"]
    assert own["process"] == "this process" and 0 < own["peak_cpu_percent"] < 90, generator
    assert generator["saturated"] is False and "the generator's peak CPU" in run.stderr
    busy = generated(tmp_path / "busy", hostile.port, {**PLAIN, "users": 5, "think_time_seconds": 0})
    run = run_locust(busy, tmp_path, "-t", "4s", "--run-record", "busy.json")
    generator = json.loads((tmp_path / "busy.json").read_text())["generator"]
    (own,) = generator["processes"]
    assert own["peak_cpu_percent"] > 30, generator  # a busy generator, on however busy a machine
    said = "warning: the load generator was saturated: this process used over 90% CPU" in run.stderr
    assert generator["saturated"] is (own["busy_share"] > 0.1) is said, generator


def test_a_generator_busy_for_more_than_a_tenth_of_the_run_is_saturated():
    """The rule itself, on samples given (the runtime's own function, in a process of its own:
    importing it imports Locust)."""
    code = (
        "import json\nfrom compiler.runtime.health import generator_health, health\n"
        "health.update(peak=97.0, samples=10, busy=2)\nprint(json.dumps(generator_health(False, None)))\n"
        "health.update(busy=1)\nprint(json.dumps(generator_health(False, None)))\n"
        "health['workers'] = {'w1': {'peak': 99.0, 'samples': 10, 'busy': 5}}\n"
        "print(json.dumps(generator_health(True, {'warning': 'start lag p99 80 ms is above 50 ms'})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    busy, calm, master = (json.loads(line) for line in done.stdout.splitlines()[-3:])
    assert busy["saturated"] and "used over 90% CPU for 20% of the run" in busy["warnings"][0]
    assert not calm["saturated"] and calm["warnings"] == []  # 10% is not more than 10%
    assert [p["process"] for p in master["processes"]] == ["master", "worker w1"]
    assert len(master["warnings"]) == 2 and "worker w1 used over 90% CPU" in master["warnings"][0]


def test_a_master_records_its_workers_cpu(tmp_path, hostile):
    from locust_runs import processes

    path = generated(tmp_path, hostile.port, {**PLAIN, "users": 2, "think_time_seconds": 0.1})
    run = run_locust(path, tmp_path, *processes(2), "-t", "4s", "--run-record", "run.json")
    assert run.returncode == 0, run
    generator = json.loads((tmp_path / "run.json").read_text())["generator"]
    names = [p["process"] for p in generator["processes"]]
    assert names[0] == "master" and len(names) == 3 and all(n.startswith("worker ") for n in names[1:]), generator
    assert all(p["peak_cpu_percent"] > 0 for p in generator["processes"][1:]), generator


# -- small things that changed what was sent or recorded ----------------------------------------------


def test_a_blank_line_in_a_one_column_feed_is_an_empty_value(tmp_path, hostile):
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "pages.csv").write_text("page\nfirst\n\nlast\n\n")  # an empty page between, and an editor's end
    simulation = {**PLAIN, "think_time_seconds": 0.05,
                  "feeds": {"pages": {"file": "feeds/pages.csv", "mode": "sequential"}},
                  "endpoints": [{"name": "item", "path": "/item", "query": {"page": "${feed:pages.page}"}}]}  # fmt: skip
    path = generated(tmp_path, hostile.port, simulation)
    run_locust(path, tmp_path, "-t", "2s")
    pages = [r.query["page"][0] for r in hostile.received()][:6]
    assert pages == ["first", "", "last", "first", "", "last"], pages
    (tmp_path / "feeds" / "pages.csv").write_text("page,size\na,1\n\nb,2\n")
    write_inputs(tmp_path, hostile.port, {"num": {**simulation}}, {"num": LOCAL_MX})
    result = subprocess.run([sys.executable, "-m", "compiler", "--catalog", str(tmp_path / "catalog.json"), "validate"],
                            cwd=tmp_path, env=clean_env(home=tmp_path), capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "line 3 is blank; a row of 2 columns with empty values is ','" in result.stderr


def test_a_run_started_while_another_compile_writes_waits_for_it(tmp_path, hostile):
    import fcntl
    import os
    import time

    write_inputs(tmp_path, hostile.port, {"num": PLAIN}, {"num": LOCAL_MX})
    (tmp_path / "generated").mkdir()
    descriptor = os.open(tmp_path / "generated", os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # as a compile writing there holds it
    process = subprocess.Popen(
        [sys.executable, "-m", "compiler", "--catalog", str(tmp_path / "catalog.json"), "run", "num_local_mx",
         "--out", str(tmp_path / "generated"), "--results", str(tmp_path / "results"), "--", "-t", "1s"],
        cwd=tmp_path, env=clean_env(home=tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(2)
    assert process.poll() is None, process.communicate()
    os.close(descriptor)  # the other compile ends
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert "another compile is writing to this folder; waiting for it" in err
