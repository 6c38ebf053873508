#!/usr/bin/env bash
# Runs every test tier (lint, types, unit, extension host in code-server, browser) and ends with
# "N passed, N failed, N skipped". Installs whatever is missing first (see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec node scripts/test.mjs "$@"
