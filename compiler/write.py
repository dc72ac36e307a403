"""Stage 5, write: put generated files in place atomically, tidy, or only compare (--check).

A file is written to a temporary name in the same folder and renamed over the old one, so a
reader (or an interrupted compile) sees the old file or the new one, never half of one. Only
files that carry the compiler's header are ever replaced or removed; anything else in the
output folder is left alone. Each file records the digest of its body, which tells a stale file
(body intact, inputs changed) from one edited by hand.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from compiler.render import is_generated, split_header, digest
from compiler.targets import is_selected

TEMP_PREFIX = ".compiler-"


@dataclass
class Report:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # --check
    stale: list[str] = field(default_factory=list)  # --check
    edited: list[str] = field(default_factory=list)  # hand-edited: --check lists, compile overwrites
    foreign: list[str] = field(default_factory=list)  # not ours: never touched

    @property
    def differences(self) -> list[str]:
        return sorted(
            [f"missing: {n}" for n in self.missing]
            + [f"stale: {n}" for n in self.stale]
            + [f"edited by hand: {n}" for n in self.edited]
            + [f"no longer a target: {n}" for n in self.removed]
        )


def write_atomically(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _edited(text: str) -> bool:
    recorded, body = split_header(text)
    return recorded is None or recorded != digest(body)


def sync(out: Path, files: dict[str, str], patterns: list[str] | None, check: bool) -> Report:
    """Make `out` hold exactly `files` (name -> text) among the generated files it selects."""
    report = Report()
    if not check:
        out.mkdir(parents=True, exist_ok=True)
        for leftover in out.glob(TEMP_PREFIX + "*.tmp"):  # from an interrupted compile
            leftover.unlink(missing_ok=True)
    for name, text in sorted(files.items()):
        path = out / name
        current = path.read_text("utf-8") if path.is_file() else None
        if current == text:
            report.unchanged.append(name)
            continue
        if current is not None and not is_generated(current):
            report.foreign.append(name)
            continue
        if check:
            if current is None:
                report.missing.append(name)
            else:
                (report.edited if _edited(current) else report.stale).append(name)
            continue
        if current is not None and _edited(current):
            report.edited.append(name)
        write_atomically(path, text)
        report.written.append(name)
    if out.is_dir():
        for path in sorted(out.glob("*.py")):
            if path.name in files or not is_selected(path.stem, patterns):
                continue
            if is_generated(path.read_text("utf-8", errors="replace")):
                report.removed.append(path.name)
                if not check:
                    path.unlink()
    return report
