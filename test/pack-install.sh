#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, the tarball installed into a fresh prefix with
# `npm install -g --prefix`, and the installed pvx run from outside the checkout. Needs `npm run build`.
# Usage: test/pack-install.sh [prefix]   (a prefix given is kept for more checks; otherwise a temporary one)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli.js ] && [ -f schemas/envelope.json ] || { echo "pack-install: build first (npm run build)" >&2; exit 1; }
version=$(node -p 'require("./package.json").version')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=${1:-$work/prefix}
fail() { echo "pack-install: $*" >&2; exit 1; }

npm pack --silent --pack-destination "$work" >/dev/null
tgz=$(ls "$work"/pvx-*.tgz)
listing=$(tar -tzf "$tgz")
for f in package/bin/pvx.js package/dist/cli.js package/dist/lab/sim/main.js package/schemas/envelope.json \
  package/schemas/cluster-status.json package/completions/pvx.bash package/completions/_pvx package/completions/pvx.fish; do
  grep -qx "$f" <<<"$listing" || fail "the tarball lacks $f"
done
! grep -qE '^package/(src|test)/' <<<"$listing" || fail "the tarball holds sources or tests"

npm install -g --prefix "$prefix" --no-audit --no-fund --loglevel=error "$tgz" >/dev/null
pvx=$prefix/bin/pvx
pkg=$prefix/lib/node_modules/pvx
[ -x "$pvx" ] || fail "no executable $pvx after the install"
cd "$work" # nothing of the checkout may be used from here on

[ "$("$pvx" --version)" = "$version" ] || fail "pvx --version is not $version"
script=$("$pvx" completion bash) && grep -q '^_pvx() {$' <<<"$script" || fail 'pvx completion bash prints no completion function'
head -n 3 <<<"$script"
"$pvx" schema cluster status | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (s.title !== "pvx cluster status --json" || !s.properties?.result) process.exit(1);' || fail 'pvx schema cluster status is not the schema of cluster status'
"$pvx" schema cluster status | cmp -s - "$pkg/schemas/cluster-status.json" || fail 'pvx schema does not print the shipped file'
help=$("$pvx" lab up --help) && grep -q -- '--pve <versions>' <<<"$help" || fail 'pvx lab up --help does not describe --pve'

# start-up paths load neither zod nor yaml: they still work with both gone
mkdir "$work/aside"
mv "$pkg/node_modules/zod" "$pkg/node_modules/yaml" "$work/aside/"
"$pvx" --version >/dev/null || fail 'pvx --version needs zod or yaml'
answer=$("$pvx" __complete -- cluster '') && grep -qx 'status	.*' <<<"$answer" || fail "pvx __complete -- cluster '' needs zod or yaml"
"$pvx" schema cluster status >/dev/null || fail 'pvx schema (shipped files) needs zod'
"$pvx" completion zsh >/dev/null || fail 'pvx completion needs zod or yaml'
mv "$work/aside/zod" "$work/aside/yaml" "$pkg/node_modules/"

echo "pack-install: pvx $version installs from its tarball and runs (version, completion, schema, lab up --help)"
