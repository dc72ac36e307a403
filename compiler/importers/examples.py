"""Values for an OpenAPI document's parameters and bodies, and its local `$ref`s followed.

A value comes from what the document says first: `example`, then the first of `examples`, then
`default` (or `const`, or the first of `enum`); else it is built from the schema as the smallest
value the schema accepts: an object with its required properties only, an empty array (or
`minItems` items), `minimum` for numbers (0 without one), a string shaped by its `format`
(`2024-01-01` for a date, `user@example.com` for an email) and long enough for `minLength`.
Each value says where it came from, for the importer's list of guesses.

`$ref`s are local (`#/components/...`) and checked before (refs.py: none dangling, no cycle of
`$ref`s and `allOf`/`anyOf`/`oneOf` only); a schema whose required properties contain itself (no
finite value exists) is refused and named here, while one that contains itself through an
optional property or an array's items (a tree) gets its smallest value, which stops there.
"""

from __future__ import annotations

from typing import Any

from compiler.importers.drafts import ImportError_
from compiler.importers.refs import MISSING, node_at, target

FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uri-reference": "/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "",
    "binary": "",
    "int32": 0,
}


class Document:
    """An OpenAPI document as data, read and validated, with its `$ref`s followed on demand."""

    def __init__(self, data: dict, label: str):
        self.data, self.label = data, label

    def pointer_value(self, ref: str) -> Any:
        pointer = target(ref)
        if pointer is None:
            raise ImportError_([(self.label, "", f"$ref {ref!r} is not local; bundle the document into one file first")])
        node = node_at(self.data, pointer)
        if node is MISSING:
            raise ImportError_([(self.label, pointer, f"$ref {ref!r} names nothing in the document")])
        return node

    def deref(self, node: Any, where: str) -> tuple[Any, str]:
        """The node a chain of `$ref`s ends at, and its pointer; a chain that comes back is refused."""
        seen: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                chain = " -> ".join(seen + [ref])
                raise ImportError_([(self.label, where, f"$ref cycle: {chain} names itself and nothing else")])
            seen.append(ref)
            node, where = self.pointer_value(ref), target(ref) or ""
        return node, where


def documented(node: dict, document: Document, where: str) -> tuple[bool, Any, str]:
    """(found, value, where it came from) from a node's own `example` or `examples`."""
    if "example" in node:
        return True, node["example"], f"the example at {where}/example"
    examples = node.get("examples")
    if isinstance(examples, dict) and examples:
        name = next(iter(examples))
        example, at = document.deref(examples[name], f"{where}/examples/{name}")
        if isinstance(example, dict) and "value" in example:
            return True, example["value"], f"the example {name!r} at {at}"
    if isinstance(examples, list) and examples:  # a 3.1 schema's examples
        return True, examples[0], f"the first example at {where}/examples"
    return False, None, ""


class Builder:
    """A value for a schema; `source` says where the last value came from."""

    def __init__(self, document: Document):
        self.document = document
        self.source = ""

    def value(self, schema: Any, where: str) -> Any:
        self.source = ""
        found = self._value(schema, where, [])
        return found

    def _note(self, text: str) -> None:
        self.source = self.source or text

    def _value(self, schema: Any, where: str, stack: list[str]) -> Any:
        if isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in stack:
                raise ImportError_([(self.document.label, where, f"the schema {ref[1:]} contains itself through required "
                                     "properties, so no finite value is valid: give it an example")])  # fmt: skip
            schema, where = self.document.deref(schema, where)
            return self._value(schema, where, stack + [ref])
        if not isinstance(schema, dict):
            self._note(f"a string, as the schema at {where} says nothing")
            return "string"
        found, value, at = documented(schema, self.document, where)
        if found:
            self._note(at)
            return value
        for key, words in (("default", "the default"), ("const", "the constant")):
            if key in schema:
                self._note(f"{words} at {where}/{key}")
                return schema[key]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            self._note(f"the first value of the enum at {where}/enum")
            return schema["enum"][0]
        if isinstance(schema.get("allOf"), list):
            merged: Any = None
            for index, part in enumerate(schema["allOf"]):
                item = self._value(part, f"{where}/allOf/{index}", stack)
                merged = {**merged, **item} if isinstance(merged, dict) and isinstance(item, dict) else item if merged is None else merged
            return merged
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                self._note(f"the first alternative of {where}/{key}")
                return self._value(schema[key][0], f"{where}/{key}/0", stack)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            required = [name for name in schema.get("required", []) if isinstance(name, str)]
            properties = schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else {}
            value, sources, outer = {}, [], self.source
            for name in required:
                self.source = ""
                value[name] = self._value(properties.get(name, {}), f"{where}/properties/{name}", stack)
                sources.append(f"{name} = {self.source}")
            self.source = outer
            documented_parts = [text for text in sources if " = the smallest value " not in text]
            self._note(f"the required properties of the schema at {where}: {', '.join(sources)}" if documented_parts
                       else f"the smallest value the schema at {where} accepts")  # fmt: skip
            return value
        self._note(f"the smallest value the schema at {where} accepts")
        if kind == "array":
            count = schema.get("minItems", 0) if isinstance(schema.get("minItems"), int) else 0
            return [self._value(schema.get("items", {}), f"{where}/items", stack) for _ in range(min(count, 10))]
        if kind in ("integer", "number"):
            return _number(schema, kind)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        text = FORMATS.get(schema.get("format"), "string")
        if not isinstance(text, str):
            text = "string"
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if isinstance(low, int) and len(text) < low:
            text += "x" * (low - len(text))
        if isinstance(high, int) and len(text) > high:
            text = text[:high]
        return text


def _number(schema: dict, kind: str) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive = schema.get("exclusiveMinimum")
    if isinstance(exclusive, (int, float)) and not isinstance(exclusive, bool):  # 3.1: a number
        low, step_up = exclusive, True
    else:
        step_up = exclusive is True  # 3.0: a flag on minimum
    value = low if isinstance(low, (int, float)) else (min(0, high) if isinstance(high, (int, float)) else 0)
    if step_up:
        value = value + 1 if kind == "integer" else value + 0.5
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0 and value % multiple:
        value = (value // multiple + 1) * multiple
    return int(value) if kind == "integer" else value
