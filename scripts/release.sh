#!/usr/bin/env bash
# release.sh VERSION: everything a release ships, under dist/ (ignored by git):
#   plivo-bulk_VERSION_OS_ARCH.tar.gz  the static binary (scripts/build.sh), README, LICENSE, CHANGELOG,
#                                      for linux, darwin and windows on amd64 and arm64
#   plivo-bulk_VERSION_linux_ARCH.deb/.rpm  for linux on amd64 and arm64, built with nfpm:
#                                      the binary, README, LICENSE and bash, zsh and fish completions
#   SHA256SUMS                         for `sha256sum -c`
# VERSION is semver, with or without the leading v (1.2.0, v1.2.0, v1.3.0-rc.1).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ ${1:-} =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
  { echo "usage: scripts/release.sh VERSION (semver, e.g. 1.2.0)" >&2; exit 2; }
ver=${1#v}
# nfpm is installed from the module proxy at a pinned version into a
# scratch directory, so that it never enters go.mod: the product does not use it.
tools=$(mktemp -d) && trap 'rm -rf "$tools"' EXIT
GOBIN=$tools go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0

export VERSION=v$ver
export COMMIT=${COMMIT:-$(git rev-parse HEAD)$([ -z "$(git status --porcelain)" ] || echo -dirty)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}

rm -rf dist && mkdir -p dist/stage/completions
# Shell completions are the same for every target: generate them with a
# binary for this machine.
GOOS= GOARCH= go build -o "$tools/plivo-bulk" .
"$tools/plivo-bulk" completion bash >dist/stage/completions/plivo-bulk
"$tools/plivo-bulk" completion zsh >dist/stage/completions/_plivo-bulk
"$tools/plivo-bulk" completion fish >dist/stage/completions/plivo-bulk.fish
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  export GOOS=${target%/*} GOARCH=${target#*/}
  name=plivo-bulk_${ver}_${GOOS}_${GOARCH} exe=plivo-bulk
  [ "$GOOS" = windows ] && exe=plivo-bulk.exe
  mkdir -p "dist/stage/$name"
  scripts/build.sh "dist/stage/$name/$exe"
  cp README.md LICENSE CHANGELOG.md "dist/stage/$name/"
  # Same bytes for the same commit: fixed order, owner and times, no gzip timestamp.
  tar -C dist/stage --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -cf - "$name" | gzip -n >"dist/$name.tar.gz"

  [ "$GOOS" = linux ] || continue
  cat >dist/stage/nfpm.yaml <<YAML
name: plivo-bulk
arch: $GOARCH
platform: linux
version: $ver
section: utils
maintainer: the plivo-bulk authors
description: Change the settings of many Plivo phone numbers at once, with a report per row.
homepage: https://github.com/plivo-bulk/plivo-bulk
license: MIT
contents:
  - src: dist/stage/$name/plivo-bulk
    dst: /usr/bin/plivo-bulk
    file_info: {mode: 0755}
  - src: README.md
    dst: /usr/share/doc/plivo-bulk/README.md
  - src: LICENSE
    dst: /usr/share/doc/plivo-bulk/copyright
  - src: dist/stage/completions/plivo-bulk
    dst: /usr/share/bash-completion/completions/plivo-bulk
  - src: dist/stage/completions/plivo-bulk.fish
    dst: /usr/share/fish/vendor_completions.d/plivo-bulk.fish
  # zsh looks in a different directory on each family.
  - src: dist/stage/completions/_plivo-bulk
    dst: /usr/share/zsh/vendor-completions/_plivo-bulk
    packager: deb
  - src: dist/stage/completions/_plivo-bulk
    dst: /usr/share/zsh/site-functions/_plivo-bulk
    packager: rpm
YAML
  for fmt in deb rpm; do
    "$tools/nfpm" package --config dist/stage/nfpm.yaml --packager "$fmt" \
      --target "dist/plivo-bulk_${ver}_linux_${GOARCH}.$fmt" >/dev/null
  done
done
rm -rf dist/stage
(cd dist && sha256sum -- *.tar.gz *.deb *.rpm >SHA256SUMS)
ls -l dist
