"""The MCP server's tools, prompt and resources, driven in this process by the SDK's own client
(`mcp.Client` on the MCPServer object): every tool and its errors on bad input, in the command
line's words. The client checks every structured result against the tool's published output
schema, so each successful call below also proves the result matches its contract.

The project is a catalog aimed at a recording server on 127.0.0.1 (tests/mcp_support.py); the
server works in the project's folder, as `python -m compiler mcp --root` does. Runs are real
(Locust against the recording server, 2 s each) and are made once, in a module fixture.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
from mcp_support import MAX_RUN_TIME, MAX_USERS, SECRET, TARGETS, drive, make_project, server_env, text

from compiler import cli
from compiler.output.compiled import KEPT_EDITED
from compiler.mcp.server import build_server
from compiler.mcp.tools import Settings
from recording_server import RecordingServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def recorder():
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path, recorder: RecordingServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder, the current folder for the test, with the server's environment."""
    folder = make_project(tmp_path / "project", recorder.port)
    monkeypatch.chdir(folder)
    for name, value in server_env(folder).items():
        monkeypatch.setenv(name, value)
    return folder


def serve(**options) -> object:
    return build_server(Settings(**{"max_users": MAX_USERS, "max_run_time": MAX_RUN_TIME, **options}))


def tool(name: str, arguments: dict | None = None, **options):
    """One call on a server started with the tests' caps (and `options`)."""
    return drive(serve(**options), lambda client: client.call_tool(name, arguments or {}))


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- the server's own description ------------------------------------------------------------------


def test_instructions_state_the_caps_and_what_is_protected(project):
    said = drive(serve(), lambda client: _instructions(client))
    assert f"at most {MAX_USERS} users (--max-users) and {MAX_RUN_TIME} (--max-run-time)" in said
    assert "Protected environments never run: this server was started without --allow-protected" in said
    allowed = drive(serve(allow_protected=True), lambda client: _instructions(client))
    assert "only when the call sets allow_protected: true" in allowed


async def _instructions(client) -> str:
    return client.instructions


def test_every_tool_is_listed_with_input_and_output_schemas(project):
    tools = drive(serve(), lambda client: client.list_tools()).tools
    assert sorted(t.name for t in tools) == [
        "check_config", "compare_runs", "compile", "explain", "get_run", "list_targets", "run", "validate",
    ]  # fmt: skip
    for listed in tools:
        assert listed.input_schema["type"] == "object" and listed.output_schema["type"] == "object", listed.name
        assert listed.description and "\n" not in listed.description


# -- list_targets and explain --------------------------------------------------------------------


def test_list_targets_all_and_by_glob(project):
    result = tool("list_targets")
    assert not result.is_error, text(result)
    assert [t["name"] for t in result.structured_content["targets"]] == TARGETS
    assert text(result) == "\n".join(TARGETS)  # what `list` prints
    assert result.structured_content["catalog"] == "data/catalog.json"
    prod = next(t for t in result.structured_content["targets"] if t["name"] == "shop_prod_mx")
    assert prod == {"name": "shop_prod_mx", "app": "shop", "environment": "prod", "country": "mx", "protected": True}
    shop = tool("list_targets", {"pattern": "shop_*"})
    assert [t["name"] for t in shop.structured_content["targets"]] == ["shop_local_mx", "shop_prod_mx"]


def test_list_targets_an_unknown_target_says_why(project):
    result = tool("list_targets", {"pattern": "shop_qa_mx"})
    assert result.is_error
    assert text(result) == (
        "error: target 'shop_qa_mx' is not compiled: app 'shop' does not list environment 'qa' "
        "(/apps/shop/environments) (data/catalog.json); did you mean 'shop_local_mx'?"
    )


def test_explain_gives_each_value_with_its_origin(project):
    result = tool("explain", {"target": "shop_local_mx"})
    assert not result.is_error, text(result)
    code, out, _ = _cli("explain", "shop_local_mx")
    assert code == 0 and text(result) == out.rstrip("\n")  # the command line's very lines
    values = {row["key"]: row for row in result.structured_content["values"]}
    assert values["users"]["value"] == 2
    assert values["users"]["origin"] == "template (data/simulations/shop.json /users)"
    assert values["headers.Authorization"]["value"] == "Bearer ${env:APP_TOKEN}"  # never the secret
    assert values["endpoints.items.query.currency"]["value"] == "MXN"
    assert "${currency} from catalog" in values["endpoints.items.query.currency"]["origin"]
    assert values["protected"] == {"key": "protected", "value": False, "origin": "catalog (data/catalog.json /environments/local)"}
    assert SECRET not in json.dumps(result.structured_content)


def test_explain_an_unknown_target(project):
    result = tool("explain", {"target": "shop_local_xx"})
    assert result.is_error
    assert text(result) == (
        "error: target 'shop_local_xx' is not compiled: app 'shop' does not list country 'xx' "
        "(/apps/shop/countries) (data/catalog.json); did you mean 'shop_local_mx'?"
    )


def _cli(*args: str) -> tuple[int, str, str]:
    """The command line's main() in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def _cli_in(folder: Path, *args: str) -> tuple[int, str, str]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        return _cli(*args)
    finally:
        os.chdir(before)


# -- validate ----------------------------------------------------------------------------------------


def test_validate_the_files_on_disk(project):
    result = tool("validate")
    assert not result.is_error, text(result)
    assert result.structured_content == {
        "valid": True, "draft": False, "catalog": "data/catalog.json", "simulations": 2, "targets": 3,
        "warnings": [], "summary": "data/catalog.json: valid (2 simulation(s), 3 target(s))",
    }  # fmt: skip


THREE_MISTAKES = {  # two typos with a suggestion, and a string for a number
    "host": "http://${domain}",
    "users": "2",
    "spawn_rate": 1,
    "run_time": "5s",
    "think_time_secs": 0.1,
    "endpoints": [{"name": "home", "path": "/", "wieght": 2}],
}


def test_validate_a_draft_with_three_mistakes_reports_all_at_once(project):
    before = files_of(project)
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    catalog["apps"]["orders"] = {"simulation": "simulations/orders.json", "environments": ["local"], "countries": ["mx"]}
    result = tool("validate", {"catalog": json.dumps(catalog), "simulations": {"simulations/orders.json": json.dumps(THREE_MISTAKES)}})
    assert result.is_error
    assert text(result).splitlines() == [
        "simulations/orders.json: /think_time_secs: unknown key 'think_time_secs'; did you mean 'think_time_seconds'? (line 1, column 79)",
        "simulations/orders.json: /endpoints/0/wieght: unknown key 'wieght'; did you mean 'weight'? (line 1, column 147)",
        'simulations/orders.json: /users: expected an integer, got a string: "2" (line 1, column 30)',
        "3 error(s), 0 warning(s) in 1 file(s)",
    ]
    assert files_of(project) == before  # nothing written into the project
    # The same files on disk get the same lines from the command line.
    copy = project.parent / "copy"
    (copy / "simulations").mkdir(parents=True)
    (copy / "catalog.json").write_text(json.dumps(catalog))
    (copy / "simulations" / "shop.json").write_text((project / "data" / "simulations" / "shop.json").read_text())
    (copy / "simulations" / "big.json").write_text((project / "data" / "simulations" / "big.json").read_text())
    (copy / "simulations" / "orders.json").write_text(json.dumps(THREE_MISTAKES))
    code, _, err = _cli_in(copy, "--catalog", "catalog.json", "validate")
    assert (code, err.rstrip("\n")) == (2, text(result))


def test_validate_a_draft_names_files_as_given_and_writes_nothing(project):
    before = files_of(project)
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    catalog["apps"]["orders"] = {"simulation": "simulations/orders.json", "environments": ["local"], "countries": ["mx"]}
    fixed = {**{k: v for k, v in THREE_MISTAKES.items() if k != "think_time_secs"}, "users": 2,
             "think_time_seconds": 0.1, "endpoints": [{"name": "home", "path": "/", "weight": 2}]}  # fmt: skip
    result = tool("validate", {"catalog": json.dumps(catalog), "simulations": {"simulations/orders.json": json.dumps(fixed)}})
    assert not result.is_error, text(result)
    assert result.structured_content["draft"] is True
    assert result.structured_content["summary"] == "catalog.json: valid (3 simulation(s), 4 target(s))"
    assert files_of(project) == before
    # The draft simulation alone, against the catalog on disk, which does not name it: it is not read.
    alone = tool("validate", {"simulations": {"simulations/shop.json": json.dumps({**fixed, "users": "x"})}})
    assert alone.is_error
    assert text(alone).splitlines() == [
        'simulations/shop.json: /users: expected an integer, got a string: "x" (line 1, column 30)', "1 error(s), 0 warning(s) in 1 file(s)",
    ]  # fmt: skip


def test_validate_a_draft_may_not_reach_outside_the_catalogs_folder(project):
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    catalog["apps"]["shop"]["simulation"] = "../../etc/passwd"
    result = tool("validate", {"catalog": json.dumps(catalog), "simulations": {"/etc/x.json": "{}"}})
    assert result.is_error
    assert text(result).splitlines() == [
        "/etc/x.json: /: a draft's simulation path is absolute; name it relative to the catalog's folder, as the catalog does",
        "catalog.json: /apps/shop/simulation: '../../etc/passwd' goes up with '..'; a draft may name only simulations inside the catalog's folder",
        "2 error(s), 0 warning(s) in 2 file(s)",
    ]


def test_validate_a_draft_that_is_not_json(project):
    result = tool("validate", {"simulations": {"simulations/shop.json": '{"users": 2,}'}})
    assert result.is_error
    assert text(result).splitlines()[0] == (
        "simulations/shop.json: /: invalid JSON at line 1, column 13: Expecting property name enclosed in double "
        "quotes; remove the trailing comma before it"
    )


# -- compile -----------------------------------------------------------------------------------------


def test_compile_writes_into_the_output_folder_and_check_reports(project):
    result = tool("compile")
    assert not result.is_error, text(result)
    assert result.structured_content["written"] == [f"{t}.py" for t in TARGETS]
    assert text(result).splitlines() == [f"generated/{t}.py: new" for t in TARGETS] + [
        "generated: 3 written, 0 unchanged, 0 removed"
    ]
    assert sorted(p.name for p in (project / "generated").glob("*.py")) == [f"{t}.py" for t in TARGETS]
    again = tool("compile", {"check": True, "out": str(project / "generated")})  # the same folder, spelled otherwise
    assert not again.is_error, text(again)
    assert (again.structured_content["up_to_date"], again.structured_content["exit_code"]) == (True, 0)
    assert text(again) == "generated: up to date (3 file(s))"
    (project / "generated" / "shop_local_mx.py").unlink()
    missing = tool("compile", {"check": True, "targets": ["shop_*"]})
    assert not missing.is_error
    assert missing.structured_content["missing"] == ["shop_local_mx.py"]
    assert missing.structured_content["exit_code"] == 1 and not missing.structured_content["up_to_date"]
    assert not (project / "generated" / "shop_local_mx.py").exists()  # check writes nothing


def test_compile_outside_the_output_folder_is_refused(project, tmp_path):
    for elsewhere in (str(tmp_path / "elsewhere"), "../outside", "data", "/etc", ""):
        result = tool("compile", {"out": elsewhere})
        assert result.is_error, elsewhere
        assert text(result) == (
            "error: compile writes only into this server's output folder, generated (set when the server started, "
            f"with --out); {elsewhere!r} is another folder"
        )
    assert not (tmp_path / "elsewhere").exists() and not (project.parent / "outside").exists()
    assert not (project / "generated").exists()  # nothing written anywhere
    other = tool("compile", {"out": "built"}, out="built")  # a server started with --out built writes there
    assert not other.is_error and (project / "built" / "shop_local_mx.py").is_file()


def test_compile_keeps_a_file_edited_by_hand_unless_forced(project):
    assert not tool("compile").is_error
    edited = project / "generated" / "shop_local_mx.py"
    edited.write_text(edited.read_text() + "# changed by hand\n")
    kept = tool("compile")
    assert kept.is_error
    assert text(kept).splitlines() == [
        "generated/shop_local_mx.py: " + KEPT_EDITED,
        "generated: 0 written, 2 unchanged, 0 removed, 1 kept (edited by hand)",
    ]
    assert "# changed by hand" in edited.read_text()
    check = tool("compile", {"check": True})
    assert check.structured_content["edited"] == ["shop_local_mx.py"]
    assert tool("compile", {"check": True, "force": True}).is_error  # they exclude each other
    forced = tool("compile", {"force": True})
    assert not forced.is_error, text(forced)
    assert forced.structured_content["written"] == ["shop_local_mx.py"]
    assert "# changed by hand" not in edited.read_text()


def test_compile_an_invalid_catalog_gives_every_problem(project):
    simulation = project / "data" / "simulations" / "shop.json"
    simulation.write_text(simulation.read_text().replace('"users": 2', '"users": 0').replace('"seed": 5', '"seed": "5"'))
    result = tool("compile")
    assert result.is_error
    code, _, err = _cli("compile")
    assert code == 2 and text(result) == err.rstrip("\n")
    assert text(result).splitlines()[-1] == "2 error(s), 0 warning(s) in 1 file(s)"


# -- check_config ------------------------------------------------------------------------------------


def test_check_config_sends_nothing_and_says_ok(project, recorder):
    recorder.reset()
    result = tool("check_config", {"target": "shop_local_mx"})
    assert not result.is_error, text(result)
    assert result.structured_content["file"] == "generated/shop_local_mx.py"
    assert text(result).endswith("shop_local_mx: configuration ok, no request sent")
    assert SECRET not in text(result)
    assert recorder.received() == []


def test_check_config_reports_what_would_stop_the_run(project, monkeypatch):
    monkeypatch.delenv("APP_TOKEN")
    result = tool("check_config", {"target": "shop_local_mx"})
    assert result.is_error
    assert "environment variable APP_TOKEN is not set" in text(result)
    assert text(result).splitlines()[-1] == "error: generated/shop_local_mx.py --check-config exited 2"
    monkeypatch.setenv("APP_TOKEN", SECRET)
    protected = tool("check_config", {"target": "shop_prod_mx"})
    assert protected.is_error and "--allow-protected" in text(protected)
    # The call alone cannot allow it: a server started without --allow-protected checks it as protected.
    asked = tool("check_config", {"target": "shop_prod_mx", "allow_protected": True})
    assert asked.is_error and "environment prod is protected" in text(asked), text(asked)
    allowed = tool("check_config", {"target": "shop_prod_mx", "allow_protected": True}, allow_protected=True)
    assert not allowed.is_error, text(allowed)
    assert tool("check_config", {"target": "shop_qa_mx"}).is_error
    bad_host = tool("check_config", {"target": "shop_local_mx", "host": "ftp://127.0.0.1"})
    assert text(bad_host) == "error: host 'ftp://127.0.0.1' is not an http:// or https:// URL (http://127.0.0.1:8765)"


def test_a_wrong_argument_gets_the_tools_own_words(project):
    """Not pydantic's `2 validation errors for compare_runsArguments`: which argument is wrong,
    and what the tool takes."""
    result = tool("compare_runs", {"runa": "x", "b": "y"})
    assert result.is_error
    assert text(result).splitlines() == [
        "error: compare_runs has no argument 'runa'; did you mean 'run_a'?",
        "error: compare_runs has no argument 'b'",
        "error: compare_runs needs the argument 'run_a'",
        "compare_runs takes: run_a, run_b (optional), tolerance (optional)",
    ]
    typed = tool("run", {"targets": "shop_local_mx", "users": "2"})
    assert typed.is_error
    assert text(typed).splitlines()[:2] == [
        "error: run's argument 'targets' is array, got string",
        "error: run's argument 'users' is integer or null, got string",
    ]
    assert "validation error" not in text(result) + text(typed)


def test_a_drafts_variables_cannot_read_a_file_outside_the_catalogs_folder(project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("TOPSECRET_COLUMN,api_key_sk_live_123\nx,y\n")
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    depth = "../" * (len(project.parts) + 2)
    catalog["countries"]["mx"]["vars"] = {**catalog["countries"]["mx"].get("vars", {}), "evil": f"{depth}{outside.as_posix().lstrip('/')}/secret"}
    shop = json.loads((project / "data" / "simulations" / "shop.json").read_text())
    shop["feeds"] = {"f": {"file": "feeds/${evil}.csv", "mode": "random"}}
    shop["endpoints"][0]["path"] = "/${feed:f.TOPSECRET_COLUMN}"
    for missing in ("", "-nothing-here"):  # a file there or not: the same answer, nothing of it
        shop["feeds"]["f"]["file"] = "feeds/${evil}" + missing + ".csv"
        result = tool("validate", {"catalog": json.dumps(catalog), "simulations": {"simulations/shop.json": json.dumps(shop)}})
        assert result.is_error
        assert "is outside the catalog's folder" in text(result), text(result)
        assert "TOPSECRET" not in text(result).replace("${feed:f.TOPSECRET_COLUMN}", "") and "sk_live" not in text(result)
        assert "not found" not in text(result)
