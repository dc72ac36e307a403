"""The MCP server's `run`: targets run through the `run` command, within the server's caps.

Why through the command: `python -m compiler run` already compiles what is stale, runs each
target's file with Locust into a run folder of its own, completes the records, refreshes the
index and exits with the worst code; the server runs it as a subprocess (an argument list,
never a shell), reads its `--summary-json`, and turns each progress line it prints into a
progress notification. Before anything runs, the call is checked as a whole, every reason at
once: the targets exist and resolve, each run's users and length are within the caps the
server was started with (a target's own values count when the call gives none), and no
protected environment or protected host is aimed at unless both the call and the server allow
it. Every run is bounded in time: past its planned length and a grace, the whole process group
is stopped (SIGINT first, so that Locust writes its records, then SIGKILL).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

from compiler import workspace
from compiler.mcp.models import RunResult, RunSummary
from compiler.mcp.tools import Settings, ToolFailure, check_host, tool_errors, verdict
from compiler.problems import Problems, display_path
from compiler.timespan import parse_timespan

logger = logging.getLogger(__name__)
GRACE_SECONDS = 45  # per target, beyond its planned length: Locust's start, its checks, its records
STOP_SECONDS = 15  # after SIGINT, before SIGKILL
OVERHEAD_SECONDS = 10  # per target, for the progress estimate: compile, start Locust, write the records

Progress = Callable[[float, float | None, str], Awaitable[None]]


@dataclass(frozen=True)
class RunPlan:
    targets: list[str]
    command: list[str]
    seconds: float  # the planned length of every run together
    timeout: float

    @property
    def estimate(self) -> float:
        """How long the command should take: the load, and each run's start and end."""
        return self.seconds + OVERHEAD_SECONDS * len(self.targets)


def plan_run(
    settings: Settings, patterns: list[str], users: int | None, run_time: str | None, host: str | None,
    allow_protected: bool, summary: Path,
) -> RunPlan:  # fmt: skip
    """The `run` command for this call, or a ToolFailure with every reason it may not run."""
    errors = check_host(host)
    if not patterns:
        errors.append("error: name at least one target (app_local_mx) or glob (app_local_*)")
    if users is not None and users < 1:
        errors.append("error: users is a number of users, 1 or more")
    asked = None
    if run_time is not None:
        try:
            asked = parse_timespan(run_time)
        except ValueError:
            errors.append(f"error: run_time {run_time[:40]!r} is not a duration; write it as Locust does: 30s, 5m, 1h30m")
        else:
            if asked <= 0:
                errors.append("error: run_time is 0; ask for a run of 1s or more")
    if errors:
        raise ToolFailure(errors)
    problems = Problems()
    with tool_errors(problems):
        _, targets = workspace.resolve_selected(settings.catalog, patterns, problems)
    allowed = allow_protected and settings.allow_protected
    cap_users, cap_seconds = settings.max_users, settings.max_seconds
    lengths = []
    for target in targets:
        most = max(stage.users for stage in target.stages) if target.stages else target.users
        effective = min(users, most) if users is not None and target.stages else users or most
        if effective > cap_users:
            whose = "" if users is not None else f" (its own: {'its stages' if target.stages else 'the simulation'})"
            errors.append(f"error: {target.name}: {effective} users{whose} is above this server's cap of {cap_users} "
                          f"users (--max-users); ask for users: {cap_users} or fewer")  # fmt: skip
        seconds = workspace.run_length(target, run_time)
        if target.stages and asked is not None:
            seconds = min(asked, sum(parse_timespan(stage.duration) for stage in target.stages))
        lengths.append(seconds or 0.0)
        if seconds is None or seconds > cap_seconds:
            length = "an unbounded run" if seconds is None else f"a run of {seconds:g}s"
            whose = "" if run_time is not None else f" (its own: {'its stages' if target.stages else 'the run_time'})"
            errors.append(f"error: {target.name}: {length}{whose} is longer than this server's cap of "
                          f"{settings.max_run_time} (--max-run-time); ask for a run_time of {settings.max_run_time} or less")  # fmt: skip
        if target.protected and not allowed:
            errors.append(f"error: {target.name}: " + _protected_refusal(f"environment '{target.environment}'", allow_protected, settings))
    if host is not None and not allowed:
        hosts = {workspace.origin_of(entry.host): entry.environment for target in targets for entry in target.protected_hosts}
        if workspace.origin_of(host) in hosts:
            errors.append(f"error: host {host} is the host of the protected environment '{hosts[workspace.origin_of(host)]}'; "
                          + _protected_refusal("it", allow_protected, settings))  # fmt: skip
    if errors:
        raise ToolFailure(errors)
    locust = (["-u", str(users)] if users is not None else []) + (["-t", run_time] if run_time is not None else [])
    locust += (["-H", host] if host is not None else []) + (["--allow-protected"] if allowed else [])
    names = [target.name for target in targets]
    command = [
        sys.executable, "-m", "compiler", "--catalog", settings.catalog, "run", *names, "--isolated", "--out", settings.out,
        "--results", display_path(settings.results_folder), "--summary-json", str(summary), *(["--", *locust] if locust else []),
    ]  # fmt: skip
    return RunPlan(names, command, sum(lengths), sum(lengths) + GRACE_SECONDS * len(targets) + 60)


def _protected_refusal(what: str, asked: bool, settings: Settings) -> str:
    if not settings.allow_protected:
        return f"{what} is protected, and this server was started without --allow-protected: it runs no protected target"
    return f"{what} is protected; set allow_protected: true to run it"


async def _lines(stream, handle: Callable[[str], Awaitable[None]]) -> None:
    buffered = BufferedByteReceiveStream(stream)
    while True:
        try:
            line = await buffered.receive_until(b"\n", 65536)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            rest = buffered.buffer
            if rest:
                await handle(rest.decode("utf-8", "replace"))
            return
        except anyio.DelimiterNotFound:
            continue
        await handle(line.decode("utf-8", "replace"))


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


async def execute(plan: RunPlan, progress: Progress) -> tuple[int | None, list[str], list[str], bool]:
    """Run the command; (exit code or None when stopped, stdout lines, stderr lines, timed out).
    Each stderr line is a progress notification: seconds since the start, of the planned total."""
    out: list[str] = []
    err: list[str] = []
    started, last = time.monotonic(), -1.0
    stopping = {"scope": None, "client_gone": False}

    async def on_progress(line: str) -> None:
        nonlocal last
        err.append(line)
        now = max(round(time.monotonic() - started, 1), last + 0.1)  # progress only grows
        last = now
        # Seconds since the start, of an estimate: the planned load and each run's start and end;
        # past the estimate, the total is unknown (never less than the progress).
        if stopping["client_gone"]:
            return
        try:
            await progress(now, plan.estimate if now < plan.estimate else None, line)
        except Exception:  # the client went away: nobody reads the run any more; stop it (interrupted)
            stopping["client_gone"] = True
            logger.warning("the client went away during a run: stopping it; its record says interrupted")
            stopping["scope"].cancel()

    async def on_output(line: str) -> None:
        out.append(line)

    process = await anyio.open_process(
        plan.command, stdin=subprocess.DEVNULL, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    timed_out = False
    try:
        with anyio.move_on_after(plan.timeout) as scope:
            stopping["scope"] = scope
            async with anyio.create_task_group() as group:
                group.start_soon(_lines, process.stdout, on_output)
                group.start_soon(_lines, process.stderr, on_progress)
                await process.wait()
        timed_out = scope.cancelled_caught and not stopping["client_gone"]
    finally:
        if process.returncode is None:  # timed out, or the call was cancelled: stop it, records kept
            with anyio.CancelScope(shield=True):
                _signal_group(process.pid, signal.SIGINT)
                with anyio.move_on_after(STOP_SECONDS):
                    await process.wait()
                if process.returncode is None:
                    _signal_group(process.pid, signal.SIGKILL)
                    await process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # whatever of its group is left
    return process.returncode, out, err, timed_out


def outcome(settings: Settings, plan: RunPlan, code: int | None, out: list[str], err: list[str],
            timed_out: bool, summary: Path) -> RunResult:  # fmt: skip
    """The result of the command, from its --summary-json; a tool error when nothing ran."""
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if data is None:
        lines = [line for line in err if line.strip()]
        if timed_out:
            lines.append(f"error: the run did not end within {plan.timeout:.0f}s and was stopped")
        raise ToolFailure(lines or [f"error: the run command exited {code} without a summary"])
    runs = []
    for record in data.get("runs", []):
        rows = [row for row in record.get("requests", []) if row.get("name") is None]
        failures = sorted(record.get("failures", []), key=lambda f: -f.get("occurrences", 0))[:5]
        runs.append(RunSummary(
            target=record.get("target", "?"), folder=display_path(record.get("folder", "")),
            exit_code=record.get("exit_code", -1), verdict=verdict(record.get("exit_code", -1)),
            problems=record.get("problems", []), thresholds=record.get("thresholds", []),
            totals=rows[0] if rows else None, failures=failures,
        ))  # fmt: skip
    exit_code = data.get("exit_code", code if code is not None else -1)
    table = "\n".join(out)
    if timed_out:
        table += f"\nstopped: the run did not end within {plan.timeout:.0f}s"
    return RunResult(
        exit_code=exit_code, passed=exit_code == 0 and not timed_out, runs=runs, summary=table,
        max_users=settings.max_users, max_run_time=settings.max_run_time,
    )  # fmt: skip


async def run(settings: Settings, patterns: list[str], users: int | None, run_time: str | None, host: str | None,
              allow_protected: bool, progress: Progress) -> tuple[RunResult, str]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="simc-run-") as private:
        summary = Path(private) / "summary.json"
        plan = await anyio.to_thread.run_sync(
            lambda: plan_run(settings, patterns, users, run_time, host, allow_protected, summary)
        )
        code, out, err, timed_out = await execute(plan, progress)
        result = outcome(settings, plan, code, out, err, timed_out, summary)
    return result, result.summary
