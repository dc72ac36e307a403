"""YAML sources: a catalog and simulations in `.yaml`/`.yml` read with the same schemas and
checks as JSON, compiled to the same code (only the docstring naming the sources differs), with
errors that name the file, the pointer and the line, YAML 1.2's reading of the values YAML 1.1
reads otherwise, anchors, aliases and merge keys, and the fast path's manifest.

The YAML files are tests/fixtures/yaml/ (hand-written, with comments and anchors); the JSON with
the same data is written here, by hand too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "yaml"

LIMITS = {"max_users": 50, "max_spawn_rate": 10, "max_run_time": "10m"}
CATALOG = {
    "environments": {
        "qa": {"vars": {"domain": "qa.example.test"}, "limits": LIMITS},
        "staging": {"vars": {"domain": "staging.example.test"}, "limits": LIMITS},
        "prod": {"vars": {"domain": "example.com"}, "limits": {"max_users": 5}, "protected": True},
    },
    "countries": {
        "mx": {"vars": {"locale": "es-MX", "currency": "MXN"}},
        "br": {"vars": {"locale": "pt-BR", "currency": "BRL"}},
        "no": {"vars": {"locale": "nb-NO", "currency": "NOK"}},
    },
    "apps": {
        "shop": {
            "simulation": "simulations/shop.json",
            "environments": ["qa", "staging", "prod"],
            "countries": ["mx", "br", "no"],
            "exclude": [{"environment": "prod", "country": "br"}],
            "vars": {"service": "shop"},
        }
    },
}
HOME = {"name": "home", "path": "/", "weight": 3, "expect_status": [200, 304], "tags": ["browse"]}
SIMULATION = {
    "host": "https://${country}.${domain}",
    "users": 4,
    "spawn_rate": 2,
    "run_time": "1m",
    "seed": 3,
    "think_time_seconds": {"min": 0.5, "max": 2},
    "headers": {"Accept-Language": "${locale}", "Authorization": "Bearer ${env:SHOP_TOKEN}"},
    "on_start": [
        {
            "name": "login",
            "method": "POST",
            "path": "/login",
            "json": {"email": "shopper@example.test", "password": "${env:SHOPPER_PASSWORD}"},
            "capture": {"token": {"json": "$.token"}},
        }
    ],
    "endpoints": [
        HOME,
        {
            **HOME,  # the YAML merges it: its own keys win, the others keep their order
            "name": "search",
            "path": "/search",
            "query": {"q": "shoes", "page": 2, "exact": True, "version": "1.10", "date": "2024-01-01"},
        },
    ],
    "flows": [
        {
            "name": "buy",
            "steps": [
                {
                    "name": "list",
                    "path": "/products",
                    "query": {"country": "${country}"},
                    "checks": [{"json": "$.items", "exists": True}],
                    "capture": {"sku": {"json": "$.items[0].sku"}},
                },
                {"pause": {"min": 1, "max": 3}},
                {
                    "name": "add_to_cart",
                    "method": "POST",
                    "path": "/cart",
                    "headers": {"Authorization": "Bearer ${capture:token}"},
                    "json": {"sku": "${capture:sku}", "qty": 1, "currency": "${currency}"},
                    "expect_status": [200, 201],
                    "checks": [{"json": "$.currency", "equals": "${currency}"}, {"max_ms": 800}],
                    "capture": {"cart": {"header": "X-Cart-Id"}},
                },
                {
                    "name": "pay",
                    "method": "POST",
                    "path": "/cart/${capture:cart}/pay",
                    "form": {"method": "card"},
                    "checks": [{"body_contains": "paid"}],
                },
            ],
        }
    ],
    "overrides": {
        "environments": {"prod": {"users": 2, "spawn_rate": 1}},
        "countries": {"br": {"endpoints": [{"name": "search", "query": {"q": "sapatos"}}]}},
    },
}


def compiler(catalog: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(catalog), *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def json_project(folder: Path) -> Path:
    (folder / "simulations").mkdir(parents=True)
    (folder / "simulations" / "shop.json").write_text(json.dumps(SIMULATION, indent=2))
    (folder / "catalog.json").write_text(json.dumps(CATALOG, indent=2))
    return folder / "catalog.json"


def yaml_project(folder: Path) -> Path:
    shutil.copytree(FIXTURES, folder)
    return folder / "catalog.yaml"


DOCSTRING = re.compile(r'^"Load simulation (\w+), generated from (\S+) and (\S+)\."$', re.M)


def body(text: str) -> tuple[str, tuple[str, ...]]:
    """A generated file without its digest line and the names of its sources, and those names."""
    names = DOCSTRING.search(text)
    assert names, text[:400]
    stripped = DOCSTRING.sub("", re.sub(r"^# compiler-digest: .*$", "", text, flags=re.M))
    return stripped, names.groups()


def test_yaml_and_json_sources_compile_to_the_same_code(tmp_path):
    json_catalog, yaml_catalog = json_project(tmp_path / "json"), yaml_project(tmp_path / "yaml")
    for catalog in (json_catalog, yaml_catalog):
        result = compiler(catalog, "compile", "--out", str(catalog.parent / "generated"))
        assert result.returncode == 0, result.stderr
    json_files = {p.name: p.read_text() for p in (tmp_path / "json" / "generated").glob("*.py")}
    yaml_files = {p.name: p.read_text() for p in (tmp_path / "yaml" / "generated").glob("*.py")}
    assert sorted(json_files) == sorted(yaml_files)
    assert "shop_prod_no.py" in yaml_files and "shop_prod_br.py" not in yaml_files  # Norway is "no"
    for name in json_files:
        json_body, json_names = body(json_files[name])
        yaml_body, yaml_names = body(yaml_files[name])
        assert json_body == yaml_body, name
        assert json_names[1:] == ("catalog.json", "simulations/shop.json")
        assert yaml_names[1:] == ("catalog.yaml", "simulations/shop.yaml")  # named as they are
    search = yaml_files["shop_qa_mx.py"]
    assert '"q": "shoes",\n            "page": "2",\n            "exact": "true",\n            "version": "1.10",\n            "date": "2024-01-01",' in search


def test_explain_and_validate_read_yaml(tmp_path):
    catalog = yaml_project(tmp_path / "yaml")
    result = compiler(catalog, "validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "yaml/catalog.yaml: valid (1 simulation(s), 8 target(s))"
    explained = compiler(catalog, "explain", "shop_staging_mx", cwd=tmp_path).stdout
    # the staging limits are the qa limits' alias, the search endpoint the home endpoint merged
    assert re.search(r"^limits\.max_users +50 +<- catalog \(yaml/catalog\.yaml /environments/staging/limits/max_users\)", explained, re.M), explained
    assert re.search(r'^endpoints\.search\.expect_status +\[200, 304\]', explained, re.M), explained


def write(folder: Path, simulation: str, catalog_extra: str = "") -> Path:
    (folder / "simulations").mkdir(parents=True, exist_ok=True)
    (folder / "simulations" / "app.yml").write_text(simulation)
    catalog = folder / "catalog.yaml"
    catalog.write_text(
        "environments:\n  qa: {}\ncountries:\n  mx: {}\napps:\n  app:\n    simulation: simulations/app.yml\n"
        "    environments: [qa]\n    countries: [mx]\n" + catalog_extra
    )
    return catalog


BASE = "host: http://127.0.0.1:8765\nusers: 1\nspawn_rate: 1\nrun_time: 10s\n"


def errors(folder: Path, simulation: str, catalog_extra: str = "") -> list[str]:
    result = compiler(write(folder, simulation, catalog_extra), "validate", cwd=folder)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert re.fullmatch(r"\d+ error\(s\), \d+ warning\(s\) in \d+ file\(s\)", lines[-1]), lines
    return lines[:-1]


def test_schema_errors_name_the_file_the_pointer_and_the_line(tmp_path):
    found = errors(
        tmp_path,
        BASE.replace("users: 1", "users: 1_000")
        + "follow_redirects: no\nendpoints:\n  - name: home\n    path: /\n    wieght: 2\n",
    )
    assert found == [
        "simulations/app.yml: /endpoints/0/wieght: unknown key 'wieght'; did you mean 'weight'? (line 9, column 5)",
        'simulations/app.yml: /follow_redirects: follow_redirects is true or false; got "no"; YAML 1.2 reads the '
        "plain word no as the text 'no', not as false (YAML 1.1 would): write false for the boolean (line 5, column 1)",
        'simulations/app.yml: /users: expected an integer, got a string: "1_000"; YAML 1.2 reads 1_000 as text, '
        "not as a number (YAML 1.1 would): write the number without '_' or ':' (line 2, column 1)",
    ]


def test_errors_found_while_resolving_a_target_name_the_line(tmp_path):
    found = errors(tmp_path, BASE + "endpoints:\n  - name: home\n    path: /${nowhere}\n")
    assert len(found) == 1 and found[0].startswith("simulations/app.yml: /endpoints/0/path: "), found
    assert "nowhere" in found[0] and found[0].endswith(" (line 7, column 5)"), found


@pytest.mark.parametrize(
    "text, expected",
    [
        ("weight: 017", "017 has a leading zero: YAML 1.2 reads it as the number 17, YAML 1.1 as an octal number; "
                        "write 17, or quote it ('017') for the text (line 8, column 13)"),
        ("weight: 0o17", "0o17 is the octal number 15 in YAML 1.2 but text in YAML 1.1; write 15, or quote it "
                         "('0o17') for the text (line 8, column 13)"),
        ("weight: .inf", ".inf is not a number JSON can hold (infinite or not a number); write a number (line 8, column 13)"),
        ("weight: !!binary aGk=", "the tag tag:yaml.org,2002:binary on 'aGk=' is not supported: write the value plainly "
                                  "or quoted (line 8, column 13)"),
        ("weight: !!python/object:os.system x", "the tag tag:yaml.org,2002:python/object:os.system on 'x' is not "
                                                "supported: write the value plainly or quoted (line 8, column 13)"),
        ("path: /again", "duplicate key 'path' (first at line 7, column 5); remove one (line 8, column 5)"),
    ],
)  # fmt: skip
def test_values_yaml_versions_read_differently_are_refused(tmp_path, text, expected):
    found = errors(tmp_path, BASE + "endpoints:\n  - name: home\n    path: /\n    " + text + "\n")
    assert found == [f"simulations/app.yml: /endpoints/0/{text.split(':')[0]}: {expected}"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: &a [*a]\n", "/a/0: an alias at line 5, column 4 names a mapping or sequence that contains it: a recursive "
                         "structure has no JSON value"),
        ("%YAML 1.1\n---\n", "/: says %YAML 1.1 (line 1); the compiler reads YAML 1.2: remove the directive"),
        ("---\nb: 2\n", "/: invalid YAML at line 5, column 1: expected a single document in the stream but found "
                        "another document"),
        ("endpoints: [", "/: invalid YAML at line 5, column 13: while parsing a flow node expected the node content, "
                         "but found '<stream end>'"),
    ],
)  # fmt: skip
def test_broken_yaml_is_refused_with_its_line(tmp_path, text, expected):
    simulation = text + BASE if text.startswith("%") else BASE + text
    assert errors(tmp_path, simulation) == [f"simulations/app.yml: {expected}"]


def test_aliases_that_expand_past_a_million_values_are_refused(tmp_path):
    laughs = BASE + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}]\n"
        for n in range(1, 9)
    )
    found = errors(tmp_path, laughs)
    assert len(found) == 1 and "aliases expand to more than 1,000,000 values" in found[0], found


def test_an_empty_yaml_file_is_refused(tmp_path):
    assert errors(tmp_path, "# nothing but a comment\n") == ["simulations/app.yml: /: holds no YAML document; expected a mapping"]
    assert errors(tmp_path, "") == ["simulations/app.yml: /: is empty; expected a YAML mapping"]


def test_the_fast_path_covers_yaml_sources(tmp_path):
    catalog = yaml_project(tmp_path / "yaml")
    out = tmp_path / "out"
    first = compiler(catalog, "compile", "--out", str(out))
    assert first.returncode == 0 and "8 written" in first.stdout, first.stdout + first.stderr
    again = compiler(catalog, "compile", "--out", str(out))
    assert again.stdout.strip().splitlines()[-1] == f"{out}: 0 written, 8 unchanged, 0 removed"
    assert json.loads((out / ".compiler-manifest.json").read_text())["manifest"]["targets"].keys() >= {"shop_qa_mx", "shop_prod_no"}
    # a change through an anchor: the qa and staging limits both change, the files of both follow
    text = catalog.read_text()
    catalog.write_text(text.replace("max_users: 50", "max_users: 40"))
    changed = compiler(catalog, "compile", "--out", str(out))
    assert changed.stdout.strip().splitlines()[-1] == f"{out}: 6 written, 2 unchanged, 0 removed", changed.stdout + changed.stderr
    assert '"max_users": 40,' in (out / "shop_staging_br.py").read_text()
    # a comment only: the bytes changed, so the targets are compiled again, to the same files
    simulation = catalog.parent / "simulations" / "shop.yaml"
    simulation.write_text(simulation.read_text() + "# a comment\n")
    commented = compiler(catalog, "compile", "--out", str(out))
    assert commented.stdout.strip().splitlines()[-1] == f"{out}: 0 written, 8 unchanged, 0 removed"
    check = compiler(catalog, "compile", "--out", str(out), "--check")
    assert check.returncode == 0, check.stdout + check.stderr
