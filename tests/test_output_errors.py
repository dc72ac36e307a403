"""When the system refuses a write: every message names its file (the target file, never a
temporary one, never an empty name), compile says how far it got, and nothing is half-written.
Standard output behaves as in other command-line tools: a reader that went away (`| head`) is
not an error, a full disk behind it (`> /dev/full`) is one that names standard output.

All of it in real processes: the failures come from the kernel (a file size limit, a folder the
process may not write, a pipe without reader, /dev/full), not from mocks.
"""

from __future__ import annotations

import copy
import os
import resource
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SIMULATION

# Without CAP_DAC_OVERRIDE even root obeys a folder's mode, as any user would.
AS_A_USER = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search", "--"]


def compiler(made, *args: str, prefix: list[str] | None = None, **options) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("CONFIG_PATH", "COMPILER_DEBUG")}
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "compiler", "--catalog", str(made.catalog_path), *args],
        cwd=made.folder, text=True, timeout=120, env={**environment, "PYTHONPATH": str(ROOT)},
        **({"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} | options),
    )


def test_a_write_refused_by_the_system_stops_compile_naming_the_file_and_what_was_written(project):
    """RLIMIT_FSIZE makes the kernel refuse a write past that size (EFBIG), as a full disk would
    (ENOSPC): shop_qa_mx.py, made larger than the others, cannot be written."""
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {
        "targets": {"qa/mx": {"endpoints": [{"name": f"extra{i}", "path": f"/extra/{i}"} for i in range(100)]}}
    }
    made = project(simulation=simulation)
    assert made.cli("compile", "--out", "sizes")[0] == 0
    sizes = {p.name: p.stat().st_size for p in (made.folder / "sizes").iterdir()}
    small = max(size for name, size in sizes.items() if name != "shop_qa_mx.py")
    assert sizes["shop_qa_mx.py"] > small + 4096
    limit = small + 2048

    result = compiler(made, "compile", preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert result.returncode == 2
    assert result.stderr == "error: generated/shop_qa_mx.py: not written: File too large\n"
    assert result.stdout == (
        "generated: 2 written, 0 unchanged, 0 removed, then stopped by the error above; "
        "the other files are as they were\n"
    )
    generated = made.folder / "generated"
    assert sorted(p.name for p in generated.iterdir()) == ["shop_prod_mx.py", "shop_qa_br.py"]  # no temporary left
    for path in generated.iterdir():
        assert path.read_bytes() == (made.folder / "sizes" / path.name).read_bytes()
    assert compiler(made, "compile").stdout == "generated/shop_qa_mx.py: new\ngenerated: 1 written, 2 unchanged, 0 removed\n"


def test_a_read_only_output_folder_is_named_with_the_target_file_not_a_temporary_one(project):
    """A folder the process may write nothing in: the message names the file it failed to write,
    never the temporary name that failed; an unreadable folder is named itself."""
    made = project()
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: a folder's mode cannot stop this process")
        prefix = AS_A_USER
    made.cli("compile")
    generated = made.folder / "generated"
    made.simulations["simulations/shop.json"]["users"] = 5  # every file is stale
    made.save()
    before = {p.name: p.read_bytes() for p in generated.iterdir()}
    generated.chmod(0o555)
    try:
        result = compiler(made, "compile", prefix=prefix)
    finally:
        generated.chmod(0o755)
    assert result.returncode == 2
    assert result.stderr == "error: generated/shop_prod_mx.py: not written: Permission denied\n"
    assert result.stdout == (
        "generated: 0 written, 0 unchanged, 0 removed, then stopped by the error above; "
        "the other files are as they were\n"
    )
    assert {p.name: p.read_bytes() for p in generated.iterdir()} == before
    generated.chmod(0o000)  # not even listed: the folder is named, and --check says no more
    try:
        check, compile_ = compiler(made, "compile", "--check", prefix=prefix), compiler(made, "compile", prefix=prefix)
    finally:
        generated.chmod(0o755)
    assert (check.returncode, check.stdout) == (2, "")
    assert check.stderr == "error: generated: cannot list the output folder: Permission denied\n"
    assert (compile_.returncode, compile_.stderr.splitlines()[0]) == (
        2, "error: generated: cannot open the output folder to lock it: Permission denied"
    )


def test_a_reader_that_went_away_is_not_an_error(project):
    """`explain ... | head -0`: the pipe has no reader before the first byte is written."""
    made = project()
    made.cli("compile")
    made.simulations["simulations/shop.json"]["users"] = 5
    made.save()
    stale = "generated: differs from the sources; run `make compile` and review the diff\n"
    for args, code, err in ((["explain", "shop_qa_mx"], 0, ""), (["list"], 0, ""), (["compile", "--check"], 1, stale)):
        reader, writer = os.pipe()
        os.close(reader)  # like `| head -0`, deterministic: every write gets EPIPE
        try:
            result = compiler(made, *args, stdout=writer, stderr=subprocess.PIPE)
        finally:
            os.close(writer)
        assert (result.returncode, result.stderr) == (code, err), args  # the command's own exit code, no noise


def test_a_standard_output_that_cannot_be_written_is_an_error_naming_it(project):
    made = project()
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    for args in (["list"], ["explain", "shop_qa_mx"]):
        with open("/dev/full", "w") as full:
            result = compiler(made, *args, stdout=full, stderr=subprocess.PIPE)
        assert (result.returncode, result.stderr) == (2, "error: standard output: No space left on device\n"), args
