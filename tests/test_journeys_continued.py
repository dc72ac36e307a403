"""Journeys, continued, in the compiler: the new keys through the layers, their references, the
request names thresholds judge, explain, and the configuration block a reviewer reads."""

import copy
import json
import re

from compiler.output.render import render_target
from compiler.resolve.explain import explain_lines
from compiler.resolve.model import CaptureRef, FeedRef, JsonPath, RepeatRef, Text
from conftest import ROOT
from test_journeys import ROOMY, journey  # noqa: F401 (a fixture)
from test_resolve import resolve

BASE = {"host": "https://${country}.${domain}", "users": 5, "spawn_rate": 5, "run_time": "1m"}

LOGIN = {"name": "login", "method": "POST", "path": "/login", "capture": {"token": {"json": "$.token"}}}
POPULATIONS = {
    **BASE,
    "headers": {"Authorization": "Bearer ${capture:token}"},
    "think_time_seconds": 1,
    "populations": {
        "admins": {"fixed_count": 1, "on_start": [LOGIN], "headers": {"X-Role": "admin"},
                   "endpoints": [{"name": "orders", "label": "GET /admin/orders", "path": "/admin/orders"}]},
        "shoppers": {"weight": 4, "tags": ["shop"], "pacing": {"iteration_seconds": 2}, "on_start": [LOGIN],
                     "flows": [{"name": "buy", "steps": [
                         {"name": "list", "path": "/products",
                          "capture": {"sku": {"json": "$.items[*].sku", "pick": "random"}}},
                         {"name": "item", "path": "/item/${repeat:index}", "repeat": 3,
                          "when": {"capture": "sku", "exists": True}, "retry": {"times": 1, "on": [503, "timeout"]}}]}]},
    },
}  # fmt: skip


def test_populations_resolve_and_render_as_the_reviewer_reads_them(journey):
    targets, problems = resolve(journey, POPULATIONS, names={"shop_qa_mx"})
    assert problems == []
    target = targets["shop_qa_mx"]
    admins, shoppers = target.populations
    assert (admins.name, admins.fixed_count, admins.weight, admins.think_time.min) == ("admins", 1, None, 1)
    assert (shoppers.weight, shoppers.fixed_count, dict(shoppers.pacing)) == (4, None, {"iteration_seconds": 2})
    assert shoppers.flows[0].tags == ("shop",)  # the population's tags on each of its tasks
    item = shoppers.flows[0].steps[1]
    assert item.path == Text(("/item/", RepeatRef())) and item.repeat == 3
    assert dict(item.retry) == {"times": 1, "on": (503, "timeout"), "pause": 0}
    assert shoppers.flows[0].steps[0].capture["sku"]["json"] == JsonPath("$.items[*].sku", ("items", None, "sku"))
    assert target.on_start == () and target.endpoints == () and target.flows == ()
    source = render_target(target)
    assert '        "fixed_count": 1,\n        "think_time_seconds": (1, 1),' in source
    assert '"label": "GET /admin/orders",' in source
    assert '"path": Text("/item/", RepeatIndex()),' in source
    assert '"when": {"capture": "sku", "exists": True},' in source
    assert '"retry": {"times": 1, "on": [503, "timeout"], "pause": 0},' in source
    assert "JUDGED_NAMES = {}" in source and "POPULATIONS = {\n" in source


def test_a_layer_patches_a_population_and_its_share(journey):
    simulation = copy.deepcopy(POPULATIONS)
    simulation["overrides"] = {"environments": {"qa": {"populations": {
        "admins": {"weight": 1, "endpoints": [{"name": "orders", "path": "/admin/v2/orders"}, {"name": "audit", "path": "/audit"}]},
        "shoppers": {"fixed_count": 2, "think_time_seconds": 0.5},
    }}}}  # fmt: skip
    simulation["populations"]["shoppers"].pop("pacing")
    simulation["users"] = 4
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx", "shop_prod_mx"})
    assert problems == []
    admins, shoppers = targets["shop_qa_mx"].populations
    assert (admins.weight, admins.fixed_count, shoppers.fixed_count, shoppers.think_time.max) == (1, None, 2, 0.5)
    assert [(e.name, e.path, e.label) for e in admins.endpoints] == [
        ("orders", "/admin/v2/orders", "GET /admin/orders"), ("audit", "/audit", None)]
    assert targets["shop_prod_mx"].populations[0].fixed_count == 1
    lines = "\n".join(explain_lines(targets["shop_qa_mx"], "catalog.json"))
    assert "populations.admins.weight" in lines and "environments.qa" in lines
    assert re.search(r"^populations\.shoppers\.flows\.buy\.steps\.1\.repeat +3  <- template \(", lines, re.M), lines
    assert "populations.admins.endpoints.orders.label" in lines


def test_a_when_is_replaced_as_a_whole_by_a_layer(journey):
    simulation = {**BASE, "on_start": [LOGIN],
                  "endpoints": [{"name": "home", "path": "/", "when": {"capture": "token", "exists": True}}],
                  "overrides": {"countries": {"mx": {"endpoints": [{"name": "home", "when": {"capture": "token", "equals": "x"}}]}}}}  # fmt: skip
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == []
    assert dict(targets["shop_qa_mx"].endpoints[0].when) == {"capture": "token", "equals": "x"}


def test_paths_from_data_are_references_of_their_own(journey, tmp_path):
    (tmp_path / "feeds" / "pages.csv").write_text("url\n/docs/\n")
    simulation = {**BASE, "feeds": {"pages": {"file": "feeds/pages.csv", "mode": "sequential"}},
                  "endpoints": [{"name": "page", "path": "${feed:pages.url}"}],
                  "flows": [{"name": "walk", "steps": [{"name": "links", "path": "/", "capture": {"next": {"header": "Location"}}},
                                                       {"name": "next", "path": "${capture:next}"}]}]}  # fmt: skip
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == []
    target = targets["shop_qa_mx"]
    assert target.endpoints[0].path == FeedRef("pages", "url")
    assert target.flows[0].steps[1].path == CaptureRef("next")


def test_thresholds_judge_the_request_names_their_steps_send(journey):
    simulation = {**BASE, "endpoints": [
        {"name": "list_items", "label": "GET /api/items", "path": "/api/items", "tags": ["reads"]},
        {"name": "add_item", "label": "POST /api/items", "method": "POST", "path": "/api/items"},
        {"name": "again", "label": "GET /api/items", "path": "/api/items"},
    ], "thresholds": {"requests": {"add_item": {"p95_ms": 800}}, "tags": {"reads": {"error_ratio": 0}}}}  # fmt: skip
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/thresholds/tags/reads: tags.reads judges the request name 'GET /api/items', which endpoint 'again' sends too "
        "without the tag: statistics by request name cannot tell them apart; give one of them a label of its own "
        "(for target shop_qa_mx)"
    ]
    simulation["endpoints"][2]["label"] = "GET /api/items (again)"
    simulation["thresholds"]["requests"]["again"] = {"p95_ms": 1}
    simulation["endpoints"].append({"name": "copy", "label": "GET /api/items (again)", "path": "/x"})
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/thresholds/requests/again: requests.again judges the request name 'GET /api/items (again)', which step 'copy' "
        "(endpoint 'copy') sends too: their statistics are one; give one of them a label of its own (for target shop_qa_mx)"
    ]
    del simulation["thresholds"]["requests"]["again"]
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == []
    assert targets["shop_qa_mx"].judged_names == {"requests": {"add_item": ("POST /api/items",)}, "tags": {"reads": ("GET /api/items",)}}


def test_every_population_that_is_fixed_must_add_up_to_the_users(journey):
    simulation = copy.deepcopy(POPULATIONS)
    simulation["populations"]["shoppers"] = {"fixed_count": 2, "on_start": [LOGIN], "endpoints": [{"name": "home", "path": "/"}]}
    _, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/users: users 5, but every population has a fixed_count and they add up to 3 (admins 1, shoppers 2): the other 2 "
        "users would belong to no population; set users to 3, or give a population a weight (for target shop_qa_mx)"
    ]


def test_a_header_with_a_capture_needs_it_from_every_population_s_on_start(journey):
    simulation = copy.deepcopy(POPULATIONS)
    simulation["populations"]["admins"]["on_start"] = []
    _, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/headers/Authorization: '${capture:token}' is not captured before it is used: a simulation header may use "
        "captures from on_start of population 'admins' only; captured by then: none (for target shop_qa_mx)"
    ]


def test_every_new_key_is_settable_in_every_layer():
    schema = json.loads((ROOT / "compiler/schemas/simulation.schema.json").read_text())
    defs = schema["$defs"]
    assert "populations" in schema["properties"] and "populations" in defs["layer"]["properties"]
    for kind in ("step", "on_start_step", "on_start_patch"):
        assert {"label", "when", "retry", "repeat"} <= set(defs[kind]["else"]["properties"]), kind
    assert {"label", "when", "retry", "repeat"} <= set(defs["endpoint_patch"]["properties"])
    for kind in ("thresholds", "thresholds_patch"):
        assert {"tags", "for", "checks_failed_ratio", "abort"} <= set(defs[kind]["properties"]), kind
    assert set(defs["population_patch"]["properties"]) == set(defs["population"]["properties"])


def test_a_population_may_not_take_a_name_python_or_the_runtime_uses(journey):
    """Each population is a user class at the file's top level: `max` would replace the builtin
    the runtime calls, `__name__` the module's own name, `run` a runtime function."""
    simulation = copy.deepcopy(POPULATIONS)
    shoppers = simulation["populations"].pop("shoppers")
    simulation["populations"].update({"max": shoppers, "__name__": copy.deepcopy(shoppers), "run": copy.deepcopy(shoppers)})
    _targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    refused = sorted(re.findall(r"/populations/(\S+): population name '\S+' is a name the generated file already uses", "\n".join(problems)))
    assert refused == ["__name__", "max", "run"], problems
