"""Load, for `.yaml` and `.yml` files: YAML 1.2 read into the same data as the JSON loader's.

ruamel.yaml (a YAML 1.2 parser) parses the text and composes its nodes, which carry their line
and column; the values are built here, from the nodes, by the rules of YAML 1.2's core schema,
so that a YAML file and the JSON file with the same data compile to the same bytes:

- `true`/`false` (any case of the three spellings) are booleans, `null`, `~` and nothing are
  null, decimal numbers are numbers (`0x1F` too), everything else is text. YAML 1.1 (PyYAML,
  many editors) reads some plain words otherwise: `no`, `on`, `yes`, `off` as booleans, `1_000`
  and `1:30` as numbers, `2024-01-01` as a date. Here they stay the text they are, never
  changed; a schema that expects a boolean or a number then refuses them, and the message says
  how YAML 1.2 read them and what to write.
- Where YAML 1.2 and YAML 1.1 read a number differently (`017` is 17 in one and 15 in the
  other, `0o17` is 15 or the text "0o17"), and where JSON has no such value (`.inf`, `.nan`),
  the file is refused with the form to write: strict, as the JSON loader is.
- Anchors and aliases work; an alias is a copy of what its anchor names. `<<: *base` merges a
  mapping's keys (the keys written beside it win), as YAML 1.1's merge key, which most YAML
  tools read. A recursive alias, and aliases that expand past MAX_VALUES values, are refused.
- Duplicate keys are refused (YAML forbids them; some parsers keep the last one silently), so
  are tags other than the core schema's (`!!binary`, `!!python/object`, `!custom`), keys that
  are not scalars, several documents in one file, and a `%YAML 1.1` directive.

Each value's line and column are kept (pointer -> position), so that every problem found later in the file,
by the schema or by resolving a target, names the line it is on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from compiler.problems import clipped, pointer_join

MAX_VALUES = 1_000_000  # values built from one file, aliases expanded: a "billion laughs" stops here
MAX_DEPTH = 64
MAX_DIGITS = 100
PLAIN = "tag:simc.plain"  # what the resolver below gives a plain scalar without a tag: typed here
CORE = "tag:yaml.org,2002:"

_NULL = re.compile(r"(?:null|Null|NULL|~|)\Z")
_TRUE = re.compile(r"(?:true|True|TRUE)\Z")
_FALSE = re.compile(r"(?:false|False|FALSE)\Z")
_INT = re.compile(r"[-+]?[0-9]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_OCTAL = re.compile(r"0o[0-7]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
# What YAML 1.1 reads as something other than text, where YAML 1.2 reads text.
_YAML11_BOOL = re.compile(r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)\Z")
_YAML11_NUMBER = re.compile(
    r"[-+]?(?:0b[01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|[0-9_]*_[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)\Z"
)
_YAML11_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?\Z")
_DIRECTIVE = re.compile(r"^%YAML[ \t]+(\S+)", re.M)


class YamlRefusal(Exception):
    """What the file cannot be read as: (pointer, message) pairs, each message with its line."""

    def __init__(self, found: list[tuple[str, str]]):
        super().__init__(found[0][1] if found else "")
        self.found = found


@dataclass
class Parsed:
    data: Any
    lines: dict[str, tuple[int, int]] = field(default_factory=dict)  # JSON pointer -> (line, column), 1-based
    notes: dict[str, str] = field(default_factory=dict)  # pointer -> how YAML 1.2 read a surprising plain word


def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _where(node: Any) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def _yaml11_note(text: str) -> str | None:
    """How YAML 1.1 would read a plain word that YAML 1.2 reads as text, said for a message."""
    if _YAML11_BOOL.match(text):
        value = "true" if text.lower() in ("y", "yes", "on") else "false"
        return f"YAML 1.2 reads the plain word {text} as the text {text!r}, not as {value} (YAML 1.1 would): write {value} for the boolean"
    if _YAML11_NUMBER.match(text) and any(c.isdigit() for c in text):
        return f"YAML 1.2 reads {text} as text, not as a number (YAML 1.1 would): write the number without '_' or ':'"
    if _YAML11_DATE.match(text):
        return f"YAML 1.2 reads {text} as text, not as a date; quote it to make that plain"
    return None


class _Builder:
    def __init__(self, strict: bool):
        self.strict = strict
        self.parsed = Parsed(None)
        self.found: list[tuple[str, str]] = []
        self.values = 0
        self.open: list[int] = []  # ids of the collections being built: an alias to one is a cycle

    def refuse(self, pointer: str, node: Any, message: str) -> None:
        if len(self.found) < 20:
            self.found.append((pointer, f"{message} ({_where(node)})"))

    def build(self, node: Any, pointer: str, depth: int = 1) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise YamlRefusal([(pointer, f"its aliases expand to more than {MAX_VALUES:,} values, too many for a config file")])
        self.parsed.lines.setdefault(pointer, _mark(node))
        kind = type(node).__name__
        if kind == "ScalarNode":
            return self.scalar(node, pointer)
        if depth > MAX_DEPTH:
            raise YamlRefusal([(pointer, f"nested too deeply at {_where(node)}: at most {MAX_DEPTH} levels of mappings and sequences")])
        if id(node) in self.open:
            raise YamlRefusal([(pointer, f"an alias at {_where(node)} names a mapping or sequence that contains it: a recursive structure has no JSON value")])
        tag = str(node.tag)
        expected = CORE + ("seq" if kind == "SequenceNode" else "map")
        if tag != expected:
            self.refuse(pointer, node, f"the tag {tag} is not supported: write plain YAML mappings, sequences and values")
        self.open.append(id(node))
        try:
            if kind == "SequenceNode":
                return [self.build(item, pointer_join(pointer, index), depth + 1) for index, item in enumerate(node.value)]
            return self.mapping(node, pointer, depth)
        finally:
            self.open.pop()

    def key(self, node: Any, pointer: str) -> str | None:
        if type(node).__name__ != "ScalarNode":
            self.refuse(pointer, node, "a key must be text, not a mapping or a sequence")
            return None
        return node.value

    def mapping(self, node: Any, pointer: str, depth: int) -> dict:
        result: dict[str, Any] = {}
        seen: dict[str, Any] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if type(key_node).__name__ == "ScalarNode" and key_node.value == "<<" and str(key_node.tag) in (PLAIN, CORE + "merge"):
                merged.append((key_node, value_node))
                continue
            key = self.key(key_node, pointer)
            if key is None:
                continue
            here = pointer_join(pointer, key)
            if key in seen:
                self.refuse(here, key_node, f"duplicate key {clipped(key)!r} (first at {_where(seen[key])}); remove one")
                continue
            seen[key] = key_node
            self.parsed.lines[here] = _mark(key_node)
            result[key] = self.build(value_node, here, depth + 1)
        for key_node, value_node in merged:  # the keys written beside `<<` win, then the first merged
            sources = value_node.value if type(value_node).__name__ == "SequenceNode" else [value_node]
            for source in sources:
                if type(source).__name__ != "MappingNode":
                    self.refuse(pointer, key_node, "<< merges mappings: give it an alias of a mapping, or a list of them")
                    continue
                built = self.build(source, pointer, depth)
                for key, value in built.items() if isinstance(built, dict) else ():
                    result.setdefault(key, value)
        for key, key_node in seen.items() if merged else ():  # the merged keys' lines gave way to these
            self.parsed.lines[pointer_join(pointer, key)] = _mark(key_node)
        return result

    def scalar(self, node: Any, pointer: str) -> Any:
        text, tag = node.value, str(node.tag)
        if tag == PLAIN:
            return self.plain(node, pointer, text)
        if tag == CORE + "str":
            return self.text(node, pointer, text)
        if tag == CORE + "null" and _NULL.match(text):
            return None
        if tag == CORE + "bool" and (_TRUE.match(text) or _FALSE.match(text)):
            return bool(_TRUE.match(text))
        if tag in (CORE + "int", CORE + "float") and (_INT.match(text) or _FLOAT.match(text)):
            return self.number(node, pointer, text)
        self.refuse(pointer, node, f"the tag {tag} on {clipped(text)!r} is not supported: write the value plainly or quoted")
        return None

    def text(self, node: Any, pointer: str, text: str) -> str:
        if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
            self.refuse(pointer, node, "a string holds half of a UTF-16 surrogate pair, which cannot be encoded as UTF-8; write the character itself")
        return text

    def plain(self, node: Any, pointer: str, text: str) -> Any:
        if _NULL.match(text):
            return None
        if _TRUE.match(text) or _FALSE.match(text):
            return bool(_TRUE.match(text))
        unsigned = text.lstrip("+-")
        if _INT.match(text) or _FLOAT.match(text):
            if self.strict and len(unsigned) > 1 and unsigned[0] == "0" and unsigned[1].isdigit() and _INT.match(text):
                self.refuse(
                    pointer, node,
                    f"{text} has a leading zero: YAML 1.2 reads it as the number {int(text)}, YAML 1.1 as an octal "
                    f"number; write {int(text)}, or quote it ({text!r}) for the text",
                )  # fmt: skip
            return self.number(node, pointer, text)
        if _HEX.match(text):
            return int(text, 16)
        if _OCTAL.match(text):
            if self.strict:
                self.refuse(
                    pointer, node,
                    f"{text} is the octal number {int(text[2:], 8)} in YAML 1.2 but text in YAML 1.1; write {int(text[2:], 8)}, "
                    f"or quote it ({text!r}) for the text",
                )  # fmt: skip
            return int(text[2:], 8)
        if _SPECIAL_FLOAT.match(text):
            self.refuse(pointer, node, f"{text} is not a number JSON can hold (infinite or not a number); write a number")
            return None
        note = _yaml11_note(text) if self.strict else None
        if note:
            self.parsed.notes[pointer] = note
        return self.text(node, pointer, text)

    def number(self, node: Any, pointer: str, text: str) -> Any:
        digits = text.lstrip("+-")
        if _INT.match(text):
            if len(digits) > MAX_DIGITS:
                self.refuse(pointer, node, f"a number of {len(digits)} digits is too long: no setting takes more than {MAX_DIGITS} digits")
                return 0
            return int(text)
        value = float(text)
        if not math.isfinite(value):
            self.refuse(pointer, node, f"{clipped(text)} is too large to be a number (it would be infinite)")
            return None
        return value


def _yaml():
    """ruamel.yaml's pure-Python parser and composer, with a resolver that leaves every plain
    scalar without a tag to be typed by YAML 1.2's core schema here."""
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver
    from ruamel.yaml.tag import Tag

    class Resolver(VersionedResolver):
        def resolve(self, kind, value, implicit):  # noqa: ANN001 - ruamel's signature
            if kind is ScalarNode and implicit[0]:
                return Tag(suffix=PLAIN)
            return super().resolve(kind, value, implicit)

    yaml = YAML(typ="rt", pure=True)
    yaml.Resolver = Resolver
    yaml.max_depth = MAX_DEPTH + 1
    return yaml


def parse_yaml(text: str, strict: bool = True) -> Parsed:
    """The data of a YAML text, its lines and notes; YamlRefusal says what stopped it, and where."""
    directive = _DIRECTIVE.search(text)
    if directive and directive.group(1) != "1.2":
        line = text.count("\n", 0, directive.start()) + 1
        raise YamlRefusal([("", f"says %YAML {directive.group(1)} (line {line}); the compiler reads YAML 1.2: remove the directive")])
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        node = _yaml().compose(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise YamlRefusal([("", f"invalid YAML{where}: {what}")]) from None
    except (YAMLError, RecursionError) as error:
        raise YamlRefusal([("", f"invalid YAML: {error}")]) from None
    builder = _Builder(strict)
    if node is None:
        raise YamlRefusal([("", "holds no YAML document; expected a mapping")])
    builder.parsed.data = builder.build(node, "")
    if builder.found:
        raise YamlRefusal(builder.found)
    return builder.parsed
