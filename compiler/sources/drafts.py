"""Drafts for the MCP server's `validate`: a catalog and simulations given inline, as JSON text,
checked exactly as the same files on disk would be, and never written into the repository.

Why a folder: every check of the compiler reads files (the strict JSON loader, the simulations
the catalog names, the feeds a simulation reads). So the drafts go into a private temporary
folder laid out like the catalog's folder: the catalog under its own file name, each simulation
under the path the catalog names it by. What the catalog's folder holds beside them (the
simulations not drafted, the feeds) is linked there, read only, so a draft is checked against
the real files it refers to. Messages name files relative to that folder, which are the names
the agent gave: `catalog.json`, `simulations/orders.json`.

A draft is text from a client: its paths stay inside the catalog's folder (no `..`, nothing
absolute), for the simulations the catalog names and the feed files a simulation reads, so
that checking a draft never reads a file elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from compiler.problems import Problems, clipped, pointer_join
from compiler.sources.load import LABEL_BASE, MAX_FILE_BYTES

MAX_DRAFTS = 200  # simulations in one call; a catalog of more is validated on disk


class DraftError(Exception):
    """A draft that cannot be laid out (a path outside the catalog's folder): its problems."""

    def __init__(self, problems: Problems):
        super().__init__(f"{len(problems.items)} problem(s)")
        self.problems = problems


def unsafe_path(path: str) -> str | None:
    """Why a path a draft names could reach outside the catalog's folder, or None."""
    if not path or "\0" in path or "\\" in path:
        return "is empty or holds a backslash or a NUL character"
    posix = PurePosixPath(path)
    if posix.is_absolute() or os.path.isabs(path):
        return "is absolute"
    if ".." in posix.parts:
        return "goes up with '..'"
    return None


def _feed_files(simulation: Any) -> Iterator[tuple[str, Any]]:
    """(pointer, value) of every feed `file` a simulation sets, in the template and its layers."""
    if not isinstance(simulation, dict):
        return
    places = [("", simulation)]
    overrides = simulation.get("overrides")
    if isinstance(overrides, dict):
        for kind, layers in overrides.items():
            if isinstance(layers, dict):
                places += [(pointer_join("/overrides", kind, name), layer) for name, layer in layers.items()]
    for pointer, layer in places:
        feeds = layer.get("feeds") if isinstance(layer, dict) else None
        for name, feed in (feeds.items() if isinstance(feeds, dict) else ()):
            if isinstance(feed, dict) and "file" in feed:
                yield pointer_join(pointer, "feeds", name, "file"), feed["file"]


def _lenient(text: str) -> Any:
    """The draft's data for the path checks only; the strict loader judges the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def check_paths(catalog_name: str, catalog_text: str, simulations: dict[str, str]) -> Problems:
    """Every path of a draft that would leave the catalog's folder, as problems."""
    problems = Problems()
    if len(simulations) > MAX_DRAFTS:
        problems.add(catalog_name, "", f"{len(simulations)} simulations given; at most {MAX_DRAFTS} in one call")
    for name in sorted(simulations):
        why = unsafe_path(name)
        if why is not None:
            problems.add(clipped(name), "", f"a draft's simulation path {why}; name it relative to the catalog's folder, as the catalog does")
        elif PurePosixPath(name) == PurePosixPath(catalog_name):
            problems.add(name, "", "is the catalog's own name; give the catalog as `catalog`")
    catalog = _lenient(catalog_text)
    apps = catalog.get("apps") if isinstance(catalog, dict) else None
    for app, entry in (apps.items() if isinstance(apps, dict) else ()):
        relative = entry.get("simulation") if isinstance(entry, dict) else None
        if isinstance(relative, str) and relative and unsafe_path(relative):
            problems.add(catalog_name, pointer_join("/apps", app, "simulation"),
                         f"{relative!r} {unsafe_path(relative)}; a draft may name only simulations inside the catalog's folder")  # fmt: skip
    for name, text in sorted(simulations.items()):
        for pointer, file in _feed_files(_lenient(text)):
            if isinstance(file, str) and file and unsafe_path(file):
                problems.add(name, pointer, f"{file!r} {unsafe_path(file)}; a draft may read only feed files inside the catalog's folder")
    return problems


def _link_folder(real: Path, copy: Path, drafted: list[PurePosixPath], skip: set[Path]) -> None:
    """Make `copy` show what `real` holds, linking each entry, except the drafted paths, which
    get real folders on their way (the drafts themselves are written afterwards)."""
    copy.mkdir(parents=True, exist_ok=True)
    here = {path.parts[0] for path in drafted if len(path.parts) == 1}
    below = {path.parts[0] for path in drafted if len(path.parts) > 1}
    try:
        entries = sorted(real.iterdir()) if real.is_dir() else []
    except OSError:
        entries = []
    for entry in entries:
        if entry.name in here or entry.absolute() in skip:
            continue
        if entry.name in below:
            if entry.is_dir():
                inner = [PurePosixPath(*p.parts[1:]) for p in drafted if len(p.parts) > 1 and p.parts[0] == entry.name]
                _link_folder(entry, copy / entry.name, inner, skip)
            continue  # a file where a draft needs a folder: the draft wins
        (copy / entry.name).symlink_to(entry.absolute())


@contextlib.contextmanager
def draft_folder(
    catalog: Path, catalog_text: str | None, simulations: dict[str, str], skip: tuple[Path, ...] = ()
) -> Iterator[Path]:
    """The path of the draft catalog in a private temporary folder laid out like `catalog`'s
    folder, with labels relative to that folder while it is used; removed afterwards.

    `catalog_text` None takes the catalog on disk as it is. `skip` names folders of the
    catalog's folder not to show (the run results). DraftError when a path leaves the folder."""
    name = catalog.name or "catalog.json"
    if catalog_text is None:  # the catalog on disk, byte for byte
        try:
            catalog_bytes = catalog.read_bytes()[: MAX_FILE_BYTES + 1]
        except OSError:
            catalog_bytes = b""  # the loader says what is wrong with it
        catalog_text = catalog_bytes.decode("utf-8", "replace")
    else:
        # One byte more than a config file may hold is enough for the loader to refuse it.
        catalog_bytes = catalog_text.encode("utf-8", "surrogatepass")[: MAX_FILE_BYTES + 1]
    problems = check_paths(name, catalog_text, simulations)
    if problems.items:
        raise DraftError(problems)
    root = Path(os.path.realpath(tempfile.mkdtemp(prefix="simc-draft-")))
    token = LABEL_BASE.set(str(root))
    try:
        drafted = [PurePosixPath(name)] + [PurePosixPath(path) for path in simulations]
        _link_folder(catalog.absolute().parent, root, drafted, {path.absolute() for path in skip})
        drafts = [(name, catalog_bytes)]
        drafts += [(path, text.encode("utf-8", "surrogatepass")[: MAX_FILE_BYTES + 1]) for path, text in simulations.items()]
        for path, data in drafts:
            target = root.joinpath(*PurePosixPath(path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield root / name
    finally:
        LABEL_BASE.reset(token)
        shutil.rmtree(root, ignore_errors=True)
