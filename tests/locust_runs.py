"""Shared infrastructure of the tests that run generated locustfiles with real Locust.

Not a test module. It holds the inputs (the catalog's environments and countries, the SHOP,
MIX, NOSEED and REQS simulations, the run-time SECRET and the TOKEN environment that carries
it), writing and compiling them (write_inputs, compile_inputs), running
`locust -f <generated file> ...` as a subprocess in a fresh folder with a clean environment
(Locust, run_locust, Run, processes) and the assertions on what a run printed or what a
recording server received (config_value, assert_nothing_received, sequences, report_text,
assert_shop_requests). The fixtures built on it (shared_server, server, make_server,
generated, rundir) are in conftest.py; the tests are in tests/test_run_*.py and a few other
modules. Every host here is a recording server's on 127.0.0.1: nothing else is contacted.
"""

from __future__ import annotations

import json
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
TOKEN = {"APP_TOKEN": SECRET}  # what a run of the SHOP targets needs in its environment
SEQUENCE_LENGTH = 40  # requests compared between seeded runs


# -- inputs, compiling and running ---------------------------------------------------------------


def write_inputs(
    folder: Path, port: int, simulations: dict[str, dict], apps: dict[str, dict]
) -> Path:
    """A catalog whose environments all point at 127.0.0.1:<port>, and its simulations.

    `local` has limits; `prod` has limits and is protected; its host says localhost, not 127.0.0.1. `apps` maps an app name to its
    catalog entry without `simulation` (taken as simulations/<app>.json from `simulations`).
    """
    catalog = {
        "environments": {  # the same server, under two names: a protected host is its own origin
            "local": {"vars": {"domain": f"127.0.0.1:{port}"}, "limits": LOCAL_LIMITS},
            "prod": {"vars": {"domain": f"localhost:{port}"}, "limits": PROD_LIMITS, "protected": True},
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

    def __enter__(self) -> "Locust":
        return self

    def __exit__(self, *_exc) -> None:
        self.kill()

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def interrupt(self, signum: int, group: bool = False, timeout: float = 15) -> tuple[Run, float]:
        """Send `signum` to locust (or to its whole process group, as a terminal's Ctrl-C does),
        wait for it to exit: the run, and the seconds from the signal to the exit."""
        if group:
            os.killpg(self.process.pid, signum)
        else:
            self.send_signal(signum)
        sent = time.monotonic()
        run = self.wait(timeout=timeout)
        return run, self.exited - sent

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


def run_folder_of(folder: Path) -> Path:
    """The newest run folder a plain `locust -f` made in `folder` (the template's report path's
    folder): <UTC time>/ with report.html and run.json."""
    runs = sorted(p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", p.name))
    assert runs, f"no run folder in {folder}: {sorted(p.name for p in folder.iterdir())}"
    return runs[-1]


def report_text(path: Path) -> str:
    assert path.is_file(), f"no report at {path}"
    text = path.read_text(encoding="utf-8")
    assert "<html" in text.lower() and "</html>" in text.lower(), text[:500]
    return text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


# -- what the shop targets send --------------------------------------------------------------------

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
