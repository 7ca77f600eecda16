#!/usr/bin/env bash
# The test of scripts/fetch-etcd.sh, against Debian's real archive (through apt, as the script uses
# it). Prints "ok"/"not ok" per case and "N passed, N failed" on its last line; exits non-zero if
# any case failed. As root, the fetches run as nobody (the script needs no root), and one runs as
# root to check that apt keeps its _apt sandbox.
# shellcheck disable=SC2016 # the bash -c programs expand their own arguments
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-etcd-test.XXXXXX")
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
# A copy of the script that nobody can read, wherever the checkout is.
cp "$here/fetch-etcd.sh" "$tmp/fetch-etcd.sh"
chmod 0755 "$tmp/fetch-etcd.sh"
script=$tmp/fetch-etcd.sh

passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "ok - $1"
}
not_ok() {
  failed=$((failed + 1))
  echo "not ok - $1"
  [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/    /'
}
check() { # check NAME COMMAND...: passes when COMMAND succeeds
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}

# Runs the script as an unprivileged user when we are root; sets out, err, status.
as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent "$@"
  else
    "$@"
  fi
}
fetch() { # fetch [ENV=...] REQUEST DIR
  out=$(as_user env "$@" 2>"$tmp/stderr")
  status=$?
  err=$(cat "$tmp/stderr")
}
userdir() { # a directory the unprivileged user owns
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then chown 65534:65534 "$1"; fi
}
apt_fingerprint() {
  { find /etc/apt -type f -exec sha256sum {} + 2>/dev/null; ls -l --time-style=+%s /var/lib/apt/lists 2>/dev/null; } | sort
}

# --- the pure parts, sourced (no network) ---
check "requests: lines, releases and Debian versions are valid; others are not" bash -c '
    . "$1"
    for r in 3.5 3.4 3.5.16 3.5.16-4 3.4.23-4+b4; do valid_request "$r" || { echo "rejected $r"; exit 1; }; done
    for r in "" 3 v3.5 3.5.x "3.5;rm" latest; do ! valid_request "$r" || { echo "accepted $r"; exit 1; }; done' _ "$script"
check "a line picks its newest release; a release its newest revision; epochs and binNMUs" bash -c '
    . "$1"
    versions=$(printf "%s\n" 3.4.23-4+b4 3.5.16-4 3.5.30-2 3.5.9-1 3.5.30-1)
    [ "$(newest_matching 3.5 <<<"$versions")" = 3.5.30-2 ] || exit 1
    [ "$(newest_matching 3.5.16 <<<"$versions")" = 3.5.16-4 ] || exit 1
    [ "$(newest_matching 3.5.30-1 <<<"$versions")" = 3.5.30-1 ] || exit 1
    [ "$(newest_matching 3.4 <<<"$versions")" = 3.4.23-4+b4 ] || exit 1
    [ "$(upstream_of 1:3.5.16-4+b1)" = 3.5.16 ] || exit 1
    ! newest_matching 3.6 <<<"$versions" && ! newest_matching 3.5.1 <<<"$versions"' _ "$script"
check "suites: bookworm for 3.4, trixie and sid for 3.5, all three otherwise" bash -c '
    . "$1"
    [ "$(suites_for 3.4.23)" = bookworm ] && [ "$(suites_for 3.5)" = "trixie sid" ] &&
      [ "$(suites_for 3.6)" = "bookworm trixie sid" ]' _ "$script"

# --- without apt (not Debian): one clear message ---
out=$(PATH=/nonexistent /bin/bash "$script" 3.5 "$tmp/nodebian" 2>&1)
status=$?
if [ $status -ne 0 ] && grep -q "apt-get not found: .*needs Debian or Ubuntu.*put etcd and etcdctl on PATH" <<<"$out" &&
  [ ! -e "$tmp/nodebian" ]; then
  ok "without apt-get: fails with what to install, creates nothing"
else
  not_ok "without apt-get: fails with what to install, creates nothing" "$out"
fi

before=$(apt_fingerprint)

# --- the newest 3.5, as an unprivileged user ---
userdir "$tmp/user"
fetch "$script" 3.5 "$tmp/user/3.5"
bin=$tmp/user/3.5/bin
if [ $status -eq 0 ] && [ "$out" = "$bin" ] && [ -x "$bin/etcd" ] && [ -x "$bin/etcdctl" ] && [ -x "$bin/etcdutl" ]; then
  ok "3.5 as $(as_user id -un): etcd, etcdctl and etcdutl in DIR/bin, which is all stdout says"
else
  not_ok "3.5 as $(as_user id -un): etcd, etcdctl and etcdutl in DIR/bin, which is all stdout says" "status $status
stdout: $out
$err"
fi
newest=$(sed -n 's/^fetch-etcd: etcd 3.5 is Debian.s etcd-server \([^ ]*\) .*/\1/p' <<<"$err")
version=$("$bin/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p')
client=$("$bin/etcdctl" version 2>/dev/null | sed -n 's/^etcdctl version: //p')
if [[ $version == 3.5.* ]] && [ "${newest%%-*}" = "$version" ] && [ "$client" = "$version" ] &&
  dpkg --compare-versions "$version" ge 3.5.16; then
  ok "3.5 is the newest 3.5 the archive offers ($newest), and etcd and etcdctl are that release"
else
  not_ok "3.5 is the newest 3.5 the archive offers ($newest), and etcd and etcdctl are that release" "etcd $version, etcdctl $client
$err"
fi
steps=$(grep -c '^fetch-etcd: ' <<<"$err")
if [ "$steps" -ge 5 ] && ! grep -qv '^fetch-etcd: ' <<<"$err" && grep -q "SHA-256 [0-9a-f]\{64\}, as the signed index says" <<<"$err"; then
  ok "one progress line per step on stderr, and nothing else, with each .deb's checked SHA-256"
else
  not_ok "one progress line per step on stderr, and nothing else, with each .deb's checked SHA-256" "$err"
fi
if [ -f "$tmp/user/3.5/packages" ] && [ "$(awk '{print $1}' "$tmp/user/3.5/packages" | tr '\n' ' ')" = "etcd-server etcd-client " ]; then
  ok "DIR/packages records the Debian versions and SHA-256s"
else
  not_ok "DIR/packages records the Debian versions and SHA-256s" "$(cat "$tmp/user/3.5/packages" 2>&1)"
fi

# --- idempotent: a second run reuses the extracted release and asks nobody (no mirror answers) ---
fetch FETCH_ETCD_MIRROR=http://127.0.0.1:9/debian "$script" 3.5 "$tmp/user/3.5"
if [ $status -eq 0 ] && [ "$out" = "$bin" ] && [ "$err" = "fetch-etcd: etcd 3.5: reusing etcd $version in $bin" ]; then
  ok "a second run reuses etcd $version without the network"
else
  not_ok "a second run reuses etcd $version without the network" "status $status
$out
$err"
fi
fetch FETCH_ETCD_MIRROR=http://127.0.0.1:9/debian "$script" "$version" "$tmp/user/3.5"
if [ $status -eq 0 ] && grep -q "reusing" <<<"$err"; then
  ok "the exact release of what is there is reused too"
else
  not_ok "the exact release of what is there is reused too" "$err"
fi

# --- an exact release, and the 3.4 line (no etcdutl in 3.4's packages) ---
fetch "$script" 3.5.16 "$tmp/user/3.5.16"
if [ $status -eq 0 ] && [ "$("$tmp/user/3.5.16/bin/etcd" --version | sed -n 's/^etcd Version: //p')" = 3.5.16 ] &&
  [ -x "$tmp/user/3.5.16/bin/etcdutl" ]; then
  ok "3.5.16 pins that release (trixie's)"
else
  not_ok "3.5.16 pins that release (trixie's)" "$err"
fi
# As root: apt keeps its sandbox (no "unsandboxed as root" warning).
fetch_root() {
  out=$("$@" 2>"$tmp/stderr")
  status=$?
  err=$(cat "$tmp/stderr")
}
if [ "$(id -u)" -eq 0 ]; then run34=fetch_root; else run34=fetch; fi
$run34 "$script" 3.4 "$tmp/root/3.4"
if [ $status -eq 0 ] && [[ "$("$tmp/root/3.4/bin/etcd" --version | sed -n 's/^etcd Version: //p')" == 3.4.* ]] &&
  [ -x "$tmp/root/3.4/bin/etcdctl" ] && [ ! -e "$tmp/root/3.4/bin/etcdutl" ] && ! grep -qi "sandbox" <<<"$err"; then
  ok "3.4 is bookworm's, etcd and etcdctl only$([ "$(id -u)" -eq 0 ] && echo ", as root with apt's _apt sandbox kept")"
else
  not_ok "3.4 is bookworm's, etcd and etcdctl only" "$err"
fi

# --- what the archive does not offer ---
fetch "$script" 3.5.99 "$tmp/user/3.5.99"
if [ $status -ne 0 ] && grep -q "offers no etcd-server for etcd 3.5.99; it offers: .*3\.5\.16" <<<"$err" &&
  [ ! -e "$tmp/user/3.5.99/bin" ]; then
  ok "a release the archive does not offer fails, naming what it offers"
else
  not_ok "a release the archive does not offer fails, naming what it offers" "$err"
fi

# --- signatures are checked: with a keyring that lacks the archive's keys, nothing is fetched ---
fetch FETCH_ETCD_KEYRING=/usr/share/keyrings/debian-archive-removed-keys.gpg "$script" 3.5 "$tmp/user/badkey"
if [ $status -ne 0 ] && grep -q "NO_PUBKEY\|not signed" <<<"$err" && [ ! -e "$tmp/user/badkey/bin" ]; then
  ok "an index whose signature the keyring cannot check is refused"
else
  not_ok "an index whose signature the keyring cannot check is refused" "$err"
fi

# --- the .deb's SHA-256 is checked against the index (by apt, and by the script) ---
echo "$passed $((failed + 1))" >"$tmp/counts" # if the subshell dies before it counts
(
  # shellcheck source=scripts/fetch-etcd.sh
  . "$script"
  set +e
  work=$tmp/hash
  apt_init "$work" sid
  apt_update
  v=$(available_versions etcd-client | newest_matching 3.5)
  list=$(find "$work/lists" -maxdepth 1 -name '*sid_main_binary-*_Packages')
  right=$(index_sha256 etcd-client "$v")
  # A wrong SHA256 in the (already verified) index: apt must refuse the download.
  sed -i "s/^SHA256: $right\$/SHA256: $(printf '0%.0s' $(seq 64))/" "$list"
  out=$( (download_deb etcd-client "$v" "$work/debs") 2>&1)
  if [ -n "$right" ] && grep -q "Hash Sum mismatch" <<<"$out" && [ -z "$(find "$work/debs" -name '*.deb')" ]; then
    ok "apt-get download refuses a .deb whose SHA-256 is not the index's"
  else
    not_ok "apt-get download refuses a .deb whose SHA-256 is not the index's" "$out"
  fi
  # The script's own check: a .deb changed after the download is refused before extraction.
  sed -i "s/^SHA256: 0\{64\}\$/SHA256: $right/" "$list"
  deb=$(download_deb etcd-client "$v" "$work/debs" 2>/dev/null)
  printf x >>"$deb"
  out=$( (check_sha256 etcd-client "$v" "$deb") 2>&1)
  if grep -q "but the signed index says $right" <<<"$out"; then
    ok "the script refuses a .deb whose SHA-256 differs from the index's"
  else
    not_ok "the script refuses a .deb whose SHA-256 differs from the index's" "$out"
  fi
  echo "$passed $failed" >"$tmp/counts"
)
read -r passed failed <"$tmp/counts"

after=$(apt_fingerprint)
if [ "$before" = "$after" ]; then
  ok "the system's apt sources and lists are untouched"
else
  not_ok "the system's apt sources and lists are untouched" "$(diff <(echo "$before") <(echo "$after"))"
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
