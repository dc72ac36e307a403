"""The `import` command's work: read the input, draft, validate the draft, write it.

The draft is validated as `validate` would check it, before anything is written: in a private
folder, with a catalog that holds only the new app (for the environments and countries that
`--catalog-entry` names, with their variables and limits, else one placeholder target), so
the simulation's schema, references and every target's resolution are judged, and nothing
else of the user's catalog can stand in the way. A draft that fails is a bug of the importer:
its problems are reported and nothing is written.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from compiler.importers import writing
from compiler.importers.drafts import Draft, ImportError_
from compiler.problems import ConfigError, Problems, UsageError
from compiler.resolve.catalog import resolve_all
from compiler.sources.load import LABEL_BASE, is_yaml, load_document
from compiler.sources.targets import compatible_targets
from compiler.sources.validate import load_inputs


MAX_IMPORT_BYTES = 200 * 1024 * 1024  # a browser's HAR with every answer's content is often tens of MiB


@dataclass(frozen=True)
class Imported:
    """What `import` wrote, and the lines it prints: the file, the guesses, what was left out,
    the environment variables a run needs, and any warning of the validation."""

    path: Path
    simulation: dict
    lines: list[str]


def _draft(kind: str, source: str, app: str, host: str | None, pauses: bool, problems: Problems) -> tuple[Draft, str]:
    document = load_document(Path(source), problems, strict=False, max_bytes=MAX_IMPORT_BYTES)
    problems.raise_if_errors()
    assert document is not None
    try:
        if kind == "openapi":
            from compiler.importers.openapi import import_openapi, validate_document

            validate_document(document.data, document.label)
            draft = import_openapi(document.data, document.label, app, host)
            return draft, f"{len(draft.simulation['endpoints'])} endpoint(s) from {document.label}"
        from compiler.importers.har import import_har

        draft = import_har(document.data, document.label, app, host, pauses)
        steps = [s for s in draft.simulation["flows"][0]["steps"] if "pause" not in s]
        return draft, f"one flow of {len(steps)} request(s), in the recorded order, from {document.label}"
    except (AttributeError, TypeError, KeyError, IndexError) as error:  # a shape no check above foresaw
        problems.add(document.label, "", f"is not {'an OpenAPI document' if kind == 'openapi' else 'a HAR file'} this importer can read "
                     f"({type(error).__name__}: {error}); please report it with the file")  # fmt: skip
        raise ConfigError(problems.items) from None
    except RecursionError:  # a cycle no check above found: a message, never a traceback
        problems.add(document.label, "", "a $ref cycle or a nesting too deep to follow: check the $refs that lead back "
                     "to themselves, and make one of them the definition")  # fmt: skip
        raise ConfigError(problems.items) from None
    except ImportError_ as error:
        for file, pointer, message in error.problems:
            problems.add(file or document.label, pointer, message)
        raise ConfigError(problems.items) from None


def _validated(catalog: dict, relative: str, text: str) -> Problems:
    """The draft checked as `validate` checks files: every problem, labels as in the draft folder."""
    checked = Problems()
    folder = Path(tempfile.mkdtemp(prefix="simc-import-"))
    token = LABEL_BASE.set(str(folder))
    try:
        (folder / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
        inputs = load_inputs(folder / "catalog.json", checked)
        if inputs is not None:
            resolve_all(inputs, [ref for ref in compatible_targets(inputs.catalog.data) if inputs.can_resolve(ref)], checked)
    finally:
        LABEL_BASE.reset(token)
        shutil.rmtree(folder, ignore_errors=True)
    return checked


def import_file(kind: str, source: str, app: str, catalog: str, out: str | None, force: bool, host: str | None,
                pauses: bool, entry: tuple[list[str], list[str]] | None, problems: Problems) -> Imported:  # fmt: skip
    """The file written, the simulation and the lines to print; UsageError for a request that
    cannot be carried out (a file that exists without `force`), ConfigError for the input's problems."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", app):
        raise UsageError(f"--app {app!r}: an app's name is lowercase letters, digits and '-', starting with a letter")
    if host is not None and not re.fullmatch(r"https?://[^/\s?#]+", host):
        raise UsageError(f"--host {host!r}: give an origin, http:// or https:// and a host, like http://127.0.0.1:8765")
    catalog_file = Path(catalog)
    target = Path(out) if out else catalog_file.parent / "simulations" / f"{app}.json"
    if target.suffix.lower() != ".json":
        raise UsageError(f"--out {target}: import writes JSON; name a .json file")
    if target.exists() and not force:
        raise UsageError(f"{target}: exists; nothing written (add --force to overwrite it)")
    listed = None
    if entry:
        loaded = Problems()
        inputs = load_inputs(catalog_file, loaded)
        if inputs is None:
            for problem in loaded.items:
                problems.add(problem.file, problem.pointer, problem.message, problem.level)
            raise ConfigError(problems.items)
        listed = inputs.catalog.data
        unknown = [f"environment {e!r}" for e in entry[0] if e not in listed["environments"]]
        unknown += [f"country {c!r}" for c in entry[1] if c not in listed["countries"]]
        if unknown:
            raise UsageError(f"--catalog-entry: {', '.join(unknown)} not in {catalog}; nothing written")
        if app in listed["apps"]:
            raise UsageError(f"--catalog-entry: {catalog} has an app {app!r} already; nothing written")
    draft, what = _draft(kind, source, app, host, pauses, problems)
    text = writing.simulation_text(draft.simulation)
    try:
        relative = target.absolute().relative_to(catalog_file.absolute().parent).as_posix()
    except ValueError:
        relative = f"simulations/{app}.json"
    app_entry: dict = {"simulation": relative}
    if entry and listed is not None:
        app_entry.update(environments=entry[0], countries=entry[1])
        draft_catalog = {"environments": {e: listed["environments"][e] for e in entry[0]},
                         "countries": {c: listed["countries"][c] for c in entry[1]}, "apps": {app: app_entry}}  # fmt: skip
    else:
        draft_catalog = {"environments": {"import": {}}, "countries": {"xx": {}},
                         "apps": {app: {**app_entry, "environments": ["import"], "countries": ["xx"]}}}  # fmt: skip
    checked = _validated(draft_catalog, relative, text)
    if checked.errors:
        for problem in checked.items:
            problems.add(problem.file, problem.pointer, f"the draft is not valid (an importer's bug; please report it): {problem.message}")
        raise ConfigError(problems.items)
    lines = [str(problem) for problem in checked.items]  # warnings
    writing.write_atomically(target, text)
    lines += writing.report(draft, str(target), what)
    if entry:
        changed = None if is_yaml(catalog_file) else writing.with_app(catalog_file.read_text(encoding="utf-8"), app, app_entry)
        if changed is None:
            lines.append(f"add this under apps in {catalog} (a YAML catalog is not rewritten): {app}: {json.dumps(app_entry)}")
        else:
            writing.write_atomically(catalog_file, changed)
            lines.append(f"added the app {app!r} to {catalog} for {', '.join(entry[0])} and {', '.join(entry[1])}")
    else:
        lines.append(f"next: list the app in {catalog} (or import with --catalog-entry ENVIRONMENTS COUNTRIES), then validate and compile")
    return Imported(target, draft.simulation, lines)
