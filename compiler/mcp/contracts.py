"""The MCP server's contract: every tool's name, description, input and output schema, as one
JSON file (contracts/tools.json), written by `make contracts` and compared by a test.

Why a snapshot: a client (and the agent behind it) is built against these schemas; a change to
a tool's arguments or results must be a reviewed diff of that file, never a surprise. The file
is deterministic: tools sorted by name, keys sorted, two-space indentation, a final newline.
It is taken from the server as a client sees it (`tools/list` through the SDK's own client).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import anyio
from mcp import Client

from compiler.mcp.server import build_server
from compiler.mcp.tools import Settings

DEFAULT = Path("contracts") / "tools.json"


def contract(tools) -> str:
    """The snapshot's text for a `tools/list` answer."""
    entries = [
        {"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema,
         "outputSchema": tool.output_schema}
        for tool in sorted(tools, key=lambda tool: tool.name)
    ]  # fmt: skip
    return json.dumps({"tools": entries}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


async def live_contract(settings: Settings | None = None) -> str:
    """The contract of a server built as `python -m compiler mcp` builds it."""
    async with Client(build_server(settings or Settings())) as client:
        return contract((await client.list_tools()).tools)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the MCP server's tool contract (make contracts).")
    parser.add_argument("path", nargs="?", default=str(DEFAULT), help=f"where to write it (default: {DEFAULT})")
    args = parser.parse_args(argv)
    text = anyio.run(live_contract)
    path = Path(args.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    path.write_text(text, encoding="utf-8")
    print(f"{path}: {'written' if changed else 'unchanged'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
