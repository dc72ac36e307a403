"""Stage 1: files that are not strict JSON objects are refused with a line and a column."""

from pathlib import Path

import pytest

from compiler.sources.load import MAX_DEPTH, load_document
from compiler.problems import Problems


def load(tmp_path: Path, raw: bytes):
    path = tmp_path / "x.json"
    path.write_bytes(raw)
    problems = Problems()
    return load_document(path, problems, label="x.json"), [str(p) for p in problems.items]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b'{"a": 1,\n  "b": }', "x.json: /: invalid JSON at line 2, column 8: Expecting value"),
        (b"", "x.json: /: is empty; expected a JSON object"),
        (b"  \n", "x.json: /: is empty; expected a JSON object"),
        (b'{"a": "\xff"}', "x.json: /: is not valid UTF-8 (byte 7, line 1, column 8); save it as UTF-8"),
        (b'{"a": NaN}', "x.json: /a: NaN at line 1, column 7 is not valid JSON; write a number"),
        (b'{"a": -Infinity}', "x.json: /a: -Infinity at line 1, column 7 is not valid JSON; write a number"),
    ],
)
def test_refused_files_name_the_problem(tmp_path, raw, expected):
    document, problems = load(tmp_path, raw)
    assert document is None
    assert problems == [expected]


def test_duplicate_keys_are_errors_but_the_rest_of_the_file_is_still_checked(tmp_path):
    document, problems = load(tmp_path, b'{"a": 1, "b": {"c": 2, "c": 3}, "a": 4}')
    assert problems == [
        "x.json: /b/c: duplicate key 'c' at line 1, column 24 (first at line 1, column 16); "
        "JSON would keep only the last: remove one",
        "x.json: /a: duplicate key 'a' at line 1, column 33 (first at line 1, column 2); "
        "JSON would keep only the last: remove one",
    ]
    assert document is not None and document.data == {"a": 4, "b": {"c": 3}}  # JSON's reading


def test_missing_file_and_folder(tmp_path):
    problems = Problems()
    assert load_document(tmp_path / "nope.json", problems, label="nope.json") is None
    assert load_document(tmp_path, problems, label="dir") is None
    assert [str(p) for p in problems.items] == [
        "nope.json: /: file not found",
        "dir: /: is a folder, expected a JSON file",
    ]


def test_deep_nesting_is_refused_not_crashed(tmp_path):
    for depth in (MAX_DEPTH + 1, 100_000):
        document, problems = load(tmp_path, b"[" * depth + b"]" * depth)
        assert document is None
        where = "/0" * MAX_DEPTH + f": nested too deeply at line 1, column {MAX_DEPTH + 1}"
        assert problems == [f"x.json: {where}: at most {MAX_DEPTH} levels of objects and arrays"]


def test_byte_order_mark_is_accepted(tmp_path):
    document, problems = load(tmp_path, b'\xef\xbb\xbf{"a": 1}')
    assert problems == [] and document.data == {"a": 1}
