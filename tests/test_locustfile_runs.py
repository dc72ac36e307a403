"""Generated locustfiles run with real Locust against a real recording server on 127.0.0.1.

Every test compiles a catalog and simulations written into a temporary folder, runs
`locust -f <generated file> ...` as a subprocess (its cwd a fresh temporary folder, so no stray
locust.conf or pyproject.toml is read) and asserts on what the recording server received.
Nothing here contacts any address but 127.0.0.1: every host is a recording server's.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_server import Recorded, RecordingServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOCUST = next(
    (
        path
        for path in (Path(sys.executable).parent / "locust", ROOT / ".venv" / "bin" / "locust")
        if path.exists()
    ),
    ROOT / ".venv" / "bin" / "locust",
)
RUN_TIMEOUT = 60  # seconds; every run below is meant to end far sooner
STRAGGLER_GRACE = 5  # seconds a run's worker processes may take to exit after locust itself
QUIET = (
    0.3  # seconds to wait before asserting that nothing arrived (a request in flight would have)
)

# The secret is in the compiler's environment too: it must not end up in the generated code.
SECRET = "tok-" + secrets.token_hex(12)

COUNTRIES = {
    "mx": {"vars": {"locale": "es-MX", "currency": "MXN"}},
    "br": {"vars": {"locale": "pt-BR", "currency": "BRL"}},
}
LOCAL_LIMITS = {"max_users": 5, "max_spawn_rate": 50, "max_run_time": "1m"}
PROD_LIMITS = {"max_users": 3, "max_spawn_rate": 20, "max_run_time": "1m"}

SHOP = {  # headers, a query, a JSON body and a raw body, all varying by country
    "host": "http://${domain}",
    "users": 3,
    "spawn_rate": 20,
    "run_time": "2s",
    "seed": 11,
    "think_time_seconds": 0.01,
    "report_html": "reports/${target}/report.html",
    "headers": {
        "Accept-Language": "${locale}",
        "Authorization": "Bearer ${env:APP_TOKEN}",
        "X-Service": "${service}",
    },
    "endpoints": [
        {"name": "home", "path": "/", "weight": 3},
        {
            "name": "search",
            "path": "/search",
            "query": {"q": "shoes", "currency": "${currency}", "page": 2},
            "weight": 2,
        },
        {
            "name": "add_to_cart",
            "method": "POST",
            "path": "/cart",
            "json": {"sku": "A1", "quantity": 2, "currency": "${currency}"},
            "weight": 1,
            "expect_status": [201],
        },
        {
            "name": "pay",
            "method": "POST",
            "path": "/payments",
            "body": "amount=100&currency=${currency}",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "weight": 1,
        },
    ],
    "overrides": {
        "countries": {"br": {"endpoints": [{"name": "search", "query": {"q": "sapatos"}}]}}
    },
}
MIX = {  # weights 6:3:1, no think time: thousands of requests a second
    "host": "http://${domain}",
    "users": 2,
    "spawn_rate": 50,
    "run_time": "2s",
    "seed": 1,
    "think_time_seconds": 0,
    "report_html": None,
    "endpoints": [
        {"name": "a", "path": "/a", "weight": 6},
        {"name": "b", "path": "/b", "weight": 3},
        {"name": "c", "path": "/c", "weight": 1},
    ],
}
NOSEED = {key: value for key, value in MIX.items() if key != "seed"}
REQS = {key: value for key, value in SHOP.items() if key != "overrides"}  # no br target to override
REQS.update(client="requests", users=1, run_time="1s", report_html=None)
MIX_WEIGHTS = {"/a": 6, "/b": 3, "/c": 1}
STATUSES = {("POST", "/cart"): 201}  # what the shop expects; tests change it to see failures


# -- inputs, compiling and running ---------------------------------------------------------------


def write_inputs(
    folder: Path, port: int, simulations: dict[str, dict], apps: dict[str, dict]
) -> Path:
    """A catalog whose environments all point at 127.0.0.1:<port>, and its simulations.

    `local` has limits; `prod` has limits and is protected. `apps` maps an app name to its
    catalog entry without `simulation` (taken as simulations/<app>.json from `simulations`).
    """
    domain = {"domain": f"127.0.0.1:{port}"}
    catalog = {
        "environments": {
            "local": {"vars": domain, "limits": LOCAL_LIMITS},
            "prod": {"vars": domain, "limits": PROD_LIMITS, "protected": True},
        },
        "countries": COUNTRIES,
        "apps": {
            name: {"simulation": f"simulations/{name}.json", "vars": {"service": name}, **entry}
            for name, entry in apps.items()
        },
    }
    (folder / "simulations").mkdir(parents=True, exist_ok=True)
    for name, simulation in simulations.items():
        (folder / "simulations" / f"{name}.json").write_text(json.dumps(simulation, indent=2))
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog, indent=2))
    return path


def compile_inputs(catalog: Path, out: Path, env: dict[str, str] | None = None) -> dict[str, Path]:
    """`python -m compiler --catalog CATALOG compile --out OUT`; the generated files by target name."""
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(catalog), "compile", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.stem: path for path in sorted(out.glob("*.py"))}


def clean_env(extra: dict[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """The test process's environment without anything that would configure Locust or the run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LOCUST_")
        and key not in {"REPORT_HTML", "APP_TOKEN", "PYTEST_ADDOPTS"}
    }
    if home is not None:
        env["HOME"] = str(home)  # no ~/.locust.conf either
    env.update(extra or {})
    return env


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    stragglers: bool  # processes of the run (workers) still alive well after locust itself exited

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:  # what a failed assertion shows
        return (
            f"exit {self.returncode} after {self.seconds:.1f}s, stragglers {self.stragglers}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


class Locust:
    """`locust -f LOCUSTFILE ARGS` running in CWD, in a session of its own.

    Its output goes to files, not pipes: worker processes that outlive it cannot block the test.
    Whatever is left of its process group when it is waited for is killed.
    """

    def __init__(self, locustfile: Path, cwd: Path, *args: str, env: dict[str, str] | None = None):
        cwd.mkdir(parents=True, exist_ok=True)
        self.logs = Path(tempfile.mkdtemp(prefix="locust-output-"))
        self.started = time.monotonic()
        self.exited: float | None = None
        with (self.logs / "stdout").open("wb") as out, (self.logs / "stderr").open("wb") as err:
            self.process = subprocess.Popen(
                [str(LOCUST), "-f", str(locustfile), *args],
                cwd=cwd,
                env=clean_env(env, home=cwd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: its workers too, killed at the end
            )

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = RUN_TIMEOUT, grace: float = STRAGGLER_GRACE) -> Run:
        try:
            returncode = self.process.wait(timeout=timeout)
            self.exited = time.monotonic()
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(
                f"locust still running after {timeout}s: killed\n" + "\n".join(self._output())
            )
        seconds = time.monotonic() - self.started
        stragglers = self._group_alive(grace)
        self.kill()
        stdout, stderr = self._output()
        return Run(returncode, stdout, stderr, seconds, stragglers)

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def _group_alive(self, grace: float) -> bool:
        """Whether a process of the run's group still runs after `grace` seconds. Zombies do not
        count: exited workers whose parent is gone wait for PID 1, which may never reap them."""
        deadline = time.monotonic() + grace
        while True:
            if not running_in_group(self.process.pid):
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.05)

    def _output(self) -> tuple[str, str]:
        texts = tuple(
            (self.logs / name).read_text(errors="replace") for name in ("stdout", "stderr")
        )
        shutil.rmtree(self.logs, ignore_errors=True)
        return texts


def running_in_group(group: int) -> bool:
    """Whether any process of a process group is alive and not a zombie (Linux's /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it exited while we looked
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state not in ("Z", "X"):
            return True
    return False


def run_locust(
    locustfile: Path,
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
) -> Run:
    """`locust -f LOCUSTFILE ARGS` in CWD, with a clean environment plus `env`; waits for it."""
    return Locust(locustfile, cwd, *args, env=env).wait(timeout=timeout)


def config_value(output: str, key: str) -> tuple[str, str]:
    """(value, source) of one line of the printed `Simulation ...` configuration block."""
    found = re.findall(rf"^  {re.escape(key)} +(\S+) +(.+?) \[[^\]]+\]$", output, re.M)
    assert len(found) == 1, f"expected one {key!r} line in the configuration block:\n{output}"
    return found[0]


def assert_nothing_received(*servers: RecordingServer) -> None:
    time.sleep(QUIET)
    for server in servers:
        assert server.received() == [], f"{server.url} received requests"


def sequences(server: RecordingServer, length: int) -> list[list[str]]:
    """The first `length` paths of every client connection (one per simulated user)."""
    streams = [[request.path for request in requests] for requests in server.connections().values()]
    assert all(len(stream) >= length for stream in streams), [len(stream) for stream in streams]
    return [stream[:length] for stream in streams]


def report_text(path: Path) -> str:
    assert path.is_file(), f"no report at {path}"
    text = path.read_text(encoding="utf-8")
    assert "<html" in text.lower() and "</html>" in text.lower(), text[:500]
    return text


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_server():
    """One recording server for the module; every compiled file's host points at it."""
    server = RecordingServer(statuses=STATUSES).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(shared_server: RecordingServer):
    """The shared server, with no request recorded yet and its default statuses."""
    shared_server.reset()
    yield shared_server
    assert shared_server.errors == [], "the recording server failed to handle a request"


@pytest.fixture
def make_server():
    """Factory of extra recording servers, all stopped at the end of the test."""
    servers: list[RecordingServer] = []

    def make(**kwargs) -> RecordingServer:
        server = RecordingServer(**kwargs).start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def generated(shared_server: RecordingServer, tmp_path_factory) -> dict[str, Path]:
    """The compiled targets, compiled once with the secret in the compiler's environment."""
    folder = tmp_path_factory.mktemp("inputs")
    catalog = write_inputs(
        folder,
        shared_server.port,
        {"shop": SHOP, "mix": MIX, "noseed": NOSEED, "reqs": REQS},
        {
            "shop": {
                "environments": ["local", "prod"],
                "countries": ["mx", "br"],
                "exclude": [{"environment": "prod", "country": "br"}],
            },
            "mix": {"environments": ["local"], "countries": ["mx"]},
            "noseed": {"environments": ["local"], "countries": ["mx"]},
            "reqs": {"environments": ["local"], "countries": ["mx"]},
        },
    )
    files = compile_inputs(catalog, folder / "generated", env={"APP_TOKEN": SECRET})
    assert sorted(files) == [
        "mix_local_mx",
        "noseed_local_mx",
        "reqs_local_mx",
        "shop_local_br",
        "shop_local_mx",
        "shop_prod_mx",
    ]
    return files


@pytest.fixture
def rundir(tmp_path: Path) -> Path:
    """Where locust runs: an empty folder (no locust.conf, no pyproject.toml)."""
    path = tmp_path / "run"
    path.mkdir()
    return path


TOKEN = {"APP_TOKEN": SECRET}


# -- 1. baked defaults ----------------------------------------------------------------------------


def test_runs_with_baked_defaults_and_no_flag(generated, server, rundir):
    run = run_locust(
        generated["shop_local_mx"], rundir, env=TOKEN, timeout=30
    )  # not headless: hangs

    assert run.returncode == 0, run
    received = server.received()
    assert len(received) > 20, run
    # The template's users: one keep-alive connection per simulated user.
    assert len(server.connections()) == 3, run
    assert 'All users spawned: {"SimulatedUser": 3} (3 total users)' in run.stderr
    # The template's run time, 2s: it stops by itself (headless) after about that long.
    span = received[-1].timestamp - received[0].timestamp
    assert 1.5 <= span <= 3.0, span
    assert "Run time limit set to 2 seconds" in run.stderr
    assert "web interface" not in run.output.lower()
    for key, value in {
        "host": server.url,
        "num_users": "3",
        "spawn_rate": "20",
        "run_time": "2s",
        "html_file": "reports/shop_local_mx/report.html",
        "seed": "11",
    }.items():
        assert config_value(run.stderr, key) == (value, "template"), key
    # The template's report path, relative to where locust runs.
    report = report_text(rundir / "reports" / "shop_local_mx" / "report.html")
    for name in ("home", "search", "add_to_cart", "pay"):
        assert name in report
    assert [p.name for p in (rundir / "reports" / "shop_local_mx").iterdir()] == ["report.html"]


# -- 2. headers, queries and bodies per country; secrets -------------------------------------------

SHOP_EXPECTED = {
    "mx": {"locale": "es-MX", "currency": "MXN", "q": "shoes"},
    "br": {"locale": "pt-BR", "currency": "BRL", "q": "sapatos"},
}


def assert_shop_requests(received: list[Recorded], country: str, service: str = "shop") -> None:
    expected = SHOP_EXPECTED[country]
    by_endpoint = Counter((request.method, request.path) for request in received)
    assert set(by_endpoint) == {
        ("GET", "/"),
        ("GET", "/search"),
        ("POST", "/cart"),
        ("POST", "/payments"),
    }, by_endpoint
    for request in received:
        assert request.header("Accept-Language") == expected["locale"], request
        assert request.header("Authorization") == f"Bearer {SECRET}", request
        assert request.header("X-Service") == service, request
        if request.path == "/":
            assert (request.method, request.query, request.body) == ("GET", {}, b""), request
        elif request.path == "/search":
            assert request.query == {
                "q": [expected["q"]],
                "currency": [expected["currency"]],
                "page": ["2"],
            }, request
            assert request.body == b"", request
        elif request.path == "/cart":
            assert request.query == {}, request
            assert (
                request.header("Content-Type").split(";")[0].strip() == "application/json"
            ), request
            assert json.loads(request.body) == {
                "sku": "A1",
                "quantity": 2,
                "currency": expected["currency"],
            }
        else:
            assert request.query == {}, request
            assert request.header("Content-Type") == "application/x-www-form-urlencoded", request
            assert request.body == f"amount=100&currency={expected['currency']}".encode(), request


@pytest.mark.parametrize("country", ["mx", "br"])
def test_headers_query_and_bodies_follow_the_country(generated, server, rundir, country):
    run = run_locust(generated[f"shop_local_{country}"], rundir, "-t", "1s", env=TOKEN)

    assert run.returncode == 0, run
    assert_shop_requests(server.received(), country)
    assert (
        server.received()[0].header("User-Agent").startswith("python/gevent-http-client")
    ), "FastHttpUser"


def test_secret_is_read_at_run_time_and_never_shown(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", env=TOKEN)

    assert run.returncode == 0, run
    assert {request.header("Authorization") for request in server.received()} == {
        f"Bearer {SECRET}"
    }
    for path in generated.values():  # compiled with APP_TOKEN set: still not baked in
        assert SECRET not in path.read_text()
    assert '"APP_TOKEN"' in generated["shop_local_mx"].read_text()  # its name only
    assert SECRET not in run.stdout and SECRET not in run.stderr
    assert re.search(
        r"^  header +Authorization: Bearer \$\{env:APP_TOKEN\}$", run.stderr, re.M
    ), run
    assert SECRET not in report_text(rundir / "reports" / "shop_local_mx" / "report.html")


# -- 3. the mix follows the weights ---------------------------------------------------------------


def test_request_mix_follows_weights(generated, server, rundir):
    run = run_locust(generated["mix_local_mx"], rundir)

    assert run.returncode == 0, run
    counts = Counter(request.path for request in server.received())
    total = sum(counts.values())
    assert set(counts) == set(MIX_WEIGHTS), counts
    assert total >= 1000, f"too few requests for a meaningful share: {counts}"
    weights = sum(MIX_WEIGHTS.values())
    for path, weight in MIX_WEIGHTS.items():
        share = weight / weights
        tolerance = 5 * math.sqrt(total * share * (1 - share))  # 5 binomial standard deviations
        assert abs(counts[path] - total * share) <= tolerance, (path, counts, total)


# -- 4. seeding -------------------------------------------------------------------------------------

SEQUENCE_LENGTH = 40


def seeded_sequences(generated, server, cwd, *args, env=None) -> list[list[str]]:
    server.reset()
    run = run_locust(generated["mix_local_mx"], cwd, "-t", "1s", *args, env=env)
    assert run.returncode == 0, run
    return sequences(server, SEQUENCE_LENGTH)


@pytest.fixture(scope="module")
def seed5_one_user(generated, shared_server, tmp_path_factory) -> list[str]:
    """The first requests of the one user of a run with --seed 5, by arrival order."""
    shared_server.reset()
    run = run_locust(
        generated["mix_local_mx"],
        tmp_path_factory.mktemp("seed5"),
        "-u",
        "1",
        "-t",
        "1s",
        "--seed",
        "5",
    )
    assert run.returncode == 0, run
    assert config_value(run.stderr, "seed") == ("5", "cli")
    assert len(shared_server.connections()) == 1, run
    first = [request.path for request in shared_server.received()[:SEQUENCE_LENGTH]]
    assert len(first) == SEQUENCE_LENGTH
    assert len(set(first)) > 1  # a sequence that could differ at all
    return first


def test_same_seed_same_sequence(generated, server, rundir, seed5_one_user):
    again = seeded_sequences(generated, server, rundir, "-u", "1", "--seed", "5")
    assert again == [seed5_one_user]


def test_other_seed_other_sequence(generated, server, rundir, seed5_one_user):
    other = seeded_sequences(generated, server, rundir, "-u", "1", "--seed", "6")
    assert len(other) == 1 and other[0] != seed5_one_user


def test_locust_seed_variable_seeds_like_the_flag(generated, server, rundir, seed5_one_user):
    server.reset()
    run = run_locust(
        generated["mix_local_mx"], rundir, "-u", "1", "-t", "1s", env={"LOCUST_SEED": "5"}
    )
    assert run.returncode == 0, run
    assert config_value(run.stderr, "seed") == ("5", "env LOCUST_SEED")
    assert sequences(server, SEQUENCE_LENGTH) == [seed5_one_user]


def test_two_users_each_repeat_their_own_sequence(generated, server, rundir, seed5_one_user):
    """Each user's stream depends on (seed, worker, user index) only: not on the interleaving."""
    first = seeded_sequences(generated, server, rundir, "-u", "2", "--seed", "5")
    second = seeded_sequences(generated, server, rundir, "-u", "2", "--seed", "5")
    assert len(first) == 2 and first[0] != first[1], first
    assert sorted(first) == sorted(second)
    assert seed5_one_user in first  # user 0 draws the same stream whether or not a user 1 runs


def test_seed_derived_from_the_target_name_is_stable(generated, server, rundir, seed5_one_user):
    runs = []
    for _ in range(2):
        server.reset()
        run = run_locust(generated["noseed_local_mx"], rundir, "-u", "1", "-t", "1s")
        assert run.returncode == 0, run
        runs.append(sequences(server, SEQUENCE_LENGTH))
        value, source = config_value(run.stderr, "seed")
        assert (
            value.isdigit() and source == "template (derived from the target name noseed_local_mx)"
        ), run
    assert runs[0] == runs[1] and len(runs[0]) == 1
    assert runs[0] != [seed5_one_user]


# -- 5. precedence: cli > env > config file > template ---------------------------------------------

LEVELS = ["template", "config", "env", "cli"]


@pytest.mark.parametrize("level", LEVELS)
def test_precedence_of_users_and_host(generated, server, make_server, rundir, level):
    config_server, env_server, cli_server = (make_server(statuses=STATUSES) for _ in range(3))
    rank = LEVELS.index(level)
    args, env = ["-t", "1s"], dict(TOKEN)
    if rank >= 1:
        (rundir / "locust.conf").write_text(f"users = 4\nhost = {config_server.url}\n")
    if rank >= 2:
        env.update(LOCUST_USERS="5", LOCUST_HOST=env_server.url)
    if rank >= 3:
        args += ["-u", "2", "-H", cli_server.url]

    run = run_locust(generated["shop_local_mx"], rundir, *args, env=env)

    assert run.returncode == 0, run
    winner, users, source, host_source = {
        "template": (server, 3, "template", "template"),
        "config": (config_server, 4, "config file", "config file"),
        "env": (env_server, 5, "env LOCUST_USERS", "env LOCUST_HOST"),
        "cli": (cli_server, 2, "cli", "cli"),
    }[level]
    users_value, users_source = config_value(run.stderr, "num_users")
    host_value, actual_host_source = config_value(run.stderr, "host")
    assert (users_value, host_value) == (str(users), winner.url), run
    if level == "config":
        assert users_source.startswith("config file ") and users_source.endswith(
            "locust.conf"
        ), users_source
        assert actual_host_source.startswith("config file ") and actual_host_source.endswith(
            "locust.conf"
        )
    else:
        assert (users_source, actual_host_source) == (source, host_source), run
    assert winner.count() > 0, run
    assert len(winner.connections()) == users, run
    assert_nothing_received(
        *(s for s in (server, config_server, env_server, cli_server) if s is not winner)
    )


@pytest.mark.parametrize(
    "name, content, args",
    [
        ("pyproject.toml", '[tool.locust]\nusers = 4\nhost = "{url}"\n', []),
        ("other.conf", "users = 4\nhost = {url}\n", ["--config", "other.conf"]),
        ("locust.conf", "u = 4\nhost = {url}\n", []),
    ],
    ids=["pyproject", "--config", "short-keys"],
)
def test_other_config_files(generated, server, make_server, rundir, name, content, args):
    config_server = make_server(statuses=STATUSES)
    (rundir / name).write_text(content.format(url=config_server.url))

    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", *args, env=TOKEN)

    assert run.returncode == 0, run
    for key, value in (("num_users", "4"), ("host", config_server.url)):
        shown, source = config_value(run.stderr, key)
        assert shown == value and source.startswith("config file ") and source.endswith(name), run
    assert len(config_server.connections()) == 4
    assert_nothing_received(server)


def test_abbreviated_option_is_shown_as_cli(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "--check-config", "--use", "2", env=TOKEN)

    assert run.returncode == 0, run
    assert config_value(run.stdout, "num_users") == ("2", "cli")


@pytest.mark.parametrize(
    "env, args, written, source",
    [
        ({"REPORT_HTML": "custom/r.html"}, [], "custom/r.html", "env REPORT_HTML"),
        (
            {"REPORT_HTML": "custom/r.html", "LOCUST_HTML": "locust/l.html"},
            [],
            "locust/l.html",
            "env LOCUST_HTML",
        ),
        (
            {"REPORT_HTML": "custom/r.html", "LOCUST_HTML": "locust/l.html"},
            ["--html", "cli/c.html"],
            "cli/c.html",
            "cli",
        ),
    ],
    ids=["REPORT_HTML", "LOCUST_HTML-wins", "cli-wins"],
)
def test_report_path_precedence(generated, server, rundir, env, args, written, source):
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", *args, env={**TOKEN, **env})

    assert run.returncode == 0, run
    assert config_value(run.stderr, "html_file") == (written, source)
    assert "home" in report_text(rundir / written)
    reports = sorted(str(path.relative_to(rundir)) for path in rundir.rglob("*.html"))
    assert reports == [written]  # neither the template's path nor the overridden ones


# -- 6. --check-config ------------------------------------------------------------------------------


def test_check_config_prints_and_sends_nothing(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "--check-config", env=TOKEN)

    assert run.returncode == 0, run
    assert run.stdout.startswith(
        "Simulation shop_local_mx (app shop, environment local, country mx)\n"
    ), run
    assert config_value(run.stdout, "host") == (server.url, "template")
    assert config_value(run.stdout, "num_users") == ("3", "template")
    assert "Authorization: Bearer ${env:APP_TOKEN}" in run.stdout
    assert "shop_local_mx: configuration ok, no request sent" in run.stdout
    assert SECRET not in run.output
    assert_nothing_received(server)
    assert list(rundir.rglob("*.html")) == []


def test_check_config_reports_a_missing_variable(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "--check-config")

    assert run.returncode == 2, run
    assert "APP_TOKEN" in run.stderr and "not set" in run.stderr, run
    assert "configuration ok" not in run.output
    assert_nothing_received(server)


# -- 7. protected environment -----------------------------------------------------------------------


def test_protected_environment_stops_without_allow_protected(generated, server, rundir):
    run = run_locust(generated["shop_prod_mx"], rundir, env=TOKEN)

    assert run.returncode == 2, run
    assert "--allow-protected" in run.stderr and "protected" in run.stderr, run
    assert_nothing_received(server)
    assert list(rundir.rglob("*.html")) == []


def test_protected_environment_check_config_needs_allow_protected(generated, server, rundir):
    refused = run_locust(generated["shop_prod_mx"], rundir, "--check-config", env=TOKEN)
    allowed = run_locust(
        generated["shop_prod_mx"], rundir, "--check-config", "--allow-protected", env=TOKEN
    )

    assert refused.returncode == 2 and "--allow-protected" in refused.stderr, refused
    assert allowed.returncode == 0, allowed
    assert "shop_prod_mx: configuration ok, no request sent" in allowed.stdout
    assert_nothing_received(server)


@pytest.mark.parametrize(
    "args, env",
    [(["--allow-protected"], {}), ([], {"LOCUST_ALLOW_PROTECTED": "true"})],
    ids=["flag", "env"],
)
def test_protected_environment_runs_with_allow_protected(generated, server, rundir, args, env):
    run = run_locust(generated["shop_prod_mx"], rundir, "-t", "1s", *args, env={**TOKEN, **env})

    assert run.returncode == 0, run
    assert server.count() > 0
    assert "  protected   yes" in run.stderr
    report_text(rundir / "reports" / "shop_prod_mx" / "report.html")


# -- 8. limits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, env, named",
    [
        (["-u", "6"], {}, "max_users 5"),
        ([], {"LOCUST_USERS": "6"}, "max_users 5"),
        (["-r", "51"], {}, "max_spawn_rate 50"),
        (["-t", "2m"], {}, "max_run_time 1m"),
        (["-t", "61s"], {}, "max_run_time 1m"),
        (["-u", "-5"], {}, "users -5 must be 0 or more"),
    ],
    ids=[
        "users-cli",
        "users-env",
        "spawn_rate",
        "run_time",
        "run_time-just-above",
        "negative-users",
    ],
)
def test_limits_stop_the_run_before_any_load(generated, server, rundir, args, env, named):
    run = run_locust(generated["shop_local_mx"], rundir, *args, env={**TOKEN, **env})

    assert run.returncode == 2, run
    assert named in run.stderr and "no request sent" in run.stderr, run
    assert_nothing_received(server)


def test_run_time_zero_is_not_a_way_around_max_run_time(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "0", env=TOKEN, timeout=6)

    assert run.returncode == 2, run
    assert "max_run_time" in run.stderr, run
    assert_nothing_received(server)


def test_limits_allow_values_at_the_limit(generated, server, rundir):
    run = run_locust(
        generated["shop_local_mx"], rundir, "-u", "5", "-r", "50", "-t", "1s", env=TOKEN
    )

    assert run.returncode == 0, run
    assert len(server.connections()) == 5


# -- 9. a missing ${env:NAME} -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_limits_hold_when_users_are_added_during_the_run(generated, server, rundir):
    """The web UI's form (like the w/W keys) asks the runner for more users: they are capped."""
    import urllib.parse
    import urllib.request

    port = free_port()
    locust = Locust(
        generated["shop_local_mx"],
        rundir,
        "--headful",
        "--web-host",
        "127.0.0.1",
        "--web-port",
        str(port),
        env=TOKEN,
    )
    try:
        form = urllib.parse.urlencode({"user_count": 50, "spawn_rate": 100, "host": server.url})
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/swarm", form.encode(), timeout=5
                )
                break
            except OSError:
                assert time.monotonic() < deadline, "the web UI did not start"
                time.sleep(0.2)
        assert json.loads(answer.read())["success"] is True
        assert server.wait_for(200, timeout=15)
        time.sleep(1)  # users spawn at up to 50/s: more than 5 would be here by now
    finally:
        locust.send_signal(signal.SIGTERM)
        run = locust.wait(timeout=30)
    assert len(server.connections()) == LOCAL_LIMITS["max_users"], run
    assert "users 50 capped at environment local's limit 5" in run.stderr, run
    assert "spawn_rate 100.0 capped at environment local's limit 50" in run.stderr, run


def web_ui(locustfile: Path, cwd: Path, port: int, *args: str, env=None) -> Locust:
    return Locust(
        locustfile,
        cwd,
        "--headful",
        "--web-host",
        "127.0.0.1",
        "--web-port",
        str(port),
        *args,
        env=env,
    )


def post(port: int, path: str, form: dict | None = None, wait: float = 20) -> dict:
    """POST to the web UI, waiting for it to come up."""
    import urllib.parse
    import urllib.request

    data = urllib.parse.urlencode(form or {}).encode()
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}{path}", data, timeout=5
            ) as answer:
                return json.loads(answer.read() or b"{}")
        except OSError:
            assert time.monotonic() < deadline, f"the web UI did not answer {path}"
            time.sleep(0.2)


def test_max_run_time_holds_for_a_run_started_in_the_web_ui(server, tmp_path):
    catalog = write_inputs(
        tmp_path / "in",
        server.port,
        {"mix": MIX},
        {"mix": {"environments": ["local"], "countries": ["mx"]}},
    )
    data = json.loads(catalog.read_text())
    data["environments"]["local"]["limits"]["max_run_time"] = "2s"
    catalog.write_text(json.dumps(data))
    files = compile_inputs(catalog, tmp_path / "out")
    port = free_port()
    locust = web_ui(files["mix_local_mx"], tmp_path / "run", port, "-t", "2s")
    try:
        assert post(
            port, "/swarm", {"user_count": 1, "spawn_rate": 1, "host": server.url, "run_time": "1h"}
        )["success"]
        assert server.wait_for(10, timeout=10)
        time.sleep(3.5)  # 2s after the start, the run must have stopped
        count = server.count()
        time.sleep(1)
        assert server.count() == count, "requests still arrive after max_run_time"
    finally:
        locust.send_signal(signal.SIGTERM)
        run = locust.wait(timeout=30)
    assert "environment local's max_run_time 2s reached: stopping" in run.stderr, run


def test_a_second_run_in_one_process_repeats_the_first(generated, server, rundir):
    """The spawn counter restarts with every run: same seed, same users, same requests."""
    port = free_port()
    locust = web_ui(generated["mix_local_mx"], rundir, port)
    streams = []
    try:
        for _ in range(2):
            server.clear()
            assert post(port, "/swarm", {"user_count": 1, "spawn_rate": 1, "host": server.url})[
                "success"
            ]
            assert server.wait_for(SEQUENCE_LENGTH, timeout=10)
            post(port, "/stop")
            time.sleep(0.5)
            streams.append([r.path for r in server.received()[:SEQUENCE_LENGTH]])
    finally:
        locust.send_signal(signal.SIGTERM)
        locust.wait(timeout=30)
    assert streams[0] == streams[1]
    assert len(set(streams[0])) > 1


def test_an_endpoint_header_overrides_a_simulation_header_of_any_case(server, tmp_path):
    simulation = {
        "host": "http://${domain}",
        "users": 1,
        "spawn_rate": 1,
        "run_time": "1s",
        "headers": {"Accept-Language": "${locale}", "X-Kept": "yes"},
        "endpoints": [{"name": "home", "path": "/", "headers": {"accept-language": "xx"}}],
    }
    catalog = write_inputs(
        tmp_path / "in",
        server.port,
        {"hdr": simulation},
        {"hdr": {"environments": ["local"], "countries": ["mx"]}},
    )
    files = compile_inputs(catalog, tmp_path / "out")
    run = run_locust(files["hdr_local_mx"], tmp_path / "run")
    assert run.returncode == 0, run
    received = server.received()
    assert received and {r.header("Accept-Language") for r in received} == {"xx"}
    assert {r.header("X-Kept") for r in received} == {"yes"}


def test_missing_environment_variable_stops_the_run(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s")

    assert run.returncode == 2, run
    assert "APP_TOKEN" in run.stderr and "no request sent" in run.stderr, run
    assert_nothing_received(server)
    assert list(rundir.rglob("*.html")) == []


def test_empty_environment_variable_is_not_missing(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", env={"APP_TOKEN": ""})

    assert run.returncode == 0, run
    assert {request.header("Authorization") for request in server.received()} == {"Bearer "}


# -- 10. exit codes ---------------------------------------------------------------------------------------


def test_server_errors_make_the_run_fail(generated, server, rundir):
    server.set_status("GET", "/search", 500)
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", env=TOKEN)

    assert run.returncode == 1, run
    assert any(request.path == "/search" for request in server.received())
    assert re.search(r"^GET +search +\d+ +\d+\(100\.00%\)", run.output, re.M), run


def test_expected_status_counts_as_success(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", env=TOKEN)  # POST /cart -> 201

    assert run.returncode == 0, run
    assert any(request.path == "/cart" for request in server.received())
    assert re.search(r"^POST +add_to_cart +\d+ +0\(0\.00%\)", run.output, re.M), run


def test_unexpected_status_counts_as_failure(generated, server, rundir):
    server.set_status(
        "POST", "/cart", 200
    )  # a success by Locust's rule, not by expect_status [201]
    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", env=TOKEN)

    assert run.returncode == 1, run
    assert any(request.path == "/cart" for request in server.received())
    assert re.search(r"^POST +add_to_cart +\d+ +\d+\(100\.00%\)", run.output, re.M), run
    assert "status 200, expected one of [201]" in run.output


# -- 11. the report survives an interruption -----------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_report_is_written_when_interrupted(generated, server, rundir, signum):
    locust = Locust(generated["shop_local_mx"], rundir, "-t", "60s", env=TOKEN)
    try:
        assert server.wait_for(30, timeout=30), "the run did not start"
        locust.send_signal(signum)
        interrupted = time.monotonic()
        run = locust.wait(timeout=15)
    finally:
        locust.kill()
    assert locust.exited - interrupted < 5, run
    assert run.returncode == 0, run
    folder = rundir / "reports" / "shop_local_mx"
    report = report_text(folder / "report.html")
    assert "home" in report and "search" in report
    assert list(folder.iterdir()) == [folder / "report.html"]  # no partial file left behind


SLOW_FINALIZERS = """
import time

import gevent
from locust import events


class SlowFinalizer:
    def __del__(self):  # Python's default SIGINT handler would raise KeyboardInterrupt in here, lost
        deadline = time.perf_counter() + 0.05
        while time.perf_counter() < deadline:
            pass


def churn():
    while True:
        SlowFinalizer()
        gevent.sleep(0.001)


@events.test_start.add_listener
def start_churning(**_kwargs):
    gevent.spawn(churn)
"""


def test_ctrl_c_is_not_lost_in_a_finalizer(generated, server, rundir):
    """A KeyboardInterrupt raised inside a __del__ is only printed and ignored (CI saw this once,
    in geventhttpclient's response finalizer): the run went on. The process here spends most of
    its time in finalizers, so a lost interrupt would show every time."""
    probe = rundir / "slow_finalizers.py"
    rundir.mkdir(parents=True, exist_ok=True)
    probe.write_text(SLOW_FINALIZERS)
    locust = Locust(f"{generated['shop_local_mx']},{probe}", rundir, "-t", "60s", env=TOKEN)
    try:
        assert server.wait_for(10, timeout=30), "the run did not start"
        time.sleep(0.5)
        locust.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        run = locust.wait(timeout=15)
    finally:
        locust.kill()
    assert locust.exited - interrupted < 5, run
    assert run.returncode == 0, run
    assert "home" in report_text(rundir / "reports" / "shop_local_mx" / "report.html")
    assert "Traceback" not in run.output, run


SLOW_SHUTDOWN = """
import gevent
from locust import events


@events.quitting.add_listener
def take_a_while(**_kwargs):
    gevent.sleep(10)
"""


def test_a_second_ctrl_c_exits_at_once(generated, server, rundir):
    """The first Ctrl-C stops the run; one more while the shutdown is slow ends the process."""
    probe = rundir / "slow_shutdown.py"
    rundir.mkdir(parents=True, exist_ok=True)
    probe.write_text(SLOW_SHUTDOWN)
    locust = Locust(f"{generated['shop_local_mx']},{probe}", rundir, "-t", "60s", env=TOKEN)
    try:
        assert server.wait_for(10, timeout=30), "the run did not start"
        locust.send_signal(signal.SIGINT)
        time.sleep(1)
        assert locust.process.poll() is None, "the shutdown was not slow: the test proves nothing"
        locust.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        run = locust.wait(timeout=15)
    finally:
        locust.kill()
    assert locust.exited - interrupted < 2, run
    assert run.returncode == 130, run
    assert "interrupted again: exiting now" in run.stderr, run
    assert "Traceback" not in run.output, run


def test_distributed_report_is_written_on_ctrl_c(generated, server, rundir):
    """Ctrl-C in a terminal: SIGINT to the whole process group, the master and its workers."""
    locust = Locust(generated["shop_local_mx"], rundir, *processes(2), "-t", "60s", env=TOKEN)
    try:
        assert server.wait_for(30, timeout=30), "the run did not start"
        os.killpg(locust.process.pid, signal.SIGINT)
        interrupted = time.monotonic()
        run = locust.wait(timeout=15)
    finally:
        locust.kill()
    assert locust.exited - interrupted < 5, run
    assert run.returncode == 0 and not run.stragglers, run
    report = report_text(rundir / "reports" / "shop_local_mx" / "report.html")
    # Every request the workers sent is in the report, their last seconds included.
    counted = re.search(r'"name": "Aggregated", "num_failures": \d+, "num_requests": (\d+)', report)
    assert counted and int(counted.group(1)) == server.count(), (counted, server.count())


# -- 12. distributed mode ------------------------------------------------------------------------------------


def processes(count: int) -> list[str]:
    """`--processes COUNT` on a free port of its own (not Locust's 5557, which another run may hold)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    return [
        "--processes",
        str(count),
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        port,
        "--master-port",
        port,
    ]


def test_distributed_run_with_processes(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, *processes(2), "-t", "3s", env=TOKEN)

    assert run.returncode == 0, run
    assert not run.stragglers, run
    assert "2 workers connected" in run.stderr
    assert_shop_requests(server.received(), "mx")
    assert len(server.connections()) == 3  # the template's users, spread over the workers
    assert (
        run.stderr.count("Simulation shop_local_mx (") == 1
    )  # the master prints the configuration
    report = report_text(rundir / "reports" / "shop_local_mx" / "report.html")
    assert "add_to_cart" in report
    assert sorted(p.name for p in rundir.rglob("*") if p.is_file()) == ["report.html"]


def test_distributed_missing_variable_stops_before_any_load(generated, server, rundir):
    run = run_locust(generated["shop_local_mx"], rundir, *processes(2), "-t", "2s")

    assert run.returncode == 2, run
    assert "APP_TOKEN" in run.stderr, run
    assert_nothing_received(server)
    # Not asserted: that no worker outlives the master. Here a worker that connects before the
    # master exits stops by itself (exit 2), one that does not is orphaned: the bug that
    # test_distributed_refusal_leaves_no_process_behind shows deterministically.


def test_distributed_seeding_depends_on_seed_worker_and_user(generated, server, rundir):
    """Two workers, one user each: two streams, (5, worker 0, user 0) and (5, worker 1, user 0).

    Which worker process gets which index is Locust's choice; the pair of streams is not.
    """
    runs = []
    for _ in range(2):
        server.reset()
        run = run_locust(
            generated["mix_local_mx"], rundir, *processes(2), "-u", "2", "-t", "1s", "--seed", "5"
        )
        assert run.returncode == 0, run
        assert not run.stragglers, run
        runs.append(sorted(sequences(server, SEQUENCE_LENGTH)))
    assert len(runs[0]) == 2 and runs[0][0] != runs[0][1], "the worker index must change the stream"
    assert runs[0] == runs[1]


def test_separate_worker_takes_the_seed_from_the_master(generated, server, tmp_path):
    """A worker started on its own, without --seed, draws the stream of the master's --seed."""
    forked = run_locust(
        generated["mix_local_mx"],
        tmp_path / "forked",
        *processes(1),
        "-u",
        "1",
        "-t",
        "1s",
        "--seed",
        "5",
    )
    assert forked.returncode == 0 and not forked.stragglers, forked
    expected = sequences(server, SEQUENCE_LENGTH)
    server.reset()

    port = processes(1)[-1]
    master = Locust(
        generated["mix_local_mx"], tmp_path / "master", "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--expect-workers", "1", "-u", "1", "-t", "1s", "--seed", "5",
    )  # fmt: skip
    worker = Locust(
        generated["mix_local_mx"], tmp_path / "worker", "--worker", "--master-port", port
    )
    try:
        master_run, worker_run = master.wait(timeout=30), worker.wait(timeout=30)
    finally:
        master.kill()
        worker.kill()
    assert master_run.returncode == 0, master_run
    assert worker_run.returncode == 0, worker_run
    assert sequences(server, SEQUENCE_LENGTH) == expected  # (seed 5, worker 0, user 0) both times


@pytest.mark.parametrize(
    "target, args, returncode",
    [("shop_local_mx", ["--check-config"], 0), ("shop_prod_mx", ["-t", "2s"], 2)],
    ids=["check-config", "protected"],
)
def test_distributed_refusal_leaves_no_process_behind(
    generated, server, rundir, target, args, returncode
):
    run = run_locust(generated[target], rundir, *processes(2), *args, env=TOKEN)

    assert run.returncode == returncode, run
    assert_nothing_received(server)
    assert not run.stragglers, "worker processes still running 5s after locust exited"


# -- 13. the requests client -------------------------------------------------------------------------------


def test_requests_client_sends_the_same_requests(generated, server, rundir):
    run = run_locust(generated["reqs_local_mx"], rundir, env=TOKEN)

    assert run.returncode == 0, run
    assert config_value(run.stderr, "run_time") == ("1s", "template")
    assert "  client      HttpUser" in run.stderr
    received = server.received()
    assert {request.header("User-Agent").split("/")[0] for request in received} == {
        "python-requests"
    }
    assert_shop_requests(received, "mx", service="reqs")
