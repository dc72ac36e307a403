"""The simulation compiler: catalog + simulation templates -> one standalone locustfile per target.

The pipeline, one folder per concern, each importing only the ones before it:

    sources/   read and check what the user wrote (JSON, schema, cross-references, feeds)
    resolve/   layers and variables -> one typed Target per app/environment/country
    output/    render the Target into a black-formatted file, write it, the fast path
    runs/      run generated files into run folders, read records back, compare, the index page
    runtime/   the Python inlined into every generated file (it imports nothing of the compiler)

workspace.py is the application layer both faces call: cli.py (the command line) and mcp/ (the
MCP server). problems.py (errors as data, exit codes), streams.py (stdout as tools treat it)
and timespan.py (Locust's run-time parser) are shared by all. docs/ARCHITECTURE.md has the map.
"""

__version__ = "0.1.0"
