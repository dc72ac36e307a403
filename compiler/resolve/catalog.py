"""Every target of a catalog: resolved together, their problems reported once, and the hosts of
the protected ones, which every generated file carries, so that a run aimed at one (with -H,
say) is held to that environment's limits whichever file runs it.
"""

from __future__ import annotations

from dataclasses import replace

from compiler.problems import Problems
from compiler.resolve.model import Limits, ProtectedHost, Target, as_written
from compiler.resolve.target import resolve_target
from compiler.sources.hosts import origin
from compiler.sources.targets import TargetRef, compatible_targets
from compiler.sources.validate import Inputs
from compiler.timespan import parse_timespan


def resolve_all(inputs: Inputs, refs: list[TargetRef], problems: Problems) -> list[Target]:
    """Resolve every target; problems shared by several targets are reported once, naming them.
    Each target also learns the hosts of the catalog's protected targets, whichever are asked."""
    resolved: dict[str, Target] = {}
    found_by_target: list[tuple[str, list[tuple[str, str, str]]]] = []
    for ref in refs:
        target, found = resolve_target(inputs, ref)
        if target is not None:
            resolved[ref.name] = target
        found_by_target.append((ref.name, found))
    report_found(found_by_target, problems)
    hosts = protected_hosts(inputs, resolved)
    return [replace(target, protected_hosts=hosts) for target in resolved.values()]


def report_found(found_by_target: list[tuple[str, list[tuple[str, str, str]]]], problems: Problems) -> None:
    """The targets' problems, in the targets' order: one found by several targets is reported
    once, naming them, and a value's problems stay together in the order they were found."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for name, found in found_by_target:
        for key in found:
            names = grouped.setdefault(key, [])
            if name not in names:
                names.append(name)
    first_seen: dict[tuple[str, str], int] = {}
    for file, pointer, _message in grouped:
        first_seen.setdefault((file, pointer), len(first_seen))
    for (file, pointer, message), names in sorted(grouped.items(), key=lambda item: first_seen[item[0][:2]]):
        which = f"target {names[0]}" if len(names) == 1 else f"targets {', '.join(names)}"
        problems.add(file, pointer, f"{message} (for {which})")


def is_protected(inputs: Inputs, ref: TargetRef) -> bool:
    return bool(inputs.catalog.data["environments"].get(ref.environment, {}).get("protected", False))


def protected_hosts(
    inputs: Inputs, resolved: dict[str, Target], known: dict[str, ProtectedHost] | None = None
) -> tuple[ProtectedHost, ...]:
    """The hosts of every compatible target in a protected environment, in a stable order,
    each once; targets neither resolved nor `known` (name -> its ProtectedHost, which the
    manifest recorded) are resolved here (their problems are their own run's).

    Hosts that are one origin once canonical (sources/hosts.py, as the runtime compares them)
    are one entry: the environment the runtime would have named first (the first in the order
    of the hosts as written, then of the environments) and, limit by limit, the strictest of
    theirs, which is what the runtime made of the several entries. A host read at run time
    (`${env:...}`) cannot be compared before it and keeps an entry of its own."""
    catalog = inputs.catalog.data
    found: dict[tuple, ProtectedHost] = {}
    for ref in compatible_targets(catalog):
        if not is_protected(inputs, ref):
            continue
        entry = (known or {}).get(ref.name) if ref.name not in resolved else None
        if entry is None:
            target = resolved.get(ref.name) or (resolve_target(inputs, ref)[0] if inputs.can_resolve(ref) else None)
            entry = None if target is None else ProtectedHost(target.host, target.environment, target.limits)
        if entry is not None:
            found.setdefault((as_written(entry.host), entry.environment), entry)
    merged: dict[tuple, ProtectedHost] = {}
    for key in sorted(found):
        entry = found[key]
        same = ("origin", origin(entry.host)) if isinstance(entry.host, str) else ("as written", key[0])
        first = merged.get(same)
        merged[same] = entry if first is None else replace(first, limits=strictest(first.limits, entry.limits))
    return tuple(merged.values())


def strictest(one: Limits, other: Limits) -> Limits:
    """Limit by limit, the stricter of two (None: no limit)."""

    def stricter(a, b, seconds=lambda value: value):
        return a if b is None else b if a is None else b if seconds(b) < seconds(a) else a

    return Limits(
        max_users=stricter(one.max_users, other.max_users),
        max_spawn_rate=stricter(one.max_spawn_rate, other.max_spawn_rate),
        max_run_time=stricter(one.max_run_time, other.max_run_time, _seconds),
    )


def _seconds(limit) -> float:
    return parse_timespan(limit) if isinstance(limit, str) else limit
