"""docs/IMPORT.md's walk-through, run: the bundled service's own OpenAPI document (served at
GET /openapi.yaml) and the HAR recorded from it (tests/fixtures/import/shop-journey.har, made
by tools/record_har.py) imported into a catalog like data/'s, compiled, and run green against a
freshly started tools/target_service.py on 127.0.0.1: a new process, whose tokens and cart ids
the recording never saw, so the journey passes only if its captures work."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from locust_runs import compile_inputs, run_locust
from test_import import SEQUENTIAL_ONCE
from test_target_service import Service

ROOT = Path(__file__).resolve().parent.parent
JOURNEY = Path(__file__).resolve().parent / "fixtures" / "import" / "shop-journey.har"


@pytest.fixture(scope="module")
def service():
    started = Service()
    try:
        yield started
    finally:
        started.stop()


def catalog_for(tmp_path: Path, service: Service) -> Path:
    folder = tmp_path / "data"
    (folder / "simulations").mkdir(parents=True)
    catalog = {
        "environments": {"local": {"vars": {"domain": f"127.0.0.1:{service.port}"}}},
        "countries": {"mx": {"vars": {"currency": "MXN"}}},
        "apps": {},
    }
    (folder / "catalog.json").write_text(json.dumps(catalog, indent=2) + "\n")
    return folder / "catalog.json"


def simc(catalog: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", "--catalog", str(catalog), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip


def short(simulation: Path, **changes) -> None:
    data = json.loads(simulation.read_text())
    data.update({"users": 1, "spawn_rate": 10, "run_time": "30s", **changes})  # a cap: one iteration ends the run
    simulation.write_text(json.dumps(data, indent=2))


def test_the_services_own_openapi_document_runs_green_against_it(tmp_path, service):
    document = tmp_path / "openapi.yaml"
    with urllib.request.urlopen(service.url + "/openapi.yaml", timeout=10) as answer:
        document.write_bytes(answer.read())
    catalog = catalog_for(tmp_path, service)
    imported = simc(catalog, "import", "openapi", str(document), "--app", "localshop", "--host", service.url,
                    "--catalog-entry", "local", "mx")  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "  LOCALSHOP_PASSWORD: the body field password (the document's example is not sent)" in imported.stdout
    simulation = catalog.parent / "simulations" / "localshop.json"
    assert "demo-password" not in simulation.read_text()
    short(simulation, think_time_seconds=0)
    files = compile_inputs(catalog, tmp_path / "generated")
    run = run_locust(files["localshop_local_mx"], tmp_path / "run", *SEQUENTIAL_ONCE, env={"LOCALSHOP_PASSWORD": "pw"})

    assert run.returncode == 0, run
    names = [e["name"] for e in json.loads(simulation.read_text())["endpoints"]]
    assert len(names) == 9
    assert requests_by_name(run.stderr) == {name: (1, 0) for name in names}, run.stderr[-3000:]  # every operation once, none failed


def requests_by_name(output: str) -> dict[str, tuple[int, int]]:
    """name -> (requests, failures) of the run's statistics table (the last one printed wins)."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) +(\S+) +(\d+) +(\d+)\(", line)
        if match:
            found[match.group(2)] = (int(match.group(3)), int(match.group(4)))
    return found


def test_a_recorded_journey_runs_green_against_a_new_service(tmp_path, service):
    catalog = catalog_for(tmp_path, service)
    imported = simc(catalog, "import", "har", str(JOURNEY), "--app", "shopper", "--host", service.url, "--pauses",
                    "--catalog-entry", "local", "mx")  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    simulation = catalog.parent / "simulations" / "shopper.json"
    steps = json.loads(simulation.read_text())["flows"][0]["steps"]
    assert [s.get("path") for s in steps if "path" in s] == ["/login", "/products", "/cart", "/cart/${capture:cart}/pay"]
    short(simulation, run_time="30s")
    files = compile_inputs(catalog, tmp_path / "generated")
    run = run_locust(files["shopper_local_mx"], tmp_path / "run", *SEQUENTIAL_ONCE, env={"SHOPPER_PASSWORD": "any-password"})

    assert run.returncode == 0, run
    names = ("post_login", "get_products", "post_cart", "post_cart_1_pay")
    assert requests_by_name(run.stderr) == {name: (1, 0) for name in names}  # the journey once, none failed
