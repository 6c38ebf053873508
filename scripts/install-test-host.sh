#!/usr/bin/env bash
# Install the real-VS-Code test host (code-server, pinned in test/host/package-lock.json) into
# test/host/node_modules, in its own npm prefix so that its native builds stay out of the extension's
# dependency tree.
#
# Works offline except for the npm registry: nothing is downloaded from GitHub, nodejs.org or a CDN.
#
# Needs (CI installs these with apt before running this script):
#   Node 20 (code-server's postinstall refuses any other major), npm, a C/C++ toolchain + python3 + make
#   (node-gyp), libkrb5-dev (kerberos), ripgrep (its rg is seeded as @vscode/ripgrep's "download"),
#   and, to run the tests, chromium.
#
# Usage: scripts/install-test-host.sh [--force]
#   Idempotent: does nothing when test/host/node_modules already holds a complete install made from the
#   current package-lock.json with the current Node major/arch. --force reinstalls from scratch.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST="$ROOT/test/host"
STAMP="$HOST/node_modules/.bert-lens-test-host.stamp"
CS="$HOST/node_modules/code-server"
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "install-test-host: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "install-test-host: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------- checks
command -v node >/dev/null || die "node not found"
command -v npm >/dev/null || die "npm not found"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" = "20" ] || die "code-server 4.100.x needs Node 20 (found $(node --version))"
NODE_ARCH="$(node -p 'process.arch')"
NODE_PLATFORM="$(node -p 'process.platform')"

want_stamp() {
  local lockhash
  lockhash="$(sha256sum "$HOST/package-lock.json" | cut -d' ' -f1)"
  echo "lock=$lockhash node=$NODE_MAJOR platform=$NODE_PLATFORM arch=$NODE_ARCH"
}

installed_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(want_stamp)" ] \
    && [ -f "$CS/out/node/entry.js" ] \
    && [ -x "$CS/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] \
    && [ -d "$CS/lib/vscode/node_modules/node-pty/build/Release" ] \
    && [ -e "$CS/lib/vscode/node_modules.asar" ]
}

if [ "$FORCE" = 0 ] && installed_ok; then
  log "already installed ($(node -p "require('$CS/package.json').version") in $HOST), nothing to do"
  exit 0
fi

missing=()
command -v rg >/dev/null || missing+=("ripgrep (rg)")
command -v krb5-config >/dev/null || missing+=("libkrb5-dev (krb5-config)")
command -v make >/dev/null || missing+=("make")
{ command -v g++ >/dev/null || command -v c++ >/dev/null; } || missing+=("g++")
command -v python3 >/dev/null || missing+=("python3")
if [ "${#missing[@]}" -gt 0 ]; then
  die "missing build prerequisites: ${missing[*]}. On Debian/Ubuntu: apt-get install -y build-essential python3 libkrb5-dev ripgrep"
fi
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null \
  || log "warning: chromium not found; the host installs, but the browser tests need it (apt-get install chromium)"

# ------------------------------------------------------------------------------------------ environment
export npm_config_yes=true            # node-pty's postinstall runs npx
export npm_config_unsafe_perm=true    # code-server's postinstall insists on it when run as root
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export ONNXRUNTIME_NODE_INSTALL=skip  # harmless here; keeps any stray onnxruntime-node postinstall offline
# node-gyp downloads Node headers from nodejs.org unless told where they are: point it at the running
# Node's own headers when npm has no nodedir configured and they exist (Debian, setup-node, nvm all ship them).
CUR_NODEDIR="$(npm config get nodedir 2>/dev/null || true)"
if [ -z "${npm_config_nodedir:-}" ] && { [ -z "$CUR_NODEDIR" ] || [ "$CUR_NODEDIR" = undefined ] || [ "$CUR_NODEDIR" = null ]; }; then
  NODE_PREFIX="$(dirname "$(dirname "$(node -p 'process.execPath')")")"
  if [ -f "$NODE_PREFIX/include/node/node_version.h" ]; then
    export npm_config_nodedir="$NODE_PREFIX"
    log "using Node headers from $NODE_PREFIX/include/node"
  fi
fi

START="$(date +%s)"
cd "$HOST"

# ------------------------------------------------------------------ 1. unpack without running any scripts
log "npm ci --ignore-scripts (unpack code-server)"
rm -f "$STAMP"
npm ci --ignore-scripts --no-audit --no-fund

# ------------------------------------------- 2. seed @vscode/ripgrep's download cache with the system rg
# code-server's postinstall runs `npm install` inside lib/vscode, which installs @vscode/ripgrep, whose
# postinstall downloads rg from GitHub unless $TMPDIR/vscode-ripgrep-cache-<pkgver>/<asset> exists.
# Read the exact package version from code-server's shrinkwrap and the release tag/asset naming from that
# package's own postinstall code, so the seeded file is the one it will look for.
RG_PKG_VERSION="$(node -p "require('$CS/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep'].version")"
[ -n "$RG_PKG_VERSION" ] && [ "$RG_PKG_VERSION" != "undefined" ] || die "cannot find @vscode/ripgrep in code-server's shrinkwrap"
PROBE="$(mktemp -d)"
trap 'rm -rf "$PROBE"' EXIT
( cd "$PROBE" && npm pack "@vscode/ripgrep@$RG_PKG_VERSION" --silent >/dev/null && tar xzf ./*.tgz )
SEED_INFO="$(node - "$PROBE/package" "$NODE_ARCH" <<'EOF'
const fs = require('fs'), path = require('path'), os = require('os');
const [dir, arch] = process.argv.slice(2);
const post = fs.readFileSync(path.join(dir, 'lib/postinstall.js'), 'utf8');
const dl = fs.readFileSync(path.join(dir, 'lib/download.js'), 'utf8');
const pkgVersion = require(path.join(dir, 'package.json')).version;
const m = /const\s+VERSION\s*=\s*['"]([^'"]+)['"]/.exec(post);
if (!m) { console.error('cannot find VERSION in @vscode/ripgrep postinstall.js'); process.exit(1); }
// Linux targets exactly as @vscode/ripgrep's getTarget() maps them (x64/arm64 are the ones that matter).
const targets = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl', ia32: 'i686-unknown-linux-musl' };
const target = targets[arch];
if (!target) { console.error('no seeding rule for arch ' + arch); process.exit(1); }
if (!post.includes("'" + target + "'")) { console.error('target ' + target + ' not in postinstall.js: layout changed'); process.exit(1); }
// Sanity-check the cache layout this script relies on.
const cacheExpr = /path\.join\(os\.tmpdir\(\),\s*`vscode-ripgrep-cache-\$\{packageVersion\}`\)/;
const assetExpr = /\['ripgrep',\s*opts\.version,\s*opts\.target\]\.join\('-'\)\s*\+\s*extension/;
if (!cacheExpr.test(dl) || !assetExpr.test(dl)) { console.error('@vscode/ripgrep download.js cache layout changed; update scripts/install-test-host.sh'); process.exit(1); }
const cacheDir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${pkgVersion}`);
console.log(cacheDir + '\t' + ['ripgrep', m[1], target].join('-') + '.tar.gz');
EOF
)" || die "could not work out @vscode/ripgrep's download cache path"
RG_CACHE_DIR="${SEED_INFO%%$'\t'*}"
RG_ASSET="${SEED_INFO#*$'\t'}"
RG_BIN="$(command -v rg)"
RG_REAL="$(readlink -f "$RG_BIN")"
[ "$(basename "$RG_REAL")" = rg ] || die "system ripgrep binary is not named rg: $RG_REAL"
mkdir -p "$RG_CACHE_DIR"
# The archive must hold `rg` at its top level (download.js runs `tar xvf ASSET -C bin` and expects bin/rg).
tar czf "$RG_CACHE_DIR/$RG_ASSET.tmp" -C "$(dirname "$RG_REAL")" rg
mv -f "$RG_CACHE_DIR/$RG_ASSET.tmp" "$RG_CACHE_DIR/$RG_ASSET"
log "seeded $RG_CACHE_DIR/$RG_ASSET with $RG_BIN ($("$RG_BIN" --version | head -1)) for @vscode/ripgrep@$RG_PKG_VERSION"

# ---------------------------------------------- 3. run the install scripts (code-server's postinstall)
log "npm rebuild (code-server postinstall: installs lib/vscode deps, builds native modules)"
npm rebuild --foreground-scripts

installed_ok_files() {
  [ -f "$CS/out/node/entry.js" ] && [ -x "$CS/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] \
    && [ -d "$CS/lib/vscode/node_modules/node-pty/build/Release" ] && [ -e "$CS/lib/vscode/node_modules.asar" ]
}
installed_ok_files || die "install finished but code-server is incomplete (see the log above)"
"$CS/out/node/entry.js" --version >/dev/null 2>&1 || node "$CS/out/node/entry.js" --version >/dev/null \
  || die "code-server does not start"
want_stamp > "$STAMP"
log "installed code-server $(node "$CS/out/node/entry.js" --version | head -1) in $(( $(date +%s) - START )) s"
