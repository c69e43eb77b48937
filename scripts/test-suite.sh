#!/usr/bin/env bash
# The suite as `make test` runs it: two ape sessions at once, one for the contract, end-to-end and browser tests,
# one for everything else. Each session has its own anvil (ape-foundry's `host: auto`), temporary directories and
# PostgreSQL schemas, and much of the suite waits on nodes and subprocesses, so the two overlap well on two cores.
# Arguments go to both sessions (`PYTEST_ARGS`); each session's output is printed when both are done, and the exit
# status is the first failing session's. `ape test tests` runs the same tests in one session.
set -uo pipefail
cd "$(dirname "$0")/.."

# Compiled once here: two sessions compiling at once would both write .build.
ape compile >/dev/null || exit 1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
ape test tests/contracts tests/e2e tests/webapp "$@" >"$logs/contracts-e2e-webapp.log" 2>&1 &
first=$!
ape test tests --ignore=tests/contracts --ignore=tests/e2e --ignore=tests/webapp "$@" >"$logs/other.log" 2>&1 &
second=$!
wait "$first"
first_status=$?
wait "$second"
second_status=$?

for name in contracts-e2e-webapp other; do
  echo "=== tests: $name ==="
  cat "$logs/$name.log"
done
if [ "$first_status" -ne 0 ]; then
  exit "$first_status"
fi
exit "$second_status"
