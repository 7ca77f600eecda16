#!/usr/bin/env bash
# What a new user gets: pack the package, install the tarball in an empty directory without dev
# dependencies, and run the shipped command and the library from there. Fails on the first miss.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=$(npm pack --silent --pack-destination "$work" | tail -1)
echo "packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"
if tar -tzf "$work/$tarball" | grep -E '^package/(dist/)?(testing|test|bench|policy)/|\.test\.|mocks|Emulator' ; then
    echo "the tarball holds testing support or tests (above)"; exit 1
fi
mkdir "$work/app" && cd "$work/app"
npm init -y >/dev/null
npm install --omit=dev --no-audit --no-fund --prefer-offline "$work/$tarball" >/dev/null
bin=node_modules/.bin/secure-etcd
for args in "--help" "backup --help" "restore-verify --help" "verify --help" "node-sync --help" "maintenance --help" "restore-member --help"; do
    # shellcheck disable=SC2086 # the words are the command's arguments
    "$bin" $args >/dev/null || { echo "secure-etcd $args failed"; exit 1; }
    echo "ok: secure-etcd $args"
done
node -e '
const etcd = require("secure-etcd");
if (typeof etcd.SecureEtcdCluster !== "function") throw new Error("no SecureEtcdCluster");
const rules = require("secure-etcd/rules");
if (typeof rules.leafValidityProblems !== "function") throw new Error("no rules");
console.log("ok: require(\"secure-etcd\") and require(\"secure-etcd/rules\")");
'
