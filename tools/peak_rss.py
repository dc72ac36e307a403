"""Run a command and write its own peak resident memory, in KiB, to a file.

Why a launcher: Linux carries a process's high-water RSS across fork and exec (the child's
copy of its parent's memory counts, and exec keeps the mark), so a command started straight
from a big process (pytest after hundreds of tests, a benchmark that compiled in-process)
reports its parent's peak, not its own: a CI run measured every locust process at the test
process's 328 MiB. Started from this small process instead, the command's ru_maxrss is its
own, over a floor of this launcher's few MiB.

Usage: python tools/peak_rss.py REPORT -- COMMAND [ARGS...]
Exits with the command's code (128 + N when signal N ended it); SIGINT and SIGTERM are passed on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: peak_rss.py REPORT -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    report, command = Path(argv[0]), argv[2:]
    process = subprocess.Popen(command)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda received, _frame: process.send_signal(received))
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # so that Popen does not wait again
    report.write_text(f"{usage.ru_maxrss}\n")
    code = process.returncode
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
