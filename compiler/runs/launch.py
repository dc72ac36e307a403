"""`run`: run targets' generated files one after another, each into a run folder of its own.

A run folder is `<results>/<target>/<UTC time>/` (results: `results/` beside the catalog, so
`data/results/`), never reused. Each run leaves there Locust's HTML report and CSVs, the run
record (`run.json`, completed here with the compiler's version and the commit of the catalog's
folder), `junit.xml`, `summary.json` and `locust.log`. While a run goes, one progress line
every few seconds; at the end a table across targets. The exit code is the worst of the runs.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from compiler import __version__
from compiler.runs.index_page import refresh_index
from compiler.timespan import parse_timespan

SEVERITY = {0: 0, 3: 1, 1: 2, 2: 3}  # worst last: thresholds breached, run failed, invalid
PROGRESS_SECONDS = 2


@dataclass
class Outcome:
    target: str
    folder: Path
    code: int
    record: dict
    interrupted: bool = False  # Ctrl-C during this run: the targets after it do not run

    @property
    def totals(self) -> dict:
        rows = [row for row in self.record.get("requests", []) if row.get("name") is None]
        return rows[0] if rows else {}


def worst(codes: list[int]) -> int:
    return max(codes, key=lambda code: SEVERITY.get(code, 4), default=0)


def new_run_folder(results: Path, target: str) -> Path:
    """`<results>/<target>/<UTC time>/`, made here and never one that exists."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for number in range(1, 1000):
        folder = results / target / (stamp if number == 1 else f"{stamp}-{number}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise OSError(f"no free run folder under {results / target}")


def data_commit(folder: Path) -> str | None:
    """The last commit that touched the catalog's folder, when it is in git, else None."""
    try:
        found = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", "."], cwd=folder, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() or None


def locust_command(locustfile: Path, folder: Path, passthrough: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(locustfile),
        "--html", str(folder / "report.html"), "--csv", str(folder / "stats"), "--csv-full-history",
        "--run-record", str(folder / "run.json"), "--junit", str(folder / "junit.xml"),
        "--summary-json", str(folder / "summary.json"), "--run-id", f"{folder.parent.name}/{folder.name}",
        *master_port(passthrough), *passthrough,
    ]  # fmt: skip


def master_port(passthrough: list[str]) -> list[str]:
    """With --processes, the master and its forked workers on a free port of 127.0.0.1, not
    Locust's 5557 on every interface: another run (or anything else) may hold 5557. Nothing
    when not forking, or when the user chose a port or an interface."""
    chosen = {"--master-bind-port", "--master-port", "--master-bind-host"}
    if "--processes" not in passthrough or chosen & {arg.split("=")[0] for arg in passthrough}:
        return []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    return ["--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]


def isolated(folder: Path, passthrough: list[str]) -> tuple[dict[str, str], list[str]]:
    """(environment, extra arguments) of a run decided by the command line and the file alone,
    as the MCP server's runs must be: no LOCUST_* variable, and Locust started in the run folder
    with it as HOME, so that no locust.conf, pyproject.toml or ~/.locust.conf is read; the
    secrets of ./.env still reach it, by --env-file."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_") and k != "REPORT_HTML"}
    environment["HOME"] = str(folder)
    extra = []
    if Path(".env").is_file() and "--env-file" not in passthrough:
        extra = ["--env-file", str(Path(".env").resolve())]
    return environment, extra


def run_one(locustfile: Path, target: str, results: Path, passthrough: list[str], seconds: float | None,
            catalog_folder: Path, position: str, alone: bool = False) -> Outcome:  # fmt: skip
    folder = new_run_folder(results, target)  # as the user named it, in messages
    environment, extra = isolated(folder.resolve(), passthrough) if alone else (None, [])
    where = (locustfile.resolve(), folder.resolve()) if alone else (locustfile, folder)  # alone: from the run folder
    command = locust_command(*where, [*extra, *passthrough])
    started, interrupted = time.monotonic(), False
    with (folder / "locust.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=folder.resolve() if alone else None, env=environment,
                                   **ALONE_IN_ITS_GROUP)  # fmt: skip
        with passed_on(process, signal.SIGTERM) as term, passed_on(process, getattr(signal, "SIGHUP", None), signal.SIGTERM) as hup:
            try:
                shown = started
                while process.poll() is None:
                    time.sleep(0.2)
                    if time.monotonic() - shown >= PROGRESS_SECONDS:
                        shown = time.monotonic()
                        print_progress(position, target, folder, started, seconds)
            except KeyboardInterrupt:  # let locust write its report and records, as it does on Ctrl-C
                interrupted = True
                interrupt_until_done(process)
        interrupted = interrupted or term.received or hup.received  # the targets after it do not run
    record = complete_record(folder, target, process.returncode, command, catalog_folder, interrupted)
    return Outcome(target, folder, record["exit_code"], record, interrupted)


# Locust runs in a process group of its own, so that a Ctrl-C in the terminal (SIGINT to the
# terminal's foreground group) reaches `run` alone, and `run` passes it on once: had Locust been
# in `run`'s group it would get the terminal's SIGINT and then `run`'s, take the second for a
# second Ctrl-C and exit at once, without its records. Its group holds the workers it forks
# (--processes), which a Ctrl-C reaches as it would in a terminal. On Linux it is also stopped
# (SIGTERM: records written) if `run` dies without passing anything on (SIGKILL).
ALONE_IN_ITS_GROUP = {"process_group": 0} if os.name == "posix" else {}
if sys.platform == "linux":
    ALONE_IN_ITS_GROUP["preexec_fn"] = lambda: stopped_with_parent(signal.SIGTERM)


def stopped_with_parent(signum: int) -> None:
    """In the child, before Locust starts: the signal it gets when its parent dies (Linux)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, int(signum))  # PR_SET_PDEATHSIG


def signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        if ALONE_IN_ITS_GROUP:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    except (ProcessLookupError, PermissionError):
        pass  # it ended meanwhile


def interrupt_until_done(process: subprocess.Popen) -> None:
    """Pass a Ctrl-C on to the run and wait for its records; a second Ctrl-C is passed on too
    (the run then exits at once, as a plain `locust` does on a second Ctrl-C)."""
    while True:
        try:
            if process.poll() is None:
                signal_group(process, signal.SIGINT)
            process.wait()
            return
        except KeyboardInterrupt:
            continue


class passed_on:
    """While the run goes, a signal sent to `run` (SIGTERM from a CI that cancels the job,
    SIGHUP from a closed terminal) is passed on to it, so it stops and writes its records (as
    SIGTERM, which the file handles, for a signal it does not)."""

    def __init__(self, process: subprocess.Popen, signum: int | None, send: int | None = None):
        self.process, self.signum, self.before, self.received = process, signum, None, False
        self.send = send or signum

    def __enter__(self):
        if self.signum is None:  # no such signal on this system
            return self
        try:
            self.before = signal.signal(self.signum, self.pass_on)
        except (ValueError, OSError):  # not the main thread
            self.before = None
        return self

    def pass_on(self, signum, _frame):
        self.received = True
        signal_group(self.process, self.send)

    def __exit__(self, *_exc):
        if self.before is not None:
            signal.signal(self.signum, self.before)


def print_progress(position: str, target: str, folder: Path, started: float, seconds: float | None) -> None:
    """One line: the target, users, requests per second, failures and time left, from the
    history Locust writes every second."""
    first, latest = history_rows(folder / "stats_stats_history.csv")
    if latest is None:  # Locust is still starting (or its workers connecting): the load has not
        line = f"{position} {target}: starting, {time.monotonic() - started:.0f}s"
    else:
        elapsed = max(0.0, time.time() - float(first["Timestamp"]))  # since the load started
        remaining = seconds - elapsed if seconds else None
        if remaining is None:
            left = f"{elapsed:.0f}s"
        else:
            left = f"{remaining:.0f}s left" if remaining >= 0.5 else "ending: stopping users, writing the report"
        line = (f"{position} {target}: {latest['User Count']} users, {float(latest['Requests/s']):.1f} req/s, "
                f"{latest['Total Failure Count']} failures of {latest['Total Request Count']}, {left}")  # fmt: skip
    print(line, file=sys.stderr, flush=True)


def history_rows(path: Path) -> tuple[dict | None, dict | None]:
    """The first row with users (the load's start: a master writes rows while its workers still
    connect) and the last row for all requests, of the history Locust writes every second."""
    try:
        with path.open(newline="") as file:
            rows = [row for row in csv.DictReader(file) if row.get("Name") == "Aggregated"]
    except OSError:
        return None, None
    loaded = [row for row in rows if row.get("User Count", "0") not in ("0", "")]
    return (loaded[0], rows[-1]) if loaded else (None, None)


def complete_record(folder: Path, target: str, code: int, command: list[str], catalog_folder: Path,
                    interrupted: bool = False) -> dict:  # fmt: skip
    """run.json with what only the runner knows; a record of its own when the run wrote none.
    A run Ctrl-C'd here ended `interrupted` when its record does not say how it ended."""
    path = folder / "run.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {"format": 1, "target": target, "problems": reasons_in_log(folder / "locust.log"),
                  "thresholds": [], "requests": [], "failures": []}  # fmt: skip
    if interrupted and not record.get("ended_by"):
        record["ended_by"] = "interrupted"
    record.update(
        exit_code=code,
        passed=code == 0,
        compiler_version=__version__,
        data_commit=data_commit(catalog_folder),
        command=[Path(command[0]).name, *command[1:]],
        folder=folder.name,
    )
    try:
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except OSError as error:  # a full disk: the load was sent; the record is kept here, and said
        problem = f"{path} could not be written: {error.strerror or error}"
        record["problems"] = [*record.get("problems", []), problem]
        if code in (0, 3):
            record.update(exit_code=1, passed=False)
    return record


def reasons_in_log(path: Path) -> list[str]:
    """Why a run stopped before it could write its record: the generated file's own list of
    reasons (`invalid configuration, no request sent:` and its `  - ` lines), else a pointer."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for at, line in enumerate(lines):
        if line.endswith("invalid configuration, no request sent:"):
            reasons = [item[4:] for item in itertools.takewhile(lambda l: l.startswith("  - "), lines[at + 1 :])]
            return ["invalid configuration, no request sent: " + "; ".join(reasons)] if reasons else [line]
    last = last_error(lines)
    return [f"the run wrote no record: {last} (locust.log)" if last else "the run wrote no record: see locust.log"]


LOGGED_ERROR = re.compile(r"^\[[^\]]*\] [^/\s]*/(?:ERROR|CRITICAL)/[^:]*: (.+)$")  # Locust's log format
RAISED = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception)|error|Error): .+")  # a traceback's last line, error: ...


def last_error(lines: list[str]) -> str | None:
    """The last error the log holds, as one clipped line: Locust's logged errors first, else the
    last line of a traceback or an `error:` line."""
    for pattern in (LOGGED_ERROR, RAISED):
        for line in reversed(lines):
            found = pattern.match(line.strip() if pattern is RAISED else line)
            if found:
                text = found.group(1) if pattern is LOGGED_ERROR else found.group(0)
                return text if len(text) <= 200 else text[:197] + "..."
    return None


def planned_seconds(target, passthrough: list[str]) -> float | None:
    """The run's length as planned (the stages', or the run time, or -t), for the time left."""
    for flag in ("-t", "--run-time"):
        if flag in passthrough and passthrough.index(flag) + 1 < len(passthrough):
            try:
                return parse_timespan(passthrough[passthrough.index(flag) + 1])
            except ValueError:
                return None
    if target.stages:
        return sum(parse_timespan(stage.duration) for stage in target.stages)
    return parse_timespan(target.run_time) if target.run_time else None


def figure(value: float) -> str:
    """A figure as the generated file prints it: four significant digits (its shown_measure)."""
    return f"{value:.4g}"


def summary_table(outcomes: list[Outcome]) -> str:
    lines = [f"{'target':<28} {'exit':>4} {'requests':>9} {'failures':>9} {'req/s':>8} {'p95 ms':>7}  verdict  folder"]
    for outcome in outcomes:
        totals, record = outcome.totals, outcome.record
        verdict = {0: "passed", 1: "failed", 2: "invalid", 3: "breached"}.get(outcome.code, "error")
        p95 = totals.get("p95_ms")
        lines.append(
            f"{outcome.target:<28} {outcome.code:>4} {totals.get('requests', 0):>9} {totals.get('failures', 0):>9} "
            f"{(totals.get('rps') or 0):>8.1f} {(figure(p95) if p95 is not None else '-'):>7}  {verdict:<8} {outcome.folder}"
        )
        for problem in record.get("problems", []):
            lines.append(f"{'':<28} - {problem}")
        for failure in sorted(record.get("failures", []), key=lambda f: -f["occurrences"])[:3]:
            lines.append(f"{'':<28} - {failure['occurrences']}x {failure['name']}: {failure['message']}")
        for row in record.get("thresholds", []):
            if not row["passed"]:
                shown = row.get("shown") or ("no requests" if row["measured"] is None else figure(row["measured"]))
                lines.append(f"{'':<28} - threshold {row['scope']} {row['key']} {row['limit']:g}: measured {shown}")
    return "\n".join(lines)


def refreshed(results: Path) -> str | None:
    """Rebuild the results dashboard; why it could not be written, else None."""
    try:
        refresh_index(results)
    except OSError as error:
        return f"{results / 'index.html'} could not be written: {error.strerror or error}"
    return None


def run_targets(targets, generated: Path, results: Path, passthrough: list[str], catalog_folder: Path,
                summary_json: Path | None, alone: bool = False) -> int:  # fmt: skip
    outcomes, index_problem = [], None
    for number, target in enumerate(targets, 1):
        position = f"[{number}/{len(targets)}]"
        print(f"{position} {target.name}: running {generated / (target.name + '.py')}", file=sys.stderr, flush=True)
        outcome = run_one(generated / f"{target.name}.py", target.name, results, passthrough,
                          planned_seconds(target, passthrough), catalog_folder, position, alone)  # fmt: skip
        print(f"{position} {target.name}: exit {outcome.code}, {outcome.folder}", file=sys.stderr, flush=True)
        outcomes.append(outcome)
        index_problem = refreshed(results)  # the last refresh is the page left behind
        if outcome.interrupted:
            left = [t.name for t in targets[number:]]
            if left:
                print(f"interrupted: not run: {', '.join(left)}", file=sys.stderr, flush=True)
            break
    print(summary_table(outcomes))
    if index_problem:
        print(f"index: {index_problem}", file=sys.stderr, flush=True)
    else:
        print(f"index: {results / 'index.html'}")
    code = worst([outcome.code for outcome in outcomes] + [130 if outcomes[-1].interrupted else 0])
    code = 1 if index_problem and code == 0 else code  # a report not written is never a green run
    if summary_json is not None:
        summary = {"exit_code": code, "runs": [{**o.record, "folder": str(o.folder)} for o in outcomes]}
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return code
