"""`kill -9` during a compile: every file is left old or new, never half-written nor missing, and
the next compile tidies what the killed one left and finishes the job.

A real compile runs in a subprocess over 100 targets and is killed (SIGKILL) at several points:
at fractions of a whole compile's time, and at moments the output folder shows (a first temporary
file, a third of the files replaced, ...). For the latter the compile is first stopped (SIGSTOP),
the folder is looked at while nothing moves, and the process is then killed in that very state.
Should a file ever be seen torn (missing, or of neither size), the compile is killed right there,
so the checks catch it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT
from compiler.output.manifest import NAME as MANIFEST
from compiler.output.write import TEMP_NAME

ENVIRONMENTS, COUNTRIES = 10, 10  # 100 targets, plus 10 of a country the new inputs drop
FOREIGN = {"notes.py": b"print('mine')\n", ".compiler-notes.tmp": b"my notes, not a temporary file\n"}


def many_targets(project):
    environments = {f"e{i:02d}": {"vars": {"domain": f"e{i}.example.test"}} for i in range(ENVIRONMENTS)}
    countries = {f"c{i:02d}": {"vars": {"locale": f"l{i}", "currency": f"C{i}"}} for i in range(COUNTRIES)}
    countries["zz"] = {"vars": {"locale": "zz", "currency": "ZZZ"}}
    catalog = {
        "environments": environments,
        "countries": countries,
        "apps": {"shop": {"simulation": "simulations/shop.json", "environments": list(environments),
                          "countries": list(countries), "vars": {"service": "shop"}}},
    }
    return project(catalog=catalog)


def snapshot(folder: Path) -> dict[str, os.DirEntry]:
    with os.scandir(folder) as entries:
        return {entry.name: entry for entry in entries}


def identity(entry: os.DirEntry) -> tuple[int, int, int]:
    info = entry.stat(follow_symlinks=False)
    return info.st_ino, info.st_mtime_ns, info.st_size


def progress(folder: Path, before: dict[str, tuple[int, int, int]], sizes: dict[str, set[int]]) -> tuple[int, int, int]:
    """(target files replaced or changed in any way, temporary files present, target files torn:
    missing, or of a size that is neither the old file's nor the new one's)."""
    entries = snapshot(folder)
    now = {name: identity(entries[name]) for name in before if name in entries}
    replaced = sum(1 for name, old in before.items() if now.get(name) != old)
    temporaries = sum(1 for name in entries if TEMP_NAME.fullmatch(name) and name not in FOREIGN)
    torn = sum(1 for name in before if name not in now or now[name][2] not in sizes[name])
    return replaced, temporaries, torn


def start_compile(made) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "compiler", "--catalog", str(made.catalog_path), "compile"],
        cwd=made.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def kill_when(process: subprocess.Popen, ready) -> bool:
    """SIGKILL the compile as soon as `ready()` holds, checked again while it is stopped so that
    it is killed in a state that satisfies it. False if the compile finished first."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if not ready():
            time.sleep(0.001)  # leave the compile a core: the machine may have only two
            continue
        process.send_signal(signal.SIGSTOP)
        _pid, status = os.waitpid(process.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            break  # it ended on its own meanwhile
        if ready():
            process.kill()
            process.wait()
            return True
        process.send_signal(signal.SIGCONT)
    if process.poll() is None:
        process.kill()
    process.wait()
    return False


def test_a_compile_killed_anywhere_leaves_old_or_new_files_and_the_next_one_finishes(project):
    started = time.monotonic()
    made = many_targets(project)
    generated = made.folder / "generated"
    t0 = time.monotonic()
    assert made.run("compile").returncode == 0
    duration = time.monotonic() - t0  # of a whole compile, in a subprocess: the clock's kill points scale with it
    old = {path.name: path.read_bytes() for path in generated.iterdir() if not path.name.startswith(MANIFEST)}
    made.catalog["countries"].pop("zz")
    made.catalog["apps"]["shop"]["countries"].remove("zz")
    made.simulations["simulations/shop.json"]["users"] = 5  # every file changes
    made.save()
    assert made.cli("compile", "--out", "expected")[0] == 0
    new = {path.name: path.read_bytes() for path in (made.folder / "expected").iterdir() if not path.name.startswith(MANIFEST)}
    dropped = sorted(set(old) - set(new))
    assert len(new) == ENVIRONMENTS * COUNTRIES and len(dropped) == ENVIRONMENTS
    assert all(old[name] != new[name] for name in new)
    third = len(new) // 3
    sizes = {name: {len(old[name]), len(new[name])} for name in new}

    points = [
        (f"at 10% of a compile ({duration:.2f} s)", 0.1 * duration, None),
        ("at 50%", 0.5 * duration, None),
        ("at 80%", 0.8 * duration, None),
        ("first temporary file", None, lambda replaced, temporaries: temporaries > 0),
        ("a third replaced", None, lambda replaced, temporaries: replaced >= third),
        ("two thirds replaced, one in flight", None, lambda replaced, temporaries: replaced >= 2 * third and temporaries > 0),
        ("all replaced", None, lambda replaced, temporaries: replaced == len(new)),
    ]
    measured, temporaries_left = [], 0
    for label, seconds, condition in points:
        for _attempt in range(3):  # a state-triggered point is retried if the compile outran the poll
            for path in generated.iterdir():
                path.unlink()
            for name, data in {**old, **FOREIGN}.items():
                (generated / name).write_bytes(data)
            before = {name: identity(entry) for name, entry in snapshot(generated).items() if name in new}
            process = start_compile(made)
            t0 = time.monotonic()

            def ready() -> bool:
                replaced, temporaries, torn = progress(generated, before, sizes)
                return torn > 0 or condition(replaced, temporaries)  # torn: never seen, or the checks fail

            if seconds is not None:
                time.sleep(seconds)
                process.kill()
                process.wait()
                killed = True  # or it had finished: then the checks below see the new set
                label += "" if process.returncode == -signal.SIGKILL else " (it had finished)"
            else:
                killed = kill_when(process, ready)
            elapsed = time.monotonic() - t0
            if killed:
                break
        assert killed, f"the compile always finished (exit {process.returncode}) before '{label}'"

        # Every target file is whole: old or new. Nothing else is there but our temporaries,
        # each one the start of a new file, and the foreign files, untouched.
        entries = snapshot(generated)
        states = {}
        for name in new:
            assert name in entries and entries[name].is_file(follow_symlinks=False), f"{label}: {name} missing"
            data = (generated / name).read_bytes()
            assert data in (old[name], new[name]), f"{label}: {name} is neither the old nor the new file"
            states[name] = "new" if data == new[name] else "old"
        left = [name for name in dropped if name in entries]
        assert all((generated / name).read_bytes() == old[name] for name in left)
        temporaries = sorted(set(entries) - set(new) - set(dropped) - set(FOREIGN) - {MANIFEST, MANIFEST + ".tmp"})
        for name in temporaries:
            assert TEMP_NAME.fullmatch(name), f"{label}: unexpected {name}"
            data = (generated / name).read_bytes()
            assert any(text.startswith(data) for text in new.values()), f"{label}: {name} is not part of a new file"
        assert all((generated / name).read_bytes() == data for name, data in FOREIGN.items())
        n_old, n_new = list(states.values()).count("old"), list(states.values()).count("new")
        temporaries_left += len(temporaries)
        measured.append(f"{label}: killed at {elapsed:.2f} s, {n_old} old, {n_new} new, "
                        f"{len(left)} of {len(dropped)} dropped still there, {len(temporaries)} temporary file(s) left")

        # The next compile removes the temporaries and gives exactly the new set.
        code, out, err = made.cli("compile")
        assert (code, err) == (0, ""), err
        assert out.splitlines()[-1] == f"generated: {n_old} written, {n_new} unchanged, {len(left)} removed"
        assert len(out.splitlines()) == 1 + n_old  # what changed in each file written, one line each
        assert {path.name: path.read_bytes() for path in generated.iterdir() if path.name != MANIFEST} == {**new, **FOREIGN}

    print("\n" + "\n".join(measured) + f"\ntotal {time.monotonic() - started:.1f} s")
    assert temporaries_left > 0  # so the tidying above was put to the test
