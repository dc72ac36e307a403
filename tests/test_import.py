"""`import openapi` and `import har`: real public documents (tests/fixtures/import/README.md
names their sources and licences) imported, compiled and run with real Locust against a
recording server on 127.0.0.1, never the hosts the documents name.

Every operation of an OpenAPI document is requested; a HAR recording is replayed in its order,
with the values its answers returned sent back where the recording sent them; no credential the
recording holds is written; and broken input is refused with exit 2 and a message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from locust_runs import compile_inputs, run_locust

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
PETSTORE = FIXTURES / "petstore-openapi-3.0.yaml"
MUSEUM = FIXTURES / "museum-openapi-3.1.yaml"
REQRES = FIXTURES / "reqres.in.har"
JOURNEY = FIXTURES / "shop-journey.har"
SECRETS = {"PETSTORE_API_KEY": "key-8d1f", "PETSTORE_PETSTORE_AUTH": "oauth-5c2e", "MUSEUM_MUSEUM_PLACEHOLDER_AUTH": "YTpi"}


def project(tmp_path: Path, port: int) -> Path:
    """A catalog whose `local` environment is the recording server's, no app yet."""
    folder = tmp_path / "data"
    (folder / "simulations").mkdir(parents=True)
    catalog = {
        "environments": {"local": {"vars": {"domain": f"127.0.0.1:{port}"}}, "qa": {"vars": {"domain": "qa.example.test"}}},
        "countries": {"mx": {"vars": {"currency": "MXN"}}},
        "apps": {},
    }
    (folder / "catalog.json").write_text(json.dumps(catalog, indent=2) + "\n")
    return folder / "catalog.json"


def simc(project_catalog: Path, *args: str, env: dict | None = None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(project_catalog), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**__import__("os").environ, **(env or {})},
    )  # fmt: skip


SEQUENTIAL_ONCE = ("-u", "1", "--iterations", "1", "--task-order", "sequential")  # every endpoint once, in order


def quick(simulation: Path, **changes) -> dict:
    """The imported simulation made a short test run: no think time, a few seconds."""
    data = json.loads(simulation.read_text())
    data.update({"users": 2, "spawn_rate": 20, "run_time": "30s", "think_time_seconds": 0, **changes})
    simulation.write_text(json.dumps(data, indent=2))
    return data


def answer_as_documented(server, simulation: dict) -> None:
    """The recording server answers each endpoint with its documented status and JSON type."""
    for endpoint in simulation["endpoints"]:
        method, path = endpoint["method"], endpoint["path"]
        if endpoint.get("expect_status"):
            server.set_status(method, path, endpoint["expect_status"][0])
        kind = next((c["type"] for c in endpoint.get("checks", []) if "type" in c), None)
        if endpoint.get("expect_status") == [204]:
            server.set_body(b"", method, path)  # no content: a body would be a malformed answer
            continue
        server.set_body({"array": "[]", "string": "\"ok\"", "number": "1", "boolean": "true", "null": "null"}.get(kind, "{}"), method, path)


@pytest.mark.parametrize("document, app, operations", [(PETSTORE, "petstore", 19), (MUSEUM, "museum", 8)])
def test_every_operation_of_a_public_openapi_document_is_requested(tmp_path, make_server, document, app, operations):
    server = make_server()
    catalog = project(tmp_path, server.port)
    imported = simc(catalog, "import", "openapi", str(document), "--app", app, "--host", server.url, "--catalog-entry", "local", "mx")
    assert imported.returncode == 0, imported.stderr
    assert f"{operations} endpoint(s) from" in imported.stdout
    simulation_file = catalog.parent / "simulations" / f"{app}.json"
    assert json.loads(catalog.read_text())["apps"][app] == {
        "simulation": f"simulations/{app}.json", "environments": ["local"], "countries": ["mx"]
    }
    simulation = quick(simulation_file)
    answer_as_documented(server, simulation)
    files = compile_inputs(catalog, tmp_path / "generated")
    explained = simc(catalog, "explain", f"{app}_local_mx").stdout
    first = simulation["endpoints"][0]["name"]
    assert re.search(rf'^endpoints\.{first}\.checks\.0 +\{{"json": "\$", "type": "(array|object)"\}}  <- template', explained, re.M), explained
    run = run_locust(files[f"{app}_local_mx"], tmp_path / "run", *SEQUENTIAL_ONCE, env=SECRETS)

    assert run.returncode == 0, run
    asked = [(e["method"], e["path"]) for e in simulation["endpoints"]]
    received = [(r.method, r.path) for r in server.received()]
    assert len(set(asked)) == operations and received == asked  # every operation once, in the written order
    for request in server.received():
        if app == "museum":
            assert request.header("Authorization") == "Basic YTpi", request
    if app == "petstore":
        by = {(r.method, r.path): r for r in server.received()}
        assert by[("GET", "/api/v3/store/inventory")].header("api_key") == "key-8d1f"
        assert by[("POST", "/api/v3/pet")].header("Authorization") == "Bearer oauth-5c2e"
        assert json.loads(by[("POST", "/api/v3/pet")].body) == {"name": "doggie", "photoUrls": []}


def test_openapi_import_reports_what_it_guessed_and_the_secrets(tmp_path):
    catalog = project(tmp_path, 9)
    result = simc(catalog, "import", "openapi", str(MUSEUM), "--app", "museum", "--host", "http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "guessed (review these, at their JSON pointers in the file):" in out
    assert re.search(r"^  /endpoints/\d+/json: the body: the example 'default_example' at /components/examples/CreateSpecialEventRequestExample$", out, re.M), out
    assert "optional query parameter 'startDate' of GET /museum-hours left out" in out
    assert "  MUSEUM_MUSEUM_PLACEHOLDER_AUTH: security scheme MuseumPlaceholderAuth: base64 of user:password (HTTP Basic)" in out
    simulation = json.loads((catalog.parent / "simulations" / "museum.json").read_text())
    assert simulation["headers"] == {"Authorization": "Basic ${env:MUSEUM_MUSEUM_PLACEHOLDER_AUTH}"}
    hours = simulation["endpoints"][0]
    assert hours["name"] == "getMuseumHours" and hours["checks"] == [{"json": "$", "type": "array"}]
    assert hours["weight"] == 3 and hours["expect_status"] == [200]
    again = simc(catalog, "import", "openapi", str(MUSEUM), "--app", "museum", "--host", "http://127.0.0.1:9")
    assert again.returncode == 2 and "exists; nothing written (add --force to overwrite it)" in again.stderr
    forced = simc(catalog, "import", "openapi", str(MUSEUM), "--app", "museum", "--host", "http://127.0.0.1:9", "--force")
    assert forced.returncode == 0, forced.stderr


def test_a_recorded_journey_sends_captured_values_back_where_the_recording_did(tmp_path, make_server):
    recorded = json.loads(JOURNEY.read_text())["log"]["entries"]
    server = make_server()
    server.set_body(json.dumps({"token": "tok-live-9a8b7c6d"}), "POST", "/login")
    server.set_body(json.dumps({"items": [{"sku": "LIVE-SKU-7"}], "country": "mx"}), "GET", "/products")
    server.set_status("POST", "/cart", 201)
    server.set_body(json.dumps({"cart": "c-555", "sku": "LIVE-SKU-7"}), "POST", "/cart")
    server.set_body(json.dumps({"status": "paid"}), "POST", "/cart/c-555/pay")
    catalog = project(tmp_path, server.port)
    imported = simc(catalog, "import", "har", str(JOURNEY), "--app", "shopper", "--host", server.url, "--catalog-entry", "local", "mx")
    assert imported.returncode == 0, imported.stderr
    written = (catalog.parent / "simulations" / "shopper.json").read_text()
    token = json.loads(recorded[0]["response"]["content"]["text"])["token"]
    assert token not in written and "s3cret-pw" not in written  # the recorded token and password
    quick(catalog.parent / "simulations" / "shopper.json", users=1, run_time="2s")
    files = compile_inputs(catalog, tmp_path / "generated")
    run = run_locust(files["shopper_local_mx"], tmp_path / "run", *SEQUENTIAL_ONCE, env={"SHOPPER_PASSWORD": "pw-live"})

    assert run.returncode == 0, run
    received = server.received()
    paths = [(r.method, r.path) for r in received]  # one pass of the flow
    assert paths == [("POST", "/login"), ("GET", "/products"), ("POST", "/cart"), ("POST", "/cart/c-555/pay")]
    assert json.loads(received[0].body) == {"email": "ana@shop.test", "password": "pw-live"}
    assert all(r.header("Authorization") == "Bearer tok-live-9a8b7c6d" for r in received[1:4])
    assert json.loads(received[2].body) == {"sku": "LIVE-SKU-7", "qty": 1, "currency": "MXN"}
    assert received[3].body == b"method=card" and received[1].query == {"country": ["mx"]}


def test_a_public_har_recording_is_replayed_without_its_credentials(tmp_path, make_server):
    server = make_server()
    catalog = project(tmp_path, server.port)
    imported = simc(catalog, "import", "har", str(REQRES), "--app", "reqres", "--host", server.url, "--catalog-entry", "local", "mx")
    assert imported.returncode == 0, imported.stderr
    written = (catalog.parent / "simulations" / "reqres.json").read_text()
    assert "pistol" not in written and "4f0da2ce-4979-429e-b505-96a43e503a27f88034" not in written
    assert "  REQRES_PASSWORD: the JSON field password the recording sent" in imported.stdout
    quick(catalog.parent / "simulations" / "reqres.json", users=1, run_time="2s")
    files = compile_inputs(catalog, tmp_path / "generated")
    generated = files["reqres_local_mx"].read_text()
    assert "pistol" not in generated
    run = run_locust(files["reqres_local_mx"], tmp_path / "run", *SEQUENTIAL_ONCE,
                     env={"REQRES_PASSWORD": "pw-x", "REQRES_COOKIE_STRIPE_MID": "mid-y"})  # fmt: skip

    assert run.returncode == 0, run
    steps = json.loads((catalog.parent / "simulations" / "reqres.json").read_text())["flows"][0]["steps"]
    assert len(server.received()) == len([s for s in steps if "pause" not in s])  # one pass of the flow
    first, second = server.received()[:2]
    assert (first.method, first.path, second.method, second.path) == ("POST", "/api/register", "PATCH", "/api/users/2")
    assert json.loads(first.body) == {"email": "eve.holt@reqres.in", "password": "pw-x"}
    assert first.header("Cookie") == "__stripe_mid=mid-y"
    assert json.loads(second.body) == {"name": "morpheus", "job": "zion resident"}
    assert first.header("user-agent") != recorded_agent()  # the browser's headers are the client's own


def recorded_agent() -> str:
    entry = json.loads(REQRES.read_text())["log"]["entries"][0]
    return next(h["value"] for h in entry["request"]["headers"] if h["name"] == "user-agent")


def test_pauses_are_kept_with_pauses_only(tmp_path):
    catalog = project(tmp_path, 9)
    plain = simc(catalog, "import", "har", str(JOURNEY), "--app", "plain")
    paused = simc(catalog, "import", "har", str(JOURNEY), "--app", "paused", "--pauses")
    assert plain.returncode == 0 and paused.returncode == 0, plain.stderr + paused.stderr
    steps = lambda app: json.loads((catalog.parent / "simulations" / f"{app}.json").read_text())["flows"][0]["steps"]  # noqa: E731
    assert not [s for s in steps("plain") if "pause" in s]
    assert [s["pause"] for s in steps("paused") if "pause" in s] == [1.2, 0.8, 0.6]


def test_static_files_and_other_hosts_are_dropped_and_listed(tmp_path):
    har = json.loads(JOURNEY.read_text())
    entries = har["log"]["entries"]
    extra = json.loads(json.dumps(entries[1]))
    extra["request"]["url"] = "https://cdn.example.test/app.js"
    style = json.loads(json.dumps(entries[1]))
    style["request"]["url"] = entries[1]["request"]["url"].split("/products")[0] + "/static/site.css"
    har["log"]["entries"] = [entries[0], extra, style, *entries[1:]]
    path = tmp_path / "mixed.har"
    path.write_text(json.dumps(har))
    catalog = project(tmp_path, 9)
    result = simc(catalog, "import", "har", str(path), "--app", "mixed")
    assert result.returncode == 0, result.stderr
    assert "/log/entries/1: GET https://cdn.example.test/app.js (another host)" in result.stdout
    assert re.search(r"/log/entries/2: GET http://127\.0\.0\.1:\d+/static/site\.css \(a static file\)", result.stdout), result.stdout
    steps = json.loads((catalog.parent / "simulations" / "mixed.json").read_text())["flows"][0]["steps"]
    assert [s["path"] for s in steps] == ["/login", "/products", "/cart", "/cart/${capture:cart}/pay"]


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        ("openapi", "openapi: 3.0.3\ninfo: {title: t}\npaths: {}\n", "/info: not valid OpenAPI 3.0.3: 'version' is a required property (line 2, column 1)"),
        ("openapi", "swagger: '2.0'\n", "/swagger: is Swagger (OpenAPI 2.0); convert it to OpenAPI 3 first"),
        ("openapi", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    $ref: 'other.yaml#/a'\n",
         "/paths/~1a/$ref: $ref 'other.yaml#/a' is not in this document"),
        ("openapi", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n", "no absolute server URL ('/') to take the host from: give --host URL"),
        ("openapi", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: 'http://h.test'}]\npaths: {}\n",
         "/paths: documents no operation: nothing to import"),
        ("openapi", "openapi: [\n", "invalid YAML at line 2, column 1"),
        ("har", '{"log": {}}', "/log/entries: is not a HAR file"),
        ("har", '{"log": {"entries": [{"request": {}}]}}', "/log/entries/0: an entry needs request.method, request.url and response.status"),
        ("har", "{", "invalid JSON at line 1, column 2"),
        ("har", '{"log": {"entries": [{"request": {"method": "GET", "url": "http://h.test/a"}, "response": {"content": "zz"}}]}}',
         "/: is not a HAR file this importer can read (AttributeError: "),
    ],
)  # fmt: skip
def test_broken_input_is_refused_with_a_message(tmp_path, kind, text, expected):
    source = tmp_path / ("in.yaml" if kind == "openapi" else "in.har")
    source.write_text(text)
    catalog = project(tmp_path, 9)
    result = simc(catalog, "import", kind, str(source), "--app", "broken")
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (catalog.parent / "simulations" / "broken.json").exists()


def test_a_cycle_of_refs_is_refused_clearly(tmp_path):
    source = tmp_path / "cycle.yaml"
    source.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: 'http://h.test'}]\npaths:\n  /a:\n    post:\n"
        "      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/Node'}\n"
        "      responses: {'200': {description: ok}}\ncomponents:\n  schemas:\n    Node:\n      type: object\n"
        "      required: [parent]\n      properties:\n        parent: {$ref: '#/components/schemas/Node'}\n"
    )
    catalog = project(tmp_path, 9)
    result = simc(catalog, "import", "openapi", str(source), "--app", "cycle")
    assert result.returncode == 2, result.stdout
    assert "the schema /components/schemas/Node contains itself through required properties" in result.stderr, result.stderr


def entry(method: str, url: str, status: int, answer: str = "{}", mime: str = "application/json", headers=(), sent=(), form=None):
    """One HAR entry, as a browser writes it (the fields import reads)."""
    request = {"method": method, "url": url, "headers": [{"name": k, "value": v} for k, v in sent], "queryString": []}
    if form is not None:
        request["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": form}
    response = {"status": status, "headers": [{"name": k, "value": v} for k, v in headers],
                "content": {"mimeType": mime, "text": answer}, "redirectURL": dict(headers).get("Location", "")}  # fmt: skip
    return {"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 10, "request": request, "response": response}


def test_captures_from_html_headers_and_redirects_reach_forms_and_queries(tmp_path, make_server):
    """A login page's hidden CSRF field (a regular expression on the HTML), a form that
    redirects (the redirect's request is the client's, its cookie the client's jar's), a header
    of the final answer sent back in a query."""
    page = '<form><input type="hidden" name="csrf" value="c5rf-Tok-9f8e7d"></form>'
    har = {"log": {"entries": [
        entry("GET", "http://shop.test/login-page", 200, page, "text/html"),
        entry("POST", "http://shop.test/session", 302, "", "text/html", [("Location", "/home"), ("Set-Cookie", "sid=abc; Path=/")],
              form="csrf=c5rf-Tok-9f8e7d&user=ana"),
        entry("GET", "http://shop.test/home", 200, '{"ok": true}', headers=[("X-Basket", "bsk-123456")]),
        entry("GET", "http://shop.test/basket?basket=bsk-123456", 200, '{"items": []}', sent=[("Cookie", "sid=abc")]),
    ]}}  # fmt: skip
    source = tmp_path / "login.har"
    source.write_text(json.dumps(har))
    server = make_server()
    server.set_body('<html><input type="hidden" name="csrf" value="live-csrf-4242"></html>', "GET", "/login-page")
    server.set_status("POST", "/session", 303)
    server.set_headers({"Location": "/home", "Set-Cookie": "sid=live1; Path=/"}, "POST", "/session")
    server.set_body(b"", "POST", "/session")
    server.set_headers({"X-Basket": "live-basket-777"}, "GET", "/home")
    server.set_body('{"ok": true}', "GET", "/home")
    server.set_body('{"items": []}', "GET", "/basket")
    catalog = project(tmp_path, server.port)
    imported = simc(catalog, "import", "har", str(source), "--app", "login", "--host", server.url, "--catalog-entry", "local", "mx")
    assert imported.returncode == 0, imported.stderr
    assert "/log/entries/2: GET http://shop.test/home (the redirect of the step before, which the client follows)" in imported.stdout
    steps = json.loads((catalog.parent / "simulations" / "login.json").read_text())["flows"][0]["steps"]
    assert [s["path"] for s in steps] == ["/login-page", "/session", "/basket"]
    assert "regex" in steps[0]["capture"]["csrf"] and steps[1]["capture"] == {"x_basket": {"header": "X-Basket"}}
    assert steps[1]["form"] == {"csrf": "${capture:csrf}", "user": "ana"} and "Cookie" not in steps[2].get("headers", {})
    assert steps[1]["expect_status"] == [200]  # the answer the redirect led to
    quick(catalog.parent / "simulations" / "login.json", users=1, run_time="2s")
    files = compile_inputs(catalog, tmp_path / "generated")
    run = run_locust(files["login_local_mx"], tmp_path / "run", *SEQUENTIAL_ONCE)

    assert run.returncode == 0, run
    received = server.received()
    assert [(r.method, r.path) for r in received] == [("GET", "/login-page"), ("POST", "/session"), ("GET", "/home"), ("GET", "/basket")]
    assert received[1].body == b"csrf=live-csrf-4242&user=ana"
    assert received[3].query == {"basket": ["live-basket-777"]}
    assert received[3].header("Cookie") == "sid=live1"  # the client's cookie jar, not the recording's cookie
