#!/usr/bin/env bash
# check-release.sh: run scripts/release.sh as a release would and check what
# it ships: the stamped version, the checksums and the packages' files.
# Installs rpm (to read the .rpm) with apt-get when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-release: $*" >&2; exit 1; }
ver=0.0.0-ci

start=$(date +%s)
scripts/release.sh "$ver"
echo "release.sh took $(($(date +%s) - start)) s for 6 binaries and 4 packages"

commit=$(git rev-parse HEAD)
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xzf "dist/plivo-bulk_${ver}_linux_amd64.tar.gz"
out=$("$tmp/plivo-bulk_${ver}_linux_amd64/plivo-bulk" version)
echo "version: $out"
[[ $out == "plivo-bulk v$ver (commit $commit"* ]] || fail "version does not show v$ver and commit $commit"
for a in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64; do
  [ -f "dist/plivo-bulk_${ver}_$a.tar.gz" ] || fail "no archive for $a"
done

(cd dist && sha256sum -c SHA256SUMS) || fail "SHA256SUMS does not verify"
[ "$(wc -l <dist/SHA256SUMS)" -eq 10 ] || fail "SHA256SUMS should list 6 archives and 4 packages"

files() { printf '%s\n' /usr/bin/plivo-bulk /usr/share/bash-completion/completions/plivo-bulk \
  /usr/share/doc/plivo-bulk/README.md /usr/share/doc/plivo-bulk/copyright \
  /usr/share/fish/vendor_completions.d/plivo-bulk.fish "$@" | sort; }
want_deb=$(files /usr/share/zsh/vendor-completions/_plivo-bulk)
want_rpm=$(files /usr/share/zsh/site-functions/_plivo-bulk)
command -v rpm >/dev/null || { apt-get update -qq && apt-get install -y -qq rpm >/dev/null; }
for arch in amd64 arm64; do
  deb=$(dpkg-deb -c "dist/plivo-bulk_${ver}_linux_$arch.deb" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' | sort)
  [ "$deb" = "$want_deb" ] || fail "the $arch .deb holds: $deb"
  [ "$(dpkg-deb -f "dist/plivo-bulk_${ver}_linux_$arch.deb" Architecture)" = "$arch" ] || fail "the $arch .deb has another architecture"
  rpm=$(rpm -qlp "dist/plivo-bulk_${ver}_linux_$arch.rpm" 2>/dev/null | sort)
  [ "$rpm" = "$want_rpm" ] || fail "the $arch .rpm holds: $rpm"
done
echo "release checks passed: version stamped, SHA256SUMS verifies, packages hold the binary, README, LICENSE and completions"
