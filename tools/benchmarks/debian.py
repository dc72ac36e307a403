"""Tools from Debian's packages for the benchmarks, without installing them: `apt-get download`
then `dpkg -x` into a cache folder, no root needed and nothing changed on the machine (as root,
`apt-get update` first when apt has no package lists). The cache folder is
$XDG_CACHE_HOME/simulation-compiler/ (~/.cache by default), one folder per package."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "simulation-compiler"
APT_SECONDS = 300


def installed_or_unpacked(package: str, binary: str, override: str) -> Path:
    """The binary `binary` (e.g. usr/sbin/nginx) of `package`: the path in $`override` if set,
    the machine's own if installed, else the package's, unpacked into CACHE once."""
    chosen = os.environ.get(override)
    if chosen:
        return Path(chosen)
    name = Path(binary).name
    for candidate in (shutil.which(name), f"/{binary}"):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    unpacked = CACHE / package / binary
    if not unpacked.exists():
        unpack(package, CACHE / package)
    return unpacked


def unpack(package: str, into: Path) -> None:
    """`apt-get download PACKAGE` and `dpkg -x` it into `into`, whole or not at all."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{package}-deb-") as folder:
        os.chmod(folder, 0o755)  # apt's _apt user may write there: no "unsandboxed" warning
        download = ["apt-get", "download", "-q", package]
        result = subprocess.run(download, cwd=folder, capture_output=True, text=True, timeout=APT_SECONDS)
        if result.returncode != 0 and os.getuid() == 0:  # no package lists yet: fetch them, once
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=APT_SECONDS)
            result = subprocess.run(download, cwd=folder, capture_output=True, text=True, timeout=APT_SECONDS)
        debs = sorted(Path(folder).glob(f"{package}_*.deb"))
        if result.returncode != 0 or not debs:
            raise RuntimeError(f"could not download Debian's {package} package (apt-get download {package}): "
                               f"{result.stderr.strip()[-500:]}")
        partial = into.with_name(into.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        subprocess.run(["dpkg", "-x", str(debs[0]), str(partial)], check=True, timeout=APT_SECONDS)
        (partial / "package").write_text(debs[0].name + "\n")
        shutil.rmtree(into, ignore_errors=True)
        partial.rename(into)  # an interrupted unpack is done again next time
