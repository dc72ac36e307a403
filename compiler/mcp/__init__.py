"""The MCP server: the compiler served to agents with the official SDK.

server.py wires the tools, resources and the prompt (prompt.md) to the protocol; tools.py and
runs.py are the tools as plain functions on the application layer (compiler/workspace.py);
models.py their output schemas; contracts.py writes contracts/tools.json (`make contracts`).

May import: compiler.workspace, compiler.problems, compiler.streams, compiler.timespan and this
folder; never the command line (cli.py), and nothing below the application layer.
"""
