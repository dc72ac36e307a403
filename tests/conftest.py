"""Shared fixtures: small catalogs and simulations written into a temporary folder."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The suite's own copy of the sample project (data/ and its generated/, the golden record), frozen
# so that a user's edits to the live data/ never fail a test of the product; `make golden`
# regenerates its generated/ after a change of the compiler or of the sample.
SAMPLE = ROOT / "tests" / "sample"

CATALOG = {
    "environments": {
        "qa": {"vars": {"domain": "qa.example.test"}, "limits": {"max_users": 50, "max_spawn_rate": 10, "max_run_time": "10m"}},
        "prod": {"vars": {"domain": "example.com"}, "limits": {"max_users": 5}, "protected": True},
    },
    "countries": {"mx": {"vars": {"locale": "es-MX", "currency": "MXN"}}, "br": {"vars": {"locale": "pt-BR", "currency": "BRL"}}},
    "apps": {
        "shop": {
            "simulation": "simulations/shop.json",
            "environments": ["qa", "prod"],
            "countries": ["mx", "br"],
            "exclude": [{"environment": "prod", "country": "br"}],
            "vars": {"service": "shop"},
        }
    },
}

SIMULATION = {
    "host": "https://${country}.${domain}",
    "users": 4,
    "spawn_rate": 2,
    "run_time": "1m",
    "seed": 3,
    "headers": {"Accept-Language": "${locale}", "Authorization": "Bearer ${env:SHOP_TOKEN}"},
    "endpoints": [
        {"name": "home", "path": "/", "weight": 3},
        {"name": "cart", "method": "POST", "path": "/cart", "json": {"currency": "${currency}"}},
    ],
}


class Project:
    """A catalog and its simulations in a temporary folder, and a way to run the compiler on them."""

    def __init__(self, folder: Path, catalog: dict, simulations: dict[str, dict]):
        self.folder = folder
        self.catalog_path = folder / "catalog.json"
        self.catalog = catalog
        self.simulations = simulations
        self.save()

    def save(self) -> None:
        self.catalog_path.write_text(json.dumps(self.catalog, indent=2))
        for relative, data in self.simulations.items():
            path = self.folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2))

    def cli(self, *args: str) -> tuple[int, str, str]:
        """The compiler's main() in this process, from the project's folder: (code, stdout, stderr)."""
        import contextlib
        import io
        import os

        from compiler.cli import main

        out, err, before = io.StringIO(), io.StringIO(), os.getcwd()
        os.chdir(self.folder)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["--catalog", str(self.catalog_path), *args])
        finally:
            os.chdir(before)
        return code, out.getvalue(), err.getvalue()

    def run(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """`python -m compiler --catalog <this catalog> ARGS`, from the project's folder."""
        import os

        return subprocess.run(
            [sys.executable, "-m", "compiler", "--catalog", str(self.catalog_path), *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )


@pytest.fixture
def project(tmp_path: Path):
    """A factory: project(catalog_changes=..., simulation=...) -> Project."""

    def make(catalog: dict | None = None, simulation: dict | None = None) -> Project:
        return Project(
            tmp_path,
            copy.deepcopy(catalog if catalog is not None else CATALOG),
            {"simulations/shop.json": copy.deepcopy(simulation if simulation is not None else SIMULATION)},
        )

    return make


# -- recording servers, compiled targets and run folders (tests that run Locust) -------------------

from locust_runs import (  # noqa: E402
    MIX,
    NOSEED,
    REQS,
    SECRET,
    SHOP,
    STATUSES,
    compile_inputs,
    write_inputs,
)
from recording_server import RecordingServer  # noqa: E402


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
