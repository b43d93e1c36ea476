# syntax=docker/dockerfile:1
#
# khula's container image: one static binary (the API, the site workers, the
# migrations, the built-in plugins, and `khula dev` for demonstrations) on
# distroless, as the Helm chart in charts/khula runs it.
#
#   docker build -t khula:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t …/khula:1.2.3 --push .
#
# The image runs as uid/gid 65532 with nothing writable but what it is given
# (the chart mounts an emptyDir on /tmp and a volume for the plugins' state).

# Go as go.mod asks (go 1.26.8 or later 1.26 releases).
ARG GO_IMAGE=golang:1.26
# Pin both by digest in a release pipeline (image@sha256:…).
ARG RUNTIME_IMAGE=gcr.io/distroless/static:nonroot

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
# Never fetch another toolchain; fail instead if the image's Go is too old.
ENV GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# Modules first, so that the (long: the embedded Temporal server) download and
# build cache survive changes to khula's own code.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/khula ./cmd/khula

# The shipped site folders as data, next to the copies built into the binary:
# a reference for operators writing their own (the chart mounts each site's
# folder from a ConfigMap at /etc/khula/sites/<site> and never reads these).
RUN set -eu; \
    for d in sites/*/; do \
      site=$(basename "$d"); \
      mkdir -p "/out/share/sites/$site"; \
      cp "$d"*.yaml "/out/share/sites/$site/"; \
    done; \
    cp sites/site.schema.json /out/share/sites/; \
    mkdir -p /out/share/instruments; \
    cp instruments/*.yaml instruments/*.json /out/share/instruments/

FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="khula" \
      org.opencontainers.image.description="The child well-being Community of Practice cycle on Temporal" \
      org.opencontainers.image.source="https://github.com/khula-cop/khula" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=build /out/khula /usr/local/bin/khula
COPY --from=build /out/share/ /usr/share/khula/

# distroless' nonroot user, by number so that Kubernetes can check runAsNonRoot.
USER 65532:65532
# khula looks for ./sites before the built-in sites: run where there is none.
WORKDIR /home/nonroot

# 8080: `khula serve` (API, /healthz, /readyz, /metrics);
# 9090: `khula worker` (/metrics, /healthz, /readyz).
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/khula"]
CMD ["--help"]
