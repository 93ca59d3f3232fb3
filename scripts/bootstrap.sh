# Sourced by demo.sh and test.sh: makes pnpm 10 available without touching the machine outside
# the checkout (a pinned copy in .tools/ when no pnpm 10 is on PATH), then installs the workspace.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PNPM_VERSION="10.34.9"

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=17)?"yes":"no")' 2>/dev/null || echo no)
if [ "$node_ok" != "yes" ]; then
  echo "SiltDB needs Node.js >= 20.17 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if ! { command -v pnpm >/dev/null 2>&1 && [[ "$(pnpm --version 2>/dev/null)" == 10.* ]]; }; then
  if [ ! -x "$ROOT/.tools/node_modules/.bin/pnpm" ]; then
    echo "> installing pnpm@$PNPM_VERSION into .tools/"
    npm install --prefix "$ROOT/.tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION"
  fi
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
fi

cd "$ROOT"
echo "> pnpm install"
CI=true pnpm install --frozen-lockfile --reporter=append-only

HAVE_CARGO=no
if command -v cargo >/dev/null 2>&1; then HAVE_CARGO=yes; fi
