"""The application layer: what a user can do with a catalog, as functions that return data.

Validate, list, explain, select and resolve, plan and write a compile, run, read runs back and
compare them. The two faces call these and nothing below them: the command line (cli.py) parses
arguments and prints what they return, the MCP server (mcp/) wires them to the protocol, so the
two cannot drift. Errors are raised as the problems module's: ConfigError (every problem at
once, collected in the caller's Problems), UsageError (one line), and OSError as a last resort.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from compiler.output.build import build_stream
from compiler.output.compiled import Compiled
from compiler.output.manifest import Made, Manifest, Plan
from compiler.output.write import OutputError, WriteError, sync
from compiler.problems import EXIT_OK, ConfigError, Problems, UsageError, did_you_mean, display_path
from compiler.resolve.catalog import resolve_all
from compiler.resolve.explain import explain_lines, explain_rows, plain
from compiler.resolve.model import Target
from compiler.runs import index_page, records
from compiler.runs.compare import DEFAULT_TOLERANCE, CompareError, Row, compare, comparison
from compiler.runs.launch import planned_seconds, run_targets
from compiler.sources import hosts
from compiler.sources.drafts import DraftError, draft_folder
from compiler.sources.targets import TargetRef, compatible_targets, select, why_not_compatible
from compiler.sources.validate import Inputs, load_inputs

DEFAULT_CATALOG = "data/catalog.json"
GLOB_CHARACTERS = set("*?[")
# COMPILER_FAST_PATH=0: resolve and render every target, as before the manifest (tests compare).
FAST_PATH = os.environ.get("COMPILER_FAST_PATH", "1") != "0"


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as the generated files compare hosts (one spelling per host)."""
    return hosts.origin(url)


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


def load(catalog: str, problems: Problems) -> Inputs:
    """The catalog and its simulations, checked: ConfigError when they cannot be read."""
    inputs = load_inputs(Path(catalog), problems)
    if inputs is None:
        problems.raise_if_errors()
    assert inputs is not None
    return inputs


def resolve_refs(inputs: Inputs, refs: list[TargetRef], problems: Problems) -> list[Target]:
    """The targets that can be resolved, so their problems join the others; then all at once."""
    targets = resolve_all(inputs, [ref for ref in refs if inputs.can_resolve(ref)], problems)
    problems.raise_if_errors()
    return targets


def no_such_target(inputs: Inputs, pattern: str, targets: list[TargetRef]) -> str:
    names = [t.name for t in targets]
    parts = pattern.split("_")
    if len(parts) == 3:
        reason = why_not_compatible(inputs.catalog.data, *parts)
        if reason:
            return f"target '{pattern}' is not compiled: {reason} ({inputs.catalog.label}){did_you_mean(pattern, names)}"
    return f"unknown target '{pattern}'{did_you_mean(pattern, names)}; `list` shows the compatible targets"


def refs_for(inputs: Inputs, patterns: list[str] | None, problems: Problems) -> list[TargetRef]:
    """The targets --only selects. A name must be a compatible target; a glob that matches none
    is only a warning, so that `compile --only 'app_staging_*'` can still tidy their files."""
    targets = compatible_targets(inputs.catalog.data)
    for pattern in patterns or []:
        if not select(targets, [pattern]):
            if not GLOB_CHARACTERS & set(pattern):
                raise UsageError(no_such_target(inputs, pattern, targets))
            problems.add(inputs.catalog.label, "", f"--only '{pattern}' matches no compatible target", "warning")
    return select(targets, patterns)


# -- validate, list, explain -------------------------------------------------------------------------


def validate_all(catalog: str, problems: Problems) -> Inputs:
    """Load, check and resolve every compatible target: ConfigError with every problem at once."""
    inputs = load(catalog, problems)
    resolve_refs(inputs, compatible_targets(inputs.catalog.data), problems)
    return inputs


def validate_draft(catalog: str, draft_catalog: str | None, simulations: dict[str, str], skip: tuple[Path, ...],
                   problems: Problems) -> Inputs:  # fmt: skip
    """A draft (the catalog and simulations as JSON text) checked as `validate_all` checks files,
    in a private folder laid out like the catalog's (sources/drafts.py); ConfigError too
    when the draft's own paths are refused."""
    try:
        with draft_folder(Path(catalog), draft_catalog, simulations, skip=skip) as path:
            return validate_all(str(path), problems)
    except DraftError as error:
        for problem in error.problems.items:
            problems.add(problem.file, problem.pointer, problem.message, problem.level)
        raise ConfigError(problems.items) from None


def target_count(inputs: Inputs) -> int:
    return len(compatible_targets(inputs.catalog.data))


def valid_line(inputs: Inputs) -> str:
    return f"{inputs.catalog.label}: valid ({len(inputs.simulations)} simulation(s), {target_count(inputs)} target(s))"


@dataclass(frozen=True)
class Listed:
    """The compatible targets a pattern selects, with what a user picks them by."""

    catalog: str  # its label
    targets: list[TargetRef]
    protected: dict[str, bool]  # target name -> its environment is protected


def list_targets(catalog: str, pattern: str | None, problems: Problems) -> Listed:
    """Every compatible target, or those a name or glob selects (a name must be one)."""
    inputs = load(catalog, problems)
    problems.raise_if_errors()
    refs = compatible_targets(inputs.catalog.data)
    if pattern is not None:
        selected = select(refs, [pattern])
        if not selected and not GLOB_CHARACTERS & set(pattern):
            raise UsageError(no_such_target(inputs, pattern, refs))
        refs = selected
    environments = inputs.catalog.data["environments"]
    protected = {ref.name: bool(environments[ref.environment].get("protected", False)) for ref in refs}
    return Listed(inputs.catalog.label, refs, protected)


def resolve_one(catalog: str, name: str, problems: Problems) -> tuple[Inputs, Target]:
    """One compatible target, resolved; UsageError (why it is not a target) or ConfigError."""
    inputs = load(catalog, problems)
    refs = compatible_targets(inputs.catalog.data)
    ref = next((r for r in refs if r.name == name), None)
    if ref is None:
        raise UsageError(no_such_target(inputs, name, refs))
    return inputs, resolve_refs(inputs, [ref], problems)[0]


@dataclass(frozen=True)
class Explained:
    """One target's resolved configuration: (key, value as JSON data, origin) rows, and the
    aligned lines `explain` prints."""

    target: Target
    values: list[tuple[str, object, str]]
    lines: list[str]


def explain(catalog: str, name: str, problems: Problems) -> Explained:
    inputs, target = resolve_one(catalog, name, problems)
    rows = [(key, plain(value), origin) for key, value, origin in explain_rows(target, inputs.catalog.label)]
    return Explained(target, rows, explain_lines(target, inputs.catalog.label))


def resolve_selected(catalog: str, patterns: list[str], problems: Problems) -> tuple[Inputs, list[Target]]:
    """The targets that names or globs select, resolved: every pattern must select one."""
    inputs = load(catalog, problems)
    targets = compatible_targets(inputs.catalog.data)
    for pattern in patterns:
        if not select(targets, [pattern]):
            if not GLOB_CHARACTERS & set(pattern):
                raise UsageError(no_such_target(inputs, pattern, targets))
            raise UsageError(f"'{pattern}' matches no compatible target; `list` shows them")
    return inputs, resolve_refs(inputs, select(targets, patterns), problems)


# -- compile -----------------------------------------------------------------------------------------


@dataclass
class CompilePlan:
    """What a compile will resolve and render, and what it takes as it is (the fast path)."""

    out: Path
    only: list[str] | None
    inputs: Inputs
    problems: Problems
    manifest: Manifest | None
    plan: Plan
    refs: list[TargetRef]
    made: list[Made] = field(default_factory=list)  # the targets rendered so far

    def files(self) -> Iterator[tuple[str, str]]:
        """(name.py, text) of the targets to render, one at a time as they are rendered, in the
        order of their names; their problems, and the error they make, after the last."""
        if not self.plan.todo:
            return
        for built in build_stream(self.inputs, self.plan.todo, self.problems, self.plan.resolved, self.plan.protected):
            self.made.append(built.made)
            yield f"{built.name}.py", built.text


def plan_compile(catalog: str, only: list[str] | None, out: str, problems: Problems, check: bool = False) -> CompilePlan:
    """Load, select, and plan what to render: ConfigError or UsageError, or the plan. The targets
    are resolved and rendered as `write_compile` writes them (problems found then are reported
    into `problems`, errors raise from it). `check`: the plan of a `compile --check`, which
    writes nothing (not even the manifest)."""
    if not out:  # an unset variable in `--out "$DIR"` would write to the current folder
        raise UsageError("--out is empty; name the output folder (default: generated)")
    inputs = load(catalog, problems)
    refs = refs_for(inputs, only, problems)
    folder = Path(out)
    # The fast path: targets whose inputs did not change keep the bytes of their file (see
    # output/manifest.py); the others are resolved and rendered. Every file is then judged by `sync`.
    manifest = Manifest(inputs, folder, recording=not check) if FAST_PATH and not problems.errors else None
    plan = manifest.plan(refs) if manifest else Plan(todo=refs)
    planned = CompilePlan(folder, only, inputs, problems, manifest, plan, refs)
    if problems.errors:  # the targets' own problems too, all at once, before anything is written
        for _file in planned.files():
            pass
    problems.raise_if_errors()
    return planned


def write_compile(planned: CompilePlan, check: bool, force: bool, wait: float = 0) -> Compiled:
    """Render, and write (or, with `check`, compare) the planned files; UsageError when the
    folder cannot be used, ConfigError when a target has errors (nothing written then). `wait`:
    seconds to wait for another compile writing to the folder."""
    stopped: WriteError | None = None
    try:
        report = sync(planned.out, planned.files(), planned.only, check=check, force=force, verified=planned.plan.reused,
                      wait=wait)  # fmt: skip
    except OutputError as error:
        raise UsageError(str(error)) from None
    except WriteError as error:  # a full disk, a read-only folder: say where, and how far it got
        report, stopped = error.report, error
    if planned.manifest is not None and not check and stopped is None:
        planned.manifest.save(planned.plan, planned.made, planned.refs, report.written + report.unchanged)
    rendered = [f"{made.name}.py" for made in planned.made]
    return Compiled(planned.out, rendered, planned.plan.reused, report, check, force, stopped)


COMPILE_WAIT_SECONDS = 300  # a run started while another compile writes waits for it


def bring_up_to_date(catalog: str, names: list[str], out: str, problems: Problems) -> Compiled:
    """Compile these targets' files, as `run` does before it runs them (after another compile
    writing to the folder, if one is)."""
    return write_compile(plan_compile(catalog, names, out, problems), check=False, force=False, wait=COMPILE_WAIT_SECONDS)


# -- runs --------------------------------------------------------------------------------------------


def run_length(target: Target, run_time: str | None) -> float | None:
    """How long a run of the target lasts as planned: `run_time` if given, else its own."""
    return planned_seconds(target, ["-t", run_time] if run_time else [])


def results_folder(catalog: str, results: str | None) -> Path:
    """Where run folders go: --results, else `results/` beside the catalog."""
    return Path(results) if results else Path(catalog).resolve().parent / "results"


def run(catalog: str, patterns: list[str], out: str, results: str | None, processes: int | None,
        summary_json: str | None, locust_args: list[str], problems: Problems, alone: bool = False) -> int:  # fmt: skip
    """Compile what is stale among the selected targets, then run them one after another, each
    into a run folder of its own; the worst exit code of the runs."""
    if processes is not None and (processes == 0 or processes < -1):
        raise UsageError("--processes is a number of worker processes (1 or more), or -1 for one per core")
    if processes is not None and "--processes" in locust_args:
        raise UsageError("--processes is given twice, before and after `--`; give it once")
    _, targets = resolve_selected(catalog, patterns, problems)
    compiling = Problems()  # its warnings are printed, as `compile` prints them
    try:
        compiled = bring_up_to_date(catalog, [t.name for t in targets], out, compiling)
    finally:
        for problem in compiling.items:
            print(problem, file=sys.stderr)
    for stream, line in compiled.messages(changes=False):
        print(line, file=sys.stdout if stream == "stdout" else sys.stderr)
    if compiled.code != EXIT_OK:
        raise UsageError("the generated files could not be brought up to date (see above); nothing run")
    passthrough = (["--processes", str(processes)] if processes is not None else []) + locust_args
    summary = Path(summary_json) if summary_json else None
    catalog_folder = Path(catalog).resolve().parent
    return run_targets(targets, Path(out), results_folder(catalog, results), passthrough, catalog_folder, summary, alone)


@dataclass(frozen=True)
class RunRead:
    """A run record read back, and where it stands among its target's runs."""

    folder: Path
    target: str
    record: dict
    files: list[str]
    other_runs: list[Path]  # the target's other runs, newest first


def read_run(results: Path, run_name: str | None, target: str | None) -> RunRead:
    """A run by its folder, or a target's latest run; UsageError when there is none."""
    if (run_name is None) == (target is None):
        raise UsageError("give either run (a run folder) or target (for its latest run)")
    folder = records.latest_run(results, target) if target is not None else records.run_folder(results, run_name)
    record = records.read_record(folder)
    others = [p for p in records.runs_of(results, folder.parent.name) if p != folder]
    return RunRead(folder, folder.parent.name, record, sorted(p.name for p in folder.iterdir()), others)


def refresh_index(results: Path) -> Path:
    """Rewrite `<results>/index.html` from every run folder there (plain `locust -f` runs too)."""
    return index_page.refresh_index(results)


def run_folder(results: Path, given: str) -> Path:
    return records.run_folder(results, given)


def all_runs(results: Path) -> list[tuple[str, str]]:
    return records.all_runs(results)


def record_path(results: Path, target: str, run_name: str) -> Path:
    """Where the record of a run named <target>/<UTC time> is; UsageError for another name."""
    if not records.TARGET_NAME.match(target) or not records.RUN_FOLDER.match(run_name):
        raise UsageError(f"no run {target}/{run_name}: a run is <target>/<UTC time>, as get_run names them")
    return results / target / run_name / "run.json"


def runs_to_compare(results: Path, run_a: str, run_b: str | None, confined: bool = False) -> tuple[Path, Path]:
    """Two run folders from what a user named: two folders, a folder and a target (its latest
    run), or one target alone (its latest run against the one before). `confined` (the MCP
    server's): a folder only within the results folder, no link out of it."""

    def is_target(given: str) -> bool:
        return bool(records.TARGET_NAME.match(given)) and (confined or not Path(given).is_dir())

    def one(given: str) -> Path:
        if is_target(given):
            return records.latest_run(results, given)
        if confined:
            return records.run_folder(results, given)
        return Path(given)  # compare says what is wrong with a path that is no run folder

    if run_b is not None:
        return one(run_a), one(run_b)
    if not is_target(run_a):
        raise UsageError(f"compare {run_a!r} alone needs a target name; or give two run folders (RUN_A RUN_B)")
    found = [run for run in records.runs_of(results, run_a) if (run / "run.json").is_file()]
    if len(found) < 2:
        raise UsageError(f"{run_a} has {len(found)} run(s) with a record in {display_path(results)}; compare needs two")
    return found[1], found[0]


@dataclass(frozen=True)
class Comparison:
    lines: list[str]
    code: int
    rows: list[Row]


def compare_runs(run_a: Path, run_b: Path, tolerance: float = DEFAULT_TOLERANCE) -> Comparison:
    """Per request name, the change between two run folders; exit code 1 on a regression."""
    if not 0 <= tolerance < 10:
        raise UsageError("--tolerance is a fraction: 0.10 allows a 10% change")
    try:
        lines, code = compare(run_a, run_b, tolerance)
        rows = comparison(run_a, run_b, tolerance)
    except CompareError as error:
        raise UsageError(str(error)) from None
    return Comparison(lines, code, rows)


# -- import ------------------------------------------------------------------------------------------


def import_source(kind: str, source: str, app: str, catalog: str, out: str | None, force: bool, host: str | None,
                  pauses: bool, entry: tuple[list[str], list[str]] | None, problems: Problems):  # fmt: skip
    """Draft a simulation from an OpenAPI document or a HAR file, validate it as a compile would
    (the app alone, in `entry`'s environments and countries), write it: an `Imported` (the file,
    the simulation, the lines to print); ConfigError with the input's problems, UsageError."""
    from compiler.importers.command import import_file

    return import_file(kind, source, app, catalog, out, force, host, pauses, entry, problems)
