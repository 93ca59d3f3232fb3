#!/usr/bin/env bash
# Quick start, command 2: install, build, run every test — cargo tests, then every package's
# tests under SILTDB_NATIVE=require and SILTDB_NATIVE=off, then the install-from-tarballs check.
# The last line is the overall `N passed, N failed`.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
if [ "$HAVE_CARGO" != yes ]; then
  echo "the test suite needs cargo (Rust) to build the native accelerator" >&2
  exit 1
fi
echo "> pnpm build"
pnpm build
node scripts/test-all.mjs "$@"
