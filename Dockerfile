# The hf2ms image: the GitHub Action's container and the Modal workers' image, one static binary
# pair on a small base. Build: docker build --build-arg VERSION=v1.2.3 -t ghcr.io/linaqruf/hf2ms:v1.2.3 .
FROM golang:1.26-alpine AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/linaqruf/hf2ms/internal/version.Version=${VERSION}" -o /out/hf2ms ./cmd/hf2ms \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/linaqruf/hf2ms/internal/version.Version=${VERSION}" -o /out/hf2ms-action ./cmd/action

# alpine rather than scratch: CA certificates, and a /bin/sh that Modal's image builder expects.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates
COPY --from=build /out/hf2ms /usr/local/bin/hf2ms
COPY --from=build /out/hf2ms-action /usr/local/bin/hf2ms-action
# No USER and no WORKDIR: GitHub runs container actions as root in the mounted workspace, and the
# workspace and output files are only writable that way.
# GitHub starts the Action through this ENTRYPOINT. Modal would append a sandbox's Command to it,
# so pkg/modal starts workers on this image with the entrypoint cleared (ENTRYPOINT []) and runs
# /usr/local/bin/hf2ms by absolute path (README: "How the image is started"). The Modal tests
# read this ENTRYPOINT.
ENTRYPOINT ["/usr/local/bin/hf2ms-action"]
