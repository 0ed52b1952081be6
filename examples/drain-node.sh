#!/bin/sh
# Drain a Proxmox VE node with pvx and jq: every guest on <node> moves to <target>, VMs live and
# running containers with a restart (pvx takes --online or --restart per run, so two runs); then
# one line per guest, and exit status 1 if any guest is still on <node>. An example of scripting pvx:
# `pvx node drain <node>` does this in one command, placing each guest on a target it fits on.
# Usage: drain-node.sh <node> <target> [parallel]      (pvx finds the nodes in PVX_INVENTORY or ./pvx.yaml)
set -eu
node=${1:?usage: drain-node.sh <node> <target> [parallel]}
target=${2:?usage: drain-node.sh <node> <target> [parallel]}
parallel=${3:-2}
vms=$(mktemp) cts=$(mktemp)
trap 'rm -f "$vms" "$cts"' EXIT

# 1. everything on the node; running VMs live. Exit 1 only means "not everything moved".
rc=0
pvx migrate "all@$node" --to "$target" --online --parallel "$parallel" --json >"$vms" || rc=$?
if [ "$rc" -gt 1 ]; then jq -r '.error.message' "$vms" >&2; exit "$rc"; fi

# 2. the containers the first run skipped (a running container needs --restart), with a restart
ids=$(jq -r '[.result.guests[] | select(.type == "lxc" and .status == "skipped") | .vmid] | join(",")' "$vms")
echo '{"result":{"guests":[]}}' >"$cts"
if [ -n "$ids" ]; then
  rc=0
  pvx migrate "$ids" --to "$target" --restart --parallel "$parallel" --json >"$cts" || rc=$?
  if [ "$rc" -gt 1 ]; then jq -r '.error.message' "$cts" >&2; exit "$rc"; fi
fi

# 3. one line per guest (the second run's verdict for the containers it retried)
report='[.[0].result.guests[] | select(.type != "lxc" or .status != "skipped")] + .[1].result.guests'
jq -r -s "$report | .[] | [.vmid, .type, .from, .to, .status, (.error // \"\")] | @tsv" "$vms" "$cts"
if jq -e -s "$report | all(.status == \"migrated\")" "$vms" "$cts" >/dev/null; then
  echo "$node is drained: every guest runs on $target"
else
  echo "$node is not drained: see the lines above" >&2
  exit 1
fi
