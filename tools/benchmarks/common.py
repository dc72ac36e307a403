"""What the benchmark sections share: paths, processes run bounded in time, medians, the summary."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
LOCUST = str(Path(sys.executable).parent / "locust")
LOCUSTFILES = ROOT / "tools/bench_locustfiles"


@dataclass
class Row:
    """One line of the summary: a figure, the target its issue (9, 16, 19) sets for it (if any) and which way
    is better, and the ratio of the figure to the target."""

    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    at_least: bool = False  # the target is a floor (a throughput ratio), not a ceiling (a time)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.target if self.target else None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target


SUMMARY: list[Row] = []


def record(section: str, name: str, value: float, unit: str, target: float | None = None, at_least: bool = False, note: str = "") -> None:
    SUMMARY.append(Row(section, name, value, unit, target, at_least, note))


def shown(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3g} s" if value < 10 else f"{value:.1f} s"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    if unit == "x":
        return f"{value:.3f}"
    if unit == "ms":
        return f"{value:.3g} ms"
    return f"{value:,.0f} {unit}"


def print_summary() -> None:
    if not SUMMARY:
        return
    width = max(len(f"{row.section}: {row.name}") for row in SUMMARY)
    print("\nsummary (medians; ratio = figure / its issue's target)")
    print(f"  {'figure':<{width}}  {'value':>14}  {'target':>12}  {'ratio':>6}  met")
    for row in SUMMARY:
        target = ("" if row.target is None else (">= " if row.at_least else "<= ") + shown(row.target, row.unit))
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        met = {None: "", True: "yes", False: "NO"}[row.met]
        print(f"  {row.section + ': ' + row.name:<{width}}  {shown(row.value, row.unit):>14}  {target:>12}  {ratio:>6}  {met}"
              + (f"  ({row.note})" if row.note else ""))


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Finished:
    code: int
    seconds: float
    max_rss_kib: int  # the command's own peak resident set (and that of children it waited for)
    stdout: str
    stderr: str


def run_measured(command: list[str], timeout: float, cwd: Path | None = None, env: dict | None = None) -> Finished:
    """Run a command to its end (killed after `timeout` seconds): exit code, wall time and peak
    RSS of that very command, started by tools/peak_rss.py: started from this process, its
    ru_maxrss would begin at this process's own peak (Linux keeps the mark across fork and exec)."""
    return run_measured_together([(command, cwd, env)], timeout)[0]


def run_measured_together(runs: list[tuple[list[str], Path | None, dict | None]], timeout: float) -> list[Finished]:
    """Several commands at once (command, cwd, env), each measured as run_measured does; on
    Ctrl-C, SIGTERM or an error, no process of ours is left running."""
    started = time.perf_counter()
    with ExitStack() as stack:
        processes, outputs = [], []
        try:
            reports = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            for index, (command, cwd, env) in enumerate(runs):
                out, err = (stack.enter_context(tempfile.TemporaryFile()) for _ in range(2))
                stdin = stack.enter_context(open(os.devnull, "rb"))
                launcher = [PYTHON, str(ROOT / "tools/peak_rss.py"), str(reports / str(index)), "--"]
                processes.append(subprocess.Popen([*launcher, *command], cwd=cwd, env=env, stdin=stdin, stdout=out,
                                                  stderr=err, start_new_session=True))  # fmt: skip
                outputs.append((out, err))
            finished: dict[int, Finished] = {}
            while len(finished) < len(processes):
                for index, process in enumerate(processes):
                    if index in finished:
                        continue
                    pid, status = os.waitpid(process.pid, os.WNOHANG)
                    if not pid and time.perf_counter() > started + timeout:
                        os.killpg(process.pid, signal.SIGKILL)  # the launcher and the command it runs
                        pid, status = os.waitpid(process.pid, 0)
                    if pid:
                        process.returncode = os.waitstatus_to_exitcode(status)  # so that Popen does not wait again
                        report = reports / str(index)
                        peak = int(report.read_text()) if report.exists() else 0  # none when killed
                        out, err = outputs[index]
                        out.seek(0), err.seek(0)
                        finished[index] = Finished(process.returncode, time.perf_counter() - started, peak,
                                                   out.read().decode(errors="replace"), err.read().decode(errors="replace"))
                time.sleep(0.02)
            return [finished[index] for index in range(len(processes))]
        finally:
            for process in processes:
                if process.returncode is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    os.waitpid(process.pid, 0)
                    process.returncode = -9
