"""Run records read back: the run folders of a results folder, a target's runs newest first, and
the record a run left (`run.json`).

A name a user or a client gives is checked before use: a run folder is
`<results>/<target>/<UTC time>` and never a folder outside the results folder ('..' refused,
links resolved). Errors are UsageError lines, as both faces print them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from compiler.problems import UsageError, display_path

TARGET_NAME = re.compile(r"^[a-z][a-z0-9-]*_[a-z][a-z0-9-]*_[a-z][a-z0-9-]*$")
RUN_FOLDER = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


def run_folder(results: Path, given: str) -> Path:
    """A run folder named by a user: <results>/<target>/<time>, relative to the current folder
    or to the results folder, never outside the results folder (no '..', links resolved)."""
    results = results.resolve()
    usage = f"name one as {display_path(results)}/<target>/<UTC time> (get_run with a target finds its latest)"
    if not given or "\0" in given or ".." in Path(given).parts:
        raise UsageError(f"run folder {given[:200]!r} is not one: {usage}; '..' is not allowed")
    path = Path(given)
    for candidate in [path] if path.is_absolute() else [Path.cwd() / path, results / path]:
        resolved = candidate.resolve()
        if resolved.is_relative_to(results) and len(resolved.relative_to(results).parts) == 2 and resolved.is_dir():
            return resolved
    raise UsageError(f"{given[:200]!r} is not a run folder under {display_path(results)}: {usage}")


def runs_of(results: Path, target: str) -> list[Path]:
    """A target's run folders, newest first: real folders within the results folder only (a
    link could lead a reader anywhere)."""
    folder = results / target
    if folder.is_symlink() or not folder.is_dir():
        return []
    inside = results.resolve()
    found = [
        p for p in folder.iterdir()
        if RUN_FOLDER.match(p.name) and not p.is_symlink() and p.is_dir() and p.resolve().is_relative_to(inside)
    ]  # fmt: skip

    def key(path: Path) -> tuple[str, int]:
        stamp, _, number = path.name.partition("-")
        return stamp, int(number or 1)

    return sorted(found, key=key, reverse=True)


def all_runs(results: Path) -> list[tuple[str, str]]:
    """(target, run folder name) of every run with a record, newest first within each target."""
    targets = sorted(p.name for p in results.iterdir() if p.is_dir() and TARGET_NAME.match(p.name)) if results.is_dir() else []
    return [(target, run.name) for target in targets for run in runs_of(results, target) if (run / "run.json").is_file()]


def read_record(folder: Path) -> dict:
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except OSError:
        raise UsageError(f"{display_path(folder)}: no run.json; the run wrote no record (see its locust.log)") from None
    except ValueError as error:
        raise UsageError(f"{display_path(folder / 'run.json')}: not JSON ({error})") from None
    if not isinstance(record, dict):
        raise UsageError(f"{display_path(folder / 'run.json')}: not a run record")
    return record


def latest_run(results: Path, target: str) -> Path:
    """The newest run folder of a target, or a UsageError saying there is none."""
    if not TARGET_NAME.match(target):
        raise UsageError(f"{target[:200]!r} is not a target name (<app>_<environment>_<country>)")
    found = runs_of(results, target)
    if not found:
        raise UsageError(f"no run of {target} in {display_path(results)}; the run tool makes one")
    return found[0]
