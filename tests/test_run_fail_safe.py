"""Runs that fail safe: no silent green, master and workers agree, guardrails follow the host,
secrets stay secret under a hostile target, every answer is counted.

Each test runs generated files with real Locust processes (master and workers as separate
processes where the point is distributed) against recording servers on 127.0.0.1 that the test
starts, and asserts on exit codes, what was printed and what the servers received.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from locust_runs import (
    SECRET,
    TOKEN,
    Locust,
    assert_nothing_received,
    compile_inputs,
    free_port,
    processes,
    run_locust,
    write_inputs,
)


def master_and_worker(tmp_path, master_file, worker_file, *master_args, worker_args=(), worker_env=TOKEN):
    """A master on a free port expecting one worker, and a worker started on its own."""
    port = str(free_port())
    master = Locust(
        master_file, tmp_path / "master", "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--expect-workers", "1", *master_args, env=TOKEN,
    )  # fmt: skip
    time.sleep(0.5)
    worker = Locust(worker_file, tmp_path / "worker", "--worker", "--master-port", port, *worker_args, env=worker_env)
    return master, worker


def wait_both(master, worker, timeout=40):
    try:
        return master.wait(timeout=timeout), worker.wait(timeout=timeout)
    finally:
        master.kill()
        worker.kill()


# -- no silent green ---------------------------------------------------------------------------------


def test_a_worker_whose_checks_fail_is_not_counted_and_the_master_fails(generated, server, tmp_path):
    """Point 1: the worker gets the file from the master (-f -) but lacks APP_TOKEN."""
    master, worker = master_and_worker(
        tmp_path, generated["shop_local_mx"], "-", "-t", "6s", worker_env={}
    )
    master_run, worker_run = wait_both(master, worker)

    assert worker_run.returncode == 2, worker_run
    assert "APP_TOKEN is not set" in worker_run.stderr, worker_run
    assert master_run.returncode == 1, master_run
    assert "refused: its own checks failed: environment variable APP_TOKEN is not set" in master_run.stderr
    assert "no request sent" in master_run.stderr, master_run
    assert master_run.seconds < 6, "the master stops at once, not after its run time"
    assert_nothing_received(server)


def test_a_worker_running_another_file_is_refused_on_both_sides(generated, server, tmp_path):
    """Point 3: another target's file joins the master: refused, nothing mixed, nothing sent."""
    master, worker = master_and_worker(tmp_path, generated["shop_local_mx"], generated["mix_local_mx"], "-t", "6s")
    master_run, worker_run = wait_both(master, worker)

    assert worker_run.returncode == 2, worker_run
    assert "refused by the master: it runs another generated file (mix_local_mx" in worker_run.stderr
    assert master_run.returncode == 1, master_run
    assert re.search(r"refused: it runs another generated file \(mix_local_mx, digest \w{12}\), not shop_local_mx", master_run.stderr)
    assert_nothing_received(server)


def test_an_edited_copy_of_the_same_file_is_refused(generated, server, tmp_path):
    """An older compile of the same target: the digest differs."""
    older = tmp_path / "older" / "shop_local_mx.py"
    older.parent.mkdir()
    older.write_text(generated["shop_local_mx"].read_text() + "\n# compiled earlier\n")
    master, worker = master_and_worker(tmp_path, generated["shop_local_mx"], older, "-t", "6s")
    master_run, worker_run = wait_both(master, worker)

    assert (master_run.returncode, worker_run.returncode) == (1, 2), (master_run, worker_run)
    assert "(shop_local_mx, digest" in master_run.stderr
    assert_nothing_received(server)


def test_check_config_on_a_worker_sends_nothing(generated, server, tmp_path):
    """Point 4: `--worker --check-config` joins a waiting master, checks and leaves."""
    master, worker = master_and_worker(
        tmp_path, generated["shop_local_mx"], "-", "-t", "3s", worker_args=("--check-config",)
    )
    try:
        worker_run = worker.wait(timeout=30)
        assert worker_run.returncode == 0, worker_run
        assert "configuration ok on this worker, no request sent" in worker_run.stdout, worker_run
        time.sleep(1)
        assert master.process.poll() is None, "the master still waits for a worker that will run"
        assert_nothing_received(server)
        second = Locust(generated["shop_local_mx"], tmp_path / "second", "--worker", "--master-port",
                        master_port(master), env=TOKEN)  # fmt: skip
        master_run, second_run = master.wait(timeout=30), second.wait(timeout=30)
    finally:
        master.kill()
    assert master_run.returncode == 0, master_run
    assert second_run.returncode == 0, second_run
    assert server.count() > 0
    assert "ran --check-config and left" in master_run.stderr


def master_port(master: Locust) -> str:
    args = master.process.args
    return args[args.index("--master-bind-port") + 1]


def test_workers_stop_by_themselves_when_the_master_is_killed(generated, server, tmp_path):
    """Point 2: kill -9 of the master; Locust's worker would go on for 60s."""
    master, worker = master_and_worker(tmp_path, generated["mix_local_mx"], generated["mix_local_mx"], "-t", "40s")
    try:
        assert server.wait_for(50, timeout=20), "the run started"
        os.kill(master.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        worker_run = worker.wait(timeout=30)
        stopped = time.monotonic() - killed
    finally:
        master.kill()
        worker.kill()
    assert worker_run.returncode == 1, worker_run
    assert "the master has not answered for 10s: stopping this worker" in worker_run.stderr
    assert stopped < 16, f"the worker went on {stopped:.0f}s after its master died"
    count = server.count()
    assert_nothing_received_after(server, count)


def assert_nothing_received_after(server, count):
    time.sleep(0.5)
    assert server.count() == count, "requests arrived after the worker stopped"


def test_forked_workers_stop_at_once_when_the_master_is_killed(generated, server, rundir):
    """Point 2 with --processes: the workers notice their parent is gone."""
    with Locust(generated["mix_local_mx"], rundir, *processes(2), "-t", "40s") as locust:
        assert server.wait_for(50, timeout=20), "the run started"
        os.kill(locust.process.pid, signal.SIGKILL)
        run = locust.wait(timeout=10, grace=3)
    assert not run.stragglers, "forked workers still running 3s after their master was killed"
    count = server.count()
    assert_nothing_received_after(server, count)


def test_sigterm_before_the_run_starts_leaves_no_worker(generated, server, rundir):
    """Point 6: SIGTERM to a --processes master while it still waits for its workers."""
    with Locust(generated["mix_local_mx"], rundir, *processes(2), "-t", "10s") as locust:
        deadline = time.monotonic() + 20
        while "Starting Locust" not in (locust.logs / "stderr").read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        locust.send_signal(signal.SIGTERM)
        run = locust.wait(timeout=15, grace=3)
    assert run.returncode != 0, run
    assert not run.stragglers, "forked workers still running 3s after their master was terminated"


def test_a_user_count_no_process_could_start_is_refused(tmp_path, make_server):
    """Point 6: -u 1000000000 with no max_users would eat memory for a minute and die."""
    server = make_server()
    files = compile_without_limits(tmp_path, server, {"name": "a", "path": "/a"})
    run = run_locust(files["app_local_mx"], tmp_path / "run", "-u", "1000000000")

    assert run.returncode == 2, run
    assert "users 1000000000 is more than 1 Locust process(es) can start (at most 100000 each)" in run.stderr, run
    assert run.seconds < 20, run
    assert_nothing_received(server)


def compile_without_limits(tmp_path, server, *endpoints, **settings):
    """One target, app_local_mx, in an environment without limits."""
    simulation = {"host": "http://${domain}", "users": 1, "spawn_rate": 10, "run_time": "1s", "seed": 1,
                  "endpoints": list(endpoints), **settings}  # fmt: skip
    catalog = write_inputs(tmp_path / "in", server.port, {"app": simulation}, {"app": {"environments": ["local"], "countries": ["mx"]}})
    data = json.loads(catalog.read_text())
    del data["environments"]["local"]["limits"]
    catalog.write_text(json.dumps(data))
    return compile_inputs(catalog, tmp_path / "gen")


def test_a_run_that_sent_no_request_fails(generated, server, rundir):
    """No silent green: a run whose users never sent a request (0 users) exits 1 and says why."""
    run = run_locust(generated["mix_local_mx"], rundir, "-u", "0", "-t", "2s")

    assert run.returncode == 1, run
    assert "no request was sent" in run.stderr, run
    assert_nothing_received(server)


def test_a_lost_worker_fails_the_run(generated, server, tmp_path):
    """A worker that dies during the run (kill -9): the master ends with exit 1 and says so."""
    master, worker = master_and_worker(tmp_path, generated["mix_local_mx"], generated["mix_local_mx"], "-t", "12s")
    try:
        assert server.wait_for(50, timeout=20), "the run started"
        os.kill(worker.process.pid, signal.SIGKILL)
        master_run = master.wait(timeout=40)
    finally:
        master.kill()
        worker.kill()
    assert master_run.returncode == 1, master_run
    assert re.search(r"worker \S+ went silent", master_run.stderr), master_run


# -- reports ---------------------------------------------------------------------------------------


def test_a_report_that_cannot_be_written_at_the_end_fails_the_run(generated, server, rundir):
    """Point 5: the report's folder turns into a file during the run."""
    (rundir / "out").mkdir()
    with Locust(generated["mix_local_mx"], rundir, "-t", "3s", "--html", "out/report.html") as locust:
        assert server.wait_for(20, timeout=20)
        (rundir / "out").rmdir()
        (rundir / "out").write_text("not a folder")
        run = locust.wait(timeout=30)
    assert run.returncode == 1, run
    assert re.search(r"the run did not do what was asked:\n  - .*report.* out/report\.html", run.stderr), run


@pytest.mark.parametrize("path", ["/dev/null", "/proc/version"])
def test_a_report_path_that_is_no_regular_file_is_refused_before_load(generated, server, rundir, path):
    run = run_locust(generated["mix_local_mx"], rundir, "-t", "2s", "--html", path)

    assert run.returncode == 2, run
    assert f"html report {path}" in run.stderr, run
    assert_nothing_received(server)


def test_a_second_ctrl_c_while_the_report_is_written_leaves_no_partial_file(generated, server, rundir):
    """Point 16: the interrupted write of the report is removed."""
    with Locust(generated["mix_local_mx"], rundir, "-t", "30s", "--html", "r/report.html") as locust:
        assert server.wait_for(50, timeout=20)
        locust.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while not list(rundir.glob("r/*.tmp")) and time.monotonic() < deadline and locust.process.poll() is None:
            time.sleep(0.001)
        locust.send_signal(signal.SIGINT)
        run = locust.wait(timeout=15)
    assert run.returncode in (0, 130), run
    assert not list(rundir.glob("r/*.tmp")), run


def test_the_master_says_goodbye_once(generated, server, tmp_path):
    master, worker = master_and_worker(tmp_path, generated["mix_local_mx"], generated["mix_local_mx"], "-t", "3s")
    master_run, worker_run = wait_both(master, worker)

    assert (master_run.returncode, worker_run.returncode) == (0, 0), (master_run, worker_run)
    assert master_run.stderr.count("Shutting down (exit code") == 1, master_run


# -- secrets under attack --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["shop_local_mx", "reqs_local_mx"])
def test_a_redirect_that_echoes_the_secret_leaks_it_nowhere(generated, server, rundir, target):
    """Point 7: a hostile target puts the Authorization value it received into Location."""
    server.set_status("GET", "/", 302)
    server.set_headers({"Location": f"http://127.0.0.1:{SECRET}/"}, "GET", "/")
    server.set_status("GET", "/search", 302)
    server.set_headers({"Location": f"ftp://x/{SECRET}?q={SECRET}"}, "GET", "/search")
    run = run_locust(generated[target], rundir, "-t", "2s", "--csv", "out/stats", env=TOKEN)

    assert run.returncode == 1, run
    outputs = [run.stdout, run.stderr] + [p.read_text() for p in rundir.rglob("*") if p.is_file()]
    assert not [text for text in outputs if SECRET in text], "the secret leaked"
    assert "Traceback" not in run.stderr, run
    failures = (rundir / "out" / "stats_failures.csv").read_text()
    assert "redirect to another origin http://127.0.0.1:***, not followed" in failures, failures
    assert "redirect to another origin ftp://x, not followed" in failures, failures
    exceptions = (rundir / "out" / "stats_exceptions.csv").read_text().strip().splitlines()
    assert exceptions[1:] == [], exceptions  # every exception became a failure of its request
    final = re.findall(r"GET +home +(\d+) +(\d+)\(", run.output)[-1]  # every home request counted, and failed
    assert final[0] == final[1] and int(final[0]) > 0, final


@pytest.mark.parametrize("target", ["shop_local_mx", "reqs_local_mx"])
def test_a_redirect_to_another_origin_is_not_followed(generated, server, make_server, rundir, target):
    """Point 8: no header made with ${env:...} reaches a host the configuration did not name."""
    elsewhere = make_server()
    server.set_status("GET", "/", 307)
    server.set_headers({"Location": f"{elsewhere.url}/steal"}, "GET", "/")
    run = run_locust(generated[target], rundir, "-t", "2s", env=TOKEN)

    assert run.returncode == 1, run
    assert f"redirect to another origin {elsewhere.url}, not followed" in run.output, run
    assert_nothing_received(elsewhere)


@pytest.mark.parametrize("target", ["shop_local_mx", "reqs_local_mx"])
def test_a_redirect_within_the_origin_is_followed_and_counted_once(generated, server, rundir, target):
    server.set_status("GET", "/", 302)
    server.set_headers({"Location": "/landing"}, "GET", "/")
    run = run_locust(generated[target], rundir, "-t", "2s", env=TOKEN)

    assert run.returncode == 0, run
    received = server.received()
    homes = sum(1 for r in received if r.path == "/")
    landings = [r for r in received if r.path == "/landing"]
    users = int(re.search(r'"num_users": (\d+)', generated[target].read_text()).group(1))
    in_flight = range(homes - users, homes + 1)  # each user may be between the two legs when the run stops
    assert homes > 0 and len(landings) in in_flight, (homes, len(landings), users)
    assert all(r.header("Authorization") == f"Bearer {SECRET}" for r in landings)
    counted = int(re.findall(r"GET +home +(\d+) +0\(0\.00%\)", run.output)[-1])  # the final table
    assert counted in in_flight, (counted, homes, users)


def test_follow_redirects_false_makes_the_3xx_the_answer(tmp_path, make_server):
    server = make_server()
    login = {"name": "login", "path": "/login", "expect_status": [302], "follow_redirects": False}
    files = compile_without_limits(tmp_path, server, login)
    server.set_status("GET", "/login", 302)
    server.set_headers({"Location": "/home"}, "GET", "/login")
    run = run_locust(files["app_local_mx"], tmp_path / "run")

    assert run.returncode == 0, run
    assert {r.path for r in server.received()} == {"/login"}


def test_stderr_written_outside_logging_is_masked(generated, server, rundir):
    """Point 10: a library printing to stderr, a warning, an exception in a thread."""
    leaky = rundir / "leaky.py"
    leaky.write_text(
        "import os, sys, threading, warnings\n"
        f"sys.path.insert(0, {str(generated['shop_local_mx'].parent)!r})\n"
        "from shop_local_mx import *  # noqa\n"
        "from locust import events\n\n"
        "@events.test_start.add_listener\n"
        "def leak(**_kwargs):\n"
        "    secret = os.environ['APP_TOKEN']\n"
        "    sys.stderr.write(f'printed {secret}\\n')\n"
        "    print(f'stdout {secret}')\n"
        "    warnings.warn(f'warned {secret}')\n"
        "    def fail():\n"
        "        raise RuntimeError(f'thread {secret}')\n"
        "    threading.Thread(target=fail).start()\n"
    )
    run = run_locust(leaky, rundir, "-t", "2s", env=TOKEN)

    assert run.returncode == 0, run
    for words in ("printed ***", "stdout ***", "warned ***", "thread ***"):
        assert words in run.output, (words, run)
    assert SECRET not in run.output


@pytest.mark.parametrize("target", ["shop_local_mx", "reqs_local_mx"])
def test_a_non_http_answer_reads_the_same_for_both_clients(generated, server, rundir, target):
    """Point 11: python-requests would show the server's bytes in a BadStatusLine."""
    server.set_raw(b"SSH-2.0-OpenSSH_9.6 hostile bytes\r\n", "GET", "/")
    run = run_locust(generated[target], rundir, "-t", "2s", env=TOKEN)

    assert run.returncode == 1, run
    assert re.search(r"GET +home: answer cut short or malformed", run.output), run
    assert "OpenSSH" not in run.output and "Traceback" not in run.output, run


def test_failure_messages_read_the_same_in_distributed_runs(generated, server, rundir):
    server.set_status("GET", "/b", 503)
    run = run_locust(generated["mix_local_mx"], rundir, *processes(1), "-t", "2s")

    assert run.returncode == 1, run
    assert re.search(r"GET +b: status 503\b", run.output), run
    assert "'status 503'" not in run.output, run


# -- the web UI ------------------------------------------------------------------------------------


def test_the_web_ui_listens_on_loopback_and_refuses_a_bad_host(generated, server, rundir):
    """Point 9: --headful binds 127.0.0.1 only, and its form cannot aim the run elsewhere."""
    port = free_port()
    with Locust(generated["shop_local_mx"], rundir, "--headful", "--web-port", str(port), env=TOKEN) as locust:
        url = wait_for_web_ui(port)
        assert listening_addresses(port) == {"127.0.0.1"}
        answers = {}
        for host in ("ftp://evil", f"http://localhost:{server.port}"):
            form = urllib.parse.urlencode({"user_count": 1, "spawn_rate": 1, "host": host}).encode()
            answers[host] = json.loads(urllib.request.urlopen(f"{url}/swarm", form, timeout=5).read())
        time.sleep(1)
        locust.send_signal(signal.SIGTERM)
        locust.wait(timeout=20)
    assert answers["ftp://evil"]["success"] is False
    assert "must start with http:// or https://" in answers["ftp://evil"]["message"]
    assert answers[f"http://localhost:{server.port}"]["success"] is False
    assert "is a host of environment prod, which is protected" in answers[f"http://localhost:{server.port}"]["message"]
    assert_nothing_received(server)


def wait_for_web_ui(port: int, seconds: float = 20) -> str:
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    return url


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (Linux's /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


# -- guardrails follow the host --------------------------------------------------------------------


def test_a_protected_host_is_protected_whatever_file_runs_it(generated, server, rundir):
    """Point 12: the local file aimed at prod's host, by -H or a leftover LOCUST_HOST."""
    prod_host = f"http://localhost:{server.port}"
    by_flag = run_locust(generated["shop_local_mx"], rundir, "-H", prod_host, "-t", "2s", env=TOKEN)
    by_variable = run_locust(generated["shop_local_mx"], rundir, "-t", "2s", env={**TOKEN, "LOCUST_HOST": prod_host})

    for run in (by_flag, by_variable):
        assert run.returncode == 2, run
        assert f"{prod_host} is a host of environment prod, which is protected" in run.stderr, run
        assert f"host {prod_host} is not the catalog's host for shop_local_mx" in run.stderr, run
    assert_nothing_received(server)


def test_a_protected_host_brings_its_environments_limits(generated, server, rundir):
    prod_host = f"http://localhost:{server.port}"
    run = run_locust(generated["shop_local_mx"], rundir, "-H", prod_host, "-u", "5", "-t", "2s",
                     "--allow-protected", env=TOKEN)  # fmt: skip
    assert run.returncode == 2, run
    assert "users 5 is above the max_users of environment prod, 3" in run.stderr, run


def test_an_unknown_host_is_named_in_the_printout(generated, make_server, rundir):
    other = make_server()
    run = run_locust(generated["mix_local_mx"], rundir, "-H", other.url, "-t", "1s")
    assert run.returncode == 0, run
    assert f"host {other.url} is not the catalog's host for mix_local_mx" in run.stderr, run
    assert other.count() > 0


# -- two files in one Locust -----------------------------------------------------------------------


def test_two_generated_files_in_one_locust_are_refused_with_a_message(generated, server, rundir):
    """Point 17: each generated file is a whole run."""
    both = f"{generated['mix_local_mx']},{generated['shop_local_mx']}"
    run = run_locust(Path(both), rundir, "-t", "1s", env=TOKEN)
    assert run.returncode == 2, run
    assert "cannot run in one Locust with mix_local_mx: a generated file is a whole run" in run.stderr, run
    assert_nothing_received(server)


# -- found by a hostile review -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["shop_local_mx", "reqs_local_mx"])
@pytest.mark.parametrize(
    "location",
    ["http://127.0.0.1:{other}\\@127.0.0.1:{port}/ok", "http://user:pw@127.0.0.1:{port}/ok"],
    ids=["backslash", "userinfo"],
)
def test_a_location_clients_read_differently_is_not_followed(generated, server, make_server, rundir, target, location):
    """python-requests ends the host at a backslash: the check and the send must read one URL."""
    other = make_server()
    server.set_status("GET", "/", 302)
    server.set_headers({"Location": location.format(other=other.port, port=server.port)}, "GET", "/")
    run = run_locust(generated[target], rundir, "-t", "2s", env=TOKEN)

    assert run.returncode == 1, run
    assert "redirect to a Location clients read differently" in run.output, run
    assert_nothing_received(other)
    assert not [r for r in server.received() if r.path == "/ok"]


def test_the_web_ui_form_cannot_set_other_options(generated, server, rundir):
    """Locust's /swarm sets any option the form names: --allow-protected, --exit-code-on-error."""
    port = free_port()
    with Locust(generated["shop_local_mx"], rundir, "--headful", "--web-port", str(port), env=TOKEN) as locust:
        url = wait_for_web_ui(port)
        form = {"user_count": 1, "spawn_rate": 1, "host": server.url, "allow_protected": "true"}
        first = json.loads(urllib.request.urlopen(f"{url}/swarm", urllib.parse.urlencode(form).encode(), timeout=5).read())
        form = {"user_count": 1, "spawn_rate": 1, "host": f"http://localhost:{server.port}<"}
        second = json.loads(urllib.request.urlopen(f"{url}/swarm", urllib.parse.urlencode(form).encode(), timeout=5).read())
        time.sleep(1)
        locust.send_signal(signal.SIGTERM)
        locust.wait(timeout=20)
    assert first["success"] is False and "not allow_protected" in first["message"], first
    assert second["success"] is False and "is a host of environment prod, which is protected" in second["message"], second
    assert_nothing_received(server)


def test_a_worker_killed_just_before_the_end_fails_the_run(generated, server, tmp_path):
    """Locust marks a worker missing after about 3s without a heartbeat: one killed in the last
    seconds would pass as sent away at the end, its last statistics missing."""
    master, worker = master_and_worker(tmp_path, generated["mix_local_mx"], generated["mix_local_mx"], "-t", "4s")
    try:
        assert server.wait_for(50, timeout=20), "the run started"
        deadline = time.monotonic() + 20
        while "Run time limit set to" not in (master.logs / "stderr").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.8)  # about a second before the end
        os.kill(worker.process.pid, signal.SIGKILL)
        master_run = master.wait(timeout=40)
    finally:
        master.kill()
        worker.kill()
    assert master_run.returncode == 1, master_run
    assert re.search(r"worker \S+ (did not send its last statistics|went silent)", master_run.stderr), master_run
