"""Stage 6, the command line: validate, compile, list, explain, run, compare, and mcp (a server
for agents, in mcp_server.py, on the same functions).

Exit codes: 0 ok; 1 `compile --check` found differences; 2 invalid configuration or usage.
Every problem is printed as `file: /json/pointer: message`, all at once, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from compiler.output.build import Built, build
from compiler.runs.compare import CompareError, compare
from compiler.output.manifest import Manifest, Plan
from compiler.resolve.model import Expansion, JsonPath, Pause, Target, as_written
from compiler.problems import ConfigError, Problems, did_you_mean, pointer_join
from compiler.resolve.target import resolve_all
from compiler.runs.launch import run_targets
from compiler.streams import StdoutError, guarded_stdout
from compiler.sources.targets import TargetRef, compatible_targets, select, why_not_compatible
from compiler.timespan import parse_timespan
from compiler.sources.validate import Inputs, load_inputs
from compiler.output.write import OutputError, Report, WriteError, sync

DEFAULT_CATALOG = "data/catalog.json"
EXIT_OK, EXIT_DIFFERENCES, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 70
GLOB_CHARACTERS = set("*?[")
# COMPILER_FAST_PATH=0: resolve and render every target, as before the manifest (tests compare).
FAST_PATH = os.environ.get("COMPILER_FAST_PATH", "1") != "0"


class UsageError(Exception):
    pass


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
    commands.add_parser("list", help="list the compatible targets")
    explain = commands.add_parser("explain", help="show one target's resolved configuration and sources")
    explain.add_argument("target", metavar="TARGET", help="a target name, like app_qa_mx")
    run = commands.add_parser(
        "run", help="run targets' generated files one after another, each into a run folder of its own",
        usage="python -m compiler run TARGET|GLOB ... [--out DIR] [--results DIR] [--processes N] [--summary-json FILE] [-- LOCUST ARGS]",
    )  # fmt: skip
    run.add_argument("targets", nargs="+", metavar="TARGET|GLOB", help="target names or globs (app_local_*)")
    run.add_argument("--out", default="generated", help="where the generated files are (default: generated)")
    run.add_argument("--results", help="where run folders go (default: results/ beside the catalog: data/results)")
    run.add_argument("--processes", type=int, metavar="N", help="run each target on Locust's --processes N: a master and N forked workers (-1: one per core)")
    run.add_argument("--summary-json", metavar="FILE", help="also write a JSON summary of every run to FILE")
    compare = commands.add_parser("compare", help="compare two run folders; exit 1 on a regression")
    compare.add_argument("run_a", metavar="RUN_A", help="the earlier run folder (data/results/<target>/<time>)")
    compare.add_argument("run_b", metavar="RUN_B", help="the later run folder")
    compare.add_argument("--tolerance", type=float, default=0.10, help="relative change allowed before a flag (default 0.10: 10%%)")
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


def catalog_path(option: str | None) -> str:
    """The catalog to read: --catalog, else CONFIG_PATH, else the default.

    An empty value is a usage error, not the current folder (`.: is a folder`) nor the default:
    `CONFIG_PATH=` or `--catalog "$UNSET"` is a slip, and compiling another catalog than the one
    meant would be worse than stopping."""
    if option is not None:
        if not option:
            raise UsageError("--catalog is empty; name a catalog file")
        return option
    from_environment = os.environ.get("CONFIG_PATH")
    if from_environment == "":
        raise UsageError("CONFIG_PATH is set but empty; unset it or name a catalog file")
    return from_environment or DEFAULT_CATALOG


def _print_problems(problems: Problems) -> None:
    for problem in problems.items:
        print(problem, file=sys.stderr)


def _summary(problems: Problems) -> str:
    errors, warnings = len(problems.errors), len(problems.warnings)
    files = len({p.file for p in problems.items})
    return f"{errors} error(s), {warnings} warning(s) in {files} file(s)"


def _load(catalog: str, problems: Problems) -> Inputs:
    inputs = load_inputs(Path(catalog), problems)
    if inputs is None:
        problems.raise_if_errors()
    assert inputs is not None
    return inputs


def _resolve(inputs: Inputs, refs: list[TargetRef], problems: Problems):
    """The targets that can be resolved, so their problems join the others; then all at once."""
    targets = resolve_all(inputs, [ref for ref in refs if inputs.can_resolve(ref)], problems)
    problems.raise_if_errors()
    return targets


def _refs_for(inputs: Inputs, patterns: list[str] | None, problems: Problems) -> list[TargetRef]:
    """The targets --only selects. A name must be a compatible target; a glob that matches none
    is only a warning, so that `compile --only 'app_staging_*'` can still tidy their files."""
    targets = compatible_targets(inputs.catalog.data)
    for pattern in patterns or []:
        if not select(targets, [pattern]):
            if not GLOB_CHARACTERS & set(pattern):
                raise UsageError(_no_such_target(inputs, pattern, targets))
            problems.add(inputs.catalog.label, "", f"--only '{pattern}' matches no compatible target", "warning")
    return select(targets, patterns)


def _no_such_target(inputs: Inputs, pattern: str, targets: list[TargetRef]) -> str:
    names = [t.name for t in targets]
    parts = pattern.split("_")
    if len(parts) == 3:
        reason = why_not_compatible(inputs.catalog.data, *parts)
        if reason:
            return f"target '{pattern}' is not compiled: {reason} ({inputs.catalog.label}){did_you_mean(pattern, names)}"
    return f"unknown target '{pattern}'{did_you_mean(pattern, names)}; `list` shows the compatible targets"


def validate_all(catalog: str, problems: Problems) -> Inputs:
    """Load, check and resolve every compatible target: ConfigError with every problem at once."""
    inputs = _load(catalog, problems)
    _resolve(inputs, compatible_targets(inputs.catalog.data), problems)
    return inputs


def valid_line(inputs: Inputs) -> str:
    return (f"{inputs.catalog.label}: valid ({len(inputs.simulations)} simulation(s), "
            f"{len(compatible_targets(inputs.catalog.data))} target(s))")  # fmt: skip


def command_validate(args, problems: Problems) -> int:
    inputs = validate_all(args.catalog, problems)
    _print_problems(problems)
    print(valid_line(inputs))
    return EXIT_OK


KEPT_EDITED = (
    "not written: edited by hand since it was generated; move your changes into the catalog, the "
    "simulation or templates/ and compile again, or run `compile --force` to overwrite them"
)
KEPT_LEFTOVER = (
    "not removed: its target no longer exists, but it was edited by hand; keep what you need, then "
    "delete it or run `compile --force`"
)


@dataclass
class Compiled:
    """What a compile did (or, with `check`, found), and the lines the command line prints."""

    out: Path
    files: dict[str, str]  # name.py -> text, of the targets resolved and rendered
    verified: set[str]  # name.py of the others: their files hold what a full compile writes
    report: Report
    check: bool
    force: bool
    stopped: WriteError | None = None  # the error that stopped writing, after `report`'s work

    @property
    def kept(self) -> list[str]:
        return [] if self.force else self.report.edited + self.report.edited_leftovers

    @property
    def code(self) -> int:
        if self.stopped is not None:
            return EXIT_INVALID
        if self.check:
            return EXIT_DIFFERENCES if self.report.differences or self.report.foreign else EXIT_OK
        return EXIT_INVALID if self.report.foreign or self.kept else EXIT_OK

    def messages(self) -> list[tuple[str, str]]:
        """("stdout" or "stderr", line), in the order they are printed."""
        out, report, lines = self.out, self.report, []
        for name, why in report.foreign.items():
            lines.append(("stderr", f"{out / name}: not written: {why}"))
        if self.stopped is not None:
            return lines + _stopped(out, report, self.stopped, self.check)
        if self.check:
            lines += [("stdout", f"{out}: {line}") for line in report.differences]
            if report.differences or report.foreign:
                return lines + [("stderr", f"{out}: differs from the sources; run `make compile` and review the diff")]
            return lines + [("stdout", f"{out}: up to date ({len(self.files) + len(self.verified)} file(s))")]
        for names, forced, kept in (
            (report.edited, "overwrote changes made by hand (--force)", KEPT_EDITED),
            (report.edited_leftovers, "removed with changes made by hand (--force)", KEPT_LEFTOVER),
        ):
            lines += [("stderr", f"{out / name}: {forced if self.force else kept}") for name in names]
        return lines + [(
            "stdout",
            f"{out}: {len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed"
            + (f", {len(self.kept)} kept (edited by hand)" if self.kept else ""),
        )]  # fmt: skip


@dataclass
class CompilePlan:
    """The files a compile would write, before anything is written."""

    out: Path
    only: list[str] | None
    files: dict[str, str]
    manifest: Manifest | None
    plan: Plan
    built: list[Built]  # the targets resolved and rendered (the others took the fast path)
    refs: list[TargetRef]


def plan_compile(catalog: str, only: list[str] | None, out: str, problems: Problems) -> CompilePlan:
    """Load, select, and resolve and render what changed: ConfigError or UsageError, or the files."""
    if not out:  # an unset variable in `--out "$DIR"` would write to the current folder
        raise UsageError("--out is empty; name the output folder (default: generated)")
    inputs = _load(catalog, problems)
    refs = _refs_for(inputs, only, problems)
    folder = Path(out)
    # The fast path: targets whose inputs did not change keep the bytes of their file (see
    # manifest.py); the others are resolved and rendered. Every file is then judged by `sync`.
    manifest = Manifest(inputs, folder) if FAST_PATH and not problems.errors else None
    plan = manifest.plan(refs) if manifest else Plan(todo=refs)
    built = build(inputs, plan.todo, problems, plan.resolved) if plan.todo else problems.raise_if_errors() or []
    files = {f"{item.name}.py": item.text for item in built}  # and plan.reused, as they are
    return CompilePlan(folder, only, files, manifest, plan, built, refs)


def write_compile(planned: CompilePlan, check: bool, force: bool) -> Compiled:
    """Write (or, with `check`, compare) the planned files; UsageError when the folder cannot be used."""
    stopped: WriteError | None = None
    try:
        report = sync(planned.out, planned.files, planned.only, check=check, force=force, verified=planned.plan.reused)
    except OutputError as error:
        raise UsageError(str(error)) from None
    except WriteError as error:  # a full disk, a read-only folder: say where, and how far it got
        report, stopped = error.report, error
    if planned.manifest is not None and not check and stopped is None:
        planned.manifest.save(planned.plan, planned.built, planned.refs, planned.files, report.written + report.unchanged)
    return Compiled(planned.out, planned.files, planned.plan.reused, report, check, force, stopped)


def command_compile(args, problems: Problems) -> int:
    planned = plan_compile(args.catalog, args.only, args.out, problems)
    _print_problems(problems)
    compiled = write_compile(planned, check=args.check, force=args.force)
    for stream, line in compiled.messages():
        print(line, file=sys.stdout if stream == "stdout" else sys.stderr)
    return compiled.code


def _stopped(out: Path, report: Report, error: WriteError, check: bool) -> list[tuple[str, str]]:
    """The error that stopped a compile, and what it had done: files written before it are
    complete, the others are as they were (never half-written). `--check` had written nothing."""
    lines = [("stderr", f"error: {error}")]
    if not check:
        lines.append((
            "stdout",
            f"{out}: {len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed, "
            "then stopped by the error above; the other files are as they were",
        ))  # fmt: skip
    return lines


def command_list(args, problems: Problems) -> int:
    inputs = _load(args.catalog, problems)
    problems.raise_if_errors()
    for ref in compatible_targets(inputs.catalog.data):
        print(ref.name)
    return EXIT_OK


def plain(item: Any) -> Any:
    """A resolved value as JSON data: objects, lists, and `${env:NAME}` as written."""
    if hasattr(item, "items"):  # dict, or a frozen MappingProxyType
        return {k: plain(v) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return [plain(v) for v in item]
    return as_written(item)


def _shown(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False)


def _made_with(target: Target, value: Any, pointer: str) -> str:
    """", ${currency} from catalog (...)" for each variable the value at `pointer` was made
    with, each once; a list shown whole (expect_status, a repeated query parameter) counts its
    items'."""
    expansions: list[Expansion] = []

    def collect(item: Any, at: str) -> None:
        expansions.extend(e for e in target.expansions.get(at, ()) if e not in expansions)
        if isinstance(item, (list, tuple)):
            for index, element in enumerate(item):
                collect(element, pointer_join(at, index))

    collect(value, pointer)
    return "".join(f", {expansion}" for expansion in expansions)


STEP_FIELDS = ("method", "path", "headers", "query", "json", "body", "form", "expect_status", "follow_redirects",
               "capture", "checks", "timeout_seconds", "continue_on_failure")


def as_written_path(value: Any) -> Any:
    return value.text if isinstance(value, JsonPath) else as_written(value)


def explain_rows(target: Target, catalog_label: str) -> list[tuple[str, Any, str]]:
    """Every resolved value of a target with the layer (and file, pointer) that wrote it, and for
    a string made with variables, where each variable was set: (key, value, origin)."""
    rows: list[tuple[str, Any, str]] = []

    def add(key: str, value: Any, pointer: str) -> None:
        rows.append((key, value, str(target.origin_of(pointer)) + _made_with(target, value, pointer)))

    for key, value in (
        ("host", target.host), ("users", target.users), ("spawn_rate", target.spawn_rate),
        ("run_time", target.run_time), ("seed", target.seed), ("client", target.client),
        ("request_timeout_seconds", target.request_timeout_seconds),
        ("report_html", target.report_html),
    ):
        if value is None and key in ("users", "spawn_rate", "run_time"):
            rows.append((key, "(the stages decide)", "stages"))
            continue
        add(key, value, f"/{key}")
    think = target.think_time
    if "/think_time_seconds/min" in target.origins:  # an object, merged key by key
        add("think_time_seconds.min", think.min, "/think_time_seconds/min")
        add("think_time_seconds.max", think.max, "/think_time_seconds/max")
    else:
        add("think_time_seconds", think.min, "/think_time_seconds")

    def add_leaves(key: str, value: Any, pointer: str) -> None:
        """Objects are merged key by key, so each of their leaves has an origin of its own;
        absent values (None, empty objects, empty lists) are not shown."""
        if hasattr(value, "items"):
            for name, item in value.items():
                add_leaves(f"{key}.{name}", item, pointer_join(pointer, name))
        elif value not in (None, ()):
            add(key, value, pointer)

    add_leaves("headers", target.headers, "/headers")
    if target.stages:
        rows.append(("stages", "decide users, spawn rate and duration", str(target.origin_of("/stages"))))
        for index, stage in enumerate(target.stages):
            add(f"stages.{index}", f"{stage.duration} at {stage.users} users, spawn rate {stage.spawn_rate}", f"/stages/{index}")
    add_leaves("pacing", target.pacing, "/pacing")
    add_leaves("thresholds", target.thresholds, "/thresholds")
    for feed in target.feeds:
        for field in ("file", "mode", "when_exhausted"):
            add(f"feeds.{feed.name}.{field}", getattr(feed, field), pointer_join("/feeds", feed.name, field))

    def add_step(key: str, step: Any, pointer: str, fields: tuple[str, ...] = STEP_FIELDS) -> None:
        if isinstance(step, Pause):
            add(f"{key}.pause", f"{step.min:g}-{step.max:g}s", pointer_join(pointer, "pause"))
            return
        for field in fields:
            value = getattr(step, field)
            if field == "capture":
                value = {name: {k: as_written_path(v) for k, v in c.items()} for name, c in value.items()}
            elif field == "checks":  # one line each
                for index, check in enumerate(value):
                    plain = {k: as_written_path(v) for k, v in check.items()}
                    add(f"{key}.checks.{index}", plain, pointer_join(pointer, "checks", index))
                continue
            if (field, value) not in (("continue_on_failure", False), ("follow_redirects", True)):
                add_leaves(f"{key}.{field}", value, pointer_join(pointer, field))

    start_keys = [k for k in target.origins if k.startswith("/on_start/") and k.count("/") == 2]
    for key, step in zip(start_keys, target.on_start):
        add_step(f"on_start.{key.split('/')[2].replace('~1', '/').replace('~0', '~')}", step, key)
    for flow in target.flows:
        here = pointer_join("/flows", flow.name)
        add(f"flows.{flow.name}.weight", flow.weight, pointer_join(here, "weight"))
        if flow.tags:
            add(f"flows.{flow.name}.tags", flow.tags, pointer_join(here, "tags"))
        for index, step in enumerate(flow.steps):
            add_step(f"flows.{flow.name}.steps.{index}", step, pointer_join(here, "steps", index))
    for endpoint in target.endpoints:
        fields = ("method", "path", "weight", "tags", "headers", "query", "json", "body", "form", "expect_status",
                  "checks", "timeout_seconds")
        add_step(f"endpoints.{endpoint.name}", endpoint, pointer_join("/endpoints", endpoint.name), fields)
    environment_pointer = f"/environments/{target.environment}"
    for key in ("max_users", "max_spawn_rate", "max_run_time"):
        value = getattr(target.limits, key)
        if value is not None:
            rows.append((f"limits.{key}", value, f"catalog ({catalog_label} {environment_pointer}/limits/{key})"))
    rows.append(("protected", target.protected, f"catalog ({catalog_label} {environment_pointer})"))
    return rows


def explain_lines(target: Target, catalog_label: str) -> list[str]:
    """`explain`'s lines: the target, its sources, then one aligned line per value and origin."""
    rows = explain_rows(target, catalog_label)
    width = max(len(key) for key, _, _ in rows)
    lines = [
        f"{target.name}: app {target.app}, environment {target.environment}, country {target.country}",
        f"sources: {', '.join(target.sources)} (relative to the catalog's folder)",
    ]
    lines += [f"{key:<{width}}  {_shown(value)}  <- {origin}" for key, value, origin in rows]
    return lines


def resolve_one(catalog: str, name: str, problems: Problems) -> tuple[Inputs, Target]:
    """One compatible target, resolved; UsageError (why it is not a target) or ConfigError."""
    inputs = _load(catalog, problems)
    refs = compatible_targets(inputs.catalog.data)
    ref = next((r for r in refs if r.name == name), None)
    if ref is None:
        raise UsageError(_no_such_target(inputs, name, refs))
    return inputs, _resolve(inputs, [ref], problems)[0]


def command_explain(args, problems: Problems) -> int:
    inputs, target = resolve_one(args.catalog, args.target, problems)
    print("\n".join(explain_lines(target, inputs.catalog.label)))
    return EXIT_OK


def results_folder(catalog: str, results: str | None) -> Path:
    """Where run folders go: --results, else `results/` beside the catalog."""
    return Path(results) if results else Path(catalog).resolve().parent / "results"


def resolve_selected(catalog: str, patterns: list[str], problems: Problems) -> tuple[Inputs, list[Target]]:
    """The targets that names or globs select, resolved: every pattern must select one."""
    inputs = _load(catalog, problems)
    for pattern in patterns:
        if not select(compatible_targets(inputs.catalog.data), [pattern]):
            if not GLOB_CHARACTERS & set(pattern):
                raise UsageError(_no_such_target(inputs, pattern, compatible_targets(inputs.catalog.data)))
            raise UsageError(f"'{pattern}' matches no compatible target; `list` shows them")
    refs = select(compatible_targets(inputs.catalog.data), patterns)
    return inputs, _resolve(inputs, refs, problems)


def command_run(args, problems: Problems) -> int:
    """Compile what is stale among the selected targets, then run them one after another."""
    if args.processes is not None and (args.processes == 0 or args.processes < -1):
        raise UsageError("--processes is a number of worker processes (1 or more), or -1 for one per core")
    if args.processes is not None and "--processes" in args.locust_args:
        raise UsageError("--processes is given twice, before and after `--`; give it once")
    _, targets = resolve_selected(args.catalog, args.targets, problems)
    compiled = command_compile(
        argparse.Namespace(catalog=args.catalog, only=[t.name for t in targets], out=args.out, check=False, force=False),
        Problems(),
    )
    if compiled != EXIT_OK:
        raise UsageError("the generated files could not be brought up to date (see above); nothing run")
    catalog_folder = Path(args.catalog).resolve().parent
    results = results_folder(args.catalog, args.results)
    summary = Path(args.summary_json) if args.summary_json else None
    passthrough = (["--processes", str(args.processes)] if args.processes is not None else []) + args.locust_args
    return run_targets(targets, Path(args.out), results, passthrough, catalog_folder, summary)


def command_compare(args, problems: Problems) -> int:
    if not 0 <= args.tolerance < 10:
        raise UsageError("--tolerance is a fraction: 0.10 allows a 10% change")
    try:
        lines, code = compare(Path(args.run_a), Path(args.run_b), args.tolerance)
    except CompareError as error:
        raise UsageError(str(error)) from None
    print("\n".join(lines))
    return code


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
    "run": command_run, "compare": command_compare, "mcp": command_mcp,
}  # fmt: skip


def split_locust_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the compiler's arguments, Locust's): everything after `--` goes to Locust as it is."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    problems = Problems()
    try:
        with guarded_stdout():
            ours, locust_args = split_locust_args(list(sys.argv[1:] if argv is None else argv))
            args = build_parser().parse_args(ours)
            args.locust_args = locust_args
            args.catalog = catalog_path(args.catalog)
            return COMMANDS[args.command](args, problems)
    except StdoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except ConfigError:
        _print_problems(problems)
        print(_summary(problems), file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:  # every stage names its files; this is a last resort that still says which
        where = " -> ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
        print(f"error: {where or 'a file the compiler uses'}: {error.strerror or error}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted; files already written are complete, the others untouched", file=sys.stderr)
        return 130
    except Exception as error:  # a bug of ours: say so in one line, not a traceback
        print(f"internal error: {type(error).__name__}: {error}; please report it", file=sys.stderr)
        if os.environ.get("COMPILER_DEBUG"):
            raise
        return EXIT_INTERNAL
