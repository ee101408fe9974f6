#!/usr/bin/env bash
# `npm run test:real`: the nodes against the real Vtiger 8 and SalesMan CRM 2025.4 of ../shared/real-crm.
#
# Starts both servers with the shared up scripts (PHP 8.2 + MariaDB from Debian, installed by them when missing;
# idempotent), builds the package, then runs the jest project `real`: the nodes in-process through n8n's engine,
# the package pack-installed into a real n8n, and the emulator-versus-real-server differential suite.
#
#   REAL_CRM_DIR=…        where the shared scripts are (default: ../shared/real-crm beside the project)
#   REAL_FRESH=1          a clean install of both CRMs first (deletes their data under $REAL_ROOT)
#   REAL_KEEP_RUNNING=1   leave the servers running afterwards (they are stopped when this script started them)
#
# `scripts/test-real.sh bench` (npm run bench:real) runs test/bench/real.bench.ts instead of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
REAL_CRM_DIR="${REAL_CRM_DIR:-$(cd .. && pwd)/shared/real-crm}"
if [ ! -f "$REAL_CRM_DIR/vtiger-up.sh" ] || [ ! -f "$REAL_CRM_DIR/salesman-up.sh" ]; then
  echo "test:real: no real CRM scripts in $REAL_CRM_DIR (set REAL_CRM_DIR)" >&2
  exit 2
fi
export REAL_CRM_DIR
export REAL_ROOT="${REAL_ROOT:-/tmp/real-crm}"

up() { curl -s -o /dev/null -m 3 "$1"; }
started=()
if [ "${REAL_FRESH:-0}" = 1 ]; then
  bash "$REAL_CRM_DIR/vtiger-down.sh" >/dev/null 2>&1 || true
  bash "$REAL_CRM_DIR/salesman-down.sh" >/dev/null 2>&1 || true
  rm -rf "$REAL_ROOT/salesman" "$REAL_ROOT/vtiger" "$REAL_ROOT/mariadb"
fi
for crm in salesman vtiger; do
  url=$([ $crm = salesman ] && echo http://127.0.0.1:8081 || echo http://127.0.0.1:8082)
  up "$url" || started+=("$crm")
  echo "[test:real] starting the real $crm ($REAL_CRM_DIR/$crm-up.sh)" >&2
  t0=$SECONDS
  bash "$REAL_CRM_DIR/$crm-up.sh" >"$REAL_ROOT-$crm-up.log" 2>&1 || { cat "$REAL_ROOT-$crm-up.log" >&2; exit 1; }
  echo "[test:real] $crm up in $((SECONDS - t0)) s" >&2
done
stop() {
  if [ "${REAL_KEEP_RUNNING:-0}" != 1 ]; then
    for crm in "${started[@]}"; do bash "$REAL_CRM_DIR/$crm-down.sh" >/dev/null 2>&1 || true; done
  fi
}
trap stop EXIT

if [ "${1:-}" = bench ]; then
  rm -rf .bench && npx tsc -p tsconfig.bench.json
  N8N_USER_FOLDER=$(mktemp -d) N8N_LOG_LEVEL=silent node .bench/test/bench/real.bench.js
  exit
fi
npm run build
npx jest --selectProjects real --runInBand "$@"
