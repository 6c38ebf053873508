#!/usr/bin/env bash
# Installs what BERT Lens needs to build, test and run its demo on a fresh Debian/Ubuntu machine with Node 20:
# system packages (only when missing; needs root or sudo), npm dependencies, and the code-server test host.
# Idempotent: every step is skipped when already done. Nothing is downloaded apart from apt and the npm registry.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ONNXRUNTIME_NODE_INSTALL=skip ORT_DISABLE_TELEMETRY=1
log() { echo "setup: $*" >&2; }

need=()
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v krb5-config >/dev/null || need+=(libkrb5-dev)
command -v rg >/dev/null || need+=(ripgrep)
command -v make >/dev/null || need+=(build-essential)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  log "installing system packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

LOCK_STAMP="node_modules/.bert-lens-lock.sha256"
if [ ! -f "$LOCK_STAMP" ] || [ "$(cat "$LOCK_STAMP")" != "$(sha256sum package-lock.json | cut -d' ' -f1)" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
  sha256sum package-lock.json | cut -d' ' -f1 > "$LOCK_STAMP"
fi

bash scripts/install-test-host.sh
