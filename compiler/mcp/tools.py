"""The MCP server's tools as plain functions: the application layer's answers, as models.

Why plain functions: each calls what the command line calls (compiler/workspace.py: validate,
list, explain, plan and write a compile, read and compare runs), so the server and the command
line cannot drift; server.py only wires them to the protocol. Each returns (a model of
models.py, the text the command line prints), or raises ToolFailure with the lines the command
line prints on stderr: `file: /pointer: message` for every problem at once, then the count;
`error: ...` for a usage error.

They run in the server's folder, as the command line runs in the repository root, and read or
write only: the catalog and what it names (read), the output folder (compile), the results
folder (read; runs write there through `run`). Paths from a client are checked before use.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from compiler import workspace
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
from compiler.problems import EXIT_INVALID, EXIT_OK, ConfigError, Problems, UsageError, display_path, os_error_line
from compiler.timespan import parse_timespan

CHECK_SECONDS = 60  # a --check-config reads and checks; it never takes long
VERDICTS = {0: "passed", 3: "breached", 1: "failed", 2: "invalid"}


@dataclass(frozen=True)
class Settings:
    """What the server was started with; every path relative to the server's folder."""

    catalog: str = workspace.DEFAULT_CATALOG
    out: str = "generated"
    results: str | None = None  # default: results/ beside the catalog
    max_users: int = 50
    max_run_time: str = "60s"
    allow_protected: bool = False

    @property
    def results_folder(self) -> Path:
        return workspace.results_folder(self.catalog, self.results)

    @property
    def max_seconds(self) -> float:
        return parse_timespan(self.max_run_time)


class ToolFailure(Exception):
    """A tool error: the lines to send back, as the command line prints them."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def problem_lines(problems: Problems) -> list[str]:
    return [str(problem) for problem in problems.items] + [problems.summary()]


@contextlib.contextmanager
def tool_errors(problems: Problems) -> Iterator[None]:
    """The application layer's errors as tool errors, in the command line's words (cli.main's handlers)."""
    try:
        yield
    except UsageError as error:
        raise ToolFailure([f"error: {error}"]) from None
    except ConfigError:
        raise ToolFailure(problem_lines(problems)) from None
    except OSError as error:
        raise ToolFailure([f"error: {os_error_line(error)}"]) from None


# -- list_targets, explain, validate ----------------------------------------------------------------


def list_targets(settings: Settings, pattern: str | None) -> tuple[TargetList, str]:
    problems = Problems()
    with tool_errors(problems):
        listed = workspace.list_targets(settings.catalog, pattern, problems)
    items = [
        TargetItem(name=ref.name, app=ref.app, environment=ref.environment, country=ref.country,
                   protected=listed.protected[ref.name])
        for ref in listed.targets
    ]  # fmt: skip
    text = "\n".join(item.name for item in items) or f"no compatible target matches '{pattern}'"
    return TargetList(catalog=listed.catalog, targets=items), text


def explain(settings: Settings, target: str) -> tuple[Explanation, str]:
    problems = Problems()
    with tool_errors(problems):
        explained = workspace.explain(settings.catalog, target, problems)
    resolved = explained.target
    explanation = Explanation(
        target=resolved.name, app=resolved.app, environment=resolved.environment, country=resolved.country,
        sources=list(resolved.sources),
        values=[ExplainedValue(key=key, value=value, origin=origin) for key, value, origin in explained.values],
    )  # fmt: skip
    return explanation, "\n".join(explained.lines)


def validate(settings: Settings, catalog: str | None, simulations: dict[str, str] | None) -> tuple[Validation, str]:
    """The files on disk, or a draft: the catalog and simulations given as JSON text, checked in
    a temporary folder laid out like the catalog's (see sources/drafts.py)."""
    draft = catalog is not None or bool(simulations)
    problems = Problems()
    with tool_errors(problems):
        if draft:
            skip = (settings.results_folder,)
            inputs = workspace.validate_draft(settings.catalog, catalog, simulations or {}, skip, problems)
        else:
            inputs = workspace.validate_all(settings.catalog, problems)
    summary = workspace.valid_line(inputs)
    validation = Validation(
        valid=True, draft=draft, catalog=inputs.catalog.label, simulations=len(inputs.simulations),
        targets=workspace.target_count(inputs),
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
        planned = workspace.plan_compile(settings.catalog, targets or None, settings.out, problems, check=check)
        try:
            compiled = workspace.write_compile(planned, check=check, force=force)
        except UsageError as error:  # the command line printed the warnings before it
            raise ToolFailure([str(problem) for problem in problems.items] + [f"error: {error}"]) from None
    lines = [line for _, line in compiled.messages()]
    if compiled.code == EXIT_INVALID:
        raise ToolFailure([str(problem) for problem in problems.items] + lines)
    report = compiled.report
    compile_report = CompileReport(
        out=settings.out, check=check, up_to_date=compiled.code == EXIT_OK,
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
        compiled = workspace.bring_up_to_date(settings.catalog, names, settings.out, problems)
    if compiled.code != EXIT_OK:
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
        workspace.resolve_one(settings.catalog, target, problems)
    bring_up_to_date(settings, [target])
    file = Path(settings.out) / f"{target}.py"
    command = [sys.executable, "-m", "locust", "-f", str(file), "--check-config"]
    allowed = allow_protected and settings.allow_protected  # as run decides it: the call and the server
    command += (["-H", host] if host else []) + (["--allow-protected"] if allowed else [])
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", timeout=CHECK_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ToolFailure([f"error: {display_path(file)} --check-config did not finish in {CHECK_SECONDS}s"]) from None
    output = done.stdout.rstrip("\n")
    if done.returncode != 0:
        raise ToolFailure([output, f"error: {display_path(file)} --check-config exited {done.returncode}"])
    return ConfigCheck(target=target, file=display_path(file), exit_code=done.returncode, output=output), output


# -- run records: get_run, compare_runs, resources ---------------------------------------------------


def verdict(code: int) -> str:
    return VERDICTS.get(code, "error")


def get_run(settings: Settings, run: str | None, target: str | None) -> tuple[RunRecord, str]:
    problems = Problems()
    with tool_errors(problems):
        found = workspace.read_run(settings.results_folder, run, target)
    code = found.record.get("exit_code")
    result = RunRecord(
        folder=display_path(found.folder), target=found.target, verdict=verdict(code if isinstance(code, int) else -1),
        record=found.record, files=found.files, other_runs=[display_path(p) for p in found.other_runs][:20],
    )  # fmt: skip
    return result, json.dumps(found.record, indent=2)


def compare_runs(settings: Settings, run_a: str, run_b: str | None, tolerance: float) -> tuple[Comparison, str]:
    problems = Problems()
    with tool_errors(problems):
        if not 0 <= tolerance < 10:
            raise UsageError("--tolerance is a fraction: 0.10 allows a 10% change")
        found = workspace.runs_to_compare(settings.results_folder, run_a, run_b, confined=True)
        a, b = (Path(display_path(folder.resolve())) for folder in found)
        compared = workspace.compare_runs(a, b, tolerance)
    result = Comparison(
        run_a=a.as_posix(), run_b=b.as_posix(), tolerance=tolerance, regressions=sum(row.regressed for row in compared.rows),
        exit_code=compared.code, lines=compared.lines,
        rows=[CompareRow(request=r.request, before=r.before, after=r.after, regressions=list(r.regressions))
              for r in compared.rows],
    )  # fmt: skip
    return result, "\n".join(compared.lines)
