"""`make demo`: compile, start the bundled target service, run one generated locustfile on it.

Everything stays on 127.0.0.1 and is bounded in time: the service stops by itself, and the
locustfile runs with its baked defaults (10 users for 10s in the `local` environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = "generated/app_local_mx.py"
REPORT = "data/results/app_local_mx/report.html"
PORT = 8765  # the `local` environment's domain in data/catalog.json


def wait_until_up(service: subprocess.Popen, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and service.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1).read()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def main() -> int:
    python = sys.executable
    compiled = subprocess.run([python, "-m", "compiler", "compile"], cwd=ROOT)
    if compiled.returncode:
        return compiled.returncode
    service = subprocess.Popen(
        [python, "tools/target_service.py", "--port", str(PORT), "--seconds", "120"], cwd=ROOT
    )
    try:
        if not wait_until_up(service):
            print(f"demo: the target service did not start on 127.0.0.1:{PORT}", file=sys.stderr)
            return 2
        print(f"demo: running locust -f {LOCUSTFILE} (its baked defaults, no other flag)", flush=True)
        environment = {**os.environ, "APP_TOKEN": os.environ.get("APP_TOKEN", "demo-token")}
        locust = subprocess.run(
            [str(Path(python).parent / "locust"), "-f", LOCUSTFILE], cwd=ROOT, env=environment, timeout=120
        )
    finally:
        service.terminate()
        service.wait(timeout=10)
    print(f"\ndemo: locust exited {locust.returncode}; HTML report: {ROOT / REPORT}")
    return locust.returncode


if __name__ == "__main__":
    sys.exit(main())
