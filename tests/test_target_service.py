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
COMPILED = "generated: 30 written, 0 unchanged, 0 removed"  # a new protected host: every file


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

    def status(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> int:
        return self.call(method, path, body, headers)[0]

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict, object]:
        """(status, headers, the answer's JSON document) of one real HTTP request."""
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, dict(answer.headers), json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    def login(self, email: str = "ana@shop.example.test") -> dict:
        """The Authorization header of a user who logged in."""
        status, _, answer = self.call("POST", "/login", json.dumps({"email": email, "password": "pw"}).encode())
        assert status == 200, answer
        return {"Authorization": f"Bearer {answer['token']}"}

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
    assert validated.stdout.strip() == "data/catalog.json: valid (3 simulation(s), 30 target(s))"
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


# -- the shop journey: POST /login, GET /products, POST /cart, POST /cart/<id>/pay ---------------


def post_json(service, path, document, headers=None):
    return service.call("POST", path, json.dumps(document).encode(), {"Content-Type": "application/json", **(headers or {})})


def test_login_answers_a_token_derived_from_the_email(service):
    first = post_json(service, "/login", {"email": "ana@shop.example.test", "password": "pw"})
    again = post_json(service, "/login", {"email": "ana@shop.example.test", "password": "other"})
    other = post_json(service, "/login", {"email": "bo@shop.example.test", "password": "pw"})
    assert first[0] == again[0] == other[0] == 200
    assert first[2]["token"] == again[2]["token"] != other[2]["token"]
    assert "ana@shop" not in first[2]["token"]  # opaque, not the email in clear


@pytest.mark.parametrize(
    "body",
    [{"email": "ana@shop.example.test"}, {"password": "pw"}, {"email": "", "password": "pw"}, {}, []],
    ids=["no password", "no email", "empty email", "empty object", "not an object"],
)
def test_login_without_email_or_password_is_a_401(service, body):
    assert post_json(service, "/login", body)[0] == 401


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer demo-token", "Bearer st1.YW5hQHNob3AuZXhhbXBsZS50ZXN0.00", "Basic YTpi"],
    ids=["none", "not issued", "forged", "not bearer"],
)
def test_the_journey_routes_need_a_token_the_service_issued(service, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    assert service.status("GET", "/products?country=mx", headers=headers) == 401
    assert service.status("POST", "/cart/1/pay", b"method=card", headers) == 401
    if authorization and authorization.startswith("Bearer st1."):  # claims to be one of its tokens
        assert post_json(service, "/cart", {"sku": "MX-TENIS-01", "qty": 1, "currency": "MXN"}, headers)[0] == 401


def test_post_cart_without_a_shop_token_is_still_the_demo_route(service):
    """The `app` simulation's add_to_cart posts to /cart with its own ${env:APP_TOKEN}."""
    status, _, answer = post_json(service, "/cart", {"sku": "A1", "quantity": 1}, {"Authorization": "Bearer demo-token"})
    assert (status, answer) == (201, {"ok": True, "path": "/cart"})


def test_products_list_a_few_fixed_products_per_country(service):
    auth = service.login()
    seen = {}
    for country in ("mx", "co", "br"):
        status, _, answer = service.call("GET", f"/products?country={country}", headers=auth)
        assert status == 200 and answer["country"] == country
        assert len(answer["items"]) >= 2
        assert all(set(item) == {"sku", "name", "price"} for item in answer["items"])
        seen[country] = answer["items"]
    assert service.call("GET", "/products?country=mx", headers=auth)[2]["items"] == seen["mx"]  # fixed
    assert seen["mx"][0]["sku"] != seen["co"][0]["sku"]
    assert service.status("GET", "/products?country=zz", headers=auth) == 400
    assert service.status("GET", "/products", headers=auth) == 400


def test_the_whole_journey_with_its_captures(service):
    """Log in, capture the token; list, capture $.items[0].sku; add it, capture X-Cart-Id; pay."""
    token = post_json(service, "/login", {"email": "carla@shop.example.test", "password": "pw"})[2]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    sku = service.call("GET", "/products?country=co", headers=auth)[2]["items"][0]["sku"]

    status, headers, cart = post_json(service, "/cart", {"sku": sku, "qty": 2, "currency": "COP"}, auth)
    assert status == 201
    assert cart["currency"] == "COP" and cart["sku"] == sku
    assert headers["X-Cart-Id"] == str(cart["cart"])

    path = f"/cart/{headers['X-Cart-Id']}/pay"
    form = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    status, _, paid = service.call("POST", path, b"method=card", form)
    assert (status, paid) == (200, {"status": "paid", "cart": headers["X-Cart-Id"]})
    assert service.call("POST", path, b"method=card", form)[0] == 409  # paid once


def test_the_cart_refuses_what_it_cannot_sell(service):
    auth = service.login()
    assert post_json(service, "/cart", {"sku": "NOPE", "qty": 1, "currency": "MXN"}, auth)[0] == 400
    assert post_json(service, "/cart", {"sku": "MX-TENIS-01", "qty": 0, "currency": "MXN"}, auth)[0] == 400
    assert post_json(service, "/cart", {"sku": "MX-TENIS-01", "qty": 1}, auth)[0] == 400
    assert service.status("POST", "/cart", b"not json", auth) == 400


def test_pay_needs_a_cart_of_the_same_user_and_a_method(service):
    ana, bo = service.login("ana@shop.example.test"), service.login("bo@shop.example.test")
    cart = post_json(service, "/cart", {"sku": "BR-TENIS-01", "qty": 1, "currency": "BRL"}, ana)[1]["X-Cart-Id"]
    assert service.status("POST", "/cart/999999/pay", b"method=card", ana) == 404
    assert service.status("POST", f"/cart/{cart}/pay", b"method=card", bo) == 404  # not bo's cart
    assert service.status("POST", f"/cart/{cart}/pay", b"method=bitcoin", ana) == 400
    assert service.status("POST", f"/cart/{cart}/pay", b"", ana) == 400
    assert service.status("POST", f"/cart/{cart}/pay", b"method=cash", ana) == 200
