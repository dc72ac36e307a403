"""Live metrics, for real: a generated file run with real Locust against a recording server on
127.0.0.1, scraped while it runs on its Prometheus endpoint (`--metrics-port`), read with
prometheus_client's own parser; the same in a distributed run (`--processes 2`: the master
serves, the workers do not); the Grafana dashboard's queries against the names served; and
Locust's own `--otel` exporting to an OTLP/HTTP receiver on 127.0.0.1 that the test starts
and decodes with opentelemetry-proto, the target's names and the run's id in its resource.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from locust_runs import ROOT, Locust, compile_inputs, free_port, write_inputs

SIMULATION = {
    "host": "http://${domain}",
    "users": 2,
    "spawn_rate": 20,
    "run_time": "4s",
    "seed": 3,
    "think_time_seconds": 0.02,
    "report_html": None,
    "endpoints": [
        {"name": "home", "path": "/", "weight": 2},
        {"name": "slow", "path": "/slow"},
        {"name": "broken", "path": "/broken"},
    ],
    "thresholds": {"error_ratio": 0.9, "min_rps": 100000},
}
COMMON = ("target", "app", "environment", "country", "run_id")


@pytest.fixture(scope="module")
def target(tmp_path_factory, shared_server) -> Path:
    folder = tmp_path_factory.mktemp("metrics")
    catalog = write_inputs(folder, shared_server.port, {"live": SIMULATION}, {"live": {"environments": ["local"], "countries": ["mx"]}})
    return compile_inputs(catalog, folder / "generated")["live_local_mx"]


@pytest.fixture
def live_server(server):
    server.set_status("GET", "/broken", 500)
    server.set_delay(0.03, "GET", "/slow")
    yield server
    server.set_delay(0, "GET", "/slow")


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return answer.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None


def samples(text: str) -> dict[str, list]:
    """Metric family name -> its samples, as prometheus_client parses the text."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def scrapes_during(run: Locust, port: int, server=None) -> list[tuple[str, int]]:
    """Every scrape while the run goes, with the requests the server had received before it."""
    found = []
    while run.process.poll() is None:
        received = server.count() if server is not None else 0
        text = scrape(port)
        if text is not None:
            found.append((text, received))
        time.sleep(0.25)
    return found


def value(family: list, **labels) -> float:
    (sample,) = [s for s in family if all(s.labels.get(k) == v for k, v in labels.items())]
    return sample.value


def test_prometheus_endpoint_during_a_real_run(target, live_server, rundir):
    port = free_port()
    run = Locust(target, rundir, "--metrics-port", str(port), "--run-id", "ci/42", "--run-record", "run.json")
    scrapes = scrapes_during(run, port, live_server)
    result = run.wait()
    assert result.returncode == 3, result  # min_rps cannot hold
    assert f"Prometheus metrics on http://127.0.0.1:{port}/metrics" in result.stderr
    assert len(scrapes) >= 8, len(scrapes)
    record = json.loads((rundir / "run.json").read_text())
    assert record["run_id"] == "ci/42"

    counts = []
    for text, received_before in scrapes:
        families = samples(text)
        requests = families["loadtest_requests"]  # the parser names a counter's family without _total
        sent = sum(s.value for s in requests if s.name == "loadtest_requests_total")
        counts.append(sent)
        assert sent <= live_server.count()  # never more than the server received by now
        for sample in (s for family in families.values() for s in family):
            assert {k: sample.labels[k] for k in COMMON} == {
                "target": "live_local_mx", "app": "live", "environment": "local", "country": "mx", "run_id": "ci/42",
            }, sample  # fmt: skip
    assert counts == sorted(counts) and counts[-1] > 20, counts  # counters only go up
    families = samples(scrapes[-1][0])
    assert value(families["loadtest_run_info"], locust_version=record["locust_version"]) == 1
    sent = {s.labels["name"]: s.value for s in families["loadtest_requests"] if s.name.endswith("_total")}
    failed = {s.labels["name"]: s.value for s in families["loadtest_request_failures"] if s.name.endswith("_total")}
    assert set(sent) == {"home", "slow", "broken"} and all(sent.values()), sent
    assert failed["broken"] == sent["broken"] and failed["home"] == failed["slow"] == 0, failed
    final = {row["name"]: row["requests"] for row in record["requests"] if row["name"]}
    assert all(sent[name] <= final[name] for name in sent), (sent, final)

    histogram = families["loadtest_request_duration_seconds"]
    for name in sent:
        buckets = [(s.labels["le"], s.value) for s in histogram if s.name.endswith("_bucket") and s.labels["name"] == name]
        counts_by_bound = [count for _, count in buckets]
        assert counts_by_bound == sorted(counts_by_bound), buckets  # cumulative
        assert buckets[-1] == ("+Inf", sent[name])
        assert value([s for s in histogram if s.name.endswith("_count")], name=name) == sent[name]
    slow = {le: count for le, count in ((s.labels["le"], s.value) for s in histogram
                                        if s.name.endswith("_bucket") and s.labels["name"] == "slow")}  # fmt: skip
    assert slow["0.025"] == 0 and slow["1.0"] == sent["slow"], slow  # every answer 30 ms late
    total_seconds = value([s for s in histogram if s.name.endswith("_sum")], name="slow")
    assert 0.03 * sent["slow"] <= total_seconds < 1.0 * sent["slow"], total_seconds

    assert max(value(samples(text)["loadtest_users"]) for text, _ in scrapes) == 2
    assert value(families["loadtest_workers"]) == 0
    assert value(families["loadtest_dropped_iterations"]) == 0
    assert value(families["loadtest_threshold_passed"], key="min_rps") == 0
    assert value(families["loadtest_threshold_passed"], key="error_ratio") == 1
    assert value(families["loadtest_threshold_limit"], key="min_rps") == 100000
    assert 0 < value(families["loadtest_threshold_measured"], key="error_ratio") < 0.9


def test_only_metrics_is_served(target, live_server, rundir):
    port = free_port()
    run = Locust(target, rundir, "--metrics-port", str(port), "-t", "2s")
    try:
        deadline = time.monotonic() + 20
        while scrape(port) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=2)
        assert refused.value.code == 404
    finally:
        assert run.wait().returncode == 3


def test_a_port_in_use_stops_the_run_before_any_load(target, live_server, rundir):
    holder = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        result = Locust(target, rundir, "--metrics-port", str(holder.server_address[1])).wait()
    finally:
        holder.server_close()
    assert result.returncode == 2, result
    assert re.search(rf"--metrics-port {holder.server_address[1]} on 127\.0\.0\.1: cannot listen there: ", result.stderr)
    assert live_server.count() == 0


def test_bad_metrics_options_are_every_problem_at_once(target, live_server, rundir):
    result = Locust(target, rundir, "--metrics-port", "70000", "--run-id", "no spaces").wait()
    assert result.returncode == 2, result
    assert "--metrics-port 70000 is not a port: 1 to 65535 (LOCUST_METRICS_PORT)" in result.stderr
    assert "--run-id 'no spaces' is not a run id" in result.stderr
    assert live_server.count() == 0


def test_the_master_serves_the_metrics_of_its_workers(target, live_server, rundir):
    port, master_port = free_port(), str(free_port())
    run = Locust(target, rundir, "--processes", "2", "--metrics-port", str(port), "-t", "4s",
                 "--master-bind-host", "127.0.0.1", "--master-bind-port", master_port, "--master-port", master_port,
                 "--run-record", "run.json")  # fmt: skip
    scrapes = scrapes_during(run, port)
    result = run.wait()
    assert result.returncode == 3, result
    assert "cannot listen" not in result.stderr  # no worker tried the port
    assert scrapes, result
    last = samples(scrapes[-1][0])
    assert max(value(samples(text)["loadtest_workers"]) for text, _ in scrapes) == 2
    sent = sum(s.value for s in last["loadtest_requests"] if s.name.endswith("_total"))
    record = json.loads((rundir / "run.json").read_text())
    assert 0 < sent <= next(row["requests"] for row in record["requests"] if row["name"] is None)


OPEN = {
    "host": "http://${domain}", "seed": 3, "report_html": None,
    "arrivals": {"stages": [{"duration": "4s", "rate": 20}], "max_users": 2},
    "endpoints": [{"name": "slow", "path": "/slow"}],
}  # fmt: skip


@pytest.fixture(scope="module")
def open_target(tmp_path_factory, shared_server) -> Path:
    folder = tmp_path_factory.mktemp("metrics-open")
    catalog = write_inputs(folder, shared_server.port, {"arrive": OPEN}, {"arrive": {"environments": ["local"], "countries": ["mx"]}})
    return compile_inputs(catalog, folder / "generated")["arrive_local_mx"]


@pytest.mark.parametrize("distributed", [False, True], ids=["one process", "master of 2 workers"])
def test_dropped_iterations_are_served_as_the_open_model_drops_them(open_target, server, rundir, distributed):
    """2 users cannot start 20 iterations a second of answers that take 0.4 s: the endpoint
    serves the drops as they happen (on the master, its workers' sum), up to the record's."""
    server.set_delay(0.4, "GET", "/slow")
    port, extra = free_port(), ()
    if distributed:
        master_port = str(free_port())
        extra = ("--processes", "2", "--master-bind-host", "127.0.0.1", "--master-bind-port", master_port,
                 "--master-port", master_port)  # fmt: skip
    run = Locust(open_target, rundir, "--metrics-port", str(port), "--run-record", "run.json", *extra)
    scrapes = scrapes_during(run, port)
    result = run.wait()
    server.set_delay(0, "GET", "/slow")
    assert result.returncode == 1, result  # too many dropped: the load asked for was not sent
    record = json.loads((rundir / "run.json").read_text())
    dropped = [value(samples(text)["loadtest_dropped_iterations"]) for text, _ in scrapes]
    assert dropped == sorted(dropped), dropped  # a counter
    assert 0 < dropped[-1] <= record["dropped_iterations"], (dropped, record["dropped_iterations"])
    iterations = value(samples(scrapes[-1][0])["loadtest_iterations"])
    assert 0 < iterations <= server.count(), iterations


# -- the Grafana dashboard reads what the endpoint serves -------------------------------------------


def test_grafana_queries_name_only_what_the_endpoint_serves(target, live_server, rundir):
    port = free_port()
    run = Locust(target, rundir, "--metrics-port", str(port), "-t", "2s")
    scrapes = scrapes_during(run, port)
    run.wait()
    served_names, served_labels = set(), set()
    for family in text_string_to_metric_families(scrapes[-1][0]):
        for sample in family.samples:
            served_names.add(sample.name)
            served_labels |= set(sample.labels)
    dashboard = json.loads((ROOT / "docs" / "grafana" / "loadtest.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    assert len(queries) >= 8, queries
    used_names, used_labels = set(), set()
    for query in queries:
        used_names |= set(re.findall(r"\bloadtest_[a-z_]+", query))
        used_labels |= set(re.findall(r"\b([a-z_]+)\s*(?:=~|!=|=)\s*\"", query))
        used_labels |= {label.strip() for group in re.findall(r"\bby\s*\(([^)]*)\)", query) for label in group.split(",")}
        used_labels |= set(re.findall(r"label_values\([^,]*,\s*([a-z_]+)\s*\)", query))
    assert used_names and used_names <= served_names, used_names - served_names
    assert used_labels <= served_labels, used_labels - served_labels
    assert {"loadtest_requests_total", "loadtest_request_failures_total", "loadtest_request_duration_seconds_bucket",
            "loadtest_users", "loadtest_dropped_iterations_total", "loadtest_threshold_passed"} <= used_names  # fmt: skip


# -- OpenTelemetry: Locust's own --otel, to a receiver here -----------------------------------------


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP receiver on 127.0.0.1: keeps every metrics export, decoded."""

    daemon_threads = True

    def __init__(self):
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        self.exports: list = []
        self.paths: list[str] = []
        decoder = ExportMetricsServiceRequest

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.server.paths.append(self.path)
                if self.path == "/v1/metrics":
                    request = decoder()
                    request.ParseFromString(body)
                    self.server.exports.append(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def attributes(items) -> dict:
    return {a.key: a.value.string_value for a in items}


@pytest.mark.parametrize("users_app", [None, "from-the-user"])
def test_otel_exports_carry_the_target_and_the_run(target, live_server, rundir, users_app):
    """The file's names in the resource; an attribute the user set in OTEL_RESOURCE_ATTRIBUTES
    wins over the file's."""
    receiver = Receiver()
    try:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_RESOURCE_ATTRIBUTES": "team=payments" + (f",loadtest.app={users_app}" if users_app else ""),
            "LOCUST_RUN_ID": "otel-1",
        }
        result = Locust(target, rundir, "--otel", "-t", "3s", "--run-record", "run.json", env=env).wait()
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert result.returncode == 3, result
    assert "OpenTelemetry enabled" in result.stderr, result
    assert receiver.exports, receiver.paths
    record = json.loads((rundir / "run.json").read_text())
    assert record["run_id"] == "otel-1"
    resource = attributes(receiver.exports[-1].resource_metrics[0].resource.attributes)
    assert {k: resource[k] for k in ("loadtest.target", "loadtest.environment", "loadtest.country", "loadtest.run_id")} == {
        "loadtest.target": "live_local_mx", "loadtest.environment": "local", "loadtest.country": "mx",
        "loadtest.run_id": "otel-1",
    }  # fmt: skip
    assert resource["loadtest.app"] == (users_app or "live") and resource["team"] == "payments"  # the user's win
    counts: dict[str, int] = {}
    for export in receiver.exports:  # cumulative: the last export of each name holds its count
        for scope in export.resource_metrics[0].scope_metrics:
            for metric in scope.metrics:
                if metric.name == "locust.client.duration":
                    for point in metric.histogram.data_points:
                        counts[attributes(point.attributes)["name"]] = point.count
    final = {row["name"]: row["requests"] for row in record["requests"] if row["name"]}
    assert counts == final, (counts, final)  # every request, exported by the end of the run
