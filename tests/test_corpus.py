"""The corpus of broken input: every message the compiler gives is reviewed like code.

Each folder in tests/corpus/ is one case: a catalog.json and its simulations (small files, each a
minimal valid pair with a few mistakes), and expected.txt, whose first line is `exit N` and the
rest exactly what `python -m compiler --catalog catalog.json validate` prints (stderr and stdout,
in order), run from the case's folder. Cases too big to commit (huge files, deep nesting,
thousands of endpoints or targets) are made from their folder's files at run time by GENERATED.

After changing a message, rewrite every expected.txt and review the diff:

    UPDATE_CORPUS=1 .venv/bin/python -m pytest tests/test_corpus.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())
UPDATE = os.environ.get("UPDATE_CORPUS") == "1"
TIMEOUT = 60  # seconds; a case that takes longer hangs, as far as a user can tell
SIMULATION = "simulations/shop.json"


def edit_json(folder: Path, relative: str, change: Callable[[dict], object]) -> None:
    path = folder / relative
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), "utf-8")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def endpoints(count: int, **fields) -> Callable[[dict], object]:
    return lambda data: data.update(
        endpoints=[{"name": f"e{i}", "path": f"/p{i}", **fields} for i in range(count)]
    )


def many_targets(data: dict) -> None:
    data["environments"] = {f"env{i}": {"vars": {"domain": "example.test"}} for i in range(200)}
    data["countries"] = {f"c{i}": {"vars": {"locale": "es-MX"}} for i in range(200)}
    data["apps"]["shop"].update(
        environments=list(data["environments"]), countries=list(data["countries"])
    )


def replace_text(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / relative
        path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")

    return change


# Cases made at run time, from the files their folder holds.
GENERATED: dict[str, Callable[[Path], object]] = {
    "catalog-is-a-folder": lambda folder: (folder / "catalog.json").mkdir(),
    "number-too-long": replace_text(SIMULATION, '"users": 4', '"users": ' + "9" * 5000),
    "file-too-large": lambda folder: edit_json(
        folder, SIMULATION, endpoints(1, body="x" * 6 * 2**20)
    ),
    # an endpoint's json is at depth 4 (file, endpoints, endpoint, json): 62 more is one too many
    "nesting-65-levels": replace_text(SIMULATION, '{"sku": "A1"}', nested(62)),
    "nesting-too-deep": replace_text(SIMULATION, '{"sku": "A1"}', nested(100_000)),
    "too-many-endpoints": lambda folder: edit_json(folder, SIMULATION, endpoints(5000)),
    "wrong-everywhere": lambda folder: edit_json(
        folder, SIMULATION, endpoints(3000, method="get", weight=0)
    ),
    "too-many-targets": lambda folder: edit_json(folder, "catalog.json", many_targets),
}
# Run as a separate process, with a timeout: the absurd sizes must not hang, and a real process
# shows what reaches the terminal (stdout and stderr in order, and text UTF-8 must be able to carry).
SUBPROCESS = (set(GENERATED) - {"catalog-is-a-folder"}) | {
    "lone-surrogate",
    "syntax-trailing-comma",
}


def run_in_process(folder: Path) -> tuple[int, str]:
    output, before = io.StringIO(), os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = main(["--catalog", "catalog.json", "validate"])
    finally:
        os.chdir(before)
    return code, output.getvalue()


def run_process(folder: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CONFIG_PATH", "COMPILER_DEBUG")}
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", "catalog.json", "validate"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe, so the order is the terminal's
        timeout=TIMEOUT,
        env={**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
    )
    return result.returncode, result.stdout.decode("utf-8")


@pytest.mark.parametrize("case", CASES)
def test_case(case: str, tmp_path: Path) -> None:
    folder = tmp_path / case
    shutil.copytree(CORPUS / case, folder, ignore=shutil.ignore_patterns("expected.txt"))
    if case in GENERATED:
        GENERATED[case](folder)
    code, output = (run_process if case in SUBPROCESS else run_in_process)(folder)
    actual = f"exit {code}\n{output}"
    expected_path = CORPUS / case / "expected.txt"
    if UPDATE:
        expected_path.write_bytes(actual.encode("utf-8"))
    assert "Traceback" not in output and "internal error" not in output, output
    assert expected_path.exists(), f"{case}: no expected.txt; run UPDATE_CORPUS=1 pytest {__file__}"
    assert actual == expected_path.read_bytes().decode("utf-8")


def test_every_generated_case_has_a_folder() -> None:
    assert set(GENERATED) <= set(CASES)
