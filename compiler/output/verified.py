"""Whether a file at a target's path holds the bytes the compiler wrote there, and what the
manifest (manifest.py) keeps to tell: the digest of those bytes, checked by reading them, and
the file's status (size, times, inode), checked without reading it.

A digest of a file's bytes skips the runtime every file ends with (compared byte for byte
instead), so that verifying thousands of files hashes a third of their bytes. A status is only
worth keeping when a later change could not keep it: every change to a file (its bytes, a
replacement, a restored modification time, a change of mode) sets its change time to the file
system's clock, which no program sets back; so a status is recorded only when that change time
is older than the clock read (`clock_of`) after the bytes were known.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from compiler.output.render import runtime_bytes, runtime_text
from compiler.output.write import TEMP_PREFIX

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def file_digest(data: bytes) -> str:
    """What the manifest records of a file's bytes. Every file ends with the same runtime (about
    two thirds of it): that part is compared with the runtime byte for byte, and only what comes
    before it is hashed, so that a no-op over thousands of files hashes a third of their bytes.
    The bytes are as verified as by a digest of the whole (a file that does not end with the
    runtime is hashed whole, under another prefix)."""
    runtime = runtime_bytes()
    if len(data) > len(runtime) and data.endswith(runtime):
        return "head:" + hashlib.sha256(memoryview(data)[: len(data) - len(runtime)]).hexdigest()
    return "whole:" + hashlib.sha256(data).hexdigest()


def text_digest(text: str) -> str:
    """file_digest of a text's UTF-8 bytes, without encoding the runtime it ends with."""
    runtime = runtime_text()
    if len(text) > len(runtime) and text.endswith(runtime):
        return "head:" + hashlib.sha256(text[: len(text) - len(runtime)].encode("utf-8")).hexdigest()
    return file_digest(text.encode("utf-8"))


def file_status(status: os.stat_result) -> list[int]:
    """What the manifest records of a file's status: size, modification and change times (ns),
    inode and device."""
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]


def clock_of(folder: Path) -> int | None:
    """The file system's clock now, as it stamps a file changed now: the change time of a new
    empty temporary file in `folder`, then removed (write.sync tidies one a kill left). None,
    and so no status recorded and every file read, when one cannot be made (no folder yet, a
    read-only one), and where change times cannot be trusted: on Windows (a file's creation),
    and on a file system whose change time follows a modification time set back (sshfs, s3fs
    and other FUSE file systems that report the one as the other)."""
    if os.name == "nt":
        return None
    try:
        descriptor, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError:
        return None
    try:
        made = os.fstat(descriptor).st_ctime_ns
        past = made - 86_400 * 10**9
        os.utime(descriptor, ns=(past, past))  # as `touch -r` does: the change time must stay now
        now = os.fstat(descriptor)
        return now.st_ctime_ns if now.st_ctime_ns >= made and now.st_ctime_ns != now.st_mtime_ns else None
    except OSError:
        return None
    finally:
        os.close(descriptor)
        with contextlib.suppress(OSError):
            os.unlink(name)


def has_status(path: Path, status: Any) -> bool:
    """Whether `path` is a regular file (not a symbolic link) with this recorded status. The
    file is opened, not only looked up: opening asks a network file system's server, where a
    lookup may answer from a cache a minute old."""
    if not isinstance(status, list):
        return False
    try:
        descriptor = os.open(path, _READ_FLAGS)
    except OSError:
        return False
    try:
        now = os.fstat(descriptor)
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return stat.S_ISREG(now.st_mode) and file_status(now) == status


def holds(path: Path, expected: str, clock: int | None) -> tuple[bool, list[int] | None]:
    """Whether `path` is a regular file whose bytes have digest `expected` (those bytes are then
    what the compiler wrote, UTF-8 text: they need not be decoded), and, if so, its status as it
    was before they were read, when it was last changed before the clock `clock` (else None)."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False, None
        descriptor = os.open(path, _READ_FLAGS)
        with os.fdopen(descriptor, "rb") as handle:
            before = os.fstat(handle.fileno())
            if not stat.S_ISREG(before.st_mode) or file_digest(handle.read()) != expected:
                return False, None
    except OSError:
        return False, None
    return True, file_status(before) if clock is not None and before.st_ctime_ns < clock else None
