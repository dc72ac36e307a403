"""Stage 2: schema and cross-reference problems, all at once, as `file: /pointer: message`."""

import copy

from conftest import CATALOG, SIMULATION


def errors_of(project, catalog=None, simulation=None):
    code, out, err = project(catalog, simulation).cli("validate")
    assert code == 2, (out, err)
    assert "Traceback" not in err
    return [line for line in err.splitlines() if not line.startswith(("warning", "0 error"))]


def test_valid_inputs_pass(project):
    code, out, err = project().cli("validate")
    assert (code, err) == (0, "")
    assert "valid (1 simulation(s), 3 target(s))" in out


def test_unknown_key_suggests_the_near_miss(project):
    simulation = {**SIMULATION, "usres": 3}
    catalog = copy.deepcopy(CATALOG)
    catalog["environments"]["qa"]["limits"]["max_user"] = 3
    lines = errors_of(project, catalog, simulation)
    assert "catalog.json: /environments/qa/limits/max_user: unknown key 'max_user'; did you mean 'max_users'? (line 11, column 9)" in lines
    assert "simulations/shop.json: /usres: unknown key 'usres'; did you mean 'users'? (line 26, column 3)" in lines


def test_every_schema_error_at_once_with_pointers(project):
    simulation = copy.deepcopy(SIMULATION)
    del simulation["host"]
    simulation["users"] = "ten"
    simulation["spawn_rate"] = 0
    simulation["run_time"] = "1 minute"
    simulation["endpoints"][0]["path"] = "no-slash"
    simulation["endpoints"][1]["method"] = "FETCH"
    simulation["endpoints"][1]["body"] = "x"
    simulation["headers"]["X-Bad"] = "a\nb"
    lines = errors_of(project, simulation=simulation)
    assert lines[:-1] == [
        "simulations/shop.json: /: missing required key 'host'",
        "simulations/shop.json: /endpoints/0/path: a path starts with '/', or is exactly one ${feed:FEED.COLUMN} or ${capture:NAME} (a path from data); got \"no-slash\" (line 14, column 7)",
        "simulations/shop.json: /endpoints/1: a request has at most one of json, body and form (line 17, column 5)",
        "simulations/shop.json: /endpoints/1/method: method is one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS; got \"FETCH\" (line 19, column 7)",
        "simulations/shop.json: /headers/X-Bad: a header value is a string without control characters (no newlines); got \"a\\nb\" (line 9, column 5)",
        "simulations/shop.json: /run_time: expected a duration in Locust's format: 90s, 5m, 1h30m; got \"1 minute\" (line 4, column 3)",
        "simulations/shop.json: /spawn_rate: expected a number > 0, got 0 (line 3, column 3)",
        "simulations/shop.json: /users: expected an integer, got a string: \"ten\" (line 2, column 3)",
    ]
    assert lines[-1] == "8 error(s), 0 warning(s) in 1 file(s)"


def test_names_are_restricted(project):
    catalog = copy.deepcopy(CATALOG)
    catalog["countries"]["Mx_1"] = {}
    lines = errors_of(project, catalog)
    assert lines[0].startswith("catalog.json: /countries/Mx_1: 'Mx_1' is not allowed here: a name is lowercase")


def test_cross_references(project):
    catalog = copy.deepcopy(CATALOG)
    catalog["apps"]["shop"]["environments"] = ["qa", "prd"]
    catalog["apps"]["shop"]["exclude"] = [{"country": "co"}]
    catalog["countries"]["mx"]["vars"]["target"] = "x"
    lines = errors_of(project, catalog)
    assert "catalog.json: /apps/shop/environments/1: unknown environment 'prd'; did you mean 'prod'?; the catalog has: prod, qa" in lines
    assert "catalog.json: /apps/shop/exclude/0/country: excludes country 'co', which app 'shop' does not list (mx, br), so it matches nothing" in lines
    assert any(line.startswith("catalog.json: /countries/mx/vars/target: 'target' is a built-in variable") for line in lines)


def test_missing_simulation_file(project):
    catalog = copy.deepcopy(CATALOG)
    catalog["apps"]["shop"]["simulation"] = "simulations/shops.json"
    lines = errors_of(project, catalog)
    assert lines[0] == (
        "catalog.json: /apps/shop/simulation: simulation file 'simulations/shops.json' not found "
        "(looked for simulations/shops.json); did you mean 'simulations/shop.json'?"
    )


def test_overrides_must_name_real_targets(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {
        "environments": {"staging": {"users": 1}},
        "countries": {"co": {"users": 1}},
        "targets": {"prod/br": {"users": 1}, "qa/mx": {"users": 2}},
    }
    lines = errors_of(project, simulation=simulation)
    assert lines[:-1] == [
        "simulations/shop.json: /overrides/environments/staging: override for environment 'staging', which has no target: not in the catalog",
        "simulations/shop.json: /overrides/countries/co: override for country 'co', which has no target: not in the catalog",
        "simulations/shop.json: /overrides/targets/prod~1br: override for target 'prod/br', which no app compiles: shop_prod_br is excluded by /apps/shop/exclude/0 (catalog.json)",
    ]


def test_duplicate_endpoints_and_inverted_ranges(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["endpoints"].append({"name": "home", "path": "/again"})
    simulation["think_time_seconds"] = {"min": 3, "max": 1}
    lines = errors_of(project, simulation=simulation)
    assert lines[:-1] == [
        "simulations/shop.json: /endpoints/2/name: duplicate endpoint name 'home' (first at /endpoints/0)",
        "simulations/shop.json: /think_time_seconds: min 3 is above max 1",
    ]


def test_json_syntax_error_in_one_file_does_not_hide_the_others(project):
    made = project()
    (made.folder / "simulations/shop.json").write_text('{"host": "x",}')
    made.catalog["environments"]["qa"]["limits"]["max_users"] = -1
    made.catalog_path.write_text(__import__("json").dumps(made.catalog))
    code, _out, err = made.cli("validate")
    assert code == 2
    assert "catalog.json: /environments/qa/limits/max_users: expected a number >= 1, got -1" in err
    assert "simulations/shop.json: /: invalid JSON at line 1, column 14: Expecting property name enclosed in double quotes" in err


def test_simulation_vars_may_not_shadow_built_ins(project):
    simulation = {**SIMULATION, "vars": {"target": "x"}, "overrides": {"countries": {"mx": {"vars": {"app": "y"}}}}}
    lines = errors_of(project, simulation=simulation)
    assert lines[:-1] == [
        "simulations/shop.json: /vars/target: 'target' is a built-in variable (app, environment, country, target); pick another name",
        "simulations/shop.json: /overrides/countries/mx/vars/app: 'app' is a built-in variable (app, environment, country, target); pick another name",
    ]


def test_variable_values_are_literal_and_patches_need_a_defined_endpoint(project):
    catalog = copy.deepcopy(CATALOG)
    catalog["countries"]["mx"]["vars"]["token"] = "${env:SECRET}"
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {"targets": {"qa/mx": {"endpoints": [{"name": "crt", "enabled": False}]}}}
    lines = errors_of(project, catalog, simulation)
    assert lines[:-1] == [
        "catalog.json: /countries/mx/vars/token: a variable's value is literal text, not expanded: "
        "write ${env:NAME} or ${name} where the value is used, in the simulation",
        "simulations/shop.json: /overrides/targets/qa~1mx/endpoints/0/name: no layer defines an endpoint 'crt' (with a path); did you mean 'cart'?",
    ]


def test_every_stage_reports_in_one_run(project):
    """Schema errors in the catalog's apps, cross-references and a target's variables: one run."""
    catalog = copy.deepcopy(CATALOG)
    catalog["apps"]["other"] = {"simulation": "simulations/shop.json", "environments": ["qaa"], "countries": ["mx"]}
    simulation = copy.deepcopy(SIMULATION)
    simulation["headers"]["Accept-Language"] = "${lcale}"
    lines = errors_of(project, catalog, simulation)
    assert lines[0].startswith("catalog.json: /apps/other/environments/0: unknown environment 'qaa'; did you mean 'qa'?")
    assert lines[1].startswith("simulations/shop.json: /headers/Accept-Language: unknown variable '${lcale}'")
    assert lines[-1] == "2 error(s), 0 warning(s) in 2 file(s)"
