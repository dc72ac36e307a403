"""The protected hosts every generated file carries, once each: hosts that are one origin once
canonical are one entry (with the strictest limits of their environments), and hosts that share an
environment and its limits are written under them once (`**dict.fromkeys(hosts, (environment,
limits))`), so a file grows by a host's length per protected host, not by its limits. The guard
still follows every spelling of every host (real Locust runs against a server this test starts)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import black

from compiler.output import layout
from compiler.output.changes import describe
from compiler.output.render import black_mode, protected_hosts_statement
from compiler.problems import Problems
from compiler.resolve.catalog import resolve_all
from compiler.resolve.model import Limits, ProtectedHost
from compiler.sources.targets import compatible_targets
from compiler.sources.validate import load_inputs
from locust_runs import assert_nothing_received, compile_inputs, run_locust
from recording_server import RecordingServer

def black_format(text: str) -> str:
    return black.format_str(text, mode=black_mode())


SIMULATION = {"host": "http://${domain}", "users": 1, "spawn_rate": 1, "run_time": "2s",
              "endpoints": [{"name": "home", "path": "/"}]}  # fmt: skip


def write_catalog(folder: Path, environments: dict, countries: dict, hosts: dict[str, str] | None = None) -> Path:
    """`hosts`: "environment/country" -> the host of that target (the simulation's overrides)."""
    catalog = {
        "environments": environments,
        "countries": countries,
        "apps": {"shop": {"simulation": "simulations/shop.json", "environments": list(environments), "countries": list(countries)}},
    }  # fmt: skip
    (folder / "simulations").mkdir(exist_ok=True)
    overrides = {"overrides": {"targets": {key: {"host": host} for key, host in hosts.items()}}} if hosts else {}
    (folder / "simulations" / "shop.json").write_text(json.dumps({**SIMULATION, **overrides}))
    (folder / "catalog.json").write_text(json.dumps(catalog))
    return folder / "catalog.json"


def statement_of(path: Path) -> str:
    text = path.read_text()
    start = text.index("PROTECTED_HOSTS = {")
    return text[start : text.index("\n}\n", start) + 3]


def test_hosts_of_one_environment_are_written_once_each_and_every_spelling_is_guarded(tmp_path):
    with RecordingServer() as server, RecordingServer() as local:
        port = server.port
        catalog = write_catalog(tmp_path, {
            "local": {"vars": {"domain": f"127.0.0.1:{local.port}"}},
            "prod": {"vars": {"domain": "prod.example.test"}, "limits": {"max_users": 3}, "protected": True},
        }, {"mx": {}, "br": {}, "co": {}, "ar": {}}, {  # mx and co are one origin; br and ar another
            "prod/mx": f"http://127.0.0.1:{port}",
            "prod/br": f"http://localhost:{port}",
            "prod/co": f"http://[::ffff:7f00:1]:{port}",
            "prod/ar": f"http://LocalHost.:{port}",
        })  # fmt: skip
        files = compile_inputs(catalog, tmp_path / "generated")
        statement = statement_of(files["shop_local_mx"])
        assert statement == (
            "PROTECTED_HOSTS = {\n"
            "    **dict.fromkeys(\n"
            "        (\n"
            f'            "http://127.0.0.1:{port}",\n'
            f'            "http://LocalHost.:{port}",\n'
            "        ),\n"
            '        ("prod", {"max_users": 3, "max_spawn_rate": None, "max_run_time": None}),\n'
            "    ),\n"
            "}\n"
        )
        assert all(statement_of(path) == statement for path in files.values())  # the same in every file
        for spelling in (f"http://localhost:{port}", f"http://[::ffff:7f00:1]:{port}", f"http://127.1:{port}",
                         f"http://LOCALHOST:{port}/"):  # fmt: skip
            run = run_locust(files["shop_local_mx"], tmp_path, "-H", spelling)
            assert run.returncode == 2, (spelling, run)
            assert "is a host of environment prod, which is protected" in run.stderr, run
        run = run_locust(files["shop_local_mx"], tmp_path, "-H", f"http://localhost:{port}", "-u", "5", "--allow-protected")
        assert run.returncode == 2, run
        assert "users 5 is above the max_users of environment prod, 3" in run.stderr, run
        assert_nothing_received(server, local)


def test_one_host_of_two_protected_environments_is_one_entry_with_the_strictest_limits(tmp_path):
    with RecordingServer() as server, RecordingServer() as local:
        port = server.port
        catalog = write_catalog(tmp_path, {
            "local": {"vars": {"domain": f"127.0.0.1:{local.port}"}},
            "prod": {"vars": {"domain": f"127.0.0.1:{port}"}, "protected": True,
                     "limits": {"max_users": 5, "max_spawn_rate": 1, "max_run_time": "1h"}},
            "dr": {"vars": {"domain": f"2130706433:{port}"}, "protected": True,
                   "limits": {"max_users": 2, "max_run_time": "90m"}},
        }, {"mx": {}})  # fmt: skip
        files = compile_inputs(catalog, tmp_path / "generated")
        assert statement_of(files["shop_local_mx"]) == (
            "PROTECTED_HOSTS = {\n"
            f'    "http://127.0.0.1:{port}": ("prod", {{"max_users": 2, "max_spawn_rate": 1, "max_run_time": "1h"}}),\n'
            "}\n"
        )
        run = run_locust(files["shop_local_mx"], tmp_path, "-H", f"http://2130706433:{port}", "-u", "3", "--allow-protected")
        assert run.returncode == 2, run
        assert "users 3 is above the max_users of environment prod, 2" in run.stderr, run
        assert_nothing_received(server, local)


def test_a_catalogs_protected_hosts_cost_a_line_each(tmp_path):
    """1,000 protected targets: each host once, each environment's limits once."""
    environments = {f"p{e}": {"vars": {"domain": f"p{e}.example.test"}, "limits": {"max_users": 10 + e}, "protected": True}
                    for e in range(4)}  # fmt: skip
    environments["local"] = {"vars": {"domain": "local.example.test"}}
    countries = {f"c{i:03d}": {} for i in range(250)}
    catalog = write_catalog(tmp_path, environments, countries)
    (tmp_path / "simulations" / "shop.json").write_text(json.dumps({**SIMULATION, "host": "https://${country}.${domain}"}))
    problems = Problems()
    inputs = load_inputs(catalog, problems)
    refs = [ref for ref in compatible_targets(inputs.catalog.data) if ref.environment == "local"][:1]
    [target] = resolve_all(inputs, refs, problems)
    assert len(target.protected_hosts) == 1000
    statement = layout.format_block(protected_hosts_statement(target.protected_hosts) + "\n", black_format)
    assert statement.count("dict.fromkeys") == 4 and statement.count('"max_users"') == 4
    hosts = re.findall(r'^            "(https://[^"]+)",$', statement, re.M)
    assert sorted(hosts) == sorted(f"https://c{i:03d}.p{e}.example.test" for e in range(4) for i in range(250))
    assert len(statement) < 1000 * len('            "https://c000.p0.example.test",\n') + 1000


def random_hosts(rng: random.Random) -> tuple[ProtectedHost, ...]:
    environments = [rng.choice(["prod", "p" * rng.randint(1, 90), "dr 'quoted'", 'a"b', "ünï"]) for _ in range(3)]
    limits = [Limits(rng.choice([None, 1, 10**rng.randint(1, 40)]), rng.choice([None, 0.5, 2]),
                     rng.choice([None, "1h", "x" * rng.randint(1, 80)])) for _ in range(2)]  # fmt: skip
    hosts = []
    for index in range(rng.randint(1, 12)):
        name = rng.choice(["h", "x" * rng.randint(1, 95), "q'uote", 'd"q', "wide字"]) + str(index)
        hosts.append(ProtectedHost(f"https://{name}.example.test", rng.choice(environments), rng.choice(limits)))
    return tuple(hosts)


def test_the_statement_is_laid_out_as_black_does():
    asked = []
    for seed in range(300):
        hosts = random_hosts(random.Random(seed))
        statement = protected_hosts_statement(hosts) + "\n"
        expected = black_format(statement)
        assert layout.format_block(statement, lambda text: asked.append(text) or expected) == expected, seed
    assert len(asked) < 30, "the layout should know this statement, not hand it to black"


def test_what_changed_names_the_hosts_of_a_group():
    def file(hosts: tuple[ProtectedHost, ...]) -> str:
        return "TARGET = 'x'\n" + protected_hosts_statement(hosts) + "\n\n# ---- How it runs\n"

    limits = Limits(3)
    two = (ProtectedHost("https://a.test", "prod", limits), ProtectedHost("https://b.test", "prod", limits))
    three = two + (ProtectedHost("https://c.test", "prod", limits),)
    stricter = (two[0], ProtectedHost("https://b.test", "prod", Limits(2)))
    assert describe(file(two), file(three)) == "PROTECTED_HOSTS: +1"
    assert describe(file(three), file(two[:1])) == "PROTECTED_HOSTS: -2"
    assert describe(file(two), file(stricter)) == "PROTECTED_HOSTS: ~1"
    assert describe(file(two), file(two)) == ""
