"""The fast path of compile and `compile --check`: skip the targets whose inputs did not change.

A compile leaves `<out>/.compiler-manifest.json` (git-ignored, never a generated or a foreign
file: `write.sync` only looks at `*.py` files and its own temporary files). For each target it
records a claim: "with inputs whose digests are K, the full compile writes a file whose bytes
have digest D". K covers everything a target's text depends on:

- the compiler itself: every file of the package (code, runtime, schemas, templates), the
  versions of Python, black, Jinja2 and ruamel.yaml (which reads YAML sources), and this file's
  FORMAT;
- where it runs: the current folder (labels), the catalog's real path and name;
- the catalog's parts the target reads (its environment, its country, its app), the bytes of its
  simulation (JSON or YAML alike: a YAML file's anchors and merge keys are in its bytes), the state of every feed file its resolution read (declared and unused ones too);
- the hosts of the catalog's protected targets, which every file carries: for each protected
  target in order, its entry, taken from the manifest when that target's own inputs did not
  change, else resolved now.

A claim is never trusted over the files: a target is skipped only when K is the same now and
the file at its path holds bytes of digest D, and then the "rendered" text is those very bytes,
which are what a full compile writes. The file holds them when it is read and hashed, or, as
git trusts its index, when its status (size, modification and change times in nanoseconds,
inode, device) is the one recorded when its bytes were last known to be D (verified.py: when
a status is worth recording). Anything else (a manifest missing, corrupt, from another
compiler, a file edited, saved otherwise, missing, a symbolic link) sends that target through
the full path: resolve, render, and `write.sync`, which judges every file as it always did. The
whole catalog is still loaded and validated on every run, so errors and warnings are the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from compiler.output import verified
from compiler.resolve.model import Limits, ProtectedHost, Target, host_entry
from compiler.resolve.target import resolve_target
from compiler.sources.feeds import read_state
from compiler.sources.load import label_base
from compiler.sources.targets import TargetRef, compatible_targets
from compiler.sources.validate import Inputs

NAME = ".compiler-manifest.json"
FORMAT = 3  # 2: protected targets' entries hold their ProtectedHost; 3: and their file's status
PACKAGE = Path(__file__).parent.parent
VERIFIERS = 4  # files read and hashed at once (the threads end before a build forks)
VERIFIED_AT_ONCE = 50  # files handed to a thread at a time


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@cache
def compiler_digest() -> str:
    """The compiler's own inputs: every file of the package, the templates, and the versions of
    what renders and formats."""
    versions = "\0".join(map(_installed_version, ("black", "jinja2", "ruamel.yaml")))
    digest = hashlib.sha256(f"{FORMAT}\0{sys.version}\0{versions}\0".encode())
    files = [p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += [p for p in (PACKAGE / "templates").resolve().rglob("*") if p.is_file()]
    for path in sorted(set(files)):
        digest.update(str(path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.name).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _installed_version(name: str) -> str:
    """A package's version without importing it (black takes 0.1 s to import; importlib.metadata
    0.03 s): from the name of its .dist-info folder next to it, else from importlib.metadata."""
    spec = find_spec(name)
    if spec is not None and spec.origin:
        site = Path(spec.origin).parents[name.count(".") + 1]  # ruamel/yaml/__init__.py: two up
        with contextlib.suppress(OSError):
            for entry in os.listdir(site):
                stem, _, version = entry.removesuffix(".dist-info").partition("-")
                if entry.endswith(".dist-info") and stem.lower() == name.lower():
                    return version
    from importlib import metadata

    return metadata.version(name)


@dataclass(frozen=True)
class Made:
    """What the manifest records of a target rendered: a compile keeps it, not the file's text."""

    name: str
    feeds_read: tuple[tuple[str, str], ...]
    host: str | None  # resolve.model.host_entry of a target in a protected environment
    output: str  # the digest of its file's bytes
    protected: dict | None = None  # its ProtectedHost as JSON (protected_entry), when it has one


@dataclass(frozen=True)
class Built:
    """One target rendered: its file, and what the manifest records of it."""

    text: str
    made: Made

    @property
    def name(self) -> str:
        return self.made.name

    @classmethod
    def of(cls, text: str, target: Target) -> Built:
        host, protected = (host_entry(target), protected_entry(target)) if target.protected else (None, None)
        return cls(text, Made(target.name, tuple(target.feeds_read), host, verified.text_digest(text), protected))


def protected_entry(target: Target) -> dict | None:
    """A protected target's ProtectedHost as the manifest keeps it, so that a compile of some
    targets need not resolve every protected one again for the hosts every file carries; None
    for a host read at run time (then it is resolved)."""
    if not isinstance(target.host, str):
        return None
    limits = target.limits
    return {"host": target.host, "environment": target.environment,
            "limits": [limits.max_users, limits.max_spawn_rate, limits.max_run_time]}  # fmt: skip


def protected_host(entry: dict) -> ProtectedHost | None:
    """The ProtectedHost a manifest entry records (protected_entry), if it records one."""
    found = entry.get("protected")
    if not isinstance(found, dict):
        return None
    return ProtectedHost(found["host"], found["environment"], Limits(*found["limits"]))


@dataclass
class Plan:
    # name.py of the files that hold exactly the bytes a full compile writes (read, not decoded)
    reused: set[str] = field(default_factory=set)
    todo: list[TargetRef] = field(default_factory=list)  # through the full path
    entries: dict[str, dict] = field(default_factory=dict)  # target name -> its entry for the next manifest
    hosts: str = ""
    resolved: dict[str, Any] = field(default_factory=dict)  # name -> resolve_target's answer, for build
    protected: dict[str, ProtectedHost] = field(default_factory=dict)  # of the other protected targets
    statuses: dict[str, list[int]] = field(default_factory=dict)  # name -> its reused file's status to record
    clock: int | None = None  # the file system's clock before any file was read (clock_of)


class Manifest:
    def __init__(self, inputs: Inputs, out: Path, recording: bool = True):
        """`recording`: whether this compile may save a manifest (not with --check): then the
        file system's clock is read, in a temporary file, before files are read."""
        self.inputs, self.out, self.recording = inputs, out, recording
        self.context = _sha(json.dumps([compiler_digest(), label_base(), str(inputs.catalog.path), inputs.catalog.label]))
        self.old = _read_manifest(out / NAME)
        self.hosts = ""
        self.new: dict[str, dict] = {}
        self._dumped: dict[tuple[str, str], str] = {}
        self._app_parts: dict[str, tuple[str, str]] = {}  # app -> (its entry's JSON, its simulation's digest's)

    def own_key(self, ref: TargetRef, feeds_read: dict[str, str]) -> str:
        """The digest of the JSON list [context, catalog name, environment, country, app,
        simulation's digest, feeds read]; each catalog entry's JSON made once, not per target."""
        app_parts = self._app_parts.get(ref.app)
        if app_parts is None:
            simulation = self.inputs.simulations.get(self.inputs.catalog.data["apps"][ref.app]["simulation"])
            app_parts = self._app_parts[ref.app] = (self._json("apps", ref.app), _dumps(simulation.digest if simulation else None))
        parts = [
            self._json("", self.context), self._json("", self.inputs.catalog.path.name),
            self._json("environments", ref.environment), self._json("countries", ref.country), *app_parts,
            _dumps(sorted(feeds_read.items())) if feeds_read else "[]",
        ]  # fmt: skip
        return _sha("[" + ", ".join(parts) + "]")  # what json.dumps writes of the list

    def _json(self, kind: str, name: str) -> str:
        key = (kind, name)
        found = self._dumped.get(key)
        if found is None:
            found = self._dumped[key] = _dumps(self.inputs.catalog.data[kind][name] if kind else name)
        return found

    def _unchanged_entry(self, ref: TargetRef) -> dict | None:
        """The manifest's entry of a target whose own inputs are the same now, else None."""
        entry = self.old.get(ref.name)
        if entry is None or not self.inputs.can_resolve(ref):
            return None
        feeds_now = {path: read_state(Path(path)) for path in entry["feeds"]}
        if feeds_now != entry["feeds"] or self.own_key(ref, feeds_now) != entry["own"]:
            return None
        return entry

    def plan(self, refs: list[TargetRef]) -> Plan:
        catalog = self.inputs.catalog.data
        entries: dict[str, dict] = {}
        resolved: dict[str, Any] = {}
        known: dict[str, ProtectedHost] = {}
        hosts = []
        for ref in compatible_targets(catalog):  # the protected hosts every file carries
            if not catalog["environments"].get(ref.environment, {}).get("protected", False):
                continue
            entry = self._unchanged_entry(ref)
            if entry is None or entry.get("host") is None:
                target = None
                if self.inputs.can_resolve(ref):
                    resolved[ref.name] = resolve_target(self.inputs, ref)
                    target = resolved[ref.name][0]
                entry = None if target is None else self._entry(ref, dict(target.feeds_read), host_entry(target),
                                                                protected_entry(target))  # fmt: skip
            if entry is not None:
                entries[ref.name] = entry
                if ref.name not in resolved and protected_host(entry) is not None:
                    known[ref.name] = protected_host(entry)
            hosts.append([ref.name, None if entry is None else entry["host"]])
        self.hosts = _sha(json.dumps(hosts, ensure_ascii=False))
        plan = Plan(hosts=self.hosts, resolved=resolved, protected=known)
        candidates: list[tuple[TargetRef, dict | None, str | None]] = []
        held: dict[str, list[int]] = {}  # name -> the recorded status its file still has
        for ref in refs:
            entry = entries.get(ref.name) or self._unchanged_entry(ref)
            old = self.old.get(ref.name) or {}
            same = entry is not None and entry["own"] == old.get("own") and old.get("hosts") == self.hosts
            candidates.append((ref, entry, old.get("output") if same else None))
            if same and old.get("output") and verified.has_status(self.out / f"{ref.name}.py", old.get("file")):
                held[ref.name] = old["file"]
        if self.recording and any(output and ref.name not in held for ref, _entry, output in candidates):
            plan.clock = verified.clock_of(self.out)  # before verify reads them

        def verify(part: list[tuple[TargetRef, dict | None, str | None]]) -> list[tuple[bool, list[int] | None]]:
            return [(True, held[ref.name]) if ref.name in held else
                    verified.holds(self.out / f"{ref.name}.py", output, plan.clock) if output else (False, None)
                    for ref, _entry, output in part]  # fmt: skip

        parts = [candidates[start : start + VERIFIED_AT_ONCE] for start in range(0, len(candidates), VERIFIED_AT_ONCE)]
        with ThreadPoolExecutor(max_workers=VERIFIERS) as pool:  # reading and hashing release the GIL
            results = [found for part in pool.map(verify, parts) for found in part]
        for (ref, entry, _output), (holds, status) in zip(candidates, results):
            if holds:
                plan.reused.add(f"{ref.name}.py")
                entries[ref.name] = entry  # type: ignore[assignment]
                if status is not None:
                    plan.statuses[ref.name] = status
            else:
                plan.todo.append(ref)
        plan.entries = entries
        return plan

    def _entry(self, ref: TargetRef, feeds_read: dict[str, str], host: str | None, protected: dict | None) -> dict:
        return {"own": self.own_key(ref, feeds_read), "feeds": feeds_read, "host": host, "protected": protected}

    def save(self, plan: Plan, made: list[Made], refs: list[TargetRef], in_place: list[str]) -> None:
        """Record the targets whose file now holds exactly what the full compile writes
        (`in_place`: written or unchanged, of those `made` and `plan.reused`), keeping the other
        current targets' entries."""
        by_name = {item.name: item for item in made}
        statuses = self._statuses({name: by_name[name[: -len(".py")]].output for name in in_place
                                   if name not in plan.reused and name[: -len(".py")] in by_name})  # fmt: skip
        compatible = {ref.name: ref for ref in compatible_targets(self.inputs.catalog.data)}
        selected = {ref.name for ref in refs}
        records: dict[str, dict] = {
            name: entry for name, entry in self.old.items() if name in compatible and name not in selected
        }
        for name, entry in plan.entries.items():  # protected ones seen for the hosts too
            old = records.get(name) or {}
            same = old.get("own") == entry["own"]
            records[name] = {**entry, "hosts": old.get("hosts") if same else None, "output": old.get("output") if same else None,
                             "file": old.get("file") if same else None}  # fmt: skip
        for file_name in in_place:
            name = file_name[: -len(".py")]
            if name not in selected:
                continue
            entry = plan.entries.get(name)
            if entry is None and name in by_name:
                made = by_name[name]
                entry = self._entry(compatible[name], dict(made.feeds_read), made.host, made.protected)
            if entry is not None:
                output = self.old[name]["output"] if file_name in plan.reused else by_name[name].output
                status = plan.statuses.get(name) if file_name in plan.reused else statuses.get(file_name)
                records[name] = {**entry, "hosts": plan.hosts, "output": output, "file": status}
        if records != self.old:
            _write_manifest(self.out / NAME, records)
        else:  # left by a compile killed while writing the manifest
            with contextlib.suppress(OSError):
                (self.out / (NAME + ".tmp")).unlink(missing_ok=True)

    def _statuses(self, expected: dict[str, str]) -> dict[str, list[int] | None]:
        """The statuses to record of files just put in place (written, or found unchanged by
        `write.sync`): name -> digest of the bytes the full compile writes. Each is read back
        after the clock is read, as a file is verified (a change made during the compile, even
        one that kept the file's size and times, is then seen); those changed in the tick the
        clock was read in are read once more after the clock moved on, so that a no-op after a
        compile need not read them, nor write the manifest again."""
        if not expected:
            return {}
        clock = verified.clock_of(self.out)
        found = dict(zip(expected, self._read_back(expected, clock)))
        late = {name: expected[name] for name, status in found.items() if status is None}
        if late and clock is not None:
            time.sleep(0.01)  # a coarse clock ticks in 1 to 10 ms
            clock = verified.clock_of(self.out)
            found.update(zip(late, self._read_back(late, clock)))
        return found

    def _read_back(self, expected: dict[str, str], clock: int | None) -> list[list[int] | None]:
        names = list(expected)
        parts = [names[start : start + VERIFIED_AT_ONCE] for start in range(0, len(names), VERIFIED_AT_ONCE)]

        def read(part: list[str]) -> list[list[int] | None]:
            return [verified.holds(self.out / name, expected[name], clock)[1] for name in part]

        with ThreadPoolExecutor(max_workers=VERIFIERS) as pool:
            return [status for part in pool.map(read, parts) for status in part]


# A manifest is one JSON object: {"checksum": "<the SHA-256 of the text of M>", "manifest": M}, with
# M {"format", "compiler", "targets"}; its checksum is checked on the bytes, not on M decoded and
# encoded again (75 ms at ten thousand targets).
_OPENING, _MIDDLE, _CLOSING = b'{"checksum": "', b'", "manifest": ', b"}\n"


def _read_manifest(path: Path) -> dict[str, dict]:
    """The entries of a manifest this compiler wrote and nobody changed; {} for anything else."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return {}
        data = path.read_bytes()
        start = len(_OPENING) + 64 + len(_MIDDLE)
        if not (data.startswith(_OPENING) and data[len(_OPENING) + 64 : start] == _MIDDLE and data.endswith(_CLOSING)):
            return {}
        text = data[start : -len(_CLOSING)]
        if data[len(_OPENING) : len(_OPENING) + 64].decode("ascii") != _sha(text):
            return {}
        body = json.loads(text)
        if body["format"] != FORMAT or body["compiler"] != compiler_digest():
            return {}
        targets = body["targets"]
        for entry in targets.values():
            if not (isinstance(entry["own"], str) and isinstance(entry["feeds"], dict)):
                return {}
            status = entry.get("file")
            if status is not None and not (isinstance(status, list) and len(status) == 5 and all(type(n) is int for n in status)):
                return {}
        return targets
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _write_manifest(path: Path, targets: dict[str, Any]) -> None:
    """Best effort: the manifest only saves time, so a failure to write it (or a symbolic link
    or a folder in its place) leaves no manifest, or the old one, whose claims stay true."""
    body = {"format": FORMAT, "compiler": compiler_digest(), "targets": dict(sorted(targets.items()))}
    manifest = json.dumps(body, ensure_ascii=False, indent=0)
    text = f"{_OPENING.decode()}{_sha(manifest)}{_MIDDLE.decode()}{manifest}{_CLOSING.decode()}"
    temporary = path.with_name(NAME + ".tmp")  # one compile at a time writes to a folder (write.py's lock)
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            return
        temporary.unlink(missing_ok=True)
        with open(temporary, "x", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
