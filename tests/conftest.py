"""Shared fixtures: small catalogs and simulations written into a temporary folder."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

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
