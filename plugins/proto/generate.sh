#!/bin/sh
# Regenerates the Go code of the khula plugin protocol next to its .proto.
#
# Needs protoc (Debian: apt-get install protobuf-compiler) and the Go
# generators at the versions matching go.mod:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
set -eu
cd "$(dirname "$0")"
PATH="$(go env GOPATH)/bin:$PATH"
protoc \
	--proto_path=. \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	khula/plugin/v1/plugin.proto
gofmt -l khula
