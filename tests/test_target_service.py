"""The bundled target service (tools/target_service.py) and the README's quickstart.

The service is what `make demo` and the quickstart run against, so it must answer every
(method, path) of the demo data's `local` targets, and the quickstart's `/product/${sku}`, with a
status those endpoints accept. The quickstart itself is replayed on a copy of data/ and
generated/: add country `pe` and endpoint `product`, validate, compile, and run the new
`app_local_pe` file with real Locust against the real service on a port of its own.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from compiler.problems import Problems
from compiler.resolve import resolve_all
from compiler.targets import compatible_targets
from compiler.validate import load_inputs
from locust_runs import run_locust

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
LISTENING = "target service: listening on http://127.0.0.1:"

# The quickstart's edits, as the README writes them (test_the_readme_shows_these_edits).
PE_COUNTRY = '"pe": {"vars": {"locale": "es-PE", "currency": "PEN"}}'
PRODUCT_ENDPOINT = '{"name": "product", "path": "/product/${sku}", "weight": 2}'
SKU_VARS = '"vars": {"sku": "A1"}'
COMPILED = "generated: 18 written, 0 unchanged, 0 removed"  # a new protected host: every file


class Service:
    """`python tools/target_service.py --port 0`: the real service, on a free port it reports."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "target_service.py"), "--port", "0", "--seconds", "120"],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        assert line.startswith(LISTENING), line
        self.port = int(line[len(LISTENING) :].split()[0])
        self.url = f"http://127.0.0.1:{self.port}"

    def status(self, method: str, path: str, body: bytes | None = None) -> int:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def service():
    started = Service()
    try:
        yield started
    finally:
        started.stop()


def demo_local_endpoints() -> list[tuple[str, str, str, tuple[int, ...]]]:
    """(target, method, path, expect_status) of every endpoint of the demo data's local targets."""
    problems = Problems()
    inputs = load_inputs(ROOT / "data" / "catalog.json", problems)
    refs = [ref for ref in compatible_targets(inputs.catalog.data) if ref.environment == "local"]
    targets = resolve_all(inputs, refs, problems)
    assert not problems.errors, problems.items
    return [
        (target.name, endpoint.method, endpoint.path, endpoint.expect_status)
        for target in targets
        for endpoint in target.endpoints
    ]


def test_the_demo_has_local_targets_of_every_app():
    names = {target for target, *_ in demo_local_endpoints()}
    assert {name.split("_")[0] for name in names} == {"app", "payments"}, names
    assert "app_local_mx" in names  # the one `make demo` runs


@pytest.mark.parametrize(
    "target, method, path, expect_status",
    demo_local_endpoints() + [("quickstart", "GET", "/product/A1", ())],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_the_service_answers_every_local_endpoint(service, target, method, path, expect_status):
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    status = service.status(method, path, body)
    if expect_status:
        assert status in expect_status, (target, method, path, status)
    else:
        assert 200 <= status < 300, (target, method, path, status)


def test_an_unknown_path_is_still_a_404(service):
    assert service.status("GET", "/nowhere") == 404
    assert service.status("GET", "/product/") == 404  # a product needs a name
    assert service.status("DELETE", "/product/A1") == 404


def test_the_readme_shows_these_edits():
    for text in (PE_COUNTRY, PRODUCT_ENDPOINT, SKU_VARS, COMPILED, "git status generated/"):
        assert text in README, text


def test_the_quickstart_runs_green_against_the_service(service, tmp_path):
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "data", work / "data", ignore=shutil.ignore_patterns("results"))
    shutil.copytree(ROOT / "generated", work / "generated")

    catalog_path = work / "data" / "catalog.json"
    catalog = json.loads(catalog_path.read_text())
    catalog["countries"].update(json.loads("{" + PE_COUNTRY + "}"))
    catalog["apps"]["app"]["countries"].append("pe")
    catalog_path.write_text(json.dumps(catalog, indent=2))
    simulation_path = work / "data" / "simulations" / "app.json"
    simulation = json.loads(simulation_path.read_text())
    simulation["endpoints"].append(json.loads(PRODUCT_ENDPOINT))
    simulation.update(json.loads("{" + SKU_VARS + "}"))
    simulation_path.write_text(json.dumps(simulation, indent=2))

    def compiler(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "compiler", *args],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
        )

    validated = compiler("validate")
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.strip() == "data/catalog.json: valid (2 simulation(s), 18 target(s))"
    compiled = compiler("compile")
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.strip() == COMPILED
    locustfile = work / "generated" / "app_local_pe.py"
    assert '"/product/A1"' in locustfile.read_text()

    run = run_locust(
        locustfile, work, "-H", service.url, "-t", "3s", "-u", "2", env={"APP_TOKEN": "demo-token"}
    )

    assert run.returncode == 0, run
    counts = {
        name: (int(requests), int(failures))
        for name, requests, failures in re.findall(
            r"^(?:GET|POST) +(\w+) +(\d+) +(\d+)\(", run.output, re.M
        )
    }
    assert set(counts) == {"home", "search", "add_to_cart", "product"}, run
    assert counts["product"][0] > 0 and all(failures == 0 for _, failures in counts.values()), counts
    assert (work / "data" / "results" / "app_local_pe" / "report.html").is_file()
