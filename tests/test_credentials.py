"""Literal credentials draw a warning that suggests ${env:...}; they never stop a compile."""

import copy

from conftest import CATALOG, SIMULATION


def warnings_of(project, catalog=None, simulation=None) -> tuple[int, list[str]]:
    code, out, err = project(catalog, simulation).cli("validate")
    return code, [line for line in (out + err).splitlines() if ": warning: " in line]


def test_env_values_and_harmless_names_draw_no_warning(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["endpoints"][1]["json"] = {"token_type": "Bearer", "password": "${env:SHOP_PASSWORD}"}
    assert warnings_of(project, simulation=simulation) == (0, [])


def test_literal_credentials_are_named_with_their_pointer_and_a_suggestion(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["headers"]["Authorization"] = "Bearer abc123"
    simulation["endpoints"][0]["headers"] = {"X-Api-Key": "k-42"}
    simulation["endpoints"][0]["query"] = {"access_token": "t-1", "q": "shoes"}
    simulation["endpoints"][1]["json"] = {"user": {"name": "ana", "password": "hunter2"}}
    simulation["endpoints"].append(
        {"name": "login", "method": "POST", "path": "/login", "body": "user=ana&client_secret=s3"}
    )
    simulation["endpoints"].append(
        {"name": "raw", "method": "POST", "path": "/raw", "body": '{"auth": {"refresh_token": "r-9"}}'}
    )
    simulation["overrides"] = {"countries": {"br": {"headers": {"Authorization": "Basic YTpi"}}}}
    catalog = copy.deepcopy(CATALOG)
    catalog["environments"]["qa"]["vars"]["db_password"] = "p4ss"

    code, lines = warnings_of(project, catalog, simulation)

    assert code == 0  # warnings only: the compile goes on
    assert lines == [
        "catalog.json: /environments/qa/vars/db_password: warning: 'db_password' looks like a "
        "credential with a literal value, which would end up in the generated code; variables are "
        'compile-time text: write "${env:DB_PASSWORD}" where it is used, so it is read from the '
        "environment when the run starts",
        "simulations/shop.json: /headers/Authorization: warning: 'Authorization' looks like a "
        "credential with a literal value, which would end up in the generated code; use "
        '"Bearer ${env:AUTHORIZATION}" to read it from the environment when the run starts',
        "simulations/shop.json: /endpoints/0/headers/X-Api-Key: warning: 'X-Api-Key' looks like a "
        "credential with a literal value, which would end up in the generated code; use "
        '"${env:X_API_KEY}" to read it from the environment when the run starts',
        "simulations/shop.json: /endpoints/0/query/access_token: warning: 'access_token' looks "
        "like a credential with a literal value, which would end up in the generated code; use "
        '"${env:ACCESS_TOKEN}" to read it from the environment when the run starts',
        "simulations/shop.json: /endpoints/1/json/user/password: warning: 'password' looks like a "
        "credential with a literal value, which would end up in the generated code; use "
        '"${env:PASSWORD}" to read it from the environment when the run starts',
        "simulations/shop.json: /endpoints/2/body: warning: 'client_secret' looks like a "
        "credential with a literal value, which would end up in the generated code; use "
        '"${env:CLIENT_SECRET}" to read it from the environment when the run starts',
        "simulations/shop.json: /endpoints/3/body: warning: 'refresh_token' looks like a "
        "credential with a literal value, which would end up in the generated code; use "
        '"${env:REFRESH_TOKEN}" to read it from the environment when the run starts',
        "simulations/shop.json: /overrides/countries/br/headers/Authorization: warning: "
        "'Authorization' looks like a credential with a literal value, which would end up in the "
        'generated code; use "Basic ${env:AUTHORIZATION}" to read it from the environment when '
        "the run starts",
    ]


def test_compile_warns_too_and_still_writes(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["headers"]["Authorization"] = "Bearer abc123"
    made = project(simulation=simulation)
    code, out, err = made.cli("compile")
    assert code == 0
    assert "/headers/Authorization: warning: 'Authorization' looks like a credential" in out + err
    assert (made.folder / "generated" / "shop_qa_mx.py").is_file()
