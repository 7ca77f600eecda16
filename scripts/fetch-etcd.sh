#!/usr/bin/env bash
# fetch-etcd.sh VERSION-OR-LINE DIR
#
# Fetches etcd from Debian's archive (the etcd-server and etcd-client packages) and puts etcd,
# etcdctl and etcdutl (where the package has it) in DIR/bin; prints DIR/bin on stdout, one progress
# line per step on stderr.
#
#   VERSION-OR-LINE  "3.5" is the newest 3.5.x the archive offers; "3.5.16" pins that release
#                    (the newest Debian revision of it); "3.5.16-4" pins a Debian version.
#   DIR              where bin/ goes; a DIR that already holds a matching etcd is reused as it is,
#                    without asking the archive (delete DIR to look for a newer one).
#
# It needs no root and changes nothing of the system's apt: `apt-get update` and `apt-get download`
# run on a private state (a sources list, lists and cache under a temporary directory) that names
# only Debian's own suites, each `signed-by` the system's Debian archive keyring. apt checks the
# suites' signatures (verification stays on: insecure repositories are refused whatever the system's
# apt.conf says) and each downloaded .deb's SHA-256 against the signed Packages index; this script
# checks the SHA-256 once more before it extracts anything.
#
# Environment: FETCH_ETCD_MIRROR (default http://deb.debian.org/debian), FETCH_ETCD_KEYRING (default
# /usr/share/keyrings/debian-archive-keyring.gpg), FETCH_ETCD_SUITES (default: by line, below).
#
# Sourced (`. fetch-etcd.sh`), it only defines its functions, for scripts/fetch-etcd.test.sh.
set -euo pipefail

FETCH_ETCD_MIRROR=${FETCH_ETCD_MIRROR:-http://deb.debian.org/debian}
FETCH_ETCD_KEYRING=${FETCH_ETCD_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
PACKAGES=(etcd-server etcd-client)
BINARIES=(etcd etcdctl etcdutl)

say() { printf 'fetch-etcd: %s\n' "$*" >&2; }
die() {
  printf 'fetch-etcd: error: %s\n' "$*" >&2
  exit 1
}

# A request is a line (3.5), a release (3.5.16) or a Debian version (3.5.16-4, 3.4.23-4+b4).
valid_request() { [[ $1 =~ ^[0-9]+\.[0-9]+(\.[0-9]+(-[A-Za-z0-9.+~]+)?)?$ ]]; }

# The Debian suites that carry a line: bookworm has 3.4, trixie 3.5.16, sid the newest 3.5.
suites_for() {
  if [ -n "${FETCH_ETCD_SUITES:-}" ]; then
    echo "$FETCH_ETCD_SUITES"
    return
  fi
  case "$1" in
    3.4 | 3.4.*) echo "bookworm" ;;
    3.5 | 3.5.*) echo "trixie sid" ;;
    *) echo "bookworm trixie sid" ;;
  esac
}

# 1:3.5.16-4+b1 -> 3.5.16
upstream_of() {
  local v=${1#*:}
  echo "${v%%-*}"
}

# Whether Debian version $2 is what request $1 asks for.
request_matches() {
  local request=$1 debian=$2 upstream
  upstream=$(upstream_of "$debian")
  case "$request" in
    *-*) [ "${debian#*:}" = "$request" ] ;;
    *.*.*) [ "$upstream" = "$request" ] ;;
    *) [[ $upstream == "$request".* ]] ;;
  esac
}

# The newest of the Debian versions on stdin (one a line) that match request $1; fails if none.
newest_matching() {
  local request=$1 best="" v
  while read -r v; do
    [ -n "$v" ] || continue
    request_matches "$request" "$v" || continue
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
  done
  [ -n "$best" ] && echo "$best"
}

# Sets APT_OPTS and writes a private sources list for suites $2... under work directory $1.
apt_init() {
  local work=$1 suite
  shift
  mkdir -p "$work/etc/sources.list.d" "$work/lists/partial" "$work/cache/archives/partial" "$work/state" "$work/debs"
  : >"$work/state/status"
  : >"$work/etc/sources.list"
  for suite in "$@"; do
    echo "deb [signed-by=$FETCH_ETCD_KEYRING] $FETCH_ETCD_MIRROR $suite main" >>"$work/etc/sources.list"
  done
  APT_OPTS=(
    -o "Dir::State=$work/state"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::State::status=$work/state/status"
    -o "Dir::Cache=$work/cache"
    -o "Dir::Etc::sourcelist=$work/etc/sources.list"
    -o "Dir::Etc::sourceparts=$work/etc/sources.list.d"
    # Verification stays on whatever the system's apt.conf.d says.
    -o "Acquire::AllowInsecureRepositories=false"
    -o "Acquire::AllowDowngradeToInsecureRepositories=false"
    -o "Acquire::AllowWeakRepositories=false"
    -o "APT::Get::AllowUnauthenticated=false"
    # Plain-text indexes, no translations: only the Packages lists are needed.
    -o "Acquire::GzipIndexes=false"
    -o "Acquire::Languages=none"
  )
  # As root, apt downloads as its sandbox user _apt: let it reach and write the directories.
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
    chmod 0755 "$work"
    chown _apt "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  fi
}

apt_update() {
  local out
  if ! out=$(apt-get "${APT_OPTS[@]}" --error-on=any update 2>&1); then
    printf '%s\n' "$out" >&2
    die "apt-get update of the private sources failed (above)"
  fi
}

# The Debian versions of package $1 the private sources offer, one a line.
available_versions() { apt-cache "${APT_OPTS[@]}" madison "$1" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u; }

# The SHA-256 the signed Packages index gives package $1 at version $2.
index_sha256() {
  apt-cache "${APT_OPTS[@]}" show "$1=$2" | awk '/^SHA256:/ {print $2; exit}'
}

# apt-get download package $1 version $2 into directory $3; prints the .deb's path.
download_deb() {
  local pkg=$1 version=$2 dir=$3 out deb
  if ! out=$(cd "$dir" && apt-get "${APT_OPTS[@]}" download "$pkg=$version" 2>&1); then
    printf '%s\n' "$out" >&2
    die "apt-get download $pkg=$version failed (above)"
  fi
  deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
  [ -n "$deb" ] || die "apt-get download $pkg=$version left no .deb"
  echo "$deb"
}

# Fails unless .deb $3 has the SHA-256 that the index gives package $1 at version $2.
check_sha256() {
  local pkg=$1 version=$2 deb=$3 want got
  want=$(index_sha256 "$pkg" "$version")
  got=$(sha256sum "$deb" | awk '{print $1}')
  [ -n "$want" ] || die "the index gives $pkg $version no SHA256"
  [ "$want" = "$got" ] || die "$(basename "$deb"): SHA-256 $got, but the signed index says $want"
  say "$(basename "$deb"): SHA-256 $got, as the signed index says"
}

# The etcd release in DIR/bin ("3.5.30"), or nothing.
extracted_version() {
  [ -x "$1/bin/etcd" ] || return 0
  "$1/bin/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: \([0-9.]*\)$/\1/p'
}

# Whether DIR already holds what request $1 asks for.
reusable() {
  local request=$1 dir=$2 have debian
  have=$(extracted_version "$dir")
  [ -n "$have" ] && [ -x "$dir/bin/etcdctl" ] || return 1
  debian=$(awk '$1 == "etcd-server" {print $2}' "$dir/packages" 2>/dev/null || true)
  case "$request" in
    *-*) [ "$debian" = "$request" ] ;;
    *) request_matches "$request" "$have-0" ;;
  esac
}

main() {
  [ $# -eq 2 ] || die "usage: fetch-etcd.sh VERSION-OR-LINE DIR (e.g. fetch-etcd.sh 3.5 ~/.cache/etcd/3.5)"
  local request=$1 dir=$2
  valid_request "$request" || die "\"$request\" is not an etcd line or version: give e.g. 3.5, 3.5.16 or 3.5.16-4"
  local tool
  for tool in apt-get apt-cache dpkg dpkg-deb; do
    command -v "$tool" >/dev/null ||
      die "$tool not found: this script fetches Debian's etcd packages and needs Debian or Ubuntu (apt and dpkg). Elsewhere, install etcd $request from the etcd project's release binaries and put etcd and etcdctl on PATH."
  done
  [ -r "$FETCH_ETCD_KEYRING" ] ||
    die "$FETCH_ETCD_KEYRING not found: install Debian's archive keyring (apt-get install debian-archive-keyring)"

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # One fetch into DIR at a time.
  if command -v flock >/dev/null; then
    exec 9>"$dir/.lock"
    flock 9
  fi
  if reusable "$request" "$dir"; then
    say "etcd $request: reusing etcd $(extracted_version "$dir") in $dir/bin"
    echo "$dir/bin"
    return
  fi

  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-etcd.XXXXXX")
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  local suites
  read -r -a suites <<<"$(suites_for "$request")"
  apt_init "$work" "${suites[@]}"
  say "reading Debian's signed package index for ${suites[*]} (a private apt state in $work)"
  apt_update

  local pkg versions=() offered
  for pkg in "${PACKAGES[@]}"; do
    local v
    if ! v=$(available_versions "$pkg" | newest_matching "$request"); then
      offered=$(available_versions "$pkg" | tr '\n' ' ')
      die "Debian (${suites[*]}) offers no $pkg for etcd $request; it offers: ${offered:-nothing}"
    fi
    versions+=("$v")
  done
  [ "$(upstream_of "${versions[0]}")" = "$(upstream_of "${versions[1]}")" ] ||
    die "etcd-server ${versions[0]} and etcd-client ${versions[1]} are different releases"
  say "etcd $request is Debian's ${PACKAGES[0]} ${versions[0]} and ${PACKAGES[1]} ${versions[1]}"

  local debs=() i
  for i in "${!PACKAGES[@]}"; do
    say "downloading ${PACKAGES[$i]} ${versions[$i]} (apt checks its SHA-256 against the signed index)"
    debs+=("$(download_deb "${PACKAGES[$i]}" "${versions[$i]}" "$work/debs")")
    check_sha256 "${PACKAGES[$i]}" "${versions[$i]}" "${debs[$i]}"
  done

  local staged="$dir/.bin.new" found=()
  rm -rf "$staged" "$work/x"
  mkdir -p "$staged"
  for i in "${!debs[@]}"; do
    dpkg-deb -x "${debs[$i]}" "$work/x"
  done
  local b
  for b in "${BINARIES[@]}"; do
    if [ -f "$work/x/usr/bin/$b" ]; then
      install -m 0755 "$work/x/usr/bin/$b" "$staged/$b"
      found+=("$b")
    fi
  done
  if [ ! -x "$staged/etcd" ] || [ ! -x "$staged/etcdctl" ]; then
    die "the packages hold no usr/bin/etcd and usr/bin/etcdctl"
  fi
  for i in "${!PACKAGES[@]}"; do
    printf '%s %s %s\n' "${PACKAGES[$i]}" "${versions[$i]}" "$(sha256sum "${debs[$i]}" | awk '{print $1}')"
  done >"$dir/.packages.new"
  rm -rf "$dir/bin.old"
  if [ -d "$dir/bin" ]; then mv "$dir/bin" "$dir/bin.old"; fi
  mv "$staged" "$dir/bin"
  mv "$dir/.packages.new" "$dir/packages"
  rm -rf "$dir/bin.old"
  say "extracted ${found[*]} (etcd $(extracted_version "$dir")) into $dir/bin"
  echo "$dir/bin"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
