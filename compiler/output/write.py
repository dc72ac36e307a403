"""Write: put generated files in place atomically, tidy, or only compare (--check).

A file is written to a temporary name in the same folder and renamed over the old one, so a
reader (or an interrupted compile, even `kill -9`) sees the old file or the new one, never half
of one; the next compile removes the temporary files an interrupted one left. Only regular files
that carry the compiler's header are ever replaced or removed; anything else in the output
folder (files without the header, symbolic links, folders, unreadable or non-UTF-8 files) is
foreign and left alone. Each file records the digest of its body, which tells a stale file (body
intact, inputs changed) from one edited by hand; an edited file is kept unless `force`. A file
an editor saved with a UTF-8 BOM or CRLF line endings is still the compiler's: it is judged on
its content, `--check` says how it was saved, and compile rewrites it as it writes files. Every
path written or removed is a direct child of the (resolved) output folder, and one compile at a
time writes to a folder (an advisory lock on the folder itself).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Iterable, Iterator, Mapping

from compiler.output.changes import describe as describe_changes
from compiler.output.render import DIGEST_PREFIX, MARK, MARKER, digest, is_generated, split_header
from compiler.problems import ConfigError
from compiler.sources.targets import is_selected

try:
    import fcntl
except ImportError:  # not on Windows: no lock there
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".compiler-"
WRITERS = 8  # files written at once
# The names mkstemp gives our temporary files; only these are ever tidied (and only when they
# hold the start of a generated file, or nothing yet).
TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"[A-Za-z0-9_]+\.tmp")
# Files are read without following a symbolic link, and without waiting on a FIFO.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class OutputError(Exception):
    """The output folder cannot be used as asked (not a folder, busy, a path outside it)."""


class WriteError(Exception):
    """The system refused an operation on one path of the output (a full disk, a read-only
    folder, a file size limit). The message names that path as the user wrote it, never a
    temporary file's name nor an empty one, and `report` holds what was done before, so that
    the command line can say how far the compile got."""

    def __init__(self, path: Path, action: str, error: OSError, report: Report):
        super().__init__(f"{path}: {action}: {error.strerror or error}")
        self.path, self.report = path, report


@contextlib.contextmanager
def _failing_as(path: Path, action: str, report: Report) -> Iterator[None]:
    """Any OSError inside becomes a WriteError about `path`."""
    try:
        yield
    except OSError as error:
        raise WriteError(path, action, error, report) from None


@dataclass
class Report:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # --check
    stale: list[str] = field(default_factory=list)  # --check
    # Edited by hand since generated: --check lists them; compile keeps them unless `force`
    # (then they are in `written` too).
    edited: list[str] = field(default_factory=list)
    # Files of targets that no longer exist, edited by hand: kept unless `force` (then in `removed`).
    edited_leftovers: list[str] = field(default_factory=list)
    foreign: dict[str, str] = field(default_factory=dict)  # not ours (name -> why): never touched
    # Files an editor saved in another form (name -> "saved with CRLF line endings"): --check says so.
    saved_as: dict[str, str] = field(default_factory=dict)
    # What changed in the configuration of each file written (or, with --check, stale): "new",
    # "endpoints: +product", or "" when only the runtime changed (output/changes.py).
    changes: dict[str, str] = field(default_factory=dict)

    @property
    def differences(self) -> list[str]:
        def listed(kind: str, names: list[str]) -> list[str]:
            return [
                f"{kind}: {n}" + (f" ({self.saved_as[n]})" if n in self.saved_as else "")
                + (f" ({self.changes[n]})" if self.changes.get(n) and kind == "stale" and n not in self.saved_as else "")
                for n in names
            ]  # fmt: skip

        return sorted(
            listed("missing", self.missing)
            + listed("stale", self.stale)
            + listed("edited by hand", self.edited)
            + listed("no longer a target", self.removed)
        )


def _flushed_temporary(path: Path, text: str) -> str:
    """A temporary file next to `path` holding `text`, on the disk: what replaces `path`."""
    descriptor, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


class _Writer:
    """Files written atomically, several at once and as they come: a disk flushes several files
    in about the time of one (a thousand files took 2.5 s one at a time). Each goes to a
    flushed temporary file as soon as it is handed over (then renamed), its text then dropped
    (at most PENDING texts wait for a writer); `finish` puts them in place in the order they
    came. The first that failed stops there: the files before it are written, the others are as
    they were, and no temporary file is left; nothing else is written once one failed."""

    PENDING = 2 * WRITERS

    def __init__(self, out: Path, report: Report):
        self.out, self.report = out, report
        self.files: list[tuple[str, Path]] = []
        self.temporaries: list[str | None] = []
        self.failures: dict[int, OSError] = {}
        self.slots = threading.BoundedSemaphore(self.PENDING)
        self.pool: ThreadPoolExecutor | None = None
        self.pending: list = []

    def add(self, name: str, path: Path, text: str) -> None:
        if self.failures:
            return  # it would not be put in place
        index = len(self.files)
        self.files.append((name, path))
        self.temporaries.append(None)
        self.slots.acquire()
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=WRITERS)
        self.pending.append(self.pool.submit(self._prepare, index, path, text))

    def _prepare(self, index: int, path: Path, text: str) -> None:
        try:
            self.temporaries[index] = _flushed_temporary(path, text)
        except OSError as error:
            self.failures[index] = error
        finally:
            self.slots.release()

    def finish(self) -> None:
        """Every file in place, in order, or up to the first that failed (a WriteError)."""
        self._wait()
        for index, (name, path) in enumerate(self.files):
            if index in self.failures:
                raise WriteError(self.out / name, "not written", self.failures[index], self.report)
            with _failing_as(self.out / name, "not written", self.report):
                os.replace(self.temporaries[index], path)  # type: ignore[arg-type]
            self.temporaries[index] = None
            self.report.written.append(name)

    def _wait(self, cancel: bool = False) -> None:
        for future in self.pending if cancel else ():
            future.cancel()  # those not started (after an error); the pool waits for the others
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    def close(self) -> None:
        """Remove what was not put in place (after `finish`, or instead of it)."""
        self._wait(cancel=True)
        for temporary in self.temporaries:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)


def edited_by_hand(text: str) -> bool:
    """Whether a file that starts with the mark was changed since a compiler wrote it.

    A file with this version's header, or one that an earlier version with the same first line
    wrote (render.PAST_HEADERS), must hold a body that matches the digest it records; any other
    header under that first line is an edit. An older version's header (another first line) is
    comment lines, then the digest line, then the body, which must match the digest it records.
    No digest line at all: edited.
    """
    if text.startswith(MARKER + "\n"):
        recorded, body = split_header(text)
        return recorded is None or recorded != digest(body)
    offset = 0
    while text.startswith("#", offset):
        end = text.find("\n", offset)
        if end < 0:
            return True
        line = text[offset:end]
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX) :] != digest(text[end + 1 :])
        offset = end + 1
    return True


def _child(folder: Path, name: str) -> Path:
    """`folder / name`, refusing any name that would reach outside `folder` (a resolved path)."""
    separators = {os.sep, os.altsep or os.sep, "/", "\0"}
    path = folder / name
    if name in ("", ".", "..") or separators & set(name) or path.parent != folder:
        raise OutputError(f"{folder}: refusing to write {name!r}: every generated file goes directly in the output folder")
    return path


def output_folder(out: Path, create: bool) -> Path:
    """The resolved output folder, created if asked; an error when `out` is not a folder."""
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{out}: the output folder is a symbolic link to {os.readlink(out)}, which does not exist")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: the output folder is a file, not a folder; pass a folder with --out")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out.resolve()


@contextlib.contextmanager
def _writing(folder: Path, label: Path, report: Report, wait: float = 0) -> Iterator[None]:
    """One compile at a time writes to `folder`: a lock on the folder itself, which the kernel
    drops when the process ends, however it ends; at the end the folder's entries (renames,
    removals) are flushed to disk. With `wait`, another compile's lock is waited for that long
    (a `run` started while another compiles), else it is an error at once."""
    if fcntl is None:
        yield
        return
    with _failing_as(label, "cannot open the output folder to lock it", report):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        deadline, said = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputError(
                        f"{label}: another compile is writing to this folder; run again when it has finished"
                    ) from None
                if not said:
                    print(f"{label}: another compile is writing to this folder; waiting for it", file=sys.stderr, flush=True)
                    said = True
                time.sleep(0.2)
        yield
        with _failing_as(label, "cannot flush the output folder's entries to disk", report):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)  # also releases the lock


def as_saved(text: str) -> tuple[str, str]:
    """(the text as the compiler wrote it, how an editor saved it differently, or "").

    Editors may add a UTF-8 byte order mark or turn line endings into CRLF without anyone
    editing a line. Neither can be the compiler's own text (it writes neither, and a carriage
    return in a value is escaped in its literal), so undoing them only ever recognises the
    compiler's file: the content decides whether it is stale or edited by hand, and the form
    is said, and rewritten by the next compile."""
    forms = []
    if text.startswith("\ufeff"):
        text, forms = text[1:], ["a UTF-8 BOM"]
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
        forms.append("CRLF line endings")
    return text, ("saved with " + " and ".join(forms) if forms else "")


def _read(path: Path) -> tuple[str | None, str | None]:
    """(text, None) for a regular UTF-8 file; (None, why) for anything the compiler must treat as
    not its own; (None, None) when nothing is there. Never follows a symbolic link."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"cannot be inspected ({error.strerror or error})"
    if stat.S_ISLNK(info.st_mode):
        return None, "it is a symbolic link, which the compiler never follows, replaces or removes; move it away"
    if stat.S_ISDIR(info.st_mode):
        return None, "it is a folder; move it away"
    if not stat.S_ISREG(info.st_mode):
        return None, "it is not a regular file; move it away"
    try:
        descriptor = os.open(path, _READ_FLAGS)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, "it is not a regular file; move it away"
            data = handle.read()
    except OSError as error:
        return None, f"it cannot be read ({error.strerror or error}), so it is not taken for the compiler's; move it away"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text, so the compiler did not write it as it is; move it away"


def _read_as_written(path: Path, report: Report) -> tuple[str | None, str | None]:
    """`_read`, with an editor's BOM or CRLF undone and noted in the report."""
    current, why_foreign = _read(path)
    if current is None:
        return current, why_foreign
    current, saved_as = as_saved(current)
    if saved_as:
        report.saved_as[path.name] = saved_as
    return current, why_foreign


def _is_our_temporary(path: Path) -> bool:
    """A temporary file an interrupted compile left: our name, a regular file, and holding the
    start of a generated file (or nothing yet)."""
    if not TEMP_NAME.fullmatch(path.name):
        return False
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        descriptor = os.open(path, _READ_FLAGS)
        with os.fdopen(descriptor, "rb") as handle:
            head = handle.read(len(MARK.encode()))
    except OSError:
        return False
    return MARK.encode().startswith(head)


FOREIGN = "this file was not generated by the compiler; move it away"


def sync(
    out: Path, files: Mapping[str, str] | Iterable[tuple[str, str]], patterns: list[str] | None, check: bool,
    force: bool = False, verified: Collection[str] = (), wait: float = 0,
) -> Report:
    """Make `out` hold exactly `files` and the `verified` files among the generated files it
    selects. `files`: name -> text, or (name, text) pairs in the order of their names, taken one
    at a time (build.build_stream's), each judged and written to a temporary file as it comes;
    they are put in place once the last came, so an error raised by `files` writes nothing.

    Never touches a foreign file; keeps a file edited by hand unless `force`. With `check`,
    only compares. `verified` names files just read (regular files, not through a symbolic
    link) whose bytes are exactly what a full compile writes: they are unchanged, not read again."""
    report = Report()
    pairs = iter(sorted(files.items()) if isinstance(files, Mapping) else files)
    # The first file before the folder is locked: a build forks its processes as it starts, and
    # a process forked with the lock held would hold it as long as it lives (after a kill -9 too).
    first = next(pairs, None)
    pairs = itertools.chain([first] if first is not None else [], pairs)
    new = not check and not out.exists() and not out.is_symlink()
    with _failing_as(out, "cannot create the output folder", report):
        folder = output_folder(out, create=not check)
    try:
        with contextlib.nullcontext() if check else _writing(folder, out, report, wait):
            _sync(out, folder, pairs, patterns, check, force, report, set(verified))
    except ConfigError:  # raised by `files` after the last: a target's errors, nothing written
        if new:  # as when they were found before writing: no folder made for nothing
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        raise
    return report


def _sync(
    out: Path, folder: Path, files: Iterable[tuple[str, str]], patterns, check: bool, force: bool, report: Report,
    verified: set[str],
) -> None:
    """The work of `sync` inside the (locked) resolved folder; `out` is how messages name it."""
    with _failing_as(out, "cannot list the output folder", report):
        listed = sorted(folder.iterdir(), key=lambda entry: entry.name) if folder.is_dir() else []  # names: 10 times faster
    if not check:
        for entry in listed:  # left by an interrupted compile
            if _is_our_temporary(entry):
                with _failing_as(out / entry.name, "cannot remove this temporary file of an interrupted compile", report):
                    _child(folder, entry.name).unlink(missing_ok=True)
    report.unchanged += sorted(verified)
    names: set[str] = set()
    writer = _Writer(out, report)
    try:
        for name, text in files:
            names.add(name)
            if _judged(folder, name, text, check, force, report):
                writer.add(name, _child(folder, name), text)
        writer.finish()
    finally:
        writer.close()
    for path in [entry for entry in listed if entry.name.endswith(".py")]:
        if path.name in names or path.name in verified or not is_selected(path.stem, patterns):
            continue
        path = _child(folder, path.name)
        current, _why_foreign = _read_as_written(path, report)
        if current is None or not is_generated(current):
            continue  # not ours: left alone
        if edited_by_hand(current):
            report.edited_leftovers.append(path.name)
            if not (force or check):
                continue
        if not check:
            with _failing_as(out / path.name, "not removed", report):
                path.unlink(missing_ok=True)
        report.removed.append(path.name)


def _judged(folder: Path, name: str, text: str, check: bool, force: bool, report: Report) -> bool:
    """What one file is (foreign, unchanged, stale, edited, missing), in the report: whether to write it."""
    path = _child(folder, name)
    current, why_foreign = _read_as_written(path, report)
    if why_foreign is None and current is not None and not is_generated(current):
        why_foreign = FOREIGN
    if why_foreign is not None:
        report.foreign[name] = why_foreign
        return False
    if current == text and name not in report.saved_as:
        report.unchanged.append(name)
        return False
    edited = current is not None and edited_by_hand(current)
    if not edited:  # an edited file says so on its own line
        saved_as = report.saved_as.get(name)
        report.changes[name] = f"{saved_as}; written as generated" if saved_as else describe_changes(current, text)
    if check:
        (report.missing if current is None else report.edited if edited else report.stale).append(name)
        return False
    if edited:
        report.edited.append(name)
        if not force:
            return False
    return True
