#!/bin/sh
# The build recompiles only what changed (build.ninja: the generator writes
# only files whose bytes change, and its step has restat):
#   - a comment added to a spec compiles no C file;
#   - a change to one spec's update recompiles that spec's units only.
# Runs in a copy of the source tree under a temporary directory (removed at
# the end), building two kernel objects there, so nothing here is touched.
set -eu
cd "$(dirname "$0")/.."
if ! command -v luajit >/dev/null 2>&1; then
  echo "optkern: skipped the incremental-build test: luajit not found"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optk-incr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# (files deleted but not yet committed are listed and skipped)
git ls-files -co --exclude-standard -z | tar cf - --null -T - --ignore-failed-read 2>/dev/null | tar xf - -C "$tmp"
cd "$tmp"
objs="build/generated/units/lion_scalar.o build/generated/units/adam_scalar.o"
# shellcheck disable=SC2086
ninja $objs >/dev/null

fail() {
  echo "incremental: FAILED: $1" >&2
  sed 's/^/  /' log >&2
  exit 1
}

echo "-- a comment" >>generator/specs/lion.lua
# shellcheck disable=SC2086
ninja $objs >log
grep -q OPTGEN log || fail "the generator did not rerun after a spec changed"
if grep -q ' CC ' log; then fail "a comment in a spec recompiled C files"; fi

sed 's/m = m \* beta2 + g \* (1 - beta2)/m = m * beta2 - g * (beta2 - 1)/' generator/specs/lion.lua >lion.new
cmp -s lion.new generator/specs/lion.lua && fail "tests/incremental.sh: lion's update line not found"
mv lion.new generator/specs/lion.lua
# shellcheck disable=SC2086
ninja $objs >log
grep -q 'CC build/generated/units/lion_scalar.o' log || fail "a changed update did not recompile its unit"
if grep -q 'adam_scalar.o' log; then fail "a change to lion recompiled adam"; fi
echo "incremental: a comment compiled nothing; a change to lion recompiled lion's unit only"
