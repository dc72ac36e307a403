"""A compile split between processes (compiler/output/build.py) writes what one process writes: the same
files, manifest, messages and exit code, for valid catalogs, warnings and errors found while
resolving, and the fast path after an edit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "sample"  # the suite's frozen copy of the sample project
CORPUS = ROOT / "tests/corpus"
MANIFEST = ".compiler-manifest.json"


def compile_with(folder: Path, processes: int, out: str, *args: str) -> tuple[int, str, str]:
    catalog = "data/catalog.json" if (folder / "data").is_dir() else "catalog.json"
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", catalog, "compile", "--out", out, *args],
        cwd=folder, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COMPILER_PROCESSES": str(processes)},
    )  # fmt: skip
    return result.returncode, result.stdout.replace(out + ":", "OUT:").replace(out + "/", "OUT/"), result.stderr.replace(out + "/", "OUT/")


def tree(folder: Path) -> dict[str, bytes | dict]:
    """The folder's files; of the manifest, its claims without the status of each file (their
    inodes and times differ from folder to folder)."""
    found: dict[str, bytes | dict] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}
    if MANIFEST in found and b'"manifest": ' in found[MANIFEST]:  # not one an older compiler left
        claims = json.loads(found[MANIFEST])["manifest"]
        for entry in claims["targets"].values():
            assert entry.pop("file", None) is None or entry["output"]  # a status only with the bytes it vouches for
        found[MANIFEST] = claims
    return found


def same_either_way(folder: Path, *args: str) -> tuple[int, str, str]:
    one = compile_with(folder, 1, "out-1", *args)
    for processes in (2, 3):
        assert compile_with(folder, processes, f"out-{processes}", *args) == one
        assert tree(folder / f"out-{processes}") == tree(folder / "out-1")  # the manifest too
    return one


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE / "data", tmp_path / "data", ignore=shutil.ignore_patterns("results"))
    return tmp_path


def test_the_demo_catalog_split_between_processes_gives_the_same_bytes(demo: Path):
    code, stdout, _ = same_either_way(demo)
    committed = {name: text for name, text in tree(SAMPLE / "generated").items() if name.endswith(".py")}
    assert code == 0 and stdout.splitlines() == [f"OUT/{name}: new" for name in sorted(committed)] + [
        "OUT: 26 written, 0 unchanged, 0 removed"
    ]
    assert {name: tree(demo / "out-1")[name] for name in committed} == committed
    simulation = demo / "data/simulations/app.json"
    data = json.loads(simulation.read_text())
    data["endpoints"][0]["weight"] = 9
    simulation.write_text(json.dumps(data))
    code, stdout, _ = same_either_way(demo)  # the fast path: only the app targets again
    app = len([name for name in committed if name.startswith("app_")])
    assert code == 0 and f"{app} written, {len(committed) - app} unchanged" in stdout
    assert [line for line in stdout.splitlines() if "endpoints" in line] == [
        f"OUT/{name}: endpoints: ~{data['endpoints'][0]['name']}" for name in sorted(committed) if name.startswith("app_")
    ]


@pytest.mark.parametrize("case", ["unknown-variables", "journey-undefined-capture", "literal-credentials"])
def test_problems_found_while_resolving_are_reported_the_same(case: str, tmp_path: Path):
    shutil.copytree(CORPUS / case, tmp_path, dirs_exist_ok=True)
    code, stdout, stderr = same_either_way(tmp_path)
    expected = (CORPUS / case / "expected.txt").read_text().splitlines()
    assert code == int(expected[0].split()[1]) and stderr  # errors (exit 2) or warnings (exit 0)
