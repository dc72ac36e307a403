"""Stage 3: layers (last wins), variables, origins, and the checks that need merged values."""

import copy
import os

import pytest

from compiler.resolve.model import EnvRef, Origin, Text
from compiler.problems import Problems
from compiler.resolve.catalog import resolve_all
from compiler.resolve.target import derived_seed
from compiler.resolve.variables import expand
from compiler.sources.targets import compatible_targets, why_not_compatible
from compiler.sources.validate import load_inputs
from conftest import CATALOG, SIMULATION


def resolve(project, simulation=None, catalog=None, names=None):
    made = project(catalog, simulation)
    os.chdir(made.folder)  # messages name files relative to the working folder
    problems = Problems()
    inputs = load_inputs(made.catalog_path, problems)
    assert inputs is not None, [str(p) for p in problems.items]
    refs = [r for r in compatible_targets(inputs.catalog.data) if names is None or r.name in names]
    targets = resolve_all(inputs, refs, problems)
    return {t.name: t for t in targets}, [str(p).split(": ", 1)[1] for p in problems.items]


def test_compatible_targets_and_reasons():
    assert [t.name for t in compatible_targets(CATALOG)] == ["shop_prod_mx", "shop_qa_br", "shop_qa_mx"]
    assert why_not_compatible(CATALOG, "shop", "prod", "br") == "shop_prod_br is excluded by /apps/shop/exclude/0"
    assert why_not_compatible(CATALOG, "shop", "dev", "mx") == "app 'shop' does not list environment 'dev' (/apps/shop/environments)"
    catalog = copy.deepcopy(CATALOG)
    catalog["apps"]["shop"]["exclude"] = [{"country": "mx"}]
    assert [t.name for t in compatible_targets(catalog)] == ["shop_prod_br", "shop_qa_br"]


def test_layers_apply_in_order_last_wins(project):
    catalog = copy.deepcopy(CATALOG)
    catalog["environments"]["prod"]["limits"]["max_users"] = 100
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {
        "environments": {"qa": {"users": 10, "spawn_rate": 5, "run_time": "2m"}},
        "countries": {"mx": {"users": 20, "spawn_rate": 6}},
        "targets": {"qa/mx": {"users": 30}},
    }
    targets, problems = resolve(project, simulation, catalog)
    assert problems == []
    qa_mx, qa_br = targets["shop_qa_mx"], targets["shop_qa_br"]
    assert (qa_mx.users, qa_mx.spawn_rate, qa_mx.run_time) == (30, 6, "2m")
    assert (qa_br.users, qa_br.spawn_rate, qa_br.run_time) == (10, 5, "2m")
    assert qa_mx.origin_of("/users") == Origin("targets.qa/mx", "simulations/shop.json", "/overrides/targets/qa~1mx/users")
    assert qa_mx.origin_of("/spawn_rate").layer == "countries.mx"
    assert qa_mx.origin_of("/run_time").layer == "environments.qa"
    assert qa_mx.origin_of("/host") == Origin("template", "simulations/shop.json", "/host")


def test_objects_merge_key_by_key_and_endpoints_by_name(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["endpoints"][1]["json"] = {"currency": "${currency}", "sku": "A1"}
    simulation["overrides"] = {
        "countries": {
            "br": {
                "headers": {"X-Extra": "1"},
                "endpoints": [
                    {"name": "cart", "json": {"sku": "B2"}, "weight": 4},
                    {"name": "home", "enabled": False},
                    {"name": "search", "path": "/search", "query": {"q": "sapatos", "page": 2, "all": True}},
                ],
            }
        }
    }
    targets, problems = resolve(project, simulation)
    assert problems == []
    br = targets["shop_qa_br"]
    assert dict(br.headers) == {"Accept-Language": "pt-BR", "Authorization": Text(("Bearer ", EnvRef("SHOP_TOKEN"))), "X-Extra": "1"}
    assert [(e.name, e.weight) for e in br.endpoints] == [("cart", 4), ("search", 1)]
    assert dict(br.endpoints[0].json) == {"currency": "BRL", "sku": "B2"}
    assert dict(br.endpoints[1].query) == {"q": "sapatos", "page": "2", "all": "true"}
    assert br.origin_of("/endpoints/cart/json/sku").pointer == "/overrides/countries/br/endpoints/0/json/sku"
    assert br.origin_of("/endpoints/cart/json/currency").layer == "template"
    assert [e.name for e in targets["shop_qa_mx"].endpoints] == ["home", "cart"]


def test_a_later_layer_can_enable_again(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["endpoints"][0]["enabled"] = False
    simulation["overrides"] = {"targets": {"qa/mx": {"endpoints": [{"name": "home", "enabled": True}]}}}
    targets, _ = resolve(project, simulation)
    assert [e.name for e in targets["shop_qa_mx"].endpoints] == ["home", "cart"]
    assert [e.name for e in targets["shop_qa_br"].endpoints] == ["cart"]


def test_variables_order_and_escape(project):
    catalog = copy.deepcopy(CATALOG)
    catalog["environments"]["qa"]["vars"]["tier"] = "env"
    catalog["countries"]["mx"]["vars"]["tier"] = "country"
    catalog["apps"]["shop"]["vars"]["tier"] = "app"
    simulation = copy.deepcopy(SIMULATION)
    simulation["vars"] = {"tier": "simulation", "n": 2.5}
    simulation["host"] = "https://${tier}.${app}.${environment}.${country}/${target}/$${literal}/${n}/$x"
    targets, problems = resolve(project, simulation, catalog)
    assert problems == []
    assert targets["shop_qa_mx"].host == "https://simulation.shop.qa.mx/shop_qa_mx/${literal}/2.5/$x"
    simulation["vars"] = {}
    simulation["host"] = "https://${tier}.test"
    targets, problems = resolve(project, simulation, catalog)
    assert problems == []
    assert targets["shop_qa_mx"].host == "https://app.test"
    del catalog["apps"]["shop"]["vars"]["tier"]
    targets, _ = resolve(project, simulation, catalog)
    assert targets["shop_qa_mx"].host == "https://country.test"
    assert targets["shop_qa_br"].host == "https://env.test"


def test_expand_parts():
    variables = {"a": "A"}
    problems = []
    assert expand("x${a}y", variables, True, problems.append) == "xAy"
    assert expand("${env:TOKEN}", variables, True, problems.append) == Text((EnvRef("TOKEN"),))
    assert expand("k=${env:K}&a=${a}", variables, True, problems.append) == Text(("k=", EnvRef("K"), "&a=A"))
    assert problems == []
    for text, message in [
        ("${b}", "unknown variable '${b}'; known: a"),
        ("${a", "unclosed or malformed placeholder at character 1: write ${name}, ${env:NAME}, or $${ for a literal '${'"),
        ("${a b}", "'${a b}' is not a valid placeholder; write ${name} or ${env:NAME}"),
        ("${env:1X}", "'${env:1X}' is not a valid environment variable name"),
        ("${env:X}", "'${env:X}' is read when the locustfile starts and may only stand in headers, query, json, form and body"),
    ]:
        found = []
        expand(text, variables, text != "${env:X}", found.append)
        assert found == [message]


def test_unknown_variables_name_file_pointer_and_targets(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["headers"]["Accept-Language"] = "${lcale}"
    simulation["host"] = "https://${env:HOST}"
    _, problems = resolve(project, simulation)
    known = "app, country, currency, domain, environment, locale, service, target"
    assert problems == [
        "/host: '${env:HOST}' is read when the locustfile starts and may only stand in headers, query, json, form and body (for targets shop_prod_mx, shop_qa_br, shop_qa_mx)",
        f"/headers/Accept-Language: unknown variable '${{lcale}}'; did you mean 'locale'?; known: {known} (for targets shop_prod_mx, shop_qa_br, shop_qa_mx)",
    ]


def test_limits_are_checked_after_overrides(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {"environments": {"prod": {"users": 6}}, "targets": {"qa/br": {"spawn_rate": 11, "run_time": "11m"}}}
    _, problems = resolve(project, simulation)
    assert problems == [
        "/overrides/environments/prod/users: users 6 is above the max_users of environment 'prod', 5 (catalog.json /environments/prod/limits/max_users) (for target shop_prod_mx)",
        "/overrides/targets/qa~1br/spawn_rate: spawn_rate 11 is above the max_spawn_rate of environment 'qa', 10 (catalog.json /environments/qa/limits/max_spawn_rate) (for target shop_qa_br)",
        "/overrides/targets/qa~1br/run_time: run_time 11m is above the max_run_time of environment 'qa', 10m (catalog.json /environments/qa/limits/max_run_time) (for target shop_qa_br)",
    ]


def test_merged_endpoint_problems(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {
        "environments": {"prod": {"endpoints": [{"name": "new_one", "path": "/new"}]}},
        "countries": {"br": {"endpoints": [{"name": "new_one"}, {"name": "cart", "body": "raw"}]}},
        "targets": {"qa/mx": {"endpoints": [{"name": "home", "enabled": False}, {"name": "cart", "enabled": False}]}},
    }
    _, problems = resolve(project, simulation)
    assert problems == [
        "/overrides/countries/br/endpoints/1/body: endpoint 'cart' has both json and body after overrides; keep one (for target shop_qa_br)",
        "/overrides/countries/br/endpoints/0: endpoint 'new_one' is added here without a path (for target shop_qa_br)",
        "/endpoints: no enabled endpoint or flow for this target; a simulation needs at least one (for target shop_qa_mx)",
    ]


def test_seed_is_derived_from_the_target_name_when_absent(project):
    simulation = copy.deepcopy(SIMULATION)
    del simulation["seed"]
    targets, _ = resolve(project, simulation)
    target = targets["shop_qa_mx"]
    assert target.seed_derived and target.seed == derived_seed("shop_qa_mx")
    assert derived_seed("shop_qa_mx") == int.from_bytes(__import__("hashlib").sha256(b"shop_qa_mx").digest()[:4], "big")
    assert targets["shop_qa_br"].seed != target.seed
    assert target.origin_of("/seed").layer == "derived"


def test_model_is_immutable(project):
    targets, _ = resolve(project)
    target = targets["shop_qa_mx"]
    with pytest.raises(Exception):
        target.users = 1
    with pytest.raises(TypeError):
        target.headers["X"] = "y"
    with pytest.raises(TypeError):
        target.endpoints[1].json["currency"] = "USD"


def test_a_value_replaced_by_a_later_layer_is_never_expanded(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["host"] = "https://${shop_domain}"
    simulation["overrides"] = {"environments": {"qa": {"host": "http://127.0.0.1:8765"}}}
    catalog = copy.deepcopy(CATALOG)
    catalog["environments"]["prod"]["vars"]["shop_domain"] = "shop.example.com"
    targets, problems = resolve(project, simulation, catalog)
    assert problems == []
    assert targets["shop_qa_mx"].host == "http://127.0.0.1:8765"
    assert targets["shop_prod_mx"].host == "https://shop.example.com"


def test_header_names_merge_ignoring_case_across_layers(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {"environments": {"qa": {"headers": {"accept-language": "xx"}}}}
    targets, problems = resolve(project, simulation)
    assert problems == []
    headers = targets["shop_qa_mx"].headers
    assert [k for k in headers if k.lower() == "accept-language"] == ["accept-language"]
    assert headers["accept-language"] == "xx"
    assert targets["shop_qa_mx"].origin_of("/headers/accept-language").layer == "environments.qa"
    assert targets["shop_prod_mx"].headers["Accept-Language"] == "es-MX"


def test_think_time_is_patched_key_by_key(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["think_time_seconds"] = {"min": 1, "max": 2}
    simulation["overrides"] = {"environments": {"qa": {"think_time_seconds": {"max": 5}}}, "countries": {"br": {"think_time_seconds": 0.5}}}
    targets, problems = resolve(project, simulation)
    assert problems == []
    assert (targets["shop_qa_mx"].think_time.min, targets["shop_qa_mx"].think_time.max) == (1, 5)
    assert targets["shop_qa_mx"].origin_of("/think_time_seconds/min").layer == "template"
    assert (targets["shop_qa_br"].think_time.min, targets["shop_qa_br"].think_time.max) == (0.5, 0.5)
    simulation["overrides"] = {"environments": {"qa": {"think_time_seconds": {"max": 0.5}}}}
    _, problems = resolve(project, simulation)
    assert problems == ["/overrides/environments/qa/think_time_seconds/max: think time min 1 is above max 0.5 after overrides (for targets shop_qa_br, shop_qa_mx)"]
    simulation["think_time_seconds"] = 1
    _, problems = resolve(project, simulation)
    assert problems == ["/overrides/environments/qa/think_time_seconds: think_time_seconds needs both min and max after overrides (for targets shop_qa_br, shop_qa_mx)"]


def test_header_values_must_be_ascii(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["headers"]["X-Name"] = "Jos\u00e9 ${locale}"
    _, problems = resolve(project, simulation)
    assert problems == [
        "/headers/X-Name: header X-Name has non-ASCII or control characters ('José es-MX'); HTTP sends "
        "header values as ASCII: percent-encode it, or move it to the body (for targets shop_prod_mx, shop_qa_mx)",
        "/headers/X-Name: header X-Name has non-ASCII or control characters ('José pt-BR'); HTTP sends "
        "header values as ASCII: percent-encode it, or move it to the body (for target shop_qa_br)",
    ]
