"""Live metrics: a Prometheus text endpoint (--metrics-port), the run's id, and the target's
names as OpenTelemetry resource attributes for Locust's own --otel.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403
from compiler.runtime.arrival_figures import *  # noqa: F401,F403
from compiler.runtime.thresholds import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- live metrics: Prometheus and OpenTelemetry ----------------------------------------------------

RUN_ID_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
# The run's id, the same in every process this one forks (--processes); LOCUST_RUN_ID or
# --run-id names it, for workers on other machines too.
RUN_ID = (
    os.environ.get("LOCUST_RUN_ID")
    or time.strftime("%Y%m%dT%H%M%SZ-", time.gmtime()) + os.urandom(3).hex()
)
# Latency buckets of the Prometheus histogram, in seconds (1 ms to 60 s)
METRICS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
OTEL_KEYS = ("target", "app", "environment", "country", "run_id")  # as loadtest.<key>
USER_RESOURCE_ATTRIBUTES = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")


def add_metrics_options(parser):
    parser.add_argument(
        "--metrics-port",
        type=int,
        env_var="LOCUST_METRICS_PORT",
        default=None,
        help="Serve Prometheus metrics on this port (/metrics), on the master or the only process.",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--metrics-host",
        env_var="LOCUST_METRICS_HOST",
        default="127.0.0.1",
        help="Address the metrics endpoint listens on (default 127.0.0.1: this machine only).",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--run-id",
        env_var="LOCUST_RUN_ID",
        default=RUN_ID,
        help="The run's id in its record, its metrics and OpenTelemetry's resource (default: "
        "the start time and a random suffix).",
        include_in_web_ui=False,
    )
    parse = parser.parse_args

    def parse_then_name_the_run(*args, **kwargs):  # before Locust sets OpenTelemetry up
        options = parse(*args, **kwargs)
        name_resource(getattr(options, "run_id", RUN_ID))
        return options

    parser.parse_args = parse_then_name_the_run


def resource_names(run_id):
    return dict(zip(OTEL_KEYS, (TARGET, APP, ENVIRONMENT, COUNTRY, run_id)))


def name_resource(run_id):
    """The target's names and the run's id as OpenTelemetry resource attributes
    (loadtest.target, ...), for Locust's --otel; a value the user set for the same key wins."""
    ours = ",".join(
        f"loadtest.{key}={quote(str(value), safe='')}"
        for key, value in resource_names(run_id).items()
    )
    os.environ["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(
        part for part in (ours, USER_RESOURCE_ATTRIBUTES) if part
    )


name_resource(RUN_ID)


def metrics_problems(options):
    """What is wrong with the metrics options; the endpoint's socket is bound here, so a port
    in use stops the run before any load, with the other problems."""
    found = []
    if not RUN_ID_FORM.match(str(options.run_id)):
        found.append(
            f"--run-id {str(options.run_id)[:200]!r} is not a run id: 1 to 128 letters, digits "
            "and . _ : / - (LOCUST_RUN_ID)"
        )
    port = options.metrics_port
    if port is None:
        return found
    if not 0 < port < 65536:
        return found + [f"--metrics-port {port} is not a port: 1 to 65535 (LOCUST_METRICS_PORT)"]
    if options.check_config or run.get("metrics_server") is not None:
        return found
    try:
        run["metrics_server"] = ThreadingHTTPServer((options.metrics_host, port), MetricsHandler)
    except OSError as error:
        found.append(
            f"--metrics-port {port} on {options.metrics_host}: cannot listen there: "
            f"{error.strerror or error}"
        )
    return found


def serve_metrics(environment):
    """Serve /metrics from the socket bound by the checks (master, or the only process)."""
    server = run.get("metrics_server")
    if server is None:
        return
    server.daemon_threads = True
    server.environment = environment
    threading.Thread(target=server.serve_forever, daemon=True).start()  # a greenlet under Locust
    host, port = server.server_address[:2]
    log.info("Prometheus metrics on http://%s:%s/metrics", host, port)


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404, "only /metrics is served here")
            return
        body = metrics_text(self.server.environment).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):  # scrapes are not the run's news
        pass


def label_text(value):
    """A label value in Prometheus' text format: backslash, quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(environment):
    """Every series, in Prometheus' text format (version 0.0.4)."""
    runner, lines = environment.runner, []
    options = environment.parsed_options
    common = {**resource_names(options.run_id)}

    def family(name, kind, help_text, samples):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for suffix, labels, value in samples:
            shown = ",".join(f'{k}="{label_text(v)}"' for k, v in {**common, **labels}.items())
            lines.append(f"{name}{suffix}{{{shown}}} {number_text(value)}")

    stats = runner.stats
    entries = sorted(stats.entries.values(), key=lambda e: (e.name, e.method or ""))
    request = lambda e: {"name": e.name, "method": e.method or ""}  # noqa: E731
    family(
        "loadtest_run_info",
        "gauge",
        "The run: its target's names, run id and Locust.",
        [("", {"locust_version": LOCUST_VERSION}, 1)],
    )
    family(
        "loadtest_requests_total",
        "counter",
        "Requests sent, per request name and method.",
        [("", request(e), e.num_requests) for e in entries],
    )
    family(
        "loadtest_request_failures_total",
        "counter",
        "Requests failed, per request name and method.",
        [("", request(e), e.num_failures) for e in entries],
    )
    samples = []
    for entry in entries:
        times = sorted(entry.response_times.items())
        for bound in METRICS_BUCKETS:
            within = sum(count for ms, count in times if ms <= bound * 1000)
            samples.append(("_bucket", {**request(entry), "le": repr(float(bound))}, within))
        samples.append(("_bucket", {**request(entry), "le": "+Inf"}, entry.num_requests))
        samples.append(("_sum", request(entry), entry.total_response_time / 1000))
        samples.append(("_count", request(entry), entry.num_requests))
    family(
        "loadtest_request_duration_seconds",
        "histogram",
        "Time to the last byte of each answer, in seconds.",
        samples,
    )
    family("loadtest_users", "gauge", "Users running now.", [("", {}, runner.user_count)])
    workers = runner.worker_count if isinstance(runner, MasterRunner) else 0
    family(
        "loadtest_workers", "gauge", "Workers connected (0: not distributed).", [("", {}, workers)]
    )
    family(
        "loadtest_iterations_total",
        "counter",
        "Iterations the users completed or started.",
        [("", {}, run.get("iterations", 0))],
    )
    family(
        "loadtest_dropped_iterations_total",
        "counter",
        "Iterations due that found no free user and were not sent (open model).",
        [("", {}, dropped_so_far())],
    )
    rows = verdicts(stats) if THRESHOLDS else []
    scope = lambda row: {"scope": row[0], "key": row[1]}  # noqa: E731
    family(
        "loadtest_threshold_passed",
        "gauge",
        "1 while a threshold holds on the run so far, else 0.",
        [("", scope(row), 1 if row[4] else 0) for row in rows],
    )
    family(
        "loadtest_threshold_limit",
        "gauge",
        "A threshold's limit.",
        [("", scope(row), row[2]) for row in rows],
    )
    family(
        "loadtest_threshold_measured",
        "gauge",
        "A threshold's measure on the run so far.",
        [("", scope(row), row[3]) for row in rows if row[3] is not None],
    )
    return "\n".join(lines) + "\n"


def dropped_so_far():
    """Iterations the open model dropped so far: this process's, or on the master the sum of its
    workers' last reports (what the record will hold at the end); 0 in a closed model."""
    if not run.get("open"):
        return 0
    return sum(dropped for _, _, dropped in arrival_totals()[0])


def number_text(value):
    if isinstance(value, float):
        return "NaN" if value != value else repr(value)
    return str(value)
