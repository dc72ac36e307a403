"""The headers each HTTP client adds on its own, exactly as docs/RUNNING.md lists them, and how a
simulation's or an endpoint's `headers` replace them (names ignoring case).

Like every tests/test_run_*.py module, it compiles locustfiles, runs them with real Locust
(locust_runs.run_locust) and asserts on what a recording server on 127.0.0.1 received. The
values come from the pinned clients (constraints.txt: geventhttpclient for FastHttpUser,
python-requests for HttpUser); when a pin changes, this test says which value to update in the
docs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from locust_runs import compile_inputs, run_locust, write_inputs

ROOT = Path(__file__).resolve().parent.parent
RUNNING = ROOT / "docs" / "RUNNING.md"

FASTHTTP_AGENT = "python/gevent-http-client-2.6.1"
REQUESTS_AGENT = "python-requests/2.34.2"
ENCODINGS = "gzip, deflate"  # what the file decodes within max_answer_bytes

JSON_BODY = {"sku": "A1"}  # sent as {"sku": "A1"}: 13 bytes
RAW_BODY = "amount=100"  # 10 bytes


def simulation(client: str, headers: dict[str, str] | None = None) -> dict:
    """One user, a fixed seed, three endpoints: a GET, a JSON body and a raw body."""
    return {
        "host": "http://${domain}",
        "users": 1,
        "spawn_rate": 1,
        "run_time": "2s",
        "seed": 5,
        "think_time_seconds": 0.02,
        "client": client,
        "report_html": None,
        "headers": headers or {},
        "endpoints": [
            {"name": "page", "path": "/page"},
            {"name": "json", "method": "POST", "path": "/json", "json": JSON_BODY},
            {"name": "raw", "method": "POST", "path": "/raw", "body": RAW_BODY},
        ],
    }


def overriding(client: str) -> dict:
    """A simulation `user-agent` (any case) and an endpoint `Accept` replace the client's own."""
    sim = simulation(client, {"user-agent": "shop-load-test/1.0"})
    sim["endpoints"][0]["headers"] = {"Accept": "text/html"}
    return sim


SIMULATIONS = {
    "fast": simulation("fasthttp"),
    "reqs": simulation("requests"),
    "fastmine": overriding("fasthttp"),
    "reqsmine": overriding("requests"),
}


def defaults(client: str, host: str) -> dict[tuple[str, str], dict[str, str]]:
    """The headers each request carries when the configuration sets none (names lowercased)."""
    if client == "fasthttp":
        common = {"host": host, "user-agent": FASTHTTP_AGENT, "accept-encoding": ENCODINGS}
        return {
            ("GET", "/page"): common,
            ("POST", "/json"): {
                **common,
                "accept": "application/json",
                "content-type": "application/json",
                "content-length": "13",
            },
            ("POST", "/raw"): {
                **common,
                "content-type": "application/octet-stream",
                "content-length": "10",
            },
        }
    common = {
        "host": host,
        "user-agent": REQUESTS_AGENT,
        "accept-encoding": ENCODINGS,
        "accept": "*/*",
        "connection": "keep-alive",
    }
    return {
        ("GET", "/page"): common,
        ("POST", "/json"): {**common, "content-type": "application/json", "content-length": "13"},
        ("POST", "/raw"): {**common, "content-length": "10"},
    }


@pytest.fixture(scope="module")
def header_files(shared_server, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("headers")
    catalog = write_inputs(
        folder,
        shared_server.port,
        SIMULATIONS,
        {name: {"environments": ["local"], "countries": ["mx"]} for name in SIMULATIONS},
    )
    return compile_inputs(catalog, folder / "generated")


def first_of_each(server) -> dict[tuple[str, str], dict[str, str]]:
    received: dict[tuple[str, str], dict[str, str]] = {}
    for request in server.received():
        received.setdefault((request.method, request.path), request.headers)
    return received


@pytest.mark.parametrize("app, client", [("fast", "fasthttp"), ("reqs", "requests")])
def test_each_client_adds_the_documented_headers(header_files, server, rundir, app, client):
    run = run_locust(header_files[f"{app}_local_mx"], rundir)

    assert run.returncode == 0, run
    host = f"127.0.0.1:{server.port}"
    assert first_of_each(server) == defaults(client, host)
    every = {tuple(sorted(request.headers.items())) for request in server.received()}
    assert {dict(headers)["user-agent"] for headers in every} == {
        FASTHTTP_AGENT if client == "fasthttp" else REQUESTS_AGENT
    }


@pytest.mark.parametrize("app, client", [("fastmine", "fasthttp"), ("reqsmine", "requests")])
def test_simulation_and_endpoint_headers_replace_the_clients(header_files, server, rundir, app, client):
    run = run_locust(header_files[f"{app}_local_mx"], rundir)

    assert run.returncode == 0, run
    host = f"127.0.0.1:{server.port}"
    expected = defaults(client, host)
    for headers in expected.values():
        headers["user-agent"] = "shop-load-test/1.0"  # once: a duplicate would read "a, b"
    expected[("GET", "/page")]["accept"] = "text/html"
    assert first_of_each(server) == expected
    assert {request.header("User-Agent") for request in server.received()} == {"shop-load-test/1.0"}


def test_the_docs_list_these_values():
    text = RUNNING.read_text(encoding="utf-8")
    for value in (
        FASTHTTP_AGENT,
        REQUESTS_AGENT,
        ENCODINGS,
        "*/*",
        "keep-alive",
        "application/json",
        "application/octet-stream",
    ):
        assert f"`{value}`" in text, value
