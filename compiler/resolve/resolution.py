"""One target's resolution under way: what every step of resolve reads and adds to.

Its own module so that the steps (layers, variables, journeys, the target's checks) can share it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.resolve.model import Expansion, Origin, locate
from compiler.sources.targets import TargetRef


@dataclass
class Resolution:
    """One target's resolution under way: merged values, their origins, its problems."""

    ref: TargetRef
    file: str  # the simulation's label, for values no layer set
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    flagged: set[str] = field(default_factory=set)  # pointers with a problem already
    merged: dict = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    parents: set[str] = field(default_factory=set)  # pointers with origins recorded below them
    expansions: dict[str, list[Expansion]] = field(default_factory=dict)  # resolved pointer -> ${...} used

    def problem(self, pointer: str, message: str) -> None:
        """A problem with the value at `pointer` of the merged configuration."""
        origin = locate(self.origins, pointer)
        self.problems.append((origin.file, origin.pointer, message) if origin.file else (self.file, pointer, message))
        self.flagged.add(pointer)
