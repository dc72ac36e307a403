"""The MCP server's `run`, `get_run`, `compare_runs`, its resources and its prompt, driven in this
process by the SDK's own client: real runs (Locust, 2 s each) against a recording server on
127.0.0.1, progress notifications received by the client, what the server received, one run
at a time; every refusal (caps, protected environments and hosts, unknown targets) before any
request; run records read back as tool results and as resources; two runs compared.

The two runs are made once, in a module fixture, and the tests read what they left.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import MAX_RUN_TIME, MAX_USERS, SECRET, drive, make_project, server_env, text

from compiler import cli
from compiler.mcp.server import build_server
from compiler.mcp.tools import Settings
from locust_runs import assert_nothing_received
from recording_server import RecordingServer

ROOT = Path(__file__).resolve().parent.parent
RUN_FOLDER = re.compile(r"^data/results/shop_local_mx/\d{8}T\d{6}Z(-\d+)?$")


@pytest.fixture(scope="module")
def recorder():
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory, recorder):
    """The project's folder, the current folder of every test of this module."""
    folder = make_project(tmp_path_factory.mktemp("mcp-runs") / "project", recorder.port)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name, value in server_env(folder).items():
            patch.setenv(name, value)
        yield folder


def serve(**options):
    return build_server(Settings(**{"max_users": MAX_USERS, "max_run_time": MAX_RUN_TIME, **options}))


def tool(name: str, arguments: dict | None = None, **options):
    return drive(serve(**options), lambda client: client.call_tool(name, arguments or {}))


@pytest.fixture(scope="module")
def runs(project, recorder):
    """Two runs of shop_local_mx: one user for 2 s, then its own 2 users for 2 s, during which
    another run is asked for (refused: one at a time). What each run returned, the progress
    notifications the client got, and what the recording server received during the first."""
    recorder.reset()
    found: dict = {"progress": [[], []]}

    async def script(client):
        def collect(index: int):
            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                found["progress"][index].append((progress, total, message))

            return on_progress

        found["first"] = await client.call_tool(
            "run", {"targets": ["shop_local_mx"], "users": 1, "run_time": "2s"}, progress_callback=collect(0)
        )
        found["received"] = recorder.received()
        async with anyio.create_task_group() as group:

            async def second() -> None:
                found["second"] = await client.call_tool("run", {"targets": ["shop_local_mx"]}, progress_callback=collect(1))

            group.start_soon(second)
            with anyio.fail_after(60):
                while not found["progress"][1]:
                    await anyio.sleep(0.05)
            found["meanwhile"] = await client.call_tool("run", {"targets": ["shop_local_mx"]})

    drive(serve(), script, seconds=240)
    return found


# -- run ----------------------------------------------------------------------------------------------


def test_a_run_sends_the_load_asked_for(runs):
    first = runs["first"]
    assert not first.is_error, text(first)
    result = first.structured_content
    assert (result["exit_code"], result["passed"]) == (0, True), text(first)
    (summary,) = result["runs"]
    assert summary["target"] == "shop_local_mx" and summary["verdict"] == "passed"
    assert RUN_FOLDER.match(summary["folder"]), summary["folder"]
    assert [(t["scope"], t["key"], t["passed"]) for t in summary["thresholds"]] == [
        ("all requests", "error_ratio", True), ("home", "max_ms", True),
    ]  # fmt: skip
    received = runs["received"]
    assert {(r.method, r.path) for r in received} == {("GET", "/"), ("GET", "/items")}
    for request in received:
        assert request.header("Authorization") == f"Bearer {SECRET}", request  # from the server's environment
        assert request.header("X-Service") == "shop"
    assert all(r.query == {"currency": ["MXN"]} for r in received if r.path == "/items")
    assert len({r.client for r in received}) == 1  # users: 1, one connection
    assert 0 < summary["totals"]["requests"] <= len(received)
    record = json.loads((Path(summary["folder"]) / "run.json").read_text())
    assert (record["configuration"]["num_users"]["value"], record["configuration"]["num_users"]["source"]) == (1, "cli")
    assert record["configuration"]["run_time"]["value"] == 2
    assert "shop_local_mx" in text(first) and "passed" in text(first)  # the summary table


def test_a_run_reports_progress_notifications(runs):
    progress = runs["progress"][0]
    assert len(progress) >= 3, progress
    values = [value for value, _, _ in progress]
    assert values == sorted(values) and len(set(values)) == len(values)  # it only grows
    totals = [total for _, total, _ in progress]  # 2 s of load and 10 s to start and end; then unknown
    assert totals[0] == 12.0 and set(totals) <= {12.0, None}
    assert all(total is None or value < total for value, total, _ in progress)
    messages = [message for _, _, message in progress]
    assert messages[0] == "[1/1] shop_local_mx: running generated/shop_local_mx.py"
    assert messages[-1].startswith("[1/1] shop_local_mx: exit 0, ")
    assert any(re.match(r"^\[1/1\] shop_local_mx: \d+ users, [\d.]+ req/s", m) for m in messages), messages


def test_one_run_at_a_time(runs):
    assert runs["meanwhile"].is_error
    assert text(runs["meanwhile"]) == "error: a run is going on; one run at a time (wait for it, then call again)"
    second = runs["second"]
    assert not second.is_error, text(second)
    assert second.structured_content["runs"][0]["exit_code"] == 0


def test_runs_above_the_caps_are_refused(project, recorder):
    recorder.reset()
    result = tool("run", {"targets": ["shop_local_mx"], "users": 4, "run_time": "11s"})
    assert result.is_error
    assert text(result).splitlines() == [
        f"error: shop_local_mx: 4 users is above this server's cap of {MAX_USERS} users (--max-users); ask for users: 3 or fewer",
        "error: shop_local_mx: a run of 11s is longer than this server's cap of 10s (--max-run-time); ask for a run_time of 10s or less",
    ]
    own = tool("run", {"targets": ["big_local_mx"]})  # its own users and run time are above the caps
    assert text(own).splitlines() == [
        "error: big_local_mx: 4 users (its own: the simulation) is above this server's cap of 3 users (--max-users); ask for users: 3 or fewer",
        "error: big_local_mx: a run of 30s (its own: the run_time) is longer than this server's cap of 10s (--max-run-time); ask for a run_time of 10s or less",
    ]
    assert text(tool("run", {"targets": ["big_local_mx"], "users": 1, "run_time": "0s"})) == (
        "error: run_time is 0; ask for a run of 1s or more"
    )
    assert_nothing_received(recorder)


def test_protected_environments_are_refused_unless_both_allow(project, recorder):
    recorder.reset()
    plain = tool("run", {"targets": ["shop_prod_mx"], "run_time": "2s", "allow_protected": True})
    assert text(plain) == (
        "error: shop_prod_mx: environment 'prod' is protected, and this server was started without "
        "--allow-protected: it runs no protected target"
    )
    asked = tool("run", {"targets": ["shop_*"], "run_time": "2s"}, allow_protected=True)
    assert text(asked) == "error: shop_prod_mx: environment 'prod' is protected; set allow_protected: true to run it"
    host = tool("run", {"targets": ["shop_local_mx"], "run_time": "2s", "host": f"http://LOCALHOST:{recorder.port}/"})
    assert text(host) == (
        f"error: host http://LOCALHOST:{recorder.port}/ is the host of the protected environment 'prod'; it is "
        "protected, and this server was started without --allow-protected: it runs no protected target"
    )
    # A catalog whose protected prod is 127.0.0.1 (and local localhost): prod's host spelled as a
    # decimal number, a short IPv4 address and an IPv4-mapped IPv6 address.
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    catalog["environments"]["local"]["vars"]["domain"] = f"localhost:{recorder.port}"
    catalog["environments"]["prod"]["vars"]["domain"] = f"127.0.0.1:{recorder.port}"
    (project / "data" / "swapped.json").write_text(json.dumps(catalog))
    swapped = {"catalog": "data/swapped.json", "out": "swapped/generated", "results": "swapped/results"}
    for spelled in (f"http://2130706433:{recorder.port}", f"http://127.1:{recorder.port}", f"http://[::ffff:7f00:1]:{recorder.port}"):
        other = tool("run", {"targets": ["shop_local_mx"], "run_time": "2s", "host": spelled}, **swapped)
        assert other.is_error and text(other) == (
            f"error: host {spelled} is the host of the protected environment 'prod'; it is "
            "protected, and this server was started without --allow-protected: it runs no protected target"
        ), text(other)
    (project / "data" / "swapped.json").unlink()
    assert_nothing_received(recorder)


def test_run_errors_on_bad_input(project, recorder):
    recorder.reset()
    assert text(tool("run", {"targets": ["shop_qa_mx"]})) == (
        "error: target 'shop_qa_mx' is not compiled: app 'shop' does not list environment 'qa' "
        "(/apps/shop/environments) (data/catalog.json); did you mean 'shop_local_mx'?"
    )
    assert text(tool("run", {"targets": ["nothing_*"]})) == "error: 'nothing_*' matches no compatible target; `list` shows them"
    assert text(tool("run", {"targets": []})) == "error: name at least one target (app_local_mx) or glob (app_local_*)"
    assert text(tool("run", {"targets": ["shop_local_mx"], "run_time": "soon", "users": 0})).splitlines() == [
        "error: users is a number of users, 1 or more",
        "error: run_time 'soon' is not a duration; write it as Locust does: 30s, 5m, 1h30m",
    ]
    assert text(tool("run", {"targets": ["shop_local_mx"], "host": "file:///etc/passwd"})) == (
        "error: host 'file:///etc/passwd' is not an http:// or https:// URL (http://127.0.0.1:8765)"
    )
    assert_nothing_received(recorder)


# -- get_run, compare_runs ---------------------------------------------------------------------------


def test_get_run_by_target_and_by_folder(runs, project):
    first, second = (runs[name].structured_content["runs"][0]["folder"] for name in ("first", "second"))
    latest = tool("get_run", {"target": "shop_local_mx"})
    assert not latest.is_error, text(latest)
    assert latest.structured_content["folder"] == second
    assert latest.structured_content["other_runs"] == [first]
    assert latest.structured_content["record"] == json.loads((project / second / "run.json").read_text())
    assert {"run.json", "junit.xml", "summary.json", "locust.log", "stats_stats.csv"} <= set(latest.structured_content["files"])
    for spelled in (first, str(project / first), first.removeprefix("data/results/")):
        by_folder = tool("get_run", {"run": spelled})
        assert not by_folder.is_error, (spelled, text(by_folder))
        assert by_folder.structured_content["folder"] == first
        assert json.loads(text(by_folder)) == json.loads((project / first / "run.json").read_text())


def test_get_run_refuses_paths_outside_the_results(runs, project):
    for outside in ("data/results/shop_local_mx/../../data", "/etc", str(project / "data"), "data/catalog.json"):
        result = tool("get_run", {"run": outside})
        assert result.is_error, outside
        assert text(result).startswith("error: "), text(result)
        assert "name one as data/results/<target>/<UTC time>" in text(result)
    assert text(tool("get_run", {"target": "shop_prod_mx"})) == "error: no run of shop_prod_mx in data/results; the run tool makes one"
    assert text(tool("get_run", {"target": "../x"})) == "error: '../x' is not a target name (<app>_<environment>_<country>)"
    assert text(tool("get_run", {})) == "error: give either run (a run folder) or target (for its latest run)"


def test_compare_runs_as_compare_does(runs, project):
    first, second = (runs[name].structured_content["runs"][0]["folder"] for name in ("first", "second"))
    result = tool("compare_runs", {"run_a": first, "run_b": second, "tolerance": 5})
    assert not result.is_error, text(result)
    compared = result.structured_content
    assert [row["request"] for row in compared["rows"]] == ["GET home", "GET items", "all requests"]
    assert all(row["before"] and row["after"] for row in compared["rows"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["compare", first, second, "--tolerance", "5"])
    assert (compared["exit_code"], text(result)) == (code, out.getvalue().rstrip("\n"))
    assert text(tool("compare_runs", {"run_a": first, "run_b": second, "tolerance": 20})) == (
        "error: --tolerance is a fraction: 0.10 allows a 10% change"
    )
    assert tool("compare_runs", {"run_a": first, "run_b": "/tmp"}).is_error
    # by target name, as compare TARGET does: its latest run against the one before
    for arguments in ({"run_a": "shop_local_mx"}, {"run_a": first, "run_b": "shop_local_mx"}):
        by_name = tool("compare_runs", {**arguments, "tolerance": 5})
        assert not by_name.is_error, text(by_name)
        assert (by_name.structured_content["run_a"], by_name.structured_content["run_b"]) == (first, second)
        assert text(by_name) == text(result)
    assert text(tool("compare_runs", {"run_a": "shop_prod_mx"})) == "error: shop_prod_mx has 0 run(s) with a record in data/results; compare needs two"


# -- resources and the prompt ----------------------------------------------------------------------


def test_resources_schemas_docs_and_every_run_record(runs, project):
    first, second = (runs[name].structured_content["runs"][0]["folder"] for name in ("first", "second"))

    async def script(client):
        listed = [str(resource.uri) for resource in (await client.list_resources()).resources]
        texts = {}
        for uri in listed:
            texts[uri] = (await client.read_resource(uri)).contents[0].text
        with pytest.raises(MCPError):
            await client.read_resource("simc://runs/shop_local_mx/20000101T000000Z")
        return listed, texts

    listed, texts = drive(serve(), script)
    for name in ("catalog", "simulation", "run", "summary"):
        path = ROOT / "compiler" / "schemas" / f"{name}.schema.json"
        assert texts[f"simc://schemas/{name}.schema.json"] == path.read_text(encoding="utf-8")
    assert texts["simc://docs/configuration"] == (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert texts["simc://docs/mcp"] == (ROOT / "docs" / "MCP.md").read_text(encoding="utf-8")
    for folder in (first, second):
        uri = "simc://runs/" + folder.removeprefix("data/results/")
        assert json.loads(texts[uri]) == json.loads((project / folder / "run.json").read_text())


def test_the_prompt_drafts_and_its_example_validates(project):
    async def script(client):
        prompts = (await client.list_prompts()).prompts
        got = await client.get_prompt("draft_simulation", {"description": "A todo API: GET /todos, POST /todos", "app": "todo"})
        return prompts, got

    prompts, got = drive(serve(), script)
    assert [(p.name, [a.name for a in p.arguments]) for p in prompts] == [
        ("draft_simulation", ["description", "app", "environment", "host"]),
    ]  # fmt: skip
    prompt = got.messages[0].content.text
    assert "A todo API: GET /todos, POST /todos" in prompt
    assert "The app's name: todo; it runs in environment 'local'" in prompt
    assert f"at most {MAX_USERS} users for {MAX_RUN_TIME}" in prompt
    assert "validate" in prompt
    example = prompt.split("Example of a simulation with an endpoint, a flow and thresholds:\n", 1)[1].split("\n\n", 1)[0]
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    catalog["apps"]["todo"] = {"simulation": "simulations/todo.json", "environments": ["local"], "countries": ["mx"]}
    checked = tool("validate", {"catalog": json.dumps(catalog), "simulations": {"simulations/todo.json": example}})
    assert not checked.is_error, text(checked)
    assert checked.structured_content["targets"] == 4


def test_the_servers_runs_are_decided_by_the_call_and_the_caps_alone(project, recorder, monkeypatch):
    """A locust.conf in the server's folder, LOCUST_* variables in its environment: neither
    raises a run above the caps (3 users here), nor runs it on more processes."""
    recorder.reset()
    (project / "locust.conf").write_text("users = 40\nspawn-rate = 40\nallow-protected = true\n")
    monkeypatch.setenv("LOCUST_USERS", "30")
    monkeypatch.setenv("LOCUST_PROCESSES", "2")
    try:
        result = tool("run", {"targets": ["shop_local_mx"], "run_time": "2s"})
        protected = tool("run", {"targets": ["shop_prod_mx"], "run_time": "2s", "allow_protected": True})
    finally:
        (project / "locust.conf").unlink()
    assert not result.is_error, text(result)
    record = json.loads((project / result.structured_content["runs"][0]["folder"] / "run.json").read_text())
    assert record["configuration"]["num_users"]["value"] == 2 and record["workers"] == 0, record["configuration"]
    assert len({r.client for r in recorder.received()}) <= 2  # the target's own 2 users, not 30 or 40
    assert protected.is_error and "started without --allow-protected" in text(protected)


def test_get_run_never_follows_a_link_out_of_the_results_folder(project, tmp_path):
    outside = tmp_path / "outside" / "20260101T000000Z"
    outside.mkdir(parents=True)
    (outside / "run.json").write_text('{"target": "secret", "exit_code": 0}')
    results = project / "data" / "results"
    (results / "shop_qa_mx").mkdir(parents=True, exist_ok=True)
    (results / "shop_qa_mx" / "20270101T000000Z").symlink_to(outside)  # newer than any real run
    (results / "shop_prod_mx").symlink_to(outside.parent)
    try:
        for target in ("shop_qa_mx", "shop_prod_mx"):
            result = tool("get_run", {"target": target})
            assert result.is_error and "secret" not in text(result), text(result)
            assert f"no run of {target}" in text(result)
    finally:
        (results / "shop_qa_mx" / "20270101T000000Z").unlink()
        (results / "shop_prod_mx").unlink()
