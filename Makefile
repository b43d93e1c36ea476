# The README's two commands are `go run ./cmd/khula dev` and `go test ./...`;
# these targets are the same commands with the options CI uses.
.PHONY: dev simulate test ci build

dev:
	go run ./cmd/khula dev --simulate

simulate:
	go run ./cmd/khula simulate

test:
	go test ./...

build:
	CGO_ENABLED=0 go build -o bin/khula ./cmd/khula

ci:
	bash .ci/run
