"""Shared by tests/test_mcp_*.py: a small project (catalog and simulations aimed at a recording
server on 127.0.0.1) and a way to drive the MCP server with the SDK's own client.

Not a test module. The project has two apps: `shop` (local and a protected prod, in mx), a
simulation within the server's caps with one threshold, and `big` (local, mx), whose own users
and run time are above the caps the tests start the server with (MAX_USERS, MAX_RUN_TIME).
Every host is the recording server's: local is 127.0.0.1:<port>, prod says localhost:<port>.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Awaitable, Callable

import anyio
from mcp import Client

from locust_runs import SECRET, write_inputs

MAX_USERS, MAX_RUN_TIME = 3, "10s"
CALL_SECONDS = 120  # every call below is meant to end far sooner

SHOP = {
    "host": "http://${domain}",
    "users": 2,
    "spawn_rate": 20,
    "run_time": "2s",
    "seed": 5,
    "think_time_seconds": 0.05,
    "report_html": None,
    "headers": {"Authorization": "Bearer ${env:APP_TOKEN}", "X-Service": "${service}"},
    "endpoints": [
        {"name": "home", "path": "/", "weight": 2},
        {"name": "items", "path": "/items", "query": {"currency": "${currency}"}},
    ],
    "thresholds": {"error_ratio": 0.5, "requests": {"home": {"max_ms": 10000}}},
}
BIG = {**SHOP, "users": 4, "run_time": "30s"}  # within the catalog's limits, above the server's caps
APPS = {
    "shop": {"environments": ["local", "prod"], "countries": ["mx"]},
    "big": {"environments": ["local"], "countries": ["mx"]},
}
TARGETS = ["big_local_mx", "shop_local_mx", "shop_prod_mx"]


def make_project(folder: Path, port: int) -> Path:
    """The project's folder: data/catalog.json and data/simulations/, nothing compiled yet."""
    write_inputs(folder / "data", port, {"shop": SHOP, "big": BIG}, APPS)
    return folder


def server_env(folder: Path) -> dict[str, str]:
    """What the server's environment adds: the secret the simulations read, and a HOME without
    a ~/.locust.conf."""
    return {"APP_TOKEN": SECRET, "HOME": str(folder)}


def text(result) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


def drive(server: Any, script: Callable[[Client], Awaitable[Any]], seconds: float = CALL_SECONDS) -> Any:
    """Run `script(client)` with the SDK's client connected to `server` (an MCPServer in this
    process, StdioServerParameters for a subprocess, or a URL); its return value."""

    async def main() -> Any:
        with anyio.fail_after(seconds):
            async with Client(server) as client:
                return await script(client)

    return anyio.run(main)


def call(server: Any, name: str, arguments: dict | None = None, **options) -> Any:
    """One tool call on a fresh connection: the CallToolResult."""
    return drive(server, lambda client: client.call_tool(name, arguments or {}, **options))


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2)
