"""A target in trouble: generated locustfiles against a recording server that answers 5xx,
answers late, resets connections, or is not there at all.

What must hold: every failure is counted under its endpoint's name, with a message that names
the fault (and never a `${env:...}` value); the run ends on time; the exit code follows SPEC
(1: requests failed); no traceback reaches the user; the HTML report is written, also when the
run is interrupted.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from recording_server import RecordingServer
from locust_runs import (
    run_folder_of,
    SECRET,
    TOKEN,
    Locust,
    compile_inputs,
    free_port,
    report_text,
    run_locust,
    write_inputs,
)

TIMEOUT = 0.5  # the simulation's request_timeout_seconds
FAULTY = {
    "host": "http://${domain}",
    "users": 4,
    "spawn_rate": 50,
    "run_time": "3s",
    "seed": 3,
    "think_time_seconds": 0.05,
    "request_timeout_seconds": TIMEOUT,
    "report_html": "reports/${target}/report.html",
    "endpoints": [
        {"name": "fine", "path": "/fine"},
        {"name": "broken", "path": "/broken"},
        {"name": "slow", "path": "/slow"},
        {"name": "reset", "path": "/reset"},
        {"name": "with_token", "path": "/token", "query": {"token": "${env:APP_TOKEN}"}},
    ],
}
EXPECTING = {  # expect_status everywhere: a status in the list passes only if the answer is whole
    **FAULTY,
    "endpoints": [
        {"name": "whole", "path": "/fine", "expect_status": [200]},
        {"name": "cut_short", "path": "/cut", "expect_status": [200]},
        {"name": "multiple_choices", "path": "/choices", "expect_status": [200]},
        {"name": "choices_by_rule", "path": "/choices"},  # Locust's rule: below 400 passes
    ],
}
FAULTY_REQUESTS = {**FAULTY, "client": "requests"}
EXPECTING_REQUESTS = {**EXPECTING, "client": "requests"}
FAILING = ("broken", "slow", "reset", "with_token")


@pytest.fixture(scope="module")
def faulty_server():
    statuses = {("GET", "/broken"): 503, ("GET", "/token"): 500, ("GET", "/choices"): 300}
    server = RecordingServer(statuses=statuses).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(faulty_server: RecordingServer):
    faulty_server.reset()
    faulty_server.set_delay(TIMEOUT * 4, "GET", "/slow")
    faulty_server.set_reset("GET", "/reset")
    faulty_server.set_truncate("GET", "/cut")
    yield faulty_server


@pytest.fixture(scope="module")
def generated(faulty_server: RecordingServer, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("faults")
    catalog = write_inputs(
        folder,
        faulty_server.port,
        {
            "faulty": FAULTY,
            "faultyreqs": FAULTY_REQUESTS,
            "expecting": EXPECTING,
            "expectingreqs": EXPECTING_REQUESTS,
        },
        {
            name: {"environments": ["local"], "countries": ["mx"]}
            for name in ("faulty", "faultyreqs", "expecting", "expectingreqs")
        },
    )
    return compile_inputs(catalog, folder / "generated", env=TOKEN)


@pytest.fixture
def rundir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    return path


def stats_row(output: str, name: str) -> tuple[int, int]:
    """(requests, failures) of one endpoint in the final statistics table."""
    rows = re.findall(rf"^GET +{re.escape(name)} +(\d+) +(\d+)\(", output, re.M)
    assert rows, f"no statistics row for {name}:\n{output}"
    requests, failures = rows[-1]
    return int(requests), int(failures)


def assert_no_secret_and_no_traceback(run, report: str = "") -> None:
    assert "Traceback" not in run.output, run
    assert SECRET not in run.output and SECRET not in report
    assert "\"exceptions_statistics\": []" in report or not report, "the report lists exceptions"


@pytest.mark.parametrize("target", ["faulty_local_mx", "faultyreqs_local_mx"])
def test_failures_are_counted_by_name_and_the_run_ends_on_time(generated, server, rundir, target):
    run = run_locust(generated[target], rundir, env=TOKEN, timeout=30)

    assert run.returncode == 1, run  # requests failed
    assert run.seconds < 3 + 4, run  # the 3 s run time, and Locust's start and stop
    requests, failures = stats_row(run.output, "fine")
    assert requests > 0 and failures == 0, run
    for name in FAILING:
        requests, failures = stats_row(run.output, name)
        assert requests > 0 and failures == requests, (name, run)
    errors = run.output.split("Error report", 1)[1]
    assert re.search(r"GET +broken: +status 503", errors), run
    assert re.search(r"GET +with_token: +status 500", errors), run
    assert re.search(rf"GET +slow: +timed out after {TIMEOUT}s", errors), run
    assert re.search(r"GET +reset: +connection closed before an answer", errors), run
    report = report_text(run_folder_of(rundir / "reports" / target) / "report.html")
    assert all(name in report for name in FAILING)
    assert_no_secret_and_no_traceback(run, report)
    # The timeout holds: nothing waited for the slow answer (2 s) before failing.
    assert server.count() > 0


@pytest.mark.parametrize("target", ["expecting_local_mx", "expectingreqs_local_mx"])
def test_a_status_passes_only_with_the_whole_answer(generated, server, rundir, target):
    run = run_locust(generated[target], rundir, "-t", "2s", env=TOKEN)

    assert run.returncode == 1, run
    assert stats_row(run.output, "whole")[1] == 0, run
    assert stats_row(run.output, "choices_by_rule")[1] == 0, run  # a 300 passes Locust's rule
    for name in ("cut_short", "multiple_choices"):
        requests, failures = stats_row(run.output, name)
        assert requests > 0 and failures == requests, (name, run)
    errors = run.output.split("Error report", 1)[1]
    assert re.search(r"GET +multiple_choices: +status 300, expected one of \[200\]", errors), run
    assert re.search(r"GET +cut_short: +answer cut short or malformed", errors), run
    assert_no_secret_and_no_traceback(run)


@pytest.mark.parametrize("target", ["faulty_local_mx", "faultyreqs_local_mx"])
def test_a_target_that_refuses_connections(generated, server, rundir, target):
    nobody = f"http://127.0.0.1:{free_port()}"
    run = run_locust(generated[target], rundir, "-H", nobody, "-t", "2s", env=TOKEN)

    assert run.returncode == 1, run
    assert run.seconds < 2 + 4, run
    for name in ("fine", *FAILING):
        requests, failures = stats_row(run.output, name)
        assert requests > 0 and failures == requests, (name, run)
    assert re.search(r"GET +fine: +connection refused", run.output), run
    assert_no_secret_and_no_traceback(run, report_text(run_folder_of(rundir / "reports" / target) / "report.html"))


@pytest.mark.parametrize("target", ["faulty_local_mx", "faultyreqs_local_mx"])
def test_a_request_timeout_fails_the_request_in_time(generated, server, rundir, target):
    """Every answer takes 2 s; the request timeout is 0.5 s: each user fails about twice a second."""
    server.reset()  # no resets, no error statuses: only the delay
    server.set_delay(TIMEOUT * 4)
    run = run_locust(generated[target], rundir, "-t", "2s", "-u", "2", env=TOKEN)

    assert run.returncode == 1, run
    requests, failures = map(int, re.findall(r"Aggregated +(\d+) +(\d+)\(", run.output)[-1])
    assert failures == requests, run
    assert run.output.count(f"timed out after {TIMEOUT}s") >= 1, run
    # 2 users for ~2 s, one failure per 0.5 s each at best: about 8; without the timeout, none.
    assert 4 <= failures <= 10, run
    assert_no_secret_and_no_traceback(run)


def test_a_run_ends_on_time_while_requests_hang(generated, server, rundir):
    """Answers take 20 s, beyond the default request timeout of the run: the run stops at 1 s."""
    server.reset()
    server.set_delay(20)
    started = time.monotonic()
    run = run_locust(generated["faulty_local_mx"], rundir, "-t", "1s", env=TOKEN)

    assert time.monotonic() - started < 1 + 4, run
    assert run.returncode in (0, 1), run
    assert_no_secret_and_no_traceback(run, report_text(run_folder_of(rundir / "reports" / "faulty_local_mx") / "report.html"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_run_against_a_failing_target_writes_its_report(
    generated, server, rundir, signum
):
    with Locust(generated["faulty_local_mx"], rundir, "-t", "60s", env=TOKEN) as locust:
        assert server.wait_for(20, timeout=30), "the run did not start"
        time.sleep(1)  # some requests have timed out by now
        run, seconds = locust.interrupt(signum)
    assert seconds < 5, run
    assert run.returncode == 1, run  # requests failed before the interruption
    report = report_text(run_folder_of(rundir / "reports" / "faulty_local_mx") / "report.html")
    assert "slow" in report and "broken" in report
    assert_no_secret_and_no_traceback(run, report)


def test_ctrl_c_while_the_master_waits_for_workers(generated, server, rundir):
    """Before the run starts, Locust does not handle SIGTERM yet: Ctrl-C exits 130 at once,
    with a message, rather than being killed by the signal (exit 143) or hanging."""
    port = str(free_port())
    with Locust(
        generated["faulty_local_mx"], rundir, "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--expect-workers", "1", env=TOKEN,
    ) as locust:  # fmt: skip
        deadline = time.monotonic() + 20
        while "Simulation faulty_local_mx" not in (locust.logs / "stderr").read_text():
            assert time.monotonic() < deadline, "the master did not start"
            time.sleep(0.1)
        time.sleep(0.5)
        run, seconds = locust.interrupt(signal.SIGINT, timeout=10)
    assert seconds < 2, run
    assert run.returncode == 130, run
    assert "faulty_local_mx: interrupted before the run started: exiting now" in run.stderr, run
    assert "Traceback" not in run.output, run
    assert server.count() == 0
