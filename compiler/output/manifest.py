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
which are what a full compile writes. Anything else (a manifest missing, corrupt, from another
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from compiler.output.render import runtime_bytes, runtime_text
from compiler.resolve.model import Limits, ProtectedHost, Target, host_entry
from compiler.resolve.target import resolve_target
from compiler.sources.feeds import read_state
from compiler.sources.load import label_base
from compiler.sources.targets import TargetRef, compatible_targets
from compiler.sources.validate import Inputs

NAME = ".compiler-manifest.json"
FORMAT = 2  # 2: protected targets' entries hold their ProtectedHost
PACKAGE = Path(__file__).parent.parent
VERIFIERS = 4  # files read and hashed at once (the threads end before a build forks)
VERIFIED_AT_ONCE = 50  # files handed to a thread at a time
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


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
        return cls(text, Made(target.name, tuple(target.feeds_read), host, text_digest(text), protected))


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


class Manifest:
    def __init__(self, inputs: Inputs, out: Path):
        self.inputs, self.out = inputs, out
        self.context = _sha(json.dumps([compiler_digest(), label_base(), str(inputs.catalog.path), inputs.catalog.label]))
        self.old = _read_manifest(out / NAME)
        self.hosts = ""
        self.new: dict[str, dict] = {}
        self._dumped: dict[tuple[str, str], str] = {}

    def own_key(self, ref: TargetRef, feeds_read: dict[str, str]) -> str:
        """The digest of the JSON list [context, catalog name, environment, country, app,
        simulation's digest, feeds read]; each catalog entry's JSON made once, not per target."""
        catalog = self.inputs.catalog.data
        app = catalog["apps"][ref.app]
        simulation = self.inputs.simulations.get(app["simulation"])
        parts = [
            self._json("", self.context), self._json("", self.inputs.catalog.path.name),
            self._json("environments", ref.environment), self._json("countries", ref.country), self._json("apps", ref.app),
            _dumps(simulation.digest if simulation else None), _dumps(sorted(feeds_read.items())),
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
        for ref in refs:
            entry = entries.get(ref.name) or self._unchanged_entry(ref)
            old = self.old.get(ref.name) or {}
            same = entry is not None and entry["own"] == old.get("own") and old.get("hosts") == self.hosts
            candidates.append((ref, entry, old.get("output") if same else None))
        def verify(part: list[tuple[TargetRef, dict | None, str | None]]) -> list[bool]:
            return [bool(output) and _holds(self.out / f"{ref.name}.py", output) for ref, _entry, output in part]

        parts = [candidates[start : start + VERIFIED_AT_ONCE] for start in range(0, len(candidates), VERIFIED_AT_ONCE)]
        with ThreadPoolExecutor(max_workers=VERIFIERS) as pool:  # reading and hashing release the GIL
            held = [holds for part in pool.map(verify, parts) for holds in part]
        for (ref, entry, _output), holds in zip(candidates, held):
            if holds:
                plan.reused.add(f"{ref.name}.py")
                entries[ref.name] = entry  # type: ignore[assignment]
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
        compatible = {ref.name: ref for ref in compatible_targets(self.inputs.catalog.data)}
        selected = {ref.name for ref in refs}
        records: dict[str, dict] = {
            name: entry for name, entry in self.old.items() if name in compatible and name not in selected
        }
        for name, entry in plan.entries.items():  # protected ones seen for the hosts too
            old = records.get(name) or {}
            same = old.get("own") == entry["own"]
            records[name] = {**entry, "hosts": old.get("hosts") if same else None, "output": old.get("output") if same else None}
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
                records[name] = {**entry, "hosts": plan.hosts, "output": output}
        if records != self.old:
            _write_manifest(self.out / NAME, records)
        else:  # left by a compile killed while writing the manifest
            with contextlib.suppress(OSError):
                (self.out / (NAME + ".tmp")).unlink(missing_ok=True)


def _holds(path: Path, expected: str) -> bool:
    """Whether `path` is a regular file whose bytes have digest `expected`. Those bytes are then
    what the compiler wrote (UTF-8 text): they need not be decoded."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        descriptor = os.open(path, _READ_FLAGS)
        with os.fdopen(descriptor, "rb") as handle:
            return file_digest(handle.read()) == expected
    except OSError:
        return False


def _checksum(body: dict) -> str:
    return _sha(json.dumps(body, sort_keys=True, ensure_ascii=False))


def _read_manifest(path: Path) -> dict[str, dict]:
    """The entries of a manifest this compiler wrote and nobody changed; {} for anything else."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return {}
        manifest = json.loads(path.read_bytes())
        body = {key: manifest[key] for key in ("format", "compiler", "targets")}
        if manifest["checksum"] != _checksum(body) or body["format"] != FORMAT or body["compiler"] != compiler_digest():
            return {}
        targets = body["targets"]
        for entry in targets.values():
            if not (isinstance(entry["own"], str) and isinstance(entry["feeds"], dict)):
                return {}
        return targets
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _write_manifest(path: Path, targets: dict[str, Any]) -> None:
    """Best effort: the manifest only saves time, so a failure to write it (or a symbolic link
    or a folder in its place) leaves no manifest, or the old one, whose claims stay true."""
    body = {"format": FORMAT, "compiler": compiler_digest(), "targets": dict(sorted(targets.items()))}
    text = json.dumps({**body, "checksum": _checksum(body)}, ensure_ascii=False, indent=0)
    temporary = path.with_name(NAME + ".tmp")  # one compile at a time writes to a folder (write.py's lock)
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            return
        temporary.unlink(missing_ok=True)
        with open(temporary, "x", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
