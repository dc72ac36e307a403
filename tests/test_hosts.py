"""The protected-host guard compares hosts, not text: every spelling a client reaches the same
host by is the same host, in the generated files' runtime and in the compiler (MCP's run)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache

import pytest

from compiler.sources.hosts import origin as compiler_origin

SAME = [  # each spelling, and the origin it is
    ("http://127.0.0.1:8000", ("http", "127.0.0.1", 8000)),
    ("http://2130706433:8000", ("http", "127.0.0.1", 8000)),
    ("http://127.1:8000", ("http", "127.0.0.1", 8000)),
    ("http://0x7f.0.0.1:8000", ("http", "127.0.0.1", 8000)),
    ("http://0177.0.0.1:8000", ("http", "127.0.0.1", 8000)),
    ("http://0x7f000001:8000", ("http", "127.0.0.1", 8000)),
    ("HTTP://user:pw@127.0.0.1.:8000/x", ("http", "127.0.0.1", 8000)),
    ("http://[::ffff:127.0.0.1]:8000", ("http", "127.0.0.1", 8000)),
    ("http://[0:0:0:0:0:0:0:1]:8000", ("http", "::1", 8000)),
    ("http://[::1]:8000", ("http", "::1", 8000)),
    ("https://Shop.Example.COM.", ("https", "shop.example.com", 443)),
    ("https://shop.example.com:443", ("https", "shop.example.com", 443)),
    ("http://bücher.example", ("http", "xn--bcher-kva.example", 80)),
    ("http://xn--bcher-kva.example:80", ("http", "xn--bcher-kva.example", 80)),
    ("http://localhost:8000", ("http", "localhost", 8000)),  # names are not resolved
    ("http://bad.face", ("http", "bad.face", 80)),  # hex letters, but a name
]


@cache
def runtime_origins() -> dict[str, list]:
    """The runtime's origin() of every spelling, in a process of its own: importing the runtime
    imports Locust, which patches the standard library with gevent (not in the test process)."""
    code = (
        "import json, sys\nfrom compiler.runtime.requests import origin\n"
        "print(json.dumps({url: origin(url) for url in json.loads(sys.argv[1])}))"
    )
    done = subprocess.run([sys.executable, "-c", code, json.dumps([url for url, _ in SAME])],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("url,expected", SAME, ids=[u for u, _ in SAME])
def test_one_spelling_per_host_in_the_runtime_and_the_compiler(url, expected):
    assert tuple(runtime_origins()[url]) == expected
    assert compiler_origin(url) == expected


def test_a_run_aimed_at_a_protected_host_by_another_spelling_is_refused(tmp_path):
    import json

    from locust_runs import compile_inputs, run_locust
    from recording_server import RecordingServer

    with RecordingServer() as server:
        catalog = {
            "environments": {"local": {"vars": {"domain": f"localhost:{server.port}"}},
                             "prod": {"vars": {"domain": f"127.0.0.1:{server.port}"}, "protected": True}},
            "countries": {"mx": {}},
            "apps": {"shop": {"simulation": "simulations/shop.json", "environments": ["local", "prod"], "countries": ["mx"]}},
        }  # fmt: skip
        simulation = {"host": "http://${domain}", "users": 1, "spawn_rate": 1, "run_time": "2s",
                      "endpoints": [{"name": "home", "path": "/"}]}  # fmt: skip
        (tmp_path / "simulations").mkdir()
        (tmp_path / "simulations" / "shop.json").write_text(json.dumps(simulation))
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        files = compile_inputs(tmp_path / "catalog.json", tmp_path / "generated")
        for spelling in (f"http://2130706433:{server.port}", f"http://127.1:{server.port}", f"http://[::ffff:7f00:1]:{server.port}"):
            run = run_locust(files["shop_local_mx"], tmp_path, "-H", spelling)
            assert run.returncode == 2, (spelling, run)
            assert "is a host of environment prod, which is protected" in run.stderr, run
        assert server.received() == []
