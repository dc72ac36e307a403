"""${env:...} values at run time: never shown, and refused before any load when a header could
not carry them as they are (a secret copied with its trailing newline is common in CI)."""

from __future__ import annotations

import pytest

from locust_runs import (
    SECRET,
    assert_nothing_received,
    processes,
    run_locust,
)


@pytest.mark.parametrize(
    "value, why",
    [
        (SECRET + "\n", "holds a line break or another control character (a newline at the end of the variable?)"),
        (SECRET + "€", "holds characters other than ASCII, which a header cannot carry as they are"),
    ],
    ids=["trailing-newline", "non-ascii"],
)
@pytest.mark.parametrize("target", ["shop_local_mx", "reqs_local_mx"])
def test_a_secret_a_header_cannot_carry_stops_the_run_unshown(generated, server, rundir, target, value, why):
    run = run_locust(generated[target], rundir, env={"APP_TOKEN": value})

    assert run.returncode == 2, run
    assert f"header Authorization (Bearer ${{env:APP_TOKEN}}) {why}" in run.stderr, run
    assert SECRET not in run.output and "Traceback" not in run.output, run
    assert_nothing_received(server)


def test_workers_refuse_it_too(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, *processes(2), env={"APP_TOKEN": SECRET + "\r\n"})

    assert run.returncode == 2, run
    assert "header Authorization (Bearer ${env:APP_TOKEN}) holds a line break" in run.stderr, run
    assert SECRET not in run.output, run
    assert not run.stragglers, run
    assert_nothing_received(server)


LOGS_THE_SECRET = """
import logging
import os

from locust import events


@events.test_start.add_listener
def log_it(**_kwargs):
    token = os.environ["APP_TOKEN"]
    logging.getLogger("somebody").warning("the token is %s", token)
    try:
        raise ValueError(f"bad token {token!r}")
    except ValueError:
        logging.getLogger("somebody").exception("and it failed")
"""


def test_log_lines_never_show_a_secret_whoever_logs_it(generated, server, rundir):
    probe = rundir / "logs_the_secret.py"
    probe.write_text(LOGS_THE_SECRET)
    run = run_locust(f"{generated['shop_local_mx']},{probe}", rundir, "-t", "1s", env={"APP_TOKEN": SECRET})

    assert run.returncode == 0, run
    assert "the token is ***" in run.stderr, run
    assert "ValueError: bad token '***'" in run.stderr, run
    assert SECRET not in run.output, run
