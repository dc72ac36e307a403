"""Every target of a catalog: resolved together, their problems reported once, and the hosts of
the protected ones, which every generated file carries, so that a run aimed at one (with -H,
say) is held to that environment's limits whichever file runs it.
"""

from __future__ import annotations

from dataclasses import replace

from compiler.problems import Problems
from compiler.resolve.model import ProtectedHost, Target, as_written
from compiler.resolve.target import resolve_target
from compiler.sources.targets import TargetRef, compatible_targets
from compiler.sources.validate import Inputs


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


def protected_hosts(inputs: Inputs, resolved: dict[str, Target]) -> tuple[ProtectedHost, ...]:
    """The hosts of every compatible target in a protected environment, in a stable order,
    each once; targets not resolved yet are resolved here (their problems are their own run's)."""
    catalog = inputs.catalog.data
    found: dict[tuple, ProtectedHost] = {}
    for ref in compatible_targets(catalog):
        if not is_protected(inputs, ref):
            continue
        target = resolved.get(ref.name) or (resolve_target(inputs, ref)[0] if inputs.can_resolve(ref) else None)
        if target is not None:
            entry = ProtectedHost(target.host, target.environment, target.limits)
            found.setdefault((as_written(entry.host), entry.environment), entry)
    return tuple(found[key] for key in sorted(found))

