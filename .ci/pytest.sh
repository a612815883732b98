#!/usr/bin/env bash
# pytest for `make test`. With PostgreSQL (TEST_DATABASE_URL) the suite runs as two pytest
# processes at once, one per backend, so both cores work: most of a test's time is Python in the
# test process itself (request generation, the app in the same event loop), which one process
# runs on one core. The SQLite run also takes the tests that need no database; each run has its
# own Redis database and its own temporary directory. PYTEST_SPLIT=0 runs one process.
set -uo pipefail
PYTHON=${PYTHON:-.venv/bin/python}

run() { "$PYTHON" -m pytest "$@"; }
verdict() {  # exit code 5 = nothing collected: a suite that is missing must fail
  if [ "$1" -eq 5 ]; then echo "pytest collected no tests: the suite is missing" >&2; return 1; fi
  return "$1"
}

if [ -z "${TEST_DATABASE_URL:-}" ] || [ "${PYTEST_SPLIT:-1}" = 0 ]; then
  run "$@"; verdict $?; exit $?
fi

log=$(mktemp -t practicum-pytest-postgresql.XXXXXX)
sqlite_tmp=$(mktemp -d -t practicum-pytest-sqlite.XXXXXX)
pg_tmp=$(mktemp -d -t practicum-pytest-postgresql.XXXXXX)
redis_base=${TEST_REDIS_URL:-}
# A Redis database of its own for the PostgreSQL run: the two runs' rate-limit counters must not meet.
redis_pg=$(printf '%s' "$redis_base" | sed -E 's#^(rediss?://[^/]+)(/[0-9]*)?$#\1/7#')

echo "pytest: SQLite and PostgreSQL in two processes at once; the PostgreSQL run's output follows the SQLite run's"
env TEST_BACKENDS=postgresql TEST_WITHOUT_DATABASE=0 ${redis_base:+TEST_REDIS_URL=$redis_pg} \
  "$PYTHON" -m pytest --basetemp="$pg_tmp" "$@" >"$log" 2>&1 &
pg_pid=$!
trap 'kill "$pg_pid" 2>/dev/null' INT TERM
TEST_BACKENDS=sqlite run --basetemp="$sqlite_tmp" "$@"
sqlite_code=$?
wait "$pg_pid"
pg_code=$?
echo
echo "==================== the PostgreSQL run ===================="
cat "$log"
rm -rf "$log" "$sqlite_tmp" "$pg_tmp"
echo "pytest: SQLite run exit $sqlite_code, PostgreSQL run exit $pg_code"
verdict "$sqlite_code" || exit 1
verdict "$pg_code" || exit 1
