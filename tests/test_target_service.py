"""The bundled target service (tools/target_service.py) and the README's quickstart.

The service is what `make demo` and the quickstart run against, so it must answer every request
of the demo data's `local` targets, and the quickstart's `/product/${sku}`, with a status those
requests accept: each target is walked like one of its users would (on_start, every endpoint,
every flow's steps in order, with their checks and captures) over real HTTP, and the demo's
journey (`generated/shop_local_mx.py`) runs with real Locust and passes its thresholds. The quickstart itself is replayed on a copy of data/ and
generated/: add country `pe` and endpoint `product`, validate, compile, and run the new
`app_local_pe` file with real Locust against the real service on a port of its own.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Mapping
from urllib.parse import quote, urlencode
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from compiler.resolve.model import CaptureRef, EnvRef, FeedRef, Pause, Text
from compiler.problems import Problems
from compiler.resolve.catalog import resolve_all
from compiler.sources.targets import compatible_targets
from compiler.sources.validate import load_inputs
from locust_runs import run_folder_of, run_locust

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "sample"  # the suite's frozen copy of the sample project
README = (ROOT / "README.md").read_text(encoding="utf-8")
LISTENING = "target service: listening on http://127.0.0.1:"

# The quickstart's edits, as the README writes them (test_the_readme_shows_these_edits).
sys.path.insert(0, str(ROOT / "tools"))
from quickstart import PE_COUNTRY, PRODUCT_ENDPOINT, SKU_VARS, apply as apply_quickstart  # noqa: E402

COMPILED = "generated: 30 written, 0 unchanged, 0 removed"  # a new protected host: every file
COMPILED_LINES = (  # what the README shows of compile's lines, each file's change
    "generated/app_local_br.py: endpoints: +product; PROTECTED_HOSTS: +1",
    "generated/app_local_pe.py: new",
    "generated/shop_staging_mx.py: PROTECTED_HOSTS: +1",
)


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
    ) -> tuple[int, Mapping, object]:
        """(status, headers (their names ignore case), the answer's JSON document) of one real
        HTTP request."""
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.headers, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

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


DEMO_SECRETS = {"APP_TOKEN": "demo-token", "PAYMENTS_API_KEY": "demo-key", "SHOPPER_PASSWORD": "demo-password"}


def demo_local_targets():
    """The demo data's local targets, resolved: what their generated files send."""
    problems = Problems()
    inputs = load_inputs(SAMPLE / "data" / "catalog.json", problems)
    refs = [ref for ref in compatible_targets(inputs.catalog.data) if ref.environment == "local"]
    targets = resolve_all(inputs, refs, problems)
    assert not problems.errors, problems.items
    return targets


LOCAL_TARGETS = demo_local_targets()


def test_the_demo_has_local_targets_of_every_app():
    names = {target.name for target in LOCAL_TARGETS}
    assert {name.split("_")[0] for name in names} == {"app", "payments", "shop"}, names
    assert {"app_local_mx", "shop_local_mx"} <= names  # the ones `make demo` runs


class User:
    """One simulated user of a target, walked by hand: its feed rows (the first of each) and
    what it captured, joined into requests the way the generated file joins them."""

    def __init__(self, target, service, population=None):
        self.target, self.service, self.captures = target, service, {}
        self.shared = {**target.headers, **(population.headers if population else {})}
        self.rows = {feed.name: dict(zip(feed.columns, feed.rows[0])) for feed in target.feeds}

    def value(self, value, in_path=False):
        if isinstance(value, EnvRef):
            return DEMO_SECRETS[value.name]
        if isinstance(value, (CaptureRef, FeedRef)):
            found = self.captures[value.name] if isinstance(value, CaptureRef) else self.rows[value.feed][value.column]
            return quote(str(found), safe="") if in_path else found
        if isinstance(value, Text):
            return "".join(as_text(self.value(part, in_path)) for part in value.parts)
        if isinstance(value, Mapping):
            return {key: self.value(item, in_path) for key, item in value.items()}
        if isinstance(value, tuple):
            return [self.value(item, in_path) for item in value]
        return value

    def headers(self, step):
        overridden = {name.lower() for name in step.headers}
        headers = {}
        for name, raw in [*((n, v) for n, v in self.shared.items() if n.lower() not in overridden), *step.headers.items()]:
            try:
                headers[name] = as_text(self.value(raw))
            except KeyError:
                continue  # made with a capture not set yet: sent from the moment it is set
        return headers

    def send(self, step):
        """Send one step; assert its status, checks and captures pass, the way the file judges."""
        path = self.value(step.path, in_path=True)
        query = {key: as_sent(value) for key, value in self.value(step.query).items()}
        headers, body = self.headers(step), None
        if step.json is not None:
            body, headers = json.dumps(self.value(step.json)).encode(), {"Content-Type": "application/json", **headers}
        elif step.form is not None:
            form = {key: as_sent(value) for key, value in self.value(step.form).items()}
            body, headers = urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded", **headers}
        elif step.body is not None:
            body = self.value(step.body).encode()
        url = path + ("?" + urlencode(query, doseq=True) if query else "")
        status, answer_headers, document = self.service.call(step.method, url, body, headers)
        what = (self.target.name, step.name, step.method, url, status, document)
        assert status in step.expect_status if step.expect_status else status < 400, what
        text = json.dumps(document)
        for check in step.checks:
            if "exists" in check:
                assert (at(document, check["json"]) is not MISSING) == check["exists"], (what, check)
            elif "equals" in check:
                assert at(document, check["json"]) == self.value(check["equals"]), (what, check)
            elif "body_contains" in check:
                assert self.value(check["body_contains"]) in text, (what, check)
            elif "contains" in check:
                assert self.value(check["contains"]) in answer_headers.get(check["header"], ""), (what, check)
            elif "min_length" in check:
                assert len(at(document, check["json"])) >= check["min_length"], (what, check)
            elif "type" in check:
                kinds = {"array": list, "object": dict, "string": str, "number": (int, float), "boolean": bool}
                assert isinstance(at(document, check["json"]), kinds[check["type"]]), (what, check)
            elif "max_ms" not in check:  # a latency here is this machine's, not the service's
                raise AssertionError(f"this walker does not judge {dict(check)}: teach it")
        for name, rule in step.capture.items():
            if "json" in rule and "pick" in rule:  # [*]: the first (or last, or all) of the elements
                every = at(document, rule["json"])
                found = every if rule["pick"] == "all" else (every[-1] if rule["pick"] == "last" else every[0]) if every else MISSING
            elif "json" in rule:
                found = at(document, rule["json"])
            elif "header" in rule:
                found = answer_headers.get(rule["header"], MISSING)
            else:
                match = re.search(rule["regex"], text)
                found = MISSING if match is None else match.group(1) if match.groups() else match.group(0)
            found = rule.get("default", MISSING) if found is MISSING else found
            assert found is not MISSING, (what, name, rule)
            self.captures[name] = found

    def walk(self, steps):
        for step in steps:
            if not isinstance(step, Pause):
                self.send(step)
        return [step.name for step in steps if not isinstance(step, Pause)]


MISSING = object()


def at(document, path):
    """The value at a JSON path; with [*] (None among its steps), the list of every match."""
    found = [document]
    for step in path.steps:
        following = []
        for value in found:
            if step is None:
                following += value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
                continue
            try:
                following.append(value[step])
            except (KeyError, IndexError, TypeError):
                pass
        found = following
    if None in path.steps:
        return found
    return found[0] if found else MISSING


def as_text(value):
    return value if isinstance(value, str) else json.dumps(value)


def as_sent(value):
    if isinstance(value, list):
        return [as_sent(item) for item in value]
    return "true" if value is True else "false" if value is False else value if isinstance(value, str) else str(value)


@pytest.mark.parametrize("target", LOCAL_TARGETS, ids=lambda target: target.name)
def test_the_service_answers_every_request_of_every_local_target(service, target):
    """on_start once, then every endpoint and every flow, as one user (of each population) would,
    over real HTTP."""
    sent = []
    for population in target.populations or [None]:
        user, tasks = User(target, service, population), population or target
        sent += user.walk(tasks.on_start)
        for endpoint in tasks.endpoints:
            sent += user.walk([endpoint])
        for flow in tasks.flows:
            sent += user.walk(flow.steps)
            sent += user.walk(flow.steps)  # a second iteration: captures are taken afresh
    assert sent, target.name


def test_the_service_answers_the_quickstarts_product(service):
    assert service.status("GET", "/product/A1") == 200


def test_the_demo_journey_runs_green_with_real_locust(service, tmp_path):
    """`make demo`'s journey file, as committed, against the real service: every request of the
    journey is sent and passes, and the threshold table says every threshold passed. Its buy
    flow adds a product picked at random from the list (`pick: random`): the carts the service
    kept hold more than one product."""
    target = next(target for target in LOCAL_TARGETS if target.name == "shop_local_mx")
    admin = service.login("admin@shop.example.test")
    carts_before = service.call("GET", "/admin/orders", headers=admin)[2]["count"]
    run = run_locust(
        SAMPLE / "generated" / "shop_local_mx.py", tmp_path, "-H", service.url, "-t", "6s",
        env={"SHOPPER_PASSWORD": "demo-password"},
    )  # fmt: skip

    assert run.returncode == 0, run
    table = run.stderr[run.stderr.index("Thresholds of shop_local_mx:\n") :]
    rows = re.findall(r"^  (\w+(?: \w+)?) +(\w+) +(?:<=|>=) +\S+(?: for \S+)? +measured (.+?) +(pass|FAIL)$", table, re.M)
    expected = {("all requests", key) for key in target.thresholds if key not in ("abort", "requests", "tags")}
    expected |= {(name, key) for name, limits in target.thresholds.get("requests", {}).items() for key in limits}
    expected |= {(f"tag {tag}", key) for tag, limits in target.thresholds.get("tags", {}).items() for key in limits if key != "for"}
    assert {(what, key) for what, key, _, _ in rows} == expected, table
    assert all(verdict == "pass" for *_, verdict in rows), table
    assert "shop_local_mx: every threshold passed" in run.stderr, run
    counts = {
        name: (int(requests), int(failures))
        for name, requests, failures in re.findall(r"^(?:GET|POST) +(\S+(?: /\S+)?) +(\d+) +(\d+)\(", run.output, re.M)
    }
    assert set(counts) == {"login", "home", "list_products", "add_to_cart", "pay", "admin_login", "GET /admin/orders"}, run
    assert all(requests > 0 and failures == 0 for requests, failures in counts.values()), counts
    assert (run_folder_of(tmp_path / "data" / "results" / "shop_local_mx") / "report.html").is_file()
    status, _, kept = service.call("GET", "/admin/orders", headers=admin)  # the latest 20 carts
    made = kept["count"] - carts_before
    assert status == 200 and made >= 10, kept
    skus = Counter(order["sku"] for order in kept["orders"][-min(made, 20) :])
    assert len(skus) > 1 and set(skus) <= {"MX-TENIS-01", "MX-PLAYERA-02", "MX-GORRA-03"}, skus


def test_an_unknown_path_is_still_a_404(service):
    assert service.status("GET", "/nowhere") == 404
    assert service.status("GET", "/product/") == 404  # a product needs a name
    assert service.status("DELETE", "/product/A1") == 404


def test_the_readme_shows_these_edits():
    for text in (PE_COUNTRY, PRODUCT_ENDPOINT, SKU_VARS, COMPILED, *COMPILED_LINES, "git diff generated/"):
        assert text in README, text


def test_the_quickstart_runs_green_against_the_service(service, tmp_path):
    work = tmp_path / "repo"
    shutil.copytree(SAMPLE / "data", work / "data", ignore=shutil.ignore_patterns("results"))
    shutil.copytree(SAMPLE / "generated", work / "generated")

    apply_quickstart(work / "data")

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
    lines = compiled.stdout.splitlines()
    assert lines[-1] == COMPILED and len(lines) == 31, compiled.stdout
    for line in COMPILED_LINES:  # as the README shows them
        assert line in lines, compiled.stdout
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
    assert (run_folder_of(work / "data" / "results" / "app_local_pe") / "report.html").is_file()


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


def test_admin_orders_are_for_an_admin_token_only(service):
    """The demo's admins population: its login is an admin@ account, and only its token reads
    every user's latest carts."""
    shopper, admin = service.login(), service.login("admin@shop.example.test")
    post_json(service, "/cart", {"sku": "MX-GORRA-03", "qty": 1, "currency": "MXN"}, shopper)
    status, _, body = service.call("GET", "/admin/orders", headers=admin)
    assert status == 200 and isinstance(body["orders"], list) and body["count"] >= 1, body
    assert body["orders"][-1]["sku"] == "MX-GORRA-03" and "email" not in body["orders"][-1]
    assert service.call("GET", "/admin/orders", headers=shopper)[0] == 403
    assert service.call("GET", "/admin/orders")[0] == 401
