"""`python -m compiler mcp`: the compiler as an MCP server, for agents in editors and chat clients.

Why a server and not only the command line: an agent can check a draft before writing it
(`validate` takes the catalog and simulations inline), read where each value comes from
(`explain`), and run within guardrails that the server, not the agent, decides (caps on users
and run time, protected environments) with progress on the way. Every tool calls the
application layer the command line calls (through tools.py and runs.py) and answers with
structured content (the schemas of models.py, snapshot in contracts/tools.json) and the text the
command line prints; its errors are tool errors with the command line's lines
(`file: /pointer: message`, all at once).

Resources: the JSON Schemas, the configuration reference, this server's reference, and every
run record (`simc://runs/<target>/<run>`). A prompt, `draft_simulation`, asks the agent to
draft a simulation from a description of an API, to be checked with `validate`.

Transport: stdio (the default), or streamable HTTP bound to 127.0.0.1 (`--http`).
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Callable

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from mcp_types import Resource as McpResource
from pydantic import BaseModel, Field

from compiler import __version__, workspace
from compiler.mcp import runs as mcp_runs
from compiler.mcp import tools as mcp_tools
from compiler.mcp.models import Comparison, CompileReport, ConfigCheck, Explanation, RunRecord, RunResult, TargetList, Validation
from compiler.mcp.tools import Settings, ToolFailure
from compiler.problems import UsageError, did_you_mean, display_path

NAME = "simulation-compiler"
SCHEMA_NAMES = ("catalog", "simulation", "run", "summary")
DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
PROMPT = Path(__file__).parent / "prompt.md"
logger = logging.getLogger(__name__)

READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
RUNS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)


def instructions(settings: Settings) -> str:
    protected = (
        "A protected environment runs only when the call sets allow_protected: true (this server was started "
        "with --allow-protected)"
        if settings.allow_protected
        else "Protected environments never run: this server was started without --allow-protected"
    )
    results = display_path(settings.results_folder)
    return "\n\n".join([
        f"The simulation compiler: a catalog of apps, environments and countries ({settings.catalog}) and one JSON "
        f"simulation per app compile into one standalone Locust file per target (<app>_<environment>_<country>) "
        f"in {settings.out}/.",
        "Work in this order: list_targets and explain to see what exists and where each value comes from; to add or "
        "change a simulation, draft it (the draft_simulation prompt), check the draft with validate (catalog and "
        "simulations inline as JSON text; every problem comes back at once as `file: /pointer: message`, with "
        "suggestions), fix, and write the files yourself once it is valid (this server never edits the catalog or the "
        "simulations); then compile, check_config (sends no request), run, and get_run / compare_runs to read results.",
        f"Caps of this server, set when it started: at most {settings.max_users} users (--max-users) and "
        f"{settings.max_run_time} (--max-run-time) per target's run; a call above them is refused, and so is a target "
        f"whose own users or run time are above them unless the call asks for less. {protected}. The server writes "
        f"only into {settings.out}/ (compile) and {results}/ (run). Secrets (${{env:NAME}}) come from the server's "
        "environment, never from a call.",
    ])  # fmt: skip


def _answer(call: Callable[[], tuple[BaseModel, str]]) -> CallToolResult:
    """A tool's result: its text and structured content, or a tool error with the lines."""
    try:
        model, text = call()
    except ToolFailure as failure:
        return _error(failure.lines)
    except Exception as error:  # a bug of ours: one line, as the command line's internal error
        logger.exception("tool failed")
        return _error([f"internal error: {type(error).__name__}: {error}; please report it"])
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=model.model_dump(mode="json"))


def _error(lines: list[str]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text="\n".join(lines))], is_error=True)


TargetArg = Annotated[str, Field(description="A target name, as list_targets gives it: app_local_mx.")]
HostArg = Annotated[
    str | None,
    Field(description="Another host for the run (Locust's -H), an http:// or https:// URL; default: the target's own."),
]


class CompilerServer(MCPServer):
    """MCPServer whose resource list also holds the run records there are now."""

    settings_: Settings

    async def list_resources(self) -> list[McpResource]:
        fixed = await super().list_resources()
        runs = [
            McpResource(
                uri=f"simc://runs/{target}/{run}", name=f"run {target} {run}",
                description=f"The run record (run.json) of {target}'s run {run}.", mime_type="application/json",
            )
            for target, run in workspace.all_runs(self.settings_.results_folder)
        ]  # fmt: skip
        return fixed + runs

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None):
        """The tool's own words for arguments it does not take, lacks, or cannot read, listing
        what it takes, rather than the SDK's pydantic dump (`2 validation errors for
        compare_runsArguments`); then the SDK's call."""
        schema = self._tool_input_schema(name)
        if schema is not None:
            lines = argument_problems(name, schema, arguments or {})
            if lines:
                return _error(lines)
        return await super().call_tool(name, arguments, context)


def argument_problems(tool: str, schema: dict, arguments: dict[str, Any]) -> list[str]:
    """What is wrong with a call's arguments by the tool's input schema, as error lines."""
    known = schema.get("properties", {})
    takes = ", ".join(f"{key}{'' if key in schema.get('required', []) else ' (optional)'}" for key in known) or "no arguments"
    lines = []
    for key in arguments:
        if key not in known:
            lines.append(f"error: {tool} has no argument {key!r}{did_you_mean(key, list(known))}")
    lines += [f"error: {tool} needs the argument {key!r}" for key in schema.get("required", []) if key not in arguments]
    for key, value in arguments.items():
        expected = _types(known.get(key, {}))
        if key in known and expected and _json_type(value) not in expected and not (
            "number" in expected and _json_type(value) == "integer"
        ):
            lines.append(f"error: {tool}'s argument {key!r} is {' or '.join(sorted(expected))}, got {_json_type(value)}")
    return lines + [f"{tool} takes: {takes}"] if lines else []


def _types(property_schema: dict) -> set[str]:
    options = property_schema.get("anyOf", [property_schema])
    return {option["type"] for option in options if isinstance(option.get("type"), str)}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def build_server(settings: Settings) -> CompilerServer:
    """The server, its tools, resources and prompt, for `settings` (paths relative to the current folder)."""
    server = CompilerServer(
        NAME, title="Simulation compiler", version=__version__, instructions=instructions(settings), log_level="WARNING"
    )
    server.settings_ = settings
    running = {"now": False}  # one run at a time: the machine is the load generator

    def tool(name: str, annotations: ToolAnnotations) -> Callable[[Callable], Callable]:
        """Register a tool; its description is its docstring as one paragraph."""

        def register(function: Callable) -> Callable:
            description = " ".join(inspect.cleandoc(function.__doc__ or "").split())
            server.add_tool(function, name=name, description=description, annotations=annotations)
            return function

        return register

    @tool("list_targets", READS)
    def list_targets(
        pattern: Annotated[str | None, Field(description="A target name or a glob (app_local_*); default: every target.")] = None,
    ) -> Annotated[CallToolResult, TargetList]:
        """The compatible targets (app, environment, country), sorted; a name that is not a target says why."""
        return _answer(lambda: mcp_tools.list_targets(settings, pattern))

    @tool("explain", READS)
    def explain(target: TargetArg) -> Annotated[CallToolResult, Explanation]:
        """One target's resolved configuration: every value with the layer, file and JSON pointer it
        came from (template, environments.<env>, countries.<country>, targets.<env>/<country>,
        default), and the variables it was made with."""
        return _answer(lambda: mcp_tools.explain(settings, target))

    @tool("validate", READS)
    def validate(
        catalog: Annotated[str, Field(description=(
            "A draft catalog as JSON text (the whole catalog, as the catalog file would hold it; schema: "
            "simc://schemas/catalog.schema.json). Empty: the catalog on disk."
        ))] = "",
        simulations: Annotated[dict[str, str] | None, Field(description=(
            "Draft simulations as JSON text, keyed by the path the catalog names them by (simulations/orders.json; "
            "schema: simc://schemas/simulation.schema.json). Others are read from disk."
        ))] = None,
    ) -> Annotated[CallToolResult, Validation]:  # fmt: skip
        """Check the catalog and every simulation (JSON Schema, references, every target resolved).
        Without arguments, the files on disk; with `catalog` and/or `simulations`, a draft, checked
        in a private temporary folder and never written into the repository. Every problem comes
        back at once as `file: /pointer: message`, with a suggestion where one fits."""
        return _answer(lambda: mcp_tools.validate(settings, catalog or None, simulations))

    @tool("compile", WRITES)
    def compile_(
        targets: Annotated[list[str] | None, Field(description="Target names or globs (compile --only); default: every target.")] = None,
        out: Annotated[str | None, Field(description=(
            "The output folder; only the server's own (its --out) is accepted, any other is an error."
        ))] = None,
        check: Annotated[bool, Field(description="Write nothing; report the files missing, stale or edited by hand (compile --check).")] = False,
        force: Annotated[bool, Field(description="Also overwrite files edited by hand (compile --force); never files the compiler did not write.")] = False,
    ) -> Annotated[CallToolResult, CompileReport]:  # fmt: skip
        """Write one locustfile per compatible target into the server's output folder, as
        `python -m compiler compile` does: atomically, removing files of targets that no longer
        exist, keeping files edited by hand (a tool error naming them) unless `force`."""
        return _answer(lambda: mcp_tools.compile_targets(settings, targets, out, check, force))

    @tool("check_config", WRITES)
    def check_config(
        target: TargetArg,
        host: HostArg = None,
        allow_protected: Annotated[bool, Field(description="Check a protected target as a run allowed to aim at it would be (--allow-protected); nothing is sent either way.")] = False,
    ) -> Annotated[CallToolResult, ConfigCheck]:  # fmt: skip
        """Run the target's generated file (compiled first if stale) with --check-config: it prints
        the resolved configuration and where each value came from, and checks everything that would
        stop a run (limits, protected, ${env:...} secrets) without sending a request."""
        return _answer(lambda: mcp_tools.check_config(settings, target, host, allow_protected))

    @tool("run", RUNS)
    async def run(
        targets: Annotated[list[str], Field(description="Target names or globs (app_local_*); they run one after another.")],
        ctx: Context,
        users: Annotated[int | None, Field(description="Users for each run (Locust's -u); default: the target's own. At most the server's cap.")] = None,
        run_time: Annotated[str | None, Field(description="How long each run lasts (Locust's -t: 30s, 2m); default: the target's own. At most the server's cap.")] = None,
        host: HostArg = None,
        allow_protected: Annotated[bool, Field(description="Run a protected environment's target; also needs a server started with --allow-protected.")] = False,
    ) -> Annotated[CallToolResult, RunResult]:  # fmt: skip
        """Run targets through `python -m compiler run`, each into a run folder of its own
        (report, CSVs, run.json, junit.xml), within this server's caps on users and run time;
        protected environments only when the call and the server allow it. Progress comes as
        progress notifications; the result has each run's exit code, verdict, threshold verdicts
        and totals."""
        if running["now"]:
            return _error(["error: a run is going on; one run at a time (wait for it, then call again)"])
        running["now"] = True
        try:
            result, text = await mcp_runs.run(
                settings, targets, users, run_time, host, allow_protected,
                lambda done, total, message: ctx.report_progress(done, total, message),
            )  # fmt: skip
        except ToolFailure as failure:
            return _error(failure.lines)
        except Exception as error:
            logger.exception("run failed")
            return _error([f"internal error: {type(error).__name__}: {error}; please report it"])
        finally:
            running["now"] = False
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=result.model_dump(mode="json"))

    @tool("get_run", READS)
    def get_run(
        run: Annotated[str | None, Field(description="A run folder: data/results/<target>/<UTC time> (as run returns it).")] = None,
        target: Annotated[str | None, Field(description="A target name: its latest run.")] = None,
    ) -> Annotated[CallToolResult, RunRecord]:  # fmt: skip
        """A run's record (run.json: configuration, threshold verdicts, per-request statistics,
        failures, versions), and the target's other runs, to compare with."""
        return _answer(lambda: mcp_tools.get_run(settings, run, target))

    @tool("compare_runs", READS)
    def compare_runs(
        run_a: Annotated[str, Field(description="The earlier run folder (data/results/<target>/<UTC time>), or a target "
                                    "name: its latest run (alone: its latest run against the one before).")],
        run_b: Annotated[str | None, Field(description="The later run folder, or a target name (its latest run).")] = None,
        tolerance: Annotated[float, Field(description="Relative change allowed before a flag: 0.10 is 10%.")] = 0.10,
    ) -> Annotated[CallToolResult, Comparison]:  # fmt: skip
        """Per request name, B's requests per second, p50/p95/p99 and error ratio against A's; a
        regression (slower, fewer requests per second, more errors, a request gone) beyond the
        tolerance gives exit_code 1, as `python -m compiler compare` does."""
        return _answer(lambda: mcp_tools.compare_runs(settings, run_a, run_b, tolerance))

    _add_resources(server, settings)

    @server.prompt(name="draft_simulation", title="Draft a simulation")
    def draft_simulation(
        description: str, app: str = "", environment: str = "local", host: str = ""
    ) -> str:
        """Draft a simulation (endpoints, a flow, thresholds) from a short description of an API,
        with its catalog entry, to check with the validate tool before writing it."""
        return draft_prompt(settings, description, app, environment, host)

    return server


def _add_resources(server: MCPServer, settings: Settings) -> None:
    for name in SCHEMA_NAMES:
        path = Path(__file__).parent.parent / "schemas" / f"{name}.schema.json"
        title = json.loads(path.read_text(encoding="utf-8")).get("title", name)
        server.resource(
            f"simc://schemas/{name}.schema.json", name=f"{name}.schema.json", title=title,
            description=f"The JSON Schema (2020-12) of {title.lower()}, as the compiler checks it.",
            mime_type="application/schema+json",
        )(_reader(path))  # fmt: skip
    for name, what in (
        ("configuration", "The configuration reference: the catalog and the simulation template, key by key."),
        ("mcp", "This server's reference: tools, caps, options, resources, the prompt, contracts."),
    ):
        server.resource(f"simc://docs/{name}", name=f"{name}.md", description=what, mime_type="text/markdown")(
            _reader(DOCS / f"{name.upper()}.md")
        )

    @server.resource(
        "simc://runs/{target}/{run}", name="run record", mime_type="application/json",
        description="The run record (run.json) of one run: simc://runs/<target>/<UTC time>.",
    )  # fmt: skip
    def run_record(target: str, run: str) -> str:
        try:
            path = workspace.record_path(settings.results_folder, target, run)
        except UsageError as error:
            raise ResourceError(str(error)) from None
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            raise ResourceError(f"no run record at {display_path(path)}") from None


def _reader(path: Path) -> Callable[[], str]:
    def read() -> str:
        return path.read_text(encoding="utf-8")

    return read


def draft_prompt(settings: Settings, description: str, app: str, environment: str, host: str) -> str:
    """The prompt's text: the task, what the catalog has now, and the rules a draft follows."""
    try:
        catalog: Any = json.loads(Path(settings.catalog).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        catalog = {}
    environments = catalog.get("environments", {}) if isinstance(catalog, dict) else {}
    countries = catalog.get("countries", {}) if isinstance(catalog, dict) else {}
    known = environments.get(environment, {}) if isinstance(environments, dict) else {}
    domain = known.get("vars", {}).get("domain") if isinstance(known, dict) and isinstance(known.get("vars"), dict) else None
    facts = [
        f"- The catalog is {settings.catalog}; its environments: {', '.join(environments) or 'none yet'}; "
        f"its countries: {', '.join(countries) or 'none yet'}.",
        f"- The app's name: {app or 'pick one, lowercase [a-z][a-z0-9-]*'}; it runs in environment '{environment}'"
        + (f", whose domain variable is {domain}" if domain else "") + ".",
        f"- The host: {host}." if host else "- The host: from the environment, such as \"http://${domain}\".",
        f"- This server runs at most {settings.max_users} users for {settings.max_run_time}: keep users and run_time within that.",
    ]  # fmt: skip
    template = PROMPT.read_text(encoding="utf-8")
    return template.replace("{description}", description.strip() or "(no description given)").replace(
        "{facts}", "\n".join(facts)
    )


def serve(settings: Settings, http: bool, port: int) -> None:
    """Serve on stdio, or on streamable HTTP at 127.0.0.1:port (never another interface)."""
    server = build_server(settings)
    if http:
        print(f"mcp: serving on http://127.0.0.1:{port}/mcp", file=sys.stderr, flush=True)
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        try:
            server.run("stdio")
        except BaseExceptionGroup as group:  # the client closed its end while the server wrote
            _, other = group.split(lambda error: isinstance(error, (BrokenPipeError, ConnectionResetError)))
            if other is not None:
                raise
            print("mcp: the client went away; the server stops", file=sys.stderr, flush=True)


