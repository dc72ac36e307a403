"""The command line: validate, compile, list, explain, run, compare, import (a simulation from an
OpenAPI document or a HAR file), and mcp (a server for agents). It parses arguments, calls the application layer (workspace.py) and prints what it
returns; the MCP server (mcp/) calls the same functions.

Exit codes: 0 ok; 1 `compile --check` found differences; 2 invalid configuration or usage.
Every problem is printed as `file: /json/pointer: message`, all at once, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Sequence

from compiler import workspace
from compiler.problems import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, ConfigError, Problems, UsageError, os_error_line
from compiler.streams import StdoutError, guarded_stdout
from compiler.timespan import parse_timespan

DEFAULT_CATALOG = workspace.DEFAULT_CATALOG


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit 2 too; keep one message format
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m compiler",
        description="Compile declarative load simulations into standalone locustfiles.",
    )
    parser.add_argument("--catalog", help=f"catalog file (default: $CONFIG_PATH, else {DEFAULT_CATALOG})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=ArgumentParser)
    commands.add_parser("validate", help="check the catalog and every simulation")
    compile_ = commands.add_parser("compile", help="write one locustfile per compatible target")
    compile_.add_argument("--only", nargs="+", metavar="PATTERN", help="target names or globs (app_qa_*)")
    compile_.add_argument("--out", default="generated", help="output folder (default: generated)")
    mode = compile_.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything differs")
    mode.add_argument("--force", action="store_true", help="also overwrite (or remove) generated files edited by hand")
    listing = commands.add_parser("list", help="list the compatible targets, with their app, environment, country")
    listing.add_argument("pattern", nargs="?", metavar="PATTERN", help="a target name or glob (app_qa_*)")
    listing.add_argument("--names", action="store_true", help="only the target names, one per line (for scripts)")
    explain = commands.add_parser("explain", help="show one target's resolved configuration and sources")
    explain.add_argument("target", metavar="TARGET", help="a target name, like app_qa_mx")
    run = commands.add_parser(
        "run", help="run targets' generated files one after another, each into a run folder of its own",
        usage="python -m compiler run TARGET|GLOB ... [--out DIR] [--results DIR] [--processes N] [--summary-json FILE] [--isolated] [-- LOCUST ARGS]",
    )  # fmt: skip
    run.add_argument("targets", nargs="+", metavar="TARGET|GLOB", help="target names or globs (app_local_*)")
    run.add_argument("--out", default="generated", help="where the generated files are (default: generated)")
    run.add_argument("--results", help="where run folders go (default: results/ beside the catalog: data/results)")
    run.add_argument("--processes", type=int, metavar="N", help="run each target on Locust's --processes N: a master and N forked workers (-1: one per core)")
    run.add_argument("--summary-json", metavar="FILE", help="also write a JSON summary of every run to FILE")
    run.add_argument("--isolated", action="store_true", help="ignore Locust's config files and LOCUST_* variables: the run is what the file and the command line say (the MCP server's runs)")
    importing = commands.add_parser(
        "import", help="draft a simulation from an OpenAPI document or a HAR recording",
        usage="python -m compiler import {openapi,har} FILE --app NAME [--host URL] [--out FILE] [--force] [--pauses] [--catalog-entry ENVIRONMENTS COUNTRIES]",
    )  # fmt: skip
    importing.add_argument("kind", choices=("openapi", "har"), help="what FILE is: an OpenAPI 3.0/3.1 document (JSON or YAML), or a HAR file")
    importing.add_argument("file", metavar="FILE")
    importing.add_argument("--app", required=True, help="the app's name: writes simulations/NAME.json beside the catalog")
    importing.add_argument("--host", help="the host to send to (an origin, http://127.0.0.1:8765): instead of the document's server or the recording's host")
    importing.add_argument("--out", help="the simulation file to write (default: simulations/NAME.json beside the catalog)")
    importing.add_argument("--force", action="store_true", help="overwrite the simulation file if it exists")
    importing.add_argument("--pauses", action="store_true", help="har: keep the recorded pauses between requests as pause steps")
    importing.add_argument("--catalog-entry", nargs=2, metavar=("ENVIRONMENTS", "COUNTRIES"), help="also add the app to the catalog for these (comma lists: local,qa mx,co)")
    compare = commands.add_parser(
        "compare", help="compare two runs (folders, or a target's latest two); exit 1 on a regression",
        usage="python -m compiler compare RUN_A RUN_B | TARGET [--tolerance T] [--results DIR]",
    )  # fmt: skip
    compare.add_argument("run_a", metavar="RUN_A", help="the earlier run folder (data/results/<target>/<time>), or a target: its latest run against the one before")
    compare.add_argument("run_b", metavar="RUN_B", nargs="?", help="the later run folder, or a target (its latest run)")
    compare.add_argument("--results", help="where run folders are, for targets named (default: results/ beside the catalog)")
    compare.add_argument("--tolerance", type=float, default=workspace.DEFAULT_TOLERANCE, help="relative change allowed before a flag (default 0.10: 10%%)")
    index = commands.add_parser("index", help="rewrite the results folder's index.html (after runs of plain `locust -f`)")
    index.add_argument("--results", help="the results folder (default: results/ beside the catalog: data/results)")
    mcp = commands.add_parser(
        "mcp", help="serve the compiler to MCP clients (agents): stdio, or streamable HTTP on 127.0.0.1",
        usage="python -m compiler mcp [--root DIR] [--out DIR] [--results DIR] [--max-users N] [--max-run-time T] [--allow-protected] [--http [--port P]]",
    )  # fmt: skip
    mcp.add_argument("--catalog", default=argparse.SUPPRESS, help="catalog file, relative to --root (as before the command)")
    mcp.add_argument("--root", help="the folder to work in, the repository root (default: the current folder)")
    mcp.add_argument("--out", default="generated", help="the only folder compile writes to (default: generated)")
    mcp.add_argument("--results", help="where runs go and are read from (default: results/ beside the catalog: data/results)")
    mcp.add_argument("--max-users", type=int, default=50, metavar="N", help="the most users a run may have (default: 50)")
    mcp.add_argument("--max-run-time", default="60s", metavar="T", help="the longest a target's run may last (default: 60s)")
    mcp.add_argument("--allow-protected", action="store_true", help="let a call that asks for it run a protected environment")
    mcp.add_argument("--http", action="store_true", help="serve streamable HTTP on 127.0.0.1 instead of stdio")
    mcp.add_argument("--port", type=int, default=8000, help="the port of --http (default: 8000)")
    return parser


def print_problems(problems: Problems) -> None:
    for problem in problems.items:
        print(problem, file=sys.stderr)


def command_validate(args, problems: Problems) -> int:
    inputs = workspace.validate_all(args.catalog, problems)
    print_problems(problems)
    print(workspace.valid_line(inputs))
    return EXIT_OK


def command_compile(args, problems: Problems) -> int:
    planned = workspace.plan_compile(args.catalog, args.only, args.out, problems, check=args.check)
    try:  # the targets are resolved as they are written: their warnings come with the rest
        compiled = workspace.write_compile(planned, check=args.check, force=args.force)
    except UsageError:
        print_problems(problems)
        raise
    print_problems(problems)
    for stream, line in compiled.messages():
        print(line, file=sys.stdout if stream == "stdout" else sys.stderr)
    return compiled.code


def command_list(args, problems: Problems) -> int:
    listed = workspace.list_targets(args.catalog, args.pattern, problems)
    if args.names:
        for ref in listed.targets:
            print(ref.name)
        return EXIT_OK
    rows = [("target", "app", "environment", "country", "protected")] + [
        (ref.name, ref.app, ref.environment, ref.country, "yes" if listed.protected[ref.name] else "no")
        for ref in listed.targets
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    if len(rows) == 1:
        print(f"no compatible target matches '{args.pattern}'", file=sys.stderr)
    return EXIT_OK


def command_explain(args, problems: Problems) -> int:
    print("\n".join(workspace.explain(args.catalog, args.target, problems).lines))
    return EXIT_OK


def command_run(args, problems: Problems) -> int:
    """Compile what is stale among the selected targets, then run them one after another."""
    return workspace.run(args.catalog, args.targets, args.out, args.results, args.processes, args.summary_json,
                         args.locust_args, problems, alone=args.isolated)  # fmt: skip


def command_import(args, problems: Problems) -> int:
    entry = None
    if args.catalog_entry:
        entry = tuple([name for name in text.split(",") if name] for text in args.catalog_entry)
        if not entry[0] or not entry[1]:
            raise UsageError("--catalog-entry takes ENVIRONMENTS COUNTRIES, comma lists: local,qa mx,co")
    if args.pauses and args.kind != "har":
        raise UsageError("--pauses is for har: an OpenAPI document has no recorded pauses")
    imported = workspace.import_source(args.kind, args.file, args.app, args.catalog, args.out, args.force, args.host,
                                       args.pauses, entry, problems)  # fmt: skip
    print("\n".join(imported.lines))
    return EXIT_OK


def command_compare(args, problems: Problems) -> int:
    run_a, run_b = workspace.runs_to_compare(workspace.results_folder(args.catalog, args.results), args.run_a, args.run_b)
    comparison = workspace.compare_runs(run_a, run_b, args.tolerance)
    print("\n".join(comparison.lines))
    return comparison.code


def command_index(args, problems: Problems) -> int:
    print(f"index: {workspace.refresh_index(workspace.results_folder(args.catalog, args.results))}")
    return EXIT_OK


def command_mcp(args, problems: Problems) -> int:
    """Serve until the client goes away (stdio) or the process is stopped (--http)."""
    if args.root:
        try:
            os.chdir(args.root)
        except OSError as error:
            raise UsageError(f"--root {args.root}: {error.strerror or error}") from None
    if args.max_users < 1:
        raise UsageError("--max-users is a number of users, 1 or more")
    try:
        if parse_timespan(args.max_run_time) <= 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"--max-run-time {args.max_run_time!r} is not a duration like 60s, 5m or 1h30m") from None
    if not 0 < args.port < 65536:
        raise UsageError("--port is a TCP port, 1 to 65535")
    if not args.out:
        raise UsageError("--out is empty; name the output folder (default: generated)")
    try:
        from compiler.mcp.server import serve
        from compiler.mcp.tools import Settings
    except ImportError as error:
        missing = (getattr(error, "name", None) or "mcp").partition(".")[0]
        raise UsageError(f"missing dependency {missing}: run `make` to set up .venv") from None
    settings = Settings(args.catalog, args.out, args.results, args.max_users, args.max_run_time, args.allow_protected)
    serve(settings, http=args.http, port=args.port)
    return EXIT_OK


COMMANDS = {
    "validate": command_validate, "compile": command_compile, "list": command_list, "explain": command_explain,
    "run": command_run, "compare": command_compare, "index": command_index, "import": command_import,
    "mcp": command_mcp,
}  # fmt: skip


def split_locust_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the compiler's arguments, Locust's): everything after `--` goes to Locust as it is."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    problems = Problems()
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started with `&` by a shell: Ctrl-C or
        signal.signal(signal.SIGINT, signal.default_int_handler)  # kill -INT must still stop a run
    try:
        with guarded_stdout():
            ours, locust_args = split_locust_args(list(sys.argv[1:] if argv is None else argv))
            args = build_parser().parse_args(ours)
            args.locust_args = locust_args
            args.catalog = workspace.catalog_path(args.catalog)
            return COMMANDS[args.command](args, problems)
    except StdoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except ConfigError:
        print_problems(problems)
        print(problems.summary(), file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:  # every stage names its files; this is a last resort that still says which
        print(f"error: {os_error_line(error)}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted; files already written are complete, the others untouched", file=sys.stderr)
        return 130
    except Exception as error:  # a bug of ours: say so in one line, not a traceback
        print(f"internal error: {type(error).__name__}: {error}; please report it", file=sys.stderr)
        if os.environ.get("COMPILER_DEBUG"):
            raise
        return EXIT_INTERNAL


def mcp_main() -> int:
    """The `simc-mcp` console script: `python -m compiler mcp` with the same options."""
    return main(["mcp", *sys.argv[1:]])
