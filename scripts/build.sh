#!/usr/bin/env bash
# build.sh OUT: the one way a shipped plivo-bulk binary is built, for the
# release (scripts/release.sh) and the image (Dockerfile) alike. A static
# binary (no libc to match on the host), for GOOS/GOARCH from the
# environment, with the version, commit and date stamped in, so that
# `plivo-bulk version` tells them wherever it was built.
#
# Environment: VERSION (v1.2.3; default "devel"), COMMIT (default: git's
# HEAD, "-dirty" when the tree has changes), SOURCE_DATE_EPOCH (default: the
# commit's time), so that building the same commit twice gives the same bytes.
set -euo pipefail
out=${1:?usage: scripts/build.sh OUT}
cd "$(dirname "$0")/.."

if [ -z "${COMMIT:-}" ]; then
  COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  if [ "$COMMIT" != unknown ] && [ -n "$(git status --porcelain 2>/dev/null)" ]; then
    COMMIT=$COMMIT-dirty
  fi
fi
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

# -buildvcs=false: the stamp is the record; git metadata differs between a
# checkout, a worktree and a Docker build context.
CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$out" \
  -ldflags "-s -w -X main.version=${VERSION:-devel} -X main.commit=$COMMIT -X main.date=$date" .
