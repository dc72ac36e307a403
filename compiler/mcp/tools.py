"""The MCP server's tools as plain functions: the command line's own code, returning data.

Why plain functions: each calls what the command line calls (`compiler.cli`'s validate_all,
plan_compile and write_compile, resolve_one and explain_rows, `compiler.runs.compare`), so the
server and the command line cannot drift; `mcp_server.py` only wires them to the protocol.
Each returns (a model of `mcp_models`, the text the command line prints), or raises
ToolFailure with the lines the command line prints on stderr: `file: /pointer: message` for
every problem at once, then the count; `error: ...` for a usage error.

They run in the server's folder, as the command line runs in the repository root, and read or
write only: the catalog and what it names (read), the output folder (compile), the results
folder (read; runs write there through `run`). Paths from a client are checked before use.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from compiler import cli
from compiler.runs.compare import CompareError, compare, comparison
from compiler.sources.drafts import DraftError, draft_folder
from compiler.mcp.models import (
    CompareRow,
    Comparison,
    CompileReport,
    ConfigCheck,
    ExplainedValue,
    Explanation,
    ForeignFile,
    ProblemItem,
    RunRecord,
    TargetItem,
    TargetList,
    Validation,
)
from compiler.problems import ConfigError, Problems
from compiler.sources.targets import compatible_targets, select
from compiler.timespan import parse_timespan

TARGET_NAME = re.compile(r"^[a-z][a-z0-9-]*_[a-z][a-z0-9-]*_[a-z][a-z0-9-]*$")
RUN_FOLDER = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
CHECK_SECONDS = 60  # a --check-config reads and checks; it never takes long
VERDICTS = {0: "passed", 3: "breached", 1: "failed", 2: "invalid"}


@dataclass(frozen=True)
class Settings:
    """What the server was started with; every path relative to the server's folder."""

    catalog: str = cli.DEFAULT_CATALOG
    out: str = "generated"
    results: str | None = None  # default: results/ beside the catalog
    max_users: int = 50
    max_run_time: str = "60s"
    allow_protected: bool = False

    @property
    def results_folder(self) -> Path:
        return cli.results_folder(self.catalog, self.results)

    @property
    def max_seconds(self) -> float:
        return parse_timespan(self.max_run_time)


class ToolFailure(Exception):
    """A tool error: the lines to send back, as the command line prints them."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def shown(path: Path | str) -> str:
    """A path as messages name it: relative to the server's folder when it is below it."""
    relative = os.path.relpath(path)
    return Path(relative).as_posix() if not relative.startswith("..") else Path(path).as_posix()


def problem_lines(problems: Problems) -> list[str]:
    return [str(problem) for problem in problems.items] + [cli._summary(problems)]


@contextlib.contextmanager
def tool_errors(problems: Problems) -> Iterator[None]:
    """The command line's errors as tool errors, in its words (cli.main's handlers)."""
    try:
        yield
    except cli.UsageError as error:
        raise ToolFailure([f"error: {error}"]) from None
    except ConfigError:
        raise ToolFailure(problem_lines(problems)) from None
    except OSError as error:
        where = " -> ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
        raise ToolFailure([f"error: {where or 'a file the compiler uses'}: {error.strerror or error}"]) from None


# -- list_targets, explain, validate ----------------------------------------------------------------


def list_targets(settings: Settings, pattern: str | None) -> tuple[TargetList, str]:
    problems = Problems()
    with tool_errors(problems):
        inputs = cli._load(settings.catalog, problems)
        problems.raise_if_errors()
        refs = compatible_targets(inputs.catalog.data)
        if pattern is not None:
            selected = select(refs, [pattern])
            if not selected and not cli.GLOB_CHARACTERS & set(pattern):
                raise cli.UsageError(cli._no_such_target(inputs, pattern, refs))
            refs = selected
    environments = inputs.catalog.data["environments"]
    items = [
        TargetItem(name=ref.name, app=ref.app, environment=ref.environment, country=ref.country,
                   protected=bool(environments[ref.environment].get("protected", False)))
        for ref in refs
    ]  # fmt: skip
    text = "\n".join(item.name for item in items) or f"no compatible target matches '{pattern}'"
    return TargetList(catalog=inputs.catalog.label, targets=items), text


def explain(settings: Settings, target: str) -> tuple[Explanation, str]:
    problems = Problems()
    with tool_errors(problems):
        inputs, resolved = cli.resolve_one(settings.catalog, target, problems)
    rows = cli.explain_rows(resolved, inputs.catalog.label)
    explanation = Explanation(
        target=resolved.name, app=resolved.app, environment=resolved.environment, country=resolved.country,
        sources=list(resolved.sources),
        values=[ExplainedValue(key=key, value=cli.plain(value), origin=origin) for key, value, origin in rows],
    )  # fmt: skip
    return explanation, "\n".join(cli.explain_lines(resolved, inputs.catalog.label))


def validate(settings: Settings, catalog: str | None, simulations: dict[str, str] | None) -> tuple[Validation, str]:
    """The files on disk, or a draft: the catalog and simulations given as JSON text, checked in
    a temporary folder laid out like the catalog's (see mcp_drafts)."""
    if catalog is None and not simulations:
        return _validated(settings.catalog, draft=False)
    try:
        with draft_folder(Path(settings.catalog), catalog, simulations or {}, skip=(settings.results_folder,)) as path:
            return _validated(str(path), draft=True)
    except DraftError as error:
        raise ToolFailure(problem_lines(error.problems)) from None


def _validated(catalog: str, draft: bool) -> tuple[Validation, str]:
    problems = Problems()
    with tool_errors(problems):
        inputs = cli.validate_all(catalog, problems)
    summary = cli.valid_line(inputs)
    validation = Validation(
        valid=True, draft=draft, catalog=inputs.catalog.label, simulations=len(inputs.simulations),
        targets=len(compatible_targets(inputs.catalog.data)),
        warnings=[ProblemItem.of(problem) for problem in problems.items], summary=summary,
    )  # fmt: skip
    return validation, "\n".join([*(str(problem) for problem in problems.items), summary])


# -- compile, check_config ----------------------------------------------------------------------------


def same_folder(given: str, configured: str) -> bool:
    try:
        return bool(given) and "\0" not in given and Path(given).resolve() == Path(configured).resolve()
    except (OSError, ValueError):
        return False


def compile_targets(
    settings: Settings, targets: list[str] | None, out: str | None, check: bool, force: bool
) -> tuple[CompileReport, str]:
    """`compile [--only ...] [--check | --force]` into the server's output folder, and only there."""
    if out is not None and not same_folder(out, settings.out):
        raise ToolFailure([
            f"error: compile writes only into this server's output folder, {settings.out} (set when the server "
            f"started, with --out); {out!r} is another folder"
        ])  # fmt: skip
    if check and force:
        raise ToolFailure(["error: check and force exclude each other: check writes nothing"])
    problems = Problems()
    with tool_errors(problems):
        planned = cli.plan_compile(settings.catalog, targets or None, settings.out, problems)
        try:
            compiled = cli.write_compile(planned, check=check, force=force)
        except cli.UsageError as error:  # the command line printed the warnings before it
            raise ToolFailure([str(problem) for problem in problems.items] + [f"error: {error}"]) from None
    lines = [line for _, line in compiled.messages()]
    if compiled.code == cli.EXIT_INVALID:
        raise ToolFailure([str(problem) for problem in problems.items] + lines)
    report = compiled.report
    compile_report = CompileReport(
        out=settings.out, check=check, up_to_date=compiled.code == cli.EXIT_OK,
        written=report.written, unchanged=report.unchanged, removed=report.removed,
        missing=report.missing, stale=report.stale, edited=report.edited + report.edited_leftovers,
        foreign=[ForeignFile(file=name, why=why) for name, why in report.foreign.items()],
        warnings=[ProblemItem.of(problem) for problem in problems.items], exit_code=compiled.code, lines=lines,
    )  # fmt: skip
    return compile_report, "\n".join([*(str(problem) for problem in problems.items), *lines])


def bring_up_to_date(settings: Settings, names: list[str]) -> None:
    """Compile these targets' files, as `run` does before it runs them; a tool error if it cannot."""
    problems = Problems()
    with tool_errors(problems):
        compiled = cli.write_compile(cli.plan_compile(settings.catalog, names, settings.out, problems), False, False)
    if compiled.code != cli.EXIT_OK:
        raise ToolFailure([line for _, line in compiled.messages()] + [
            "error: the generated files could not be brought up to date (see above); nothing run"
        ])  # fmt: skip


def check_host(host: str | None) -> list[str]:
    """Why a host given by a client is not one to hand Locust's -H, as error lines."""
    if host is None:
        return []
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(host)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (
        parts is None or not port_ok or parts.scheme not in ("http", "https") or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in host) or len(host) > 2000
    ):  # fmt: skip
        return [f"error: host {host[:80]!r} is not an http:// or https:// URL (http://127.0.0.1:8765)"]
    return []


def check_config(settings: Settings, target: str, host: str | None, allow_protected: bool) -> tuple[ConfigCheck, str]:
    """The generated file's `--check-config` (brought up to date first): it sends no request."""
    errors = check_host(host)
    if errors:
        raise ToolFailure(errors)
    problems = Problems()
    with tool_errors(problems):
        cli.resolve_one(settings.catalog, target, problems)
    bring_up_to_date(settings, [target])
    file = Path(settings.out) / f"{target}.py"
    command = [sys.executable, "-m", "locust", "-f", str(file), "--check-config"]
    command += (["-H", host] if host else []) + (["--allow-protected"] if allow_protected else [])
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", timeout=CHECK_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ToolFailure([f"error: {shown(file)} --check-config did not finish in {CHECK_SECONDS}s"]) from None
    output = done.stdout.rstrip("\n")
    if done.returncode != 0:
        raise ToolFailure([output, f"error: {shown(file)} --check-config exited {done.returncode}"])
    return ConfigCheck(target=target, file=shown(file), exit_code=done.returncode, output=output), output


# -- run records: get_run, compare_runs, resources ---------------------------------------------------


def run_folder(settings: Settings, given: str) -> Path:
    """A run folder a client named: <results>/<target>/<time>, relative to the server's folder or
    to the results folder, never outside the results folder (no '..', links resolved)."""
    results = settings.results_folder.resolve()
    usage = f"name one as {shown(results)}/<target>/<UTC time> (get_run with a target finds its latest)"
    if not given or "\0" in given or ".." in Path(given).parts:
        raise ToolFailure([f"error: run folder {given[:200]!r} is not one: {usage}; '..' is not allowed"])
    path = Path(given)
    for candidate in [path] if path.is_absolute() else [Path.cwd() / path, results / path]:
        resolved = candidate.resolve()
        if resolved.is_relative_to(results) and len(resolved.relative_to(results).parts) == 2 and resolved.is_dir():
            return resolved
    raise ToolFailure([f"error: {given[:200]!r} is not a run folder under {shown(results)}: {usage}"])


def runs_of(settings: Settings, target: str) -> list[Path]:
    """A target's run folders, newest first."""
    folder = settings.results_folder / target
    found = [p for p in folder.iterdir() if p.is_dir() and RUN_FOLDER.match(p.name)] if folder.is_dir() else []

    def key(path: Path) -> tuple[str, int]:
        stamp, _, number = path.name.partition("-")
        return stamp, int(number or 1)

    return sorted(found, key=key, reverse=True)


def all_runs(settings: Settings) -> list[tuple[str, str]]:
    """(target, run folder name) of every run with a record, newest first within each target."""
    results = settings.results_folder
    targets = sorted(p.name for p in results.iterdir() if p.is_dir() and TARGET_NAME.match(p.name)) if results.is_dir() else []
    return [(target, run.name) for target in targets for run in runs_of(settings, target) if (run / "run.json").is_file()]


def read_record(folder: Path) -> dict:
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except OSError:
        raise ToolFailure([f"error: {shown(folder)}: no run.json; the run wrote no record (see its locust.log)"]) from None
    except ValueError as error:
        raise ToolFailure([f"error: {shown(folder / 'run.json')}: not JSON ({error})"]) from None
    if not isinstance(record, dict):
        raise ToolFailure([f"error: {shown(folder / 'run.json')}: not a run record"])
    return record


def verdict(code: int) -> str:
    return VERDICTS.get(code, "error")


def get_run(settings: Settings, run: str | None, target: str | None) -> tuple[RunRecord, str]:
    if (run is None) == (target is None):
        raise ToolFailure(["error: give either run (a run folder) or target (for its latest run)"])
    if target is not None:
        if not TARGET_NAME.match(target):
            raise ToolFailure([f"error: {target[:200]!r} is not a target name (<app>_<environment>_<country>)"])
        found = runs_of(settings, target)
        if not found:
            raise ToolFailure([f"error: no run of {target} in {shown(settings.results_folder)}; the run tool makes one"])
        folder = found[0]
    else:
        folder = run_folder(settings, run)
    record = read_record(folder)
    others = [shown(p) for p in runs_of(settings, folder.parent.name) if p != folder][:20]
    code = record.get("exit_code")
    result = RunRecord(
        folder=shown(folder), target=folder.parent.name, verdict=verdict(code if isinstance(code, int) else -1),
        record=record, files=sorted(p.name for p in folder.iterdir()), other_runs=others,
    )  # fmt: skip
    return result, json.dumps(record, indent=2)


def compare_runs(settings: Settings, run_a: str, run_b: str, tolerance: float) -> tuple[Comparison, str]:
    if not 0 <= tolerance < 10:
        raise ToolFailure(["error: --tolerance is a fraction: 0.10 allows a 10% change"])
    a, b = (Path(shown(run_folder(settings, given))) for given in (run_a, run_b))
    try:
        lines, code = compare(a, b, tolerance)
        rows = comparison(a, b, tolerance)
    except CompareError as error:
        raise ToolFailure([f"error: {error}"]) from None
    result = Comparison(
        run_a=a.as_posix(), run_b=b.as_posix(), tolerance=tolerance, regressions=sum(row.regressed for row in rows),
        exit_code=code, lines=lines,
        rows=[CompareRow(request=r.request, before=r.before, after=r.after, regressions=list(r.regressions)) for r in rows],
    )  # fmt: skip
    return result, "\n".join(lines)
