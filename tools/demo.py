"""`make demo`: compile, start the bundled target service, run one generated locustfile on it.

Everything stays on 127.0.0.1 and is bounded in time: the service stops by itself, and the
locustfile runs with its baked defaults (10 users for 10s in the `local` environment).

The `local` targets bake the host http://127.0.0.1:8765. When that port is taken, run
`make demo DEMO_PORT=8766` (or `tools/demo.py --port 8766`; 0 takes a free port): the service
listens there, and locust gets `-H http://127.0.0.1:8766`, its only flag.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = "generated/app_local_mx.py"
REPORT = "data/results/app_local_mx/report.html"
BAKED_PORT = 8765  # the `local` environment's domain in data/catalog.json
LISTENING = "target service: listening on http://127.0.0.1:"


def start_service(python: str, port: int) -> tuple[subprocess.Popen, int | None]:
    """The service, and the port it listens on once it says so (None if it could not start)."""
    service = subprocess.Popen(
        [python, "tools/target_service.py", "--port", str(port), "--seconds", "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = service.stdout.readline()  # its first line, or "" when it exited (port taken)
    print(line, end="", flush=True)
    if not line.startswith(LISTENING):
        return service, None
    return service, int(line[len(LISTENING) :].split()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DEMO_PORT") or BAKED_PORT),
        help=f"the target service's port on 127.0.0.1 (default: $DEMO_PORT, else {BAKED_PORT}; 0: a free one)",
    )
    args = parser.parse_args(argv)
    python = sys.executable
    compiled = subprocess.run([python, "-m", "compiler", "compile"], cwd=ROOT)
    if compiled.returncode:
        return compiled.returncode
    service, port = start_service(python, args.port)
    try:
        if port is None:
            service.wait(timeout=10)
            print(
                f"demo: the target service did not start on 127.0.0.1:{args.port}; "
                f"another port: make demo DEMO_PORT={args.port + 1 if args.port else 8766}",
                file=sys.stderr,
            )
            return 2
        command = [str(Path(python).parent / "locust"), "-f", LOCUSTFILE]
        if port != BAKED_PORT:
            command += ["-H", f"http://127.0.0.1:{port}"]  # the file's host names port 8765
        shown = " ".join(command[1:])
        print(f"demo: running locust {shown} (its baked defaults otherwise)", flush=True)
        environment = {**os.environ, "APP_TOKEN": os.environ.get("APP_TOKEN", "demo-token")}
        locust = subprocess.run(command, cwd=ROOT, env=environment, timeout=120)
    finally:
        if service.poll() is None:
            service.terminate()
        service.wait(timeout=10)
    print(f"\ndemo: locust exited {locust.returncode}; HTML report: {ROOT / REPORT}")
    return locust.returncode


if __name__ == "__main__":
    sys.exit(main())
