#!/usr/bin/env bash
# Builds the dashboard (web/) into OUT_DIR: index.html and assets/ (the
# esbuild bundle and its CSS, content-hashed). The npm packages are the ones
# pinned in web/package-lock.json, installed with `npm ci` into NPM_DIR (not
# the source tree); they are reinstalled only when the lockfile changes.
# Nothing is fetched at run time: the daemon serves OUT_DIR as it is.
#   scripts/build-web.sh [OUT_DIR [NPM_DIR]]   default build/web, OUT_DIR-npm
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/web}
npm_dir=${2:-$out-npm}

command -v npm >/dev/null || { echo "build-web: npm not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
mkdir -p "$npm_dir"
# npm ci wipes and reinstalls node_modules; skip it when the same lockfile is installed.
if ! cmp -s "$root/web/package-lock.json" "$npm_dir/package-lock.json" || [ ! -d "$npm_dir/node_modules" ]; then
  cp "$root/web/package.json" "$root/web/package-lock.json" "$npm_dir/"
  echo "build-web: npm ci in $npm_dir" >&2
  # --ignore-scripts: no install script may download anything (esbuild's
  # binary comes as its pinned @esbuild/<platform> package).
  (cd "$npm_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
node "$root/web/build.mjs" "$out" "$npm_dir/node_modules"
