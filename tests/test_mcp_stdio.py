"""The MCP server as a client starts it: `python -m compiler mcp` as a subprocess over stdio,
driven by the SDK's own client (JSON-RPC over the process's stdin and stdout), and the same
server on streamable HTTP bound to 127.0.0.1. Over stdio: the instructions, every tool (a
draft with three mistakes, a compile outside the output folder, refusals above the caps and for
a protected environment, a real run against a recording server with its progress
notifications, then explain, check_config, get_run, compare_runs), a run record as a resource,
and the tools' schemas against the contract snapshot. Also the `simc-mcp` console script and the
command's own usage errors, and issue 15's MCP findings as a client meets them: a draft's
variable reading no file outside the catalog's folder, runs that no locust.conf or LOCUST_*
variable changes, check_config allowing a protected target only on a server that does, and
get_run following no link out of the results.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from mcp import StdioServerParameters
from mcp_support import MAX_RUN_TIME, MAX_USERS, SECRET, drive, make_project, server_env, text

from compiler.mcp.contracts import contract
from locust_runs import clean_env, free_port
from recording_server import RecordingServer

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "contracts" / "tools.json"


@pytest.fixture(scope="module")
def recorder():
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory, recorder) -> Path:
    return make_project(tmp_path_factory.mktemp("mcp-stdio") / "project", recorder.port)


def stdio(project: Path, *options: str, command: list[str] | None = None) -> StdioServerParameters:
    """The server as an MCP client's configuration starts it: a command, its arguments and its
    environment (the secret), from another folder than the project (--root names it)."""
    command = command or [sys.executable, "-m", "compiler", "mcp"]
    return StdioServerParameters(
        command=command[0],
        args=[*command[1:], "--root", str(project), "--max-users", str(MAX_USERS), "--max-run-time", MAX_RUN_TIME, *options],
        env=clean_env(server_env(project)),
        cwd=str(ROOT / "tests"),
    )


def test_over_stdio_every_kind_of_answer(project, recorder):
    recorder.reset()
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    draft = {"host": "http://${domain}", "users": "2", "spawn_rate": 1, "run_time": "5s", "think_time_secs": 0,
             "endpoints": [{"name": "home", "path": "/", "wieght": 2}]}  # fmt: skip
    found: dict = {"progress": []}

    async def script(client):
        async def on_progress(progress, total, message):
            found["progress"].append((progress, total, message))

        found["instructions"] = client.instructions
        found["tools"] = (await client.list_tools()).tools
        found["targets"] = await client.call_tool("list_targets", {})
        found["draft"] = await client.call_tool("validate", {"catalog": json.dumps(catalog), "simulations": {"simulations/shop.json": json.dumps(draft)}})
        found["outside"] = await client.call_tool("compile", {"out": "/tmp"})
        found["caps"] = await client.call_tool("run", {"targets": ["shop_local_mx"], "users": 50})
        found["protected"] = await client.call_tool("run", {"targets": ["shop_prod_mx"], "allow_protected": True})
        found["run"] = await client.call_tool("run", {"targets": ["shop_local_mx"], "run_time": "2s"}, progress_callback=on_progress)
        found["explain"] = await client.call_tool("explain", {"target": "shop_local_mx"})
        found["check_config"] = await client.call_tool("check_config", {"target": "shop_local_mx"})
        found["get_run"] = await client.call_tool("get_run", {"target": "shop_local_mx"})
        folder = found["get_run"].structured_content["folder"]
        found["compare"] = await client.call_tool("compare_runs", {"run_a": folder, "run_b": folder})
        found["resource"] = await client.read_resource("simc://runs/" + folder.removeprefix("data/results/"))

    drive(stdio(project), script, seconds=180)
    assert f"at most {MAX_USERS} users (--max-users) and {MAX_RUN_TIME}" in found["instructions"]
    assert [t["name"] for t in found["targets"].structured_content["targets"]] == ["big_local_mx", "shop_local_mx", "shop_prod_mx"]
    assert found["draft"].is_error
    assert text(found["draft"]).splitlines() == [
        "simulations/shop.json: /think_time_secs: unknown key 'think_time_secs'; did you mean 'think_time_seconds'? (line 1, column 79)",
        "simulations/shop.json: /endpoints/0/wieght: unknown key 'wieght'; did you mean 'weight'? (line 1, column 145)",
        'simulations/shop.json: /users: expected an integer, got a string: "2" (line 1, column 30)',
        "3 error(s), 0 warning(s) in 1 file(s)",
    ]
    assert found["outside"].is_error and "'/tmp' is another folder" in text(found["outside"])
    assert found["caps"].is_error and "cap of 3 users (--max-users)" in text(found["caps"])
    assert found["protected"].is_error and "started without --allow-protected" in text(found["protected"])
    run = found["run"]
    assert not run.is_error, text(run)
    assert run.structured_content["exit_code"] == 0, text(run)
    assert (project / run.structured_content["runs"][0]["folder"] / "run.json").is_file()
    assert {(r.method, r.path) for r in recorder.received()} == {("GET", "/"), ("GET", "/items")}
    assert all(r.header("Authorization") == f"Bearer {SECRET}" for r in recorder.received())
    messages = [message for _, _, message in found["progress"]]
    assert messages[0] == "[1/1] shop_local_mx: running generated/shop_local_mx.py", messages
    assert messages[-1].startswith("[1/1] shop_local_mx: exit 0, data/results/shop_local_mx/")
    assert len(messages) >= 3
    assert contract(found["tools"]) == CONTRACT.read_text(encoding="utf-8"), "run `make contracts` and review the diff"
    explained = {row["key"]: row["value"] for row in found["explain"].structured_content["values"]}
    assert explained["host"] == f"http://127.0.0.1:{recorder.port}" and explained["users"] == 2
    assert text(found["check_config"]).endswith("shop_local_mx: configuration ok, no request sent")
    folder = run.structured_content["runs"][0]["folder"]
    assert found["get_run"].structured_content["folder"] == folder
    assert found["get_run"].structured_content["record"]["exit_code"] == 0
    assert found["compare"].structured_content["exit_code"] == 0 and text(found["compare"]).endswith("no regression")
    assert json.loads(found["resource"].contents[0].text) == found["get_run"].structured_content["record"]


def test_the_console_script_and_the_catalog_option(project):
    script = Path(sys.executable).parent / "simc-mcp"
    if not script.exists():
        pytest.skip("simc-mcp is not installed beside this Python")

    async def listed(client):
        return await client.call_tool("list_targets", {"pattern": "shop_*"})

    renamed = project / "data" / "other.json"
    renamed.write_text((project / "data" / "catalog.json").read_text())
    try:
        result = drive(stdio(project, "--catalog", "data/other.json", command=[str(script)]), listed)
    finally:
        renamed.unlink()
    assert not result.is_error, text(result)
    assert result.structured_content["catalog"] == "data/other.json"
    assert [t["name"] for t in result.structured_content["targets"]] == ["shop_local_mx", "shop_prod_mx"]


def test_streamable_http_on_127_0_0_1(project):
    port = free_port()
    command = [sys.executable, "-m", "compiler", "mcp", "--root", str(project), "--http", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=clean_env(server_env(project)), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None and time.monotonic() < deadline, "the server did not listen"
            time.sleep(0.1)
        listening = {c.laddr.ip for c in psutil.Process(server.pid).net_connections() if c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}

        async def script(client):
            return await client.call_tool("list_targets", {"pattern": "shop_local_mx"})

        result = drive(f"http://127.0.0.1:{port}/mcp", script)
        assert not result.is_error, text(result)
        assert [t["name"] for t in result.structured_content["targets"]] == ["shop_local_mx"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()


@pytest.mark.parametrize(
    "options, message",
    [
        (["--max-users", "0"], "error: --max-users is a number of users, 1 or more"),
        (["--max-run-time", "soon"], "error: --max-run-time 'soon' is not a duration like 60s, 5m or 1h30m"),
        (["--port", "0", "--http"], "error: --port is a TCP port, 1 to 65535"),
        (["--root", "/nonexistent/folder"], "error: --root /nonexistent/folder: No such file or directory"),
    ],
)
def test_usage_errors_before_serving(options, message):
    done = subprocess.run([sys.executable, "-m", "compiler", "mcp", *options], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert (done.returncode, done.stderr.strip(), done.stdout) == (2, message, "")


def test_the_python_client_of_the_docs_runs_as_written(tmp_path):
    """docs/MCP.md's client script, run as written from a copy of the sample project."""
    import re
    import shutil

    docs = (ROOT / "docs" / "MCP.md").read_text(encoding="utf-8")
    section = docs[docs.index("## A Python client") :]
    script = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shutil.copytree(ROOT / "tests" / "sample" / "data", tmp_path / "data")
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)  # this test's venv, as .venv
    (tmp_path / "client.py").write_text(script, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "client.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=clean_env({"PYTHONPATH": str(ROOT)}),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "['app_local_br', 'app_local_mx']"
    assert lines[1] == "app_local_mx: app app, environment local, country mx"
    assert lines[2].startswith("True error: target 'app_local_zz' is not compiled: ")


def test_a_client_that_goes_away_mid_run_leaves_an_interrupted_record_and_no_traceback(project, recorder):
    """The client asks for a run, reads one progress notification and goes away (its end of the
    pipe closes): the server stops the run, whose record says interrupted, and logs no
    traceback, no ExceptionGroup, no internal error."""
    recorder.reset()
    params = stdio(project)
    server = subprocess.Popen(
        [params.command, *params.args], cwd=params.cwd, env={**params.env}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip

    def send(message: dict) -> None:
        server.stdin.write((json.dumps(message) + "\n").encode())
        server.stdin.flush()

    def receive() -> dict:
        return json.loads(server.stdout.readline())

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "gone", "version": "1"}}})  # fmt: skip
    assert receive()["id"] == 1
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "run", "arguments": {"targets": ["shop_local_mx"], "run_time": "10s"}, "_meta": {"progressToken": "p"}}})  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        message = receive()
        if message.get("method") == "notifications/progress" and "users" in message["params"].get("message", ""):
            break
    server.stdin.close()  # the client goes away
    server.stdout.close()
    try:
        server.wait(timeout=60)
        errors = server.stderr.read().decode("utf-8", "replace")
    finally:
        server.kill()
    assert "Traceback" not in errors and "ExceptionGroup" not in errors and "internal error" not in errors, errors
    newest = sorted((project / "data" / "results" / "shop_local_mx").iterdir())[-1]
    record = json.loads((newest / "run.json").read_text())
    assert (record["ended_by"], record["passed"]) == ("interrupted", False), record


# -- issue 15's MCP findings, over stdio as a client starts the server ------------------------------


def test_over_stdio_a_drafts_variable_cannot_read_a_file_outside_the_catalogs_folder(project, tmp_path):
    """Finding 3: a draft's variable in a feed's path reaches no file outside the catalog's folder,
    whether the file is there or not."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("TOPSECRET_COLUMN,api_key_sk_live_123\nx,y\n")
    catalog = json.loads((project / "data" / "catalog.json").read_text())
    depth = "../" * (len(project.parts) + 2)
    catalog["countries"]["mx"]["vars"] = {**catalog["countries"]["mx"].get("vars", {}), "evil": f"{depth}{outside.as_posix().lstrip('/')}/secret"}
    shop = json.loads((project / "data" / "simulations" / "shop.json").read_text())
    shop["endpoints"][0]["path"] = "/${feed:f.TOPSECRET_COLUMN}"
    drafts = []
    for missing in ("", "-nothing-here"):
        shop["feeds"] = {"f": {"file": "feeds/${evil}" + missing + ".csv", "mode": "random"}}
        drafts.append({"catalog": json.dumps(catalog), "simulations": {"simulations/shop.json": json.dumps(shop)}})

    async def script(client):
        return [await client.call_tool("validate", draft) for draft in drafts]

    for result in drive(stdio(project), script):
        assert result.is_error
        assert "is outside the catalog's folder" in text(result), text(result)
        assert "TOPSECRET" not in text(result).replace("${feed:f.TOPSECRET_COLUMN}", "") and "sk_live" not in text(result)
        assert "not found" not in text(result)


def test_over_stdio_locust_conf_and_locust_variables_do_not_change_the_servers_runs(project, recorder):
    """Finding 4: a locust.conf in the server's folder (and ~/.locust.conf), LOCUST_USERS and
    LOCUST_PROCESSES in its environment: the run has the target's own 2 users on one process,
    and a protected target stays refused."""
    recorder.reset()
    conf = "users = 40\nspawn-rate = 40\nprocesses = 2\nallow-protected = true\n"
    confs = [project / "locust.conf", project / ".locust.conf"]  # the server's folder, its HOME
    for path in confs:
        path.write_text(conf)
    params = stdio(project)
    params = StdioServerParameters(command=params.command, args=params.args, cwd=str(project),
                                   env={**params.env, "LOCUST_USERS": "4", "LOCUST_PROCESSES": "2"})  # fmt: skip

    async def script(client):
        run = await client.call_tool("run", {"targets": ["shop_local_mx"], "run_time": "2s"})
        protected = await client.call_tool("run", {"targets": ["shop_prod_mx"], "run_time": "2s", "allow_protected": True})
        return run, protected

    try:
        run, protected = drive(params, script, seconds=180)
    finally:
        for path in confs:
            path.unlink()
    assert not run.is_error and run.structured_content["exit_code"] == 0, text(run)
    record = json.loads((project / run.structured_content["runs"][0]["folder"] / "run.json").read_text())
    assert record["configuration"]["num_users"]["value"] == 2 and record["workers"] == 0, record["configuration"]
    assert 0 < len({r.client for r in recorder.received()}) <= 2  # the target's own 2 users, not 4 or 40
    assert protected.is_error and "started without --allow-protected" in text(protected)


def test_over_stdio_check_config_allows_a_protected_target_only_when_the_server_does(project):
    """Finding 6: the call's allow_protected alone does not pass --allow-protected to the check;
    with a server started with --allow-protected it does."""

    async def script(client):
        return await client.call_tool("check_config", {"target": "shop_prod_mx", "allow_protected": True})

    asked = drive(stdio(project), script)
    assert asked.is_error and "environment prod is protected" in text(asked), text(asked)
    allowed = drive(stdio(project, "--allow-protected"), script)
    assert not allowed.is_error, text(allowed)
    assert text(allowed).endswith("shop_prod_mx: configuration ok, no request sent"), text(allowed)


def test_over_stdio_get_run_never_follows_a_link_out_of_the_results_folder(project, tmp_path):
    """Finding 7: a linked run folder, or a linked target folder, of the results is no run."""
    outside = tmp_path / "outside" / "20260101T000000Z"
    outside.mkdir(parents=True)
    (outside / "run.json").write_text('{"target": "secret", "exit_code": 0}')
    results = project / "data" / "results"
    (results / "shop_qa_mx").mkdir(parents=True, exist_ok=True)
    (results / "shop_qa_mx" / "20270101T000000Z").symlink_to(outside)  # newer than any real run
    (results / "shop_prod_mx").symlink_to(outside.parent)

    async def script(client):
        return [await client.call_tool("get_run", {"target": target}) for target in ("shop_qa_mx", "shop_prod_mx")]

    try:
        answers = drive(stdio(project), script)
    finally:
        (results / "shop_qa_mx" / "20270101T000000Z").unlink()
        (results / "shop_prod_mx").unlink()
    for target, result in zip(("shop_qa_mx", "shop_prod_mx"), answers):
        assert result.is_error and "secret" not in text(result), text(result)
        assert f"no run of {target}" in text(result), text(result)
