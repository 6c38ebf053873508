#!/usr/bin/env bash
# Launches a real VS Code (code-server) with BERT Lens on the demo workspace; prints the address to open.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
node esbuild.js
exec node out/test/runner/demo.js "$@"
