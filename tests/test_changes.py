"""`compile` says, per file it rewrites, what changed in its configuration, in the sources' words
(`endpoints: +product; PROTECTED_HOSTS: +1`), so a reviewer knows which diffs to read."""

from __future__ import annotations

import copy

from conftest import CATALOG

from compiler.output.changes import describe


def lines_of(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_first_compile_says_new(project):
    made = project()
    out = lines_of(made.run("compile"))
    assert out[:3] == ["generated/shop_prod_mx.py: new", "generated/shop_qa_br.py: new", "generated/shop_qa_mx.py: new"]
    assert out[-1] == "generated: 3 written, 0 unchanged, 0 removed"


def test_an_endpoint_added_changed_and_removed(project):
    made = project()
    made.run("compile")
    simulation = made.simulations["simulations/shop.json"]
    simulation["endpoints"][0]["weight"] = 7  # home changed
    del simulation["endpoints"][1]  # cart removed
    simulation["endpoints"].append({"name": "product", "path": "/product/A1"})
    made.save()
    out = lines_of(made.run("compile"))
    assert "generated/shop_qa_mx.py: endpoints: +product -cart ~home" in out, out


def test_a_new_protected_host_and_a_changed_run_setting(project):
    catalog = copy.deepcopy(CATALOG)
    catalog["countries"]["pe"] = {"vars": {"locale": "es-PE", "currency": "PEN"}}
    made = project()
    made.run("compile")
    made.catalog = catalog
    made.catalog["apps"]["shop"]["countries"].append("pe")
    made.simulations["simulations/shop.json"]["overrides"] = {"targets": {"qa/mx": {"users": 9}}}
    made.save()
    out = lines_of(made.run("compile"))
    assert "generated/shop_qa_mx.py: users: 4 -> 9; PROTECTED_HOSTS: +1" in out, out
    assert "generated/shop_qa_br.py: PROTECTED_HOSTS: +1" in out
    assert "generated/shop_prod_pe.py: new" in out


def test_check_names_what_is_stale_in_the_configuration(project):
    made = project()
    made.run("compile")
    made.simulations["simulations/shop.json"]["headers"]["X-Team"] = "perf"
    made.save()
    result = made.run("compile", "--check")
    assert result.returncode == 1
    assert "generated: stale: shop_qa_mx.py (headers: +X-Team)" in result.stdout.splitlines(), result.stdout


def test_a_change_outside_the_configuration_is_counted_once():
    body = '"x"\n\nimport os\n\nTARGET = "t"\nHEADERS = {}\n\n\n# ---- How it runs. This part is the same in every generated file. ----\nA = 1\n'
    assert describe(body, body.replace("A = 1", "A = 2")) == ""
    assert describe(None, body) == "new"
    assert describe(body, body.replace("HEADERS = {}", 'HEADERS = {"A": "b"}')) == "headers: +A"
    assert describe(body, body.replace('TARGET = "t"', 'TARGET = "u"')) == 'TARGET: \'t\' -> \'u\''


def test_an_earlier_versions_calls_compare_by_their_fields():
    """A file written with `Endpoint(...)` calls and `Pause(1, 3)` is the same configuration as
    today's dicts: an upgrade alone shows no change."""
    old = (
        'TARGET = "t"\nENDPOINTS = [\n    Endpoint(\n        name="home",\n        method="GET",\n        path="/",\n'
        '        weight=3,\n        tags=("browse",),\n    ),\n]\nFLOWS = [\n    Flow(\n        name="buy",\n'
        '        weight=1,\n        steps=[\n            Pause(1, 3),\n            Step(\n                name="pay",\n'
        '                method="POST",\n                path="/pay",\n            ),\n        ],\n    ),\n]\n'
        "\n\n# How it runs. This part is the same in every generated file.\n"
    )
    new = (
        'TARGET = "t"\nENDPOINTS = [\n    {\n        "name": "home",\n        "method": "GET",\n        "path": "/",\n'
        '        "weight": 3,\n        "tags": ("browse",),\n    },\n]\nFLOWS = [\n    {\n        "name": "buy",\n'
        '        "weight": 1,\n        "steps": [\n            {"pause": {"min": 1, "max": 3}},\n            {\n'
        '                "name": "pay",\n                "method": "POST",\n                "path": "/pay",\n'
        "            },\n        ],\n    },\n]\n\n\n# ---- How it runs. This part is the same in every generated file. ----\n"
    )
    assert describe(old, new) == ""
    assert describe(old, new.replace('"weight": 3', '"weight": 4')) == "endpoints: ~home"
    assert describe(old, new.replace('"max": 3', '"max": 5')) == "flows: ~buy"
