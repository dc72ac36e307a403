"""Thresholds on a tag, and the pace of a failing iteration, shown by generated files run with
real Locust against a recording server on 127.0.0.1: a `tags.<tag>` threshold judges the
requests of the tagged tasks only (it breaches on them while the rest pass, and what it measures
is theirs, not the whole run's), and a failed request does not make its user loop at once: the
next iteration waits for the user's think time or its pacing.
"""

from __future__ import annotations

import pytest
from locust_runs import run_locust
from test_run_journeys import by_path, compiled
from test_run_journeys_continued import alone, summary


def thresholds_of(rundir):
    return {(row["scope"], row["key"]): row for row in summary(rundir)["thresholds"]}


# -- tags.<tag> ------------------------------------------------------------------------------------


def test_a_threshold_on_a_tag_breaches_on_its_tasks_alone(tmp_path, make_server):
    """Only the tagged endpoint is slow (300 ms): its tag's p50 fails, while the same limit on
    the untagged endpoint and on the whole run (mostly the fast one) passes."""
    server = make_server()
    server.set_delay(0.3, "GET", "/slow")
    endpoints = [{"name": "fast", "path": "/fast", "weight": 4},
                 {"name": "slow", "path": "/slow", "weight": 1, "tags": ["reports"]}]  # fmt: skip
    thresholds = {"p50_ms": 200, "requests": {"fast": {"p50_ms": 200}}, "tags": {"reports": {"p50_ms": 200}}}
    simulation = alone(endpoints=endpoints, users=2, run_time="3s", think_time_seconds=0.02, thresholds=thresholds)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", "--summary-json", "summary.json")

    assert run.returncode == 3, run
    assert by_path(server)["/slow"] > 0 and by_path(server)["/fast"] > by_path(server)["/slow"], by_path(server)
    rows = thresholds_of(tmp_path / "run")
    tagged = rows[("tag reports", "p50_ms")]
    assert not tagged["passed"] and tagged["measured"] >= 300, tagged
    assert rows[("fast", "p50_ms")]["passed"] and rows[("all requests", "p50_ms")]["passed"], rows
    assert rows[("all requests", "p50_ms")]["measured"] < 200, rows


def test_a_tags_threshold_counts_the_requests_of_its_tasks_only(tmp_path, make_server):
    """A tagged flow of two steps, one of which always fails, and an untagged endpoint that
    never does: the tag's error ratio is the flow's (a half), the whole run's is lower, each as
    the server's counts say."""
    server = make_server()
    server.set_status("POST", "/pay", 500)
    steps = [{"name": "cart", "path": "/cart"}, {"name": "pay", "method": "POST", "path": "/pay"}]
    simulation = alone(flows=[{"name": "buy", "steps": steps, "weight": 1, "tags": ["checkout"]}],
                       endpoints=[{"name": "home", "path": "/", "weight": 1}], users=1, iterations=30,
                       thresholds={"error_ratio": 0.9, "tags": {"checkout": {"error_ratio": 0.9}}})  # fmt: skip
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", "--summary-json", "summary.json")

    assert run.returncode == 0, run
    counts = by_path(server)
    assert counts["/"] > 0 and counts["/cart"] == counts["/pay"] > 0, counts
    rows = thresholds_of(tmp_path / "run")
    tagged, whole = rows[("tag checkout", "error_ratio")], rows[("all requests", "error_ratio")]
    assert tagged["measured"] == counts["/pay"] / (counts["/cart"] + counts["/pay"]) == 0.5, tagged
    assert whole["measured"] == counts["/pay"] / sum(counts.values()) < 0.5, whole


# -- a failing iteration keeps its pace ----------------------------------------------------------------


FAILING = {  # every iteration fails: an endpoint that always does, or a flow's first step (the
    # second is never sent)
    "endpoint": {"endpoints": [{"name": "broken", "path": "/broken"}]},
    "flow": {"flows": [{"name": "f", "steps": [{"name": "broken", "path": "/broken"}, {"name": "after", "path": "/after"}]}]},
}


def failing_run(tmp_path, make_server, task, **pace):
    server = make_server()
    server.set_status("GET", "/broken", 500)
    simulation = alone(**FAILING[task], users=2, run_time="2s")
    simulation.pop("think_time_seconds", None)
    run = run_locust(compiled(tmp_path, server, {**simulation, **pace}), tmp_path / "run")
    assert run.returncode == 1, run
    assert set(by_path(server)) == {"/broken"}, by_path(server)
    return sorted(len(requests) for requests in server.connections().values())  # per user


@pytest.mark.parametrize("task", FAILING)
def test_a_failed_iteration_waits_for_the_think_time(tmp_path, make_server, task):
    """think_time 0.2 s for 2 s: about 10 iterations a user, each of one failed request, not the
    hundreds a user that loops at once after a failure sends to a target that fails fast."""
    per_user = failing_run(tmp_path, make_server, task, think_time_seconds=0.2)
    assert len(per_user) == 2 and all(5 <= count <= 13 for count in per_user), per_user


@pytest.mark.parametrize("task", FAILING)
def test_a_failed_iteration_keeps_its_pacing(tmp_path, make_server, task):
    """pacing of 0.5 s for 2 s: an iteration starts every half second, failed or not: about 4 a
    user."""
    per_user = failing_run(tmp_path, make_server, task, pacing={"iteration_seconds": 0.5})
    assert len(per_user) == 2 and all(3 <= count <= 6 for count in per_user), per_user
