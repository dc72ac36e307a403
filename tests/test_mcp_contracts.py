"""The contract snapshot, contracts/tools.json: every tool's name, description, input and output
schema, as a client lists them. It must be what the server serves (regenerate it with `make
contracts` and review the diff), it must not depend on the server's settings (caps belong in
the instructions, not in the schemas), and it is deterministic. Over stdio the same comparison
is made in test_mcp_stdio.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from compiler.mcp.contracts import contract, live_contract
from compiler.mcp.tools import Settings

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "contracts" / "tools.json"


def test_the_server_serves_the_snapshot():
    live = anyio.run(live_contract)
    assert live == SNAPSHOT.read_text(encoding="utf-8"), (
        "the MCP server's tools differ from contracts/tools.json: run `make contracts` and review the diff"
    )


def test_the_contract_does_not_depend_on_the_settings():
    other = Settings(catalog="elsewhere.json", out="built", results="runs", max_users=1, max_run_time="1s", allow_protected=True)
    assert anyio.run(live_contract, other) == SNAPSHOT.read_text(encoding="utf-8")


def test_the_snapshot_is_sorted_and_complete():
    tools = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["tools"]
    names = [tool["name"] for tool in tools]
    assert names == sorted(names) == ["check_config", "compare_runs", "compile", "explain", "get_run", "list_targets", "run", "validate"]
    for tool in tools:
        assert set(tool) == {"name", "description", "inputSchema", "outputSchema"}
        assert tool["inputSchema"]["type"] == tool["outputSchema"]["type"] == "object"
    assert SNAPSHOT.read_text(encoding="utf-8") == json.dumps({"tools": tools}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_contract_is_the_same_whatever_the_order_of_listing():
    class Listed:
        def __init__(self, name: str):
            self.name, self.description, self.input_schema, self.output_schema = name, name, {"b": 1, "a": 2}, None

    assert contract([Listed("b"), Listed("a")]) == contract([Listed("a"), Listed("b")])
