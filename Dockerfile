# The plivo-bulk image: the static binary that scripts/release.sh ships, built by
# the same scripts/build.sh, on a distroless base (CA certificates, a passwd entry
# for the non-root user, no shell).
#
#   docker build --build-arg VERSION=v1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) -t plivo-bulk:1.2.0 .
#
# .git is not sent to the builder (.dockerignore): without COMMIT, `version`
# says "commit unknown". With buildx, --platform linux/arm64 cross-compiles on
# the build host instead of emulating it.

FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux TARGETARCH=amd64 VERSION=devel COMMIT=unknown SOURCE_DATE_EPOCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH scripts/build.sh /out/plivo-bulk && mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/plivo-bulk /usr/bin/plivo-bulk
# Owned by the user, so that a named volume mounted here starts writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Input, report, undo file and summary: mount a volume here, so that the next
# run's --resume finds what this one wrote.
WORKDIR /data
ENTRYPOINT ["/usr/bin/plivo-bulk"]
CMD ["help"]
