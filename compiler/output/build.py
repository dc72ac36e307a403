"""Resolve and render the targets a compile writes, on every core.

Once the protected hosts that every file carries are known, each target is resolved and rendered
on its own. So a compile of many targets splits them between forked worker processes: where
`fork` exists (Linux) and this process runs no other thread; otherwise, for a few targets, or
with COMPILER_PROCESSES=1, all in this process. Results come back in the targets' order and
problems are reported the way `resolve_all` reports them: the files, the messages and the
manifest are the bytes one process writes (tests compile both ways and compare).

`build_stream` hands the files over as they are rendered, in the order of their names (the
order `write.sync` judges and writes them), a few pieces of work ahead at most, so that a compile
of ten thousand targets never holds more than a few dozen files; its problems, reported in the
targets' order, and the error that a target's problems make, come once the last is rendered.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from dataclasses import replace
from typing import Iterator

from compiler.output.manifest import Built
from compiler.output.render import render_target
from compiler.problems import Problems
from compiler.resolve.catalog import is_protected, protected_hosts, report_found
from compiler.resolve.model import ProtectedHost, Target
from compiler.resolve.target import resolve_target
from compiler.sources.targets import TargetRef
from compiler.sources.validate import Inputs

PROCESSES_VARIABLE = "COMPILER_PROCESSES"  # a number; 1 keeps everything in this process
TARGETS_PER_PROCESS = 50  # below this, a process costs more than it saves
CHUNK = 8  # targets in one piece of work: a few files' text in flight per process
AHEAD = 3  # pieces of work per process handed out before their results are taken

Resolved = tuple[Target | None, list[tuple[str, str, str]]]  # resolve_target's answer


def build(inputs: Inputs, refs: list[TargetRef], problems: Problems, known: dict[str, Resolved]) -> list[Built]:
    """The files of `refs`, in their names' order; every problem is reported, and errors raise as
    `resolve_all`'s do. `known`: targets already resolved (the manifest resolves the protected
    ones it has no entry for)."""
    return list(build_stream(inputs, refs, problems, known))


def build_stream(
    inputs: Inputs, refs: list[TargetRef], problems: Problems, known: dict[str, Resolved],
    protected: dict[str, ProtectedHost] | None = None,
) -> Iterator[Built]:
    """`build`, one file at a time as they are rendered: after the last, the problems are
    reported and errors raise (so a consumer must not put any file in place before the end).
    `protected`: the hosts of protected targets not resolved, as the manifest recorded them."""
    order = {ref.name: index for index, ref in enumerate(refs)}
    refs = sorted((ref for ref in refs if inputs.can_resolve(ref)), key=lambda ref: ref.name)
    early = dict(known)
    for ref in refs:
        if is_protected(inputs, ref) and ref.name not in early:
            early[ref.name] = resolve_target(inputs, ref)
    hosts = protected_hosts(inputs, {name: target for name, (target, _) in early.items() if target is not None}, protected)
    global _job
    _job = (inputs, hosts, early)
    found: list[tuple[str, list[tuple[str, str, str]]]] = []
    try:
        for name, its_found, built in _results(refs):
            found.append((name, its_found))
            if built is not None:
                yield built
    finally:
        _job = None
    found.sort(key=lambda item: order[item[0]])
    report_found(found, problems)
    problems.raise_if_errors()


def _results(refs: list[TargetRef]) -> Iterator[tuple[str, list[tuple[str, str, str]], Built | None]]:
    """_build_chunk's results for `refs`, in order: in this process, or from forked ones, at most
    AHEAD pieces of work per process ahead of what was taken."""
    processes = _processes(len(refs))
    if processes == 1:
        for ref in refs:
            yield from _build_chunk([ref])
        return
    chunks = deque(refs[start : start + CHUNK] for start in range(0, len(refs), CHUNK))
    sys.stdout.flush()  # a forked process flushes what it inherited when it ends
    sys.stderr.flush()
    with multiprocessing.get_context("fork").Pool(processes, initializer=_ignore_interrupts) as pool:
        pending: deque = deque()
        while chunks or pending:
            while chunks and len(pending) < processes * AHEAD:
                pending.append(pool.apply_async(_build_chunk, (chunks.popleft(),)))
            yield from pending.popleft().get()


_job: tuple[Inputs, tuple, dict[str, Resolved]] | None = None  # what forked processes inherit


def _build_chunk(refs: list[TargetRef]) -> list[tuple[str, list[tuple[str, str, str]], Built | None]]:
    assert _job is not None
    inputs, hosts, early = _job
    results = []
    for ref in refs:
        target, found = early.get(ref.name) or resolve_target(inputs, ref)
        built = None
        if target is not None:
            target = replace(target, protected_hosts=hosts)
            built = Built.of(render_target(target), target)
        results.append((ref.name, found, built))
    return results


def _processes(targets: int) -> int:
    wanted = os.environ.get(PROCESSES_VARIABLE, "").strip()
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1  # forking a process with other threads (a server's) could copy a held lock
    if wanted.isdigit() and int(wanted) > 0:
        return min(int(wanted), max(targets, 1))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, targets // TARGETS_PER_PROCESS))


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the compile stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
