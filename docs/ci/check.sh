#!/bin/sh
# The CI job's first step (docs/ci/load-test.yml; tests/test_ci.py runs it too): the catalog is
# valid and generated/ is what it compiles to (make check: validate, then compile --check).
set -u
cd "$(dirname "$0")/../.." || exit 2
exec make check
