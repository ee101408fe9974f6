#!/usr/bin/env bash
# Installs the pinned real n8n (and the Node 24 it needs) into a cache folder OUTSIDE the clone, once.
# Later runs (and CI on the same machine, in a fresh clone) reuse it. Safe to run concurrently (flock).
# Progress goes to stderr; on success the install folder is the last line on stdout.
#   N8N_CACHE_DIR  where to install (default: ~/.cache/n8n-crm-suite)
#   N8N_VERSION    default 2.41.1
# Only the npm registry is needed: Node 24 comes from the npm package node@24 (its binary package includes
# the headers, so sqlite3's native addon builds offline against them).
set -euo pipefail
N8N_VERSION="${N8N_VERSION:-2.41.1}"
NODE_MAJOR=24
CACHE="${N8N_CACHE_DIR:-$HOME/.cache/n8n-crm-suite}"
DIR="$CACHE/n8n-$N8N_VERSION"
MARK="$DIR/.ready"

if [ -f "$MARK" ]; then
  echo "$DIR"
  exit 0
fi
mkdir -p "$DIR"
# One installer at a time (e.g. CI and the sandbox starting together); the second one waits, then sees .ready.
exec 9>"$CACHE/.n8n-$N8N_VERSION.lock"
flock 9
if [ -f "$MARK" ]; then
  echo "$DIR"
  exit 0
fi
cd "$DIR"
T0=$(date +%s)
echo "[ensure-n8n] installing n8n@$N8N_VERSION and node@$NODE_MAJOR into $DIR (first run only, several minutes)" >&2
[ -f package.json ] || echo '{"name":"n8n-runtime","private":true}' > package.json
# --ignore-scripts: a native Kafka addon tries to download zlib and fails offline; we build sqlite3 ourselves.
npm install --no-audit --no-fund --ignore-scripts --loglevel=error "node@$NODE_MAJOR" "n8n@$N8N_VERSION" >&2

# node@24 fetches its binary in a *preinstall* script (installArchSpecificPackage: npm-installs
# node-<platform>-<arch> inside node_modules/node and hard-links bin/node), which --ignore-scripts skipped.
NODE24="$DIR/node_modules/node/bin/node"
if ! "$NODE24" --version >/dev/null 2>&1; then
  (cd "$DIR/node_modules/node" && node installArchSpecificPackage >&2)
fi
echo "[ensure-n8n] node $("$NODE24" --version)" >&2
NODE_DIST=$(dirname "$(find "$DIR/node_modules/node/node_modules" -maxdepth 3 -path '*/include/node/node.h' | head -1)")
NODE_DIST=$(cd "$NODE_DIST/../.." && pwd)   # the folder that holds bin/ include/ share/

# sqlite3 is n8n's default database: build its native addon (N-API) against Node 24's headers.
GYP_ARGS=(rebuild --release --jobs=max)
[ -f "$NODE_DIST/include/node/node.h" ] && GYP_ARGS+=("--nodedir=$NODE_DIST")
while IFS= read -r pkg; do
  SQLITE_DIR=$(dirname "$pkg")
  if ! (cd "$SQLITE_DIR" && "$NODE24" -e 'require("./lib/sqlite3")' >/dev/null 2>&1); then
    echo "[ensure-n8n] building $SQLITE_DIR" >&2
    (cd "$SQLITE_DIR" && PATH="$(dirname "$NODE24"):$PATH" npx --yes node-gyp "${GYP_ARGS[@]}" >&2)
  fi
  (cd "$SQLITE_DIR" && "$NODE24" -e 'require("./lib/sqlite3")') >&2
done < <(find "$DIR/node_modules" -path '*/sqlite3/package.json' -not -path '*/sqlite3/node_modules/*' -not -path '*/test/*')

"$NODE24" "$DIR/node_modules/n8n/bin/n8n" --version >&2
touch "$MARK"
echo "[ensure-n8n] ready: $DIR ($(( $(date +%s) - T0 )) s)" >&2
echo "$DIR"
