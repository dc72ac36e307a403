"""black's layout of a target's configuration block, computed without black.

black costs about 0.2 s on each configuration block (it parses the text with its own parser,
then tries splits); at a thousand targets that was 88% of a compile. The block is data in a
small language: statements `NAME = value` with a comment after some, comment lines between
them, and values made of strings, numbers, names, calls with (keyword) arguments, dicts, lists
and tuples. For that language this module lays lines out the way black's line splitter does
(`black/linegen.py`: a line that fits stays whole unless a magic trailing comma is in it; else
the items of a bracket go one to a line, or the last bracket is split into head, body and tail)
and normalises strings and numbers as black does.

A statement it is not sure of goes to black itself: a comment inside brackets, a value that
cannot be made to fit (black would wrap it in parentheses or leave it long), a trailing comment
on a statement that must split, anything the tokenizer does not know. So the bytes are always
black's; tests compare this module with `black.format_str` on every example target and on
random values, and `test_render` formats every generated file with black and expects no change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Union

LINE_LENGTH = 100  # the line length of every generated file (render.black_mode)
INDENT = "    "

_TOKEN = re.compile(
    r"""
      (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>[()\[\]{},:=]|\*\*)
    | (?P<comment>\#[^\n]*)
    | (?P<newline>\n)
    | (?P<space>[ \t]+)
    """,
    re.VERBOSE,
)
_CLOSER = {"(": ")", "[": "]", "{": "}"}


class Unsupported(Exception):
    """This text is outside the language this module lays out: black must format it."""


@dataclass
class Bracket:
    """A call (`callee` is its name) or a dict, list or tuple literal (`callee` is "")."""

    callee: str
    opener: str
    items: list[tuple[str, "Value"]]  # (what precedes the value: 'KEY: ', 'NAME=', '**' or '', value)
    comma: bool  # written with a trailing comma

    @property
    def closer(self) -> str:
        return _CLOSER[self.opener]

    @property
    def magic(self) -> bool:
        """black keeps it exploded: a trailing comma, except the one a one-tuple needs."""
        return self.comma and (bool(self.callee) or self.opener != "(" or len(self.items) != 1)

    @cached_property
    def has_magic(self) -> bool:
        """A magic trailing comma in it, at any depth."""
        return self.magic or any(has_magic(item) for _, item in self.items)

    @cached_property
    def flat(self) -> str:
        """On one line."""
        inside = ", ".join(prefix + flat(item) for prefix, item in self.items)
        one_tuple = self.comma and not self.magic
        return self.callee + self.opener + inside + ("," if one_tuple else "") + self.closer


Value = Union[str, Bracket]


def flat(value: Value) -> str:
    return value if isinstance(value, str) else value.flat


def has_magic(value: Value) -> bool:
    return False if isinstance(value, str) else value.has_magic


# ---- strings and numbers, as black normalises them (black/strings.py, black/numerics.py) ----


def _sub_twice(regex: re.Pattern, replacement: str, text: str) -> str:
    return regex.sub(replacement, regex.sub(replacement, text))


_ESCAPED = {q: re.compile(rf"([^\\]|^)\\((?:\\\\)*){q}") for q in "'\""}
_UNESCAPED = {q: re.compile(rf"(([^\\]|^)(\\\\)*){q}") for q in "'\""}


def string(literal: str) -> str:
    """A plain '...' or "..." literal with black's quotes: double, unless that adds escapes."""
    orig, new = literal[0], "'" if literal[0] == '"' else '"'
    body = literal[1:-1]
    if "\\" not in body:  # the common case, what repr() writes for most text
        return literal if orig == '"' or '"' in body else '"' + body + '"'
    new_body = _sub_twice(_ESCAPED[new], rf"\1\2{new}", body)
    if body != new_body:
        body = new_body
        literal = orig + body + orig
    new_body = _sub_twice(_ESCAPED[orig], rf"\1\2{orig}", new_body)
    new_body = _sub_twice(_UNESCAPED[new], rf"\1\\{new}", new_body)
    if new_body.count("\\") > body.count("\\"):
        return literal
    if new_body.count("\\") == body.count("\\") and orig == '"':
        return literal
    return new + new_body + new


def number(literal: str) -> str:
    sign, text = ("-", literal[1:]) if literal.startswith("-") else ("", literal)
    text = text.lower()
    if "e" in text:
        before, after = text.split("e")
        after = after[1:] if after.startswith("+") else after
        return sign + _decimal(before) + "e" + after
    return sign + _decimal(text)


def _decimal(text: str) -> str:
    if "." not in text:
        return text
    before, after = text.split(".")
    return f"{before or 0}.{after or 0}"


def width(line: str) -> int:
    """Columns, as black counts them (East Asian wide characters take two)."""
    if line.isascii():
        return len(line)
    from black.strings import str_width  # only for text that needs it: black is slow to import

    return str_width(line)


# ---- reading the block ----


@dataclass
class Statement:
    target: str  # NAME in `NAME = value`
    value: Value
    comment: str  # "" or "# ..."
    source: str  # as written, for black when this module is not sure


def tokens(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end) of each token, spaces left out."""
    out, index = [], 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if not match:
            raise Unsupported(f"cannot read {text[index:index + 20]!r}")
        if match.lastgroup != "space":
            out.append((match.lastgroup, match.group(), index, match.end()))
        index = match.end()
    return out


class _Reader:
    def __init__(self, toks: list[tuple[str, str, int, int]]):
        self.toks, self.at = toks, 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.toks[index][:2] if index < len(self.toks) else ("end", "")

    def take(self, kind: str, text: str | None = None) -> str:
        got_kind, got = self.peek()
        if got_kind != kind or (text is not None and got != text):
            raise Unsupported(f"expected {text or kind}, found {got!r}")
        self.at += 1
        return got

    def skip_newlines(self) -> None:
        while self.peek()[0] == "newline":
            self.at += 1

    def value(self) -> Value:
        self.skip_newlines()
        kind, text = self.peek()
        if kind == "op" and text in _CLOSER:
            return self.bracket("")
        self.at += 1
        if kind == "string":
            return string(text)
        if kind == "number":
            return number(text)
        if kind == "name":
            if self.peek() == ("op", "("):
                return self.bracket(text)
            return text
        raise Unsupported(f"unexpected {text!r}")

    def bracket(self, callee: str) -> Bracket:
        opener = self.take("op")
        closer = _CLOSER[opener]
        items: list[tuple[str, Value]] = []
        comma = False
        while True:
            self.skip_newlines()
            if self.peek() == ("op", closer):
                self.at += 1
                return Bracket(callee, opener, items, comma)
            if items and not comma:
                raise Unsupported(f"unexpected {self.peek()[1]!r} in brackets")
            prefix = ""
            if callee and self.peek()[0] == "name" and self.peek(1) == ("op", "="):
                prefix = self.take("name") + "="
                self.at += 1
            elif opener == "{" and self.peek() == ("op", "**"):  # a dict unpacked into this one
                prefix = self.take("op", "**")
                items.append((prefix, self.value()))
                self.skip_newlines()
                comma = self.peek() == ("op", ",")
                self.at += comma
                continue
            item = self.value()
            self.skip_newlines()
            if opener == "{" and self.peek() == ("op", ":"):
                if not isinstance(item, str):
                    raise Unsupported("a key that is not a literal")
                self.at += 1
                prefix, item = item + ": ", self.value()
                self.skip_newlines()
            items.append((prefix, item))
            comma = self.peek() == ("op", ",")
            if comma:
                self.at += 1


def parts(text: str) -> list[Statement | str]:
    """The block as statements, comment lines ('# ...') and blank lines ('')."""
    toks = tokens(text)
    reader = _Reader(toks)
    out: list[Statement | str] = []
    line_start = True
    while reader.peek()[0] != "end":
        kind, token = reader.peek()
        if kind == "newline":
            reader.at += 1
            if line_start:
                out.append("")
            line_start = True
            continue
        if not line_start:
            raise Unsupported(f"unexpected {token!r}")
        line_start = False
        if kind == "comment":
            reader.at += 1
            out.append(token)
            continue
        start = reader.at
        target = reader.take("name")
        reader.take("op", "=")
        value = reader.value()
        comment = reader.take("comment") if reader.peek()[0] == "comment" else ""
        source = text[toks[start][2] : toks[reader.at - 1][3]]
        out.append(Statement(target, value, comment, source))
    return out


# ---- laying lines out ----


@dataclass
class _Line:
    depth: int
    items: list[tuple[str, Value]]
    comma: bool  # ends with a comma
    split_items: bool = False  # black's should_split_rhs: one item per line, fits or not

    def text(self) -> str:
        inside = ", ".join(prefix + flat(value) for prefix, value in self.items)
        return INDENT * self.depth + inside + ("," if self.comma else "")


def _lay_out(line: _Line) -> list[str]:
    text = line.text()
    if not line.split_items and not any(has_magic(v) for _, v in line.items):
        if width(text) <= LINE_LENGTH:
            return [text]
    if len(line.items) > 1:  # black's delimiter_split: one item a line, each with its comma
        out: list[str] = []
        for item in line.items:
            out += _lay_out(_Line(line.depth, [item], comma=True))
        return out
    # black's right_hand_split: the last bracket opens the head and closes the tail
    prefix, value = line.items[0]
    if not isinstance(value, Bracket) and line.depth > 0:
        return [text]  # nothing to split: black leaves it long
    if not isinstance(value, Bracket) or not value.items:
        raise Unsupported("black would wrap it in parentheses, or leave it long")
    head = INDENT * line.depth + prefix + value.callee + value.opener
    if width(head) > LINE_LENGTH:
        raise Unsupported("the head of a split does not fit")
    # the items of a literal, or of a call written with a trailing comma, go one to a line
    split_items = len(value.items) > 1 and (value.comma or not value.callee)
    body = _Line(line.depth + 1, value.items, comma=value.comma, split_items=split_items)
    tail = INDENT * line.depth + value.closer + ("," if line.comma else "")
    return [head, *_lay_out(body), tail]


def statement_lines(statement: Statement) -> list[str]:
    """One statement as black lays it out; Unsupported when not sure."""
    line = _Line(0, [(statement.target + " = ", statement.value)], comma=False)
    if statement.comment:
        text = line.text() + "  " + statement.comment.rstrip()
        if has_magic(statement.value) or width(text) > LINE_LENGTH:
            raise Unsupported("a comment after a statement that splits")
        return [text]
    return _lay_out(line)


_COMMENT = re.compile(r"#( .*[^ \t])?")


_STATEMENTS: dict[str, str] = {}  # statement text -> black's layout: many repeat across targets
_STATEMENTS_KEPT = 20_000  # then forgotten, so that a long-lived process (the MCP server) stays small


def format_block(text: str, black_format: Callable[[str], str]) -> str:
    """The block as black formats it: laid out here, or by `black_format` (str -> str) for a
    statement this module is not sure of, or for the whole block when it cannot be read."""
    try:
        chunks = _chunks(text)
    except Unsupported:
        return black_format(text)
    out: list[str] = []
    blanks = 0
    for chunk in chunks:
        if chunk == "":
            blanks += 1
            continue
        if out:
            out += [""] * min(blanks, 2)
        blanks = 0
        if chunk.startswith("#"):
            out.append(chunk)
        else:
            laid_out = _STATEMENTS.get(chunk)
            if laid_out is None:
                if len(_STATEMENTS) >= _STATEMENTS_KEPT:
                    _STATEMENTS.clear()
                laid_out = _STATEMENTS[chunk] = _statement(chunk, black_format)
            out.append(laid_out)
    return "\n".join(out) + "\n"


_CHUNK_END = re.compile(r"\n(?![ \t)\]}])")  # a line break the next line of which does not continue


def _chunks(text: str) -> list[str]:
    """The block's lines, with each statement's lines joined: a statement starts at the start
    of a line (the template indents what continues it, or starts it with a closing bracket).
    Split where a line does not continue the one before, so that a statement of thousands of
    lines (the protected hosts) costs one search, not a step per line."""
    chunks: list[str] = []
    for chunk in _CHUNK_END.split(text):
        first, newline, rest = chunk.partition("\n")
        if first and first[0] in " \t)]}":  # only the block's first line can be one
            raise Unsupported("an indented line outside a statement")
        first = first.rstrip(" \t")
        if first.startswith("#") and not _COMMENT.fullmatch(first):
            raise Unsupported("a comment black would change")
        if newline and (not first or first.startswith("#")):
            raise Unsupported("an indented line outside a statement")
        chunks.append(first + newline + rest)
    return chunks


def _statement(chunk: str, black_format: Callable[[str], str]) -> str:
    try:
        read = parts(chunk)
        if len(read) != 1 or not isinstance(read[0], Statement):
            raise Unsupported("not one statement")
        return "\n".join(statement_lines(read[0]))
    except Unsupported:
        return black_format(chunk).rstrip("\n")
