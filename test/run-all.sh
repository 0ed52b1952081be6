#!/usr/bin/env bash
# Runs every test tier (unit + command, then end-to-end) and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
out=test/.tmp
rm -rf "$out" && mkdir -p "$out"
status=0
# the lab and sshd tiers need root; without it they are reported as skipped, never as passed
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$out/unit.json" || status=1
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$out/e2e.json" || status=1
node test/summarize.mjs "$out/unit.json" "$out/e2e.json" || status=1
exit $status
