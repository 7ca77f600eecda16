#!/usr/bin/env bash
# What a member gets: the node agent's one-file artifact (built by `npm run build:agent`) and its
# checksum, copied alone into an empty directory with no node_modules in it or above it, checked
# with sha256sum as the boot script checks it, and every subcommand's --help run from there with
# nothing but node on PATH. Fails on the first miss.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=dist/agent-bundle/secure-etcd.cjs
[ -f "$bundle" ] || { echo "$bundle is missing: run npm run build:agent"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$bundle" "$bundle.sha256" "$work/"
(cd "$work" && sha256sum --check --strict secure-etcd.cjs.sha256)
for dir in "$work" $(d="$work"; while [ "$d" != / ]; do d=$(dirname "$d"); echo "$d"; done); do
    if [ -e "$dir/node_modules" ]; then echo "$dir/node_modules would let the artifact load modules"; exit 1; fi
done
echo "artifact: $(stat -c %s "$work/secure-etcd.cjs") bytes"
node_dir=$(dirname "$(command -v node)")
for args in "--help" "backup --help" "restore-verify --help" "verify --help" "node-sync --help" "maintenance --help" "restore-member --help" "--version"; do
    # shellcheck disable=SC2086 # the words are the command's arguments
    (cd "$work" && env -i PATH="$node_dir" HOME="$work" ./secure-etcd.cjs $args >/dev/null) ||
        { echo "secure-etcd.cjs $args failed"; exit 1; }
    echo "ok: secure-etcd.cjs $args (alone, PATH=$node_dir)"
done
