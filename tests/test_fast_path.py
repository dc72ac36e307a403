"""The fast path (compiler/output/manifest.py) writes exactly what a full compile writes, and `--check`
says exactly what a full check says: after edits of a simulation, of the catalog's vars, of a
feed, a deleted target, a file edited or saved otherwise by hand, and with the manifest
corrupted, stale, missing, from another compiler, or not a file."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from compiler import cli, workspace
from compiler.output import build, manifest, render, verified
from compiler.sources import feeds
from compiler.output.manifest import NAME

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "sample"  # the suite's frozen copy of the sample project


@pytest.fixture
def demo(tmp_path: Path, monkeypatch) -> Path:
    """The demo catalog copied, with a feed used by one app, compiled once (with its manifest)."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLE / "data", data, ignore=shutil.ignore_patterns("results"))
    (data / "skus.csv").write_text("sku,price\nA1,10\nB2,20\n")
    edit(data / "simulations/app.json", lambda s: (
        s.update(feeds={"skus": {"file": "skus.csv", "mode": "sequential"}}),
        s["endpoints"].append({"name": "sku", "path": "/product/${feed:skus.sku}"}),
    ))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert run(tmp_path, "compile")[0] == 0
    return tmp_path


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def run(folder: Path, *args: str, fast: bool = True, out: str = "generated") -> tuple[int, str, str]:
    import contextlib
    import io

    feeds._cache.clear()  # a file rewritten within the same clock tick must be read again
    stdout, stderr = io.StringIO(), io.StringIO()
    saved, workspace.FAST_PATH = workspace.FAST_PATH, fast
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = cli.main(["--catalog", "data/catalog.json", args[0], "--out", out, *args[1:]])
    finally:
        workspace.FAST_PATH = saved
    return code, *(text.getvalue().replace(f"{out}/", "OUT/").replace(f"{out}:", "OUT:") for text in (stdout, stderr))


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != NAME}


def assert_fast_is_full(folder: Path, *options: str) -> tuple[int, str, str]:
    """`compile --check` and `compile` with the manifest give what they give without it, and
    leave exactly the same files (the full compile runs on a copy of the folder as it was)."""
    shutil.copytree(folder / "generated", folder / "full", symlinks=True, ignore=shutil.ignore_patterns(NAME))
    assert run(folder, "compile", "--check", *options) == run(folder, "compile", "--check", *options, fast=False, out="full")
    assert files(folder / "generated") == files(folder / "full")  # --check wrote nothing
    fast = run(folder, "compile", *options)
    assert fast == run(folder, "compile", *options, fast=False, out="full")
    assert files(folder / "generated") == files(folder / "full")
    assert run(folder, "compile", "--check") == run(folder, "compile", "--check", fast=False, out="full")
    shutil.rmtree(folder / "full")
    return fast


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """The targets rendered (the others took the fast path)."""
    names: list[str] = []
    original = build.render_target

    def counting(target):
        names.append(target.name)
        return original(target)

    monkeypatch.setattr(build, "render_target", counting)
    monkeypatch.setenv(build.PROCESSES_VARIABLE, "1")  # rendered here, where they are counted
    return names


def test_nothing_changed_renders_nothing_and_writes_nothing(demo: Path, rendered: list[str]):
    before = {p.name: p.stat().st_mtime_ns for p in (demo / "generated").iterdir()}
    code, stdout, _ = assert_fast_is_full(demo)
    assert code == 0 and "0 written, 26 unchanged" in stdout
    rendered.clear()
    assert run(demo, "compile")[1] == "OUT: 0 written, 26 unchanged, 0 removed\n"
    assert run(demo, "compile", "--check")[1] == "OUT: up to date (26 file(s))\n"
    assert rendered == []
    assert {p.name: p.stat().st_mtime_ns for p in (demo / "generated").iterdir()} == before


def test_a_simulation_edited_renders_only_its_targets(demo: Path, rendered: list[str]):
    edit(demo / "data/simulations/payments.json", lambda s: s["endpoints"][0].update(weight=7))
    assert assert_fast_is_full(demo)[0] == 0
    edit(demo / "data/simulations/payments.json", lambda s: s["endpoints"][0].update(weight=8))
    rendered.clear()
    payments = ["payments_local_co", "payments_local_mx", "payments_qa_co", "payments_qa_mx"]
    assert run(demo, "compile")[1].splitlines() == [f"OUT/{name}.py: endpoints: ~quote" for name in payments] + [
        "OUT: 4 written, 22 unchanged, 0 removed"
    ]
    assert rendered and all(name.startswith("payments_") for name in rendered)


def test_a_protected_hosts_change_reaches_every_file(demo: Path):
    edit(demo / "data/simulations/payments.json", lambda s: s.update(host="https://pay.${country}.${domain}"))
    edit(demo / "data/catalog.json", lambda c: c["apps"]["payments"].update(exclude=[{"country": "br"}]))
    code, stdout, _ = assert_fast_is_full(demo)
    assert code == 0 and "26 unchanged" not in stdout


def test_the_vars_of_a_country_edited(demo: Path, rendered: list[str]):
    edit(demo / "data/catalog.json", lambda c: c["countries"]["co"]["vars"].update(locale="es-419"))
    rendered.clear()
    assert run(demo, "compile")[0] == 0
    assert rendered and all(name.endswith("_co") for name in rendered)
    edit(demo / "data/catalog.json", lambda c: c["countries"]["co"]["vars"].update(locale="es-CO"))
    assert_fast_is_full(demo)


def test_a_feed_edited(demo: Path):
    (demo / "data/skus.csv").write_text("sku,price\nA1,10\nC3,30\n")
    assert_fast_is_full(demo)
    (demo / "data/skus.csv").unlink()
    code, _, stderr = assert_fast_is_full(demo)
    assert code == 2 and "skus.csv not found" in stderr


def test_a_deleted_target_and_an_edited_one(demo: Path):
    edit(demo / "data/catalog.json", lambda c: c["apps"]["app"]["exclude"].append({"environment": "qa", "country": "br"}))
    code, stdout, _ = assert_fast_is_full(demo)
    assert code == 0 and "removed" in stdout and not (demo / "generated/app_qa_br.py").exists()
    assert (demo / "generated" / NAME).is_file()
    path = demo / "generated/app_qa_mx.py"
    path.write_text(path.read_text() + "# changed by hand\n")
    code, _, stderr = assert_fast_is_full(demo)
    assert code == 2 and "edited by hand" in stderr
    code, _, stderr = assert_fast_is_full(demo, "--force")
    assert code == 0 and "overwrote" in stderr


def test_files_saved_otherwise_deleted_or_replaced(demo: Path):
    out = demo / "generated"
    (out / "app_qa_mx.py").write_bytes((out / "app_qa_mx.py").read_bytes().replace(b"\n", b"\r\n"))
    (out / "app_qa_co.py").unlink()
    (out / "app_local_mx.py").unlink()
    (out / "app_local_mx.py").symlink_to("app_qa_br.py")
    code, _, stderr = assert_fast_is_full(demo)
    assert code == 2 and "symbolic link" in stderr


@pytest.mark.parametrize("how", ["corrupt", "truncated", "tampered", "other compiler", "stale", "missing", "a folder"])
def test_a_manifest_not_to_be_trusted(demo: Path, how: str, monkeypatch):
    path = demo / "generated" / NAME
    if how == "stale":  # the manifest of other inputs, put back after a compile of these
        old = path.read_bytes()
        edit(demo / "data/simulations/app.json", lambda s: s["endpoints"][0].update(weight=9))
        assert run(demo, "compile")[0] == 0
        edit(demo / "data/simulations/app.json", lambda s: s["endpoints"][0].update(weight=1))
        path.write_bytes(old)
        (demo / "generated/app_qa_mx.py").write_text("# Generated by the simulation compiler, edited\n")
    elif how == "corrupt":
        path.write_bytes(b"\x00garbage{")
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif how == "tampered":
        pass  # below, once the stale file is written
    elif how == "other compiler":
        monkeypatch.setattr(manifest, "compiler_digest", lambda: "another")
    elif how == "missing":
        path.unlink()
    else:
        path.unlink()
        path.mkdir()
    stale = demo / "generated/app_qa_co.py"
    stale.write_text(render.MARKER + "\n# stale\n")
    if how == "tampered":  # a claim changed without its checksum (that it holds the stale file): ignored
        text = path.read_text()
        body = json.loads(text)["manifest"]
        body["targets"]["app_qa_co"]["file"] = verified.file_status(stale.lstat())
        path.write_text(text[: text.index('"manifest": ') + 12] + json.dumps(body, ensure_ascii=False, indent=0) + "}\n")
    assert_fast_is_full(demo)
    if how != "a folder":
        assert path.is_file() and json.loads(path.read_text())["manifest"]["targets"]


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The generated files the fast path read to verify them (the others it knew by their status)."""
    names: list[str] = []
    original = verified.holds

    def counting(path: Path, expected: str, clock):
        names.append(path.name)
        return original(path, expected, clock)

    monkeypatch.setattr(verified, "holds", counting)
    return names


def settled() -> None:
    """Past the file system's clock tick of the last change (its timestamps may be coarse)."""
    time.sleep(0.05)


def test_an_unchanged_file_is_known_by_its_status_and_not_read(demo: Path, reads: list[str]):
    settled()
    assert run(demo, "compile")[0] == 0  # reads those a change in the compile's last tick could have hidden
    reads.clear()
    assert run(demo, "compile")[1] == "OUT: 0 written, 26 unchanged, 0 removed\n"
    assert run(demo, "compile", "--check")[1] == "OUT: up to date (26 file(s))\n"
    assert reads == []
    edit(demo / "data/simulations/app.json", lambda s: s["endpoints"][0].update(weight=7))
    assert run(demo, "compile")[0] == 0
    settled()
    assert run(demo, "compile")[0] == 0
    reads.clear()
    assert run(demo, "compile", "--check")[0] == 0 and reads == []  # the files written are known too


@pytest.mark.parametrize("how", ["same size, times put back", "replaced, times copied", "mode changed"])
def test_a_file_changed_behind_its_status_is_read_again(demo: Path, reads: list[str], how: str):
    settled()
    assert run(demo, "compile")[0] == 0
    path = demo / "generated/app_qa_mx.py"
    before = path.stat()
    data = path.read_bytes()
    edited = data.replace(b"weight", b"WEIGHT", 1)
    assert edited != data and len(edited) == len(data)
    if how == "same size, times put back":  # `touch -r`: only the change time tells
        path.write_bytes(edited)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif how == "replaced, times copied":  # `cp -p` of another file of the same size
        other = demo / "other.py"
        other.write_bytes(edited)
        os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.replace(other, path)
    else:
        path.chmod(0o600)
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    reads.clear()
    code, _, stderr = assert_fast_is_full(demo)
    assert "app_qa_mx.py" in reads
    assert (code, "edited by hand" in stderr) == ((0, False) if how == "mode changed" else (2, True))


def test_a_file_edited_while_the_compile_writes_is_not_taken_for_its_own(demo: Path, monkeypatch):
    edit(demo / "data/simulations/app.json", lambda s: s["endpoints"][0].update(weight=7))  # app_* written
    path, save = demo / "generated/app_qa_mx.py", manifest.Manifest.save

    def edited_meanwhile(self, *args):  # after the files are in place, before the manifest records them
        before = path.stat()
        path.write_bytes(path.read_bytes().replace(b"weight", b"WEIGHT", 1))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # its size and times as written
        return save(self, *args)

    monkeypatch.setattr(manifest.Manifest, "save", edited_meanwhile)
    assert run(demo, "compile")[0] == 0
    monkeypatch.setattr(manifest.Manifest, "save", save)
    code, _, stderr = assert_fast_is_full(demo)
    assert code == 2 and "app_qa_mx.py" in stderr and "edited by hand" in stderr


def test_the_manifest_is_never_taken_for_a_generated_or_foreign_file(demo: Path):
    out = demo / "generated"
    assert (out / NAME).is_file()
    assert run(demo, "compile", "--only", "app_qa_*")[0] == 0
    assert run(demo, "compile", "--check")[1] == "OUT: up to date (26 file(s))\n"
    edit(demo / "data/catalog.json", lambda c: c.update(apps={}))
    code, stdout, _ = run(demo, "compile")
    assert code == 0 and stdout == "OUT: 0 written, 0 unchanged, 26 removed\n"
    assert [p.name for p in out.iterdir()] == [NAME]
    assert ".compiler-manifest.json" in (ROOT / ".gitignore").read_text().splitlines()
