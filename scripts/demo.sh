#!/usr/bin/env bash
# Quick start, command 1: install, build, run the main job (`silt doctor`, then `silt demo`).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
if [ "$HAVE_CARGO" = yes ]; then
  echo "> pnpm build"
  pnpm build
else
  echo "> cargo not found: building without the native accelerator (the TypeScript one will run)"
  pnpm build:ts
fi
echo "> silt doctor"
node packages/cli/dist/silt.js doctor
echo "> silt demo"
node packages/cli/dist/silt.js demo "$@"
