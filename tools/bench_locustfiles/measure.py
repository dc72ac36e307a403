"""Not a load test: loaded next to the locustfile under measure (`locust -f FILE,measure.py`), it
notes the requests sent between SETTLE_SECONDS after every user was spawned and the moment the
run starts stopping, the wall and CPU time between them, and writes them as JSON to the file
$BENCH_MEASURE_FILE when Locust quits. Nothing runs per request: it reads Locust's own totals."""

import json
import os
import time

import gevent
from locust import events

SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "1"))
marks = {}


def mark(name, environment):
    total = environment.runner.stats.total
    marks[name] = {"wall": time.perf_counter(), "cpu": time.process_time(), "requests": total.num_requests, "failures": total.num_failures}


@events.init.add_listener
def remember(environment, **_kwargs):
    marks["environment"] = environment


@events.spawning_complete.add_listener
def spawned(user_count, **_kwargs):
    if "spawned" not in marks:
        marks["spawned"] = user_count
        gevent.spawn_later(SETTLE_SECONDS, mark, "start", marks["environment"])


@events.test_stopping.add_listener
def stopping(environment, **_kwargs):
    if "start" in marks and "stop" not in marks:
        mark("stop", environment)


@events.quitting.add_listener
def write(environment, **_kwargs):
    total = environment.runner.stats.total
    figures = {"users": marks.get("spawned"), "total_requests": total.num_requests, "total_failures": total.num_failures}
    if "start" in marks and "stop" in marks:
        start, stop = marks["start"], marks["stop"]
        figures.update(
            seconds=stop["wall"] - start["wall"],
            cpu_seconds=stop["cpu"] - start["cpu"],
            requests=stop["requests"] - start["requests"],
            failures=stop["failures"] - start["failures"],
        )
    with open(os.environ["BENCH_MEASURE_FILE"], "w") as out:
        json.dump(figures, out)
