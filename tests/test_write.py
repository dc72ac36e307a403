"""Stage 5: atomic replacement, and nothing but the compiler's own files touched."""

import os
from pathlib import Path

import pytest

from compiler.write import TEMP_PREFIX, sync, write_atomically


def test_a_write_replaces_whole_files_and_leaves_no_temporary(tmp_path: Path):
    target = tmp_path / "x.py"
    target.write_text("old")
    write_atomically(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["x.py"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path, monkeypatch):
    target = tmp_path / "x.py"
    target.write_text("old")

    def broken_replace(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.py"]


def test_sync_tidies_leftover_temporaries_but_not_foreign_files(tmp_path: Path):
    (tmp_path / f"{TEMP_PREFIX}abc.tmp").write_text("half a file from a killed compile")
    (tmp_path / "mine.py").write_text("print('hand written')\n")
    report = sync(tmp_path, {}, None, check=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.py"]
    assert report.removed == [] and report.written == []
