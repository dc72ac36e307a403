#!/bin/sh
# The load steps of the CI job (docs/ci/load-test.yml runs them; tests/test_ci.py runs the same):
#   sh docs/ci/load-test.sh smoke    a smoke test (--smoke): one user, every endpoint and flow once
#   sh docs/ci/load-test.sh load     the gated load run: its thresholds decide (exit 3 fails)
# Each starts the bundled target service on 127.0.0.1 (SERVICE_PORT, default 8765, the local
# targets' host; "none" when the targets' hosts are up already), runs the target with
# `python -m compiler run` into RESULTS (run folders with junit.xml, index.html, and
# RESULTS/<step>-summary.json), stops the service and exits with the run's code.
# Secrets (APP_TOKEN, SHOPPER_PASSWORD, ...) come from the environment, from the CI's store.
# Settings, from the environment: PYTHON (.venv/bin/python), CATALOG (data/catalog.json),
# OUT (generated), RESULTS (data/results), SMOKE_TARGET (app_local_mx), SMOKE_ARGS
# (--smoke), LOAD_TARGET (shop_local_mx), LOAD_ARGS (none: the target's own load shape).
set -u
step=${1:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
results=${RESULTS:-data/results}
case $step in
  smoke) target=${SMOKE_TARGET:-app_local_mx}; args=${SMOKE_ARGS:---smoke} ;;
  load) target=${LOAD_TARGET:-shop_local_mx}; args=${LOAD_ARGS:-} ;;
  *) echo "usage: sh docs/ci/load-test.sh smoke|load" >&2; exit 2 ;;
esac

service=
port=${SERVICE_PORT:-8765}
if [ "$port" != none ]; then
  "$python" "$root/tools/target_service.py" --port "$port" --seconds 900 &
  service=$!
  # ready when it accepts a connection (at most 10 s)
  "$python" -c "import socket, sys, time
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit('the target service did not start on 127.0.0.1:' + sys.argv[1])" "$port" || { kill "$service"; exit 1; }
fi

# $args is split into words on purpose: it is a list of Locust options
# shellcheck disable=SC2086
"$python" -m compiler --catalog "${CATALOG:-data/catalog.json}" run "$target" --out "${OUT:-generated}" \
  --results "$results" --summary-json "$results/$step-summary.json" -- $args
code=$?
if [ -n "$service" ]; then
  kill "$service" 2>/dev/null
  wait "$service" 2>/dev/null
fi

case $code in
  0) echo "$step: passed ($results/index.html)" ;;
  3) echo "$step: thresholds breached: see $results/index.html" ;;
  *) echo "$step: failed (exit $code): see $results/$target/*/locust.log" ;;
esac
exit "$code"
