"""What a compile did (or, with --check, found), and the lines the command line prints of it:
per file what changed, what was kept, the counts. The MCP server returns the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler.output.write import Report, WriteError
from compiler.problems import EXIT_DIFFERENCES, EXIT_INVALID, EXIT_OK

KEPT_EDITED = (
    "not written: edited by hand since it was generated; move your changes into the catalog, the "
    "simulation or templates/ and compile again, or run `compile --force` to overwrite them"
)
KEPT_LEFTOVER = (
    "not removed: its target no longer exists, but it was edited by hand; keep what you need, then "
    "delete it or run `compile --force`"
)


@dataclass
class Compiled:
    """What a compile did (or, with `check`, found), and the lines the command line prints."""

    out: Path
    files: list[str]  # name.py of the targets resolved and rendered
    verified: set[str]  # name.py of the others: their files hold what a full compile writes
    report: Report
    check: bool
    force: bool
    stopped: WriteError | None = None  # the error that stopped writing, after `report`'s work

    @property
    def kept(self) -> list[str]:
        return [] if self.force else self.report.edited + self.report.edited_leftovers

    @property
    def code(self) -> int:
        if self.stopped is not None:
            return EXIT_INVALID
        if self.check:
            return EXIT_DIFFERENCES if self.report.differences or self.report.foreign else EXIT_OK
        return EXIT_INVALID if self.report.foreign or self.kept else EXIT_OK

    def messages(self, changes: bool = True) -> list[tuple[str, str]]:
        """("stdout" or "stderr", line), in the order they are printed; `changes`: with the
        lines that say what changed in each file written (`run` leaves them out)."""
        out, report, lines = self.out, self.report, []
        for name, why in report.foreign.items():
            lines.append(("stderr", f"{out / name}: not written: {why}"))
        if self.stopped is not None:
            return lines + self._stopped_lines()
        if self.check:
            lines += [("stdout", f"{out}: {line}") for line in report.differences]
            if report.differences or report.foreign:
                return lines + [("stderr", f"{out}: differs from the sources; run `make compile` and review the diff")]
            return lines + [("stdout", f"{out}: up to date ({len(self.files) + len(self.verified)} file(s))")]
        for names, forced, kept in (
            (report.edited, "overwrote changes made by hand (--force)", KEPT_EDITED),
            (report.edited_leftovers, "removed with changes made by hand (--force)", KEPT_LEFTOVER),
        ):
            lines += [("stderr", f"{out / name}: {forced if self.force else kept}") for name in names]
        lines += self._change_lines() if changes else []
        return lines + [(
            "stdout",
            f"{out}: {len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed"
            + (f", {len(self.kept)} kept (edited by hand)" if self.kept else ""),
        )]  # fmt: skip

    def _change_lines(self) -> list[tuple[str, str]]:
        """Per file written, what changed in its configuration, so a reviewer knows which diffs
        to read; the files whose configuration did not change, counted on one line."""
        changes = self.report.changes
        lines = [("stdout", f"{self.out / name}: {changes[name]}") for name in self.report.written if changes.get(name)]
        runtime_only = [name for name in self.report.written if changes.get(name) == ""]
        if runtime_only:
            lines.append(("stdout", f"{self.out}: {len(runtime_only)} file(s) changed only outside the configuration "
                                    "(the runtime or the header: the same change in every file)"))  # fmt: skip
        return lines

    def _stopped_lines(self) -> list[tuple[str, str]]:
        """The error that stopped a compile, and what it had done: files written before it are
        complete, the others are as they were (never half-written). `--check` had written nothing."""
        report = self.report
        lines = [("stderr", f"error: {self.stopped}")]
        if not self.check:
            lines.append((
                "stdout",
                f"{self.out}: {len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed, "
                "then stopped by the error above; the other files are as they were",
            ))  # fmt: skip
        return lines
