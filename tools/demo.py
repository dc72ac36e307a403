"""`make demo`: compile, start the bundled target service, run two generated locustfiles on it.

Everything stays on 127.0.0.1 and is bounded in time: the service stops by itself, and each
locustfile runs with its baked defaults. First `generated/app_local_mx.py` (independent
requests: 10 users for 10s), then `generated/shop_local_mx.py`, a journey of two populations:
shoppers, who log in once with a shopper of a per-country feed, then browse or buy (list
products, add one picked at random to a cart, pay), and one admin, who logs in and reads every
user's latest orders every 2s; in stages of 14s in all, judged by thresholds whose table the
file prints at the end of its run.

The `local` targets bake the host http://127.0.0.1:8765. When that port is taken, run
`make demo DEMO_PORT=8766` (or `tools/demo.py --port 8766`; 0 takes a free port): the service
listens there, and locust gets `-H http://127.0.0.1:8766`, its only flag. The secrets the files
read, APP_TOKEN and SHOPPER_PASSWORD, default to demo values (the service takes any).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = (  # (target, what it shows); each run goes to data/results/<target>/<UTC time>/
    ("app_local_mx", "independent requests"),
    ("shop_local_mx", "a journey: login, browse or buy; stages and thresholds"),
)
SECRETS = {"APP_TOKEN": "demo-token", "SHOPPER_PASSWORD": "demo-password"}  # unless set
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
    results = []
    try:
        if port is None:
            service.wait(timeout=10)
            print(
                f"demo: the target service did not start on 127.0.0.1:{args.port}; "
                f"another port: make demo DEMO_PORT={args.port + 1 if args.port else 8766}",
                file=sys.stderr,
            )
            return 2
        environment = {**os.environ, **{name: os.environ.get(name) or value for name, value in SECRETS.items()}}
        for target, what in RUNS:
            command = [str(Path(python).parent / "locust"), "-f", f"generated/{target}.py"]
            if port != BAKED_PORT:
                command += ["-H", f"http://127.0.0.1:{port}"]  # the file's host names port 8765
            shown = " ".join(command[1:])
            print(f"\ndemo: running locust {shown} ({what}; its baked defaults otherwise)", flush=True)
            before = set(run_folders(target))
            locust = subprocess.run(command, cwd=ROOT, env=environment, timeout=120)
            made = [folder for folder in run_folders(target) if folder not in before]
            results.append((target, locust.returncode, made[-1] if made else None))
    finally:
        if service.poll() is None:
            service.terminate()
        service.wait(timeout=10)
    print()
    subprocess.run([python, "-m", "compiler", "index"], cwd=ROOT, stdout=subprocess.DEVNULL)  # the runs listed
    for target, code, folder in results:
        where = f"HTML report: {folder / 'report.html'}" if folder else "no run folder (see above)"
        print(f"demo: {target}: locust exited {code}; {where}")
    print(f"demo: every run: {ROOT / 'data' / 'results' / 'index.html'}")
    return max((code for _, code, _ in results), default=0)


def run_folders(target: str) -> list[Path]:
    """The target's run folders, oldest first (their names are UTC times)."""
    folder = ROOT / "data" / "results" / target
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


if __name__ == "__main__":
    sys.exit(main())
