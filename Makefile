# scribe: see README.md for what each target does.
GO ?= go

.PHONY: run test generate lint bench bench-engine build

run:
	$(GO) run . serve

build:
	$(GO) build -o bin/scribe .

test: lint
	$(GO) test -race -count=1 -timeout 40m ./...

generate:
	$(GO) tool templ generate

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l . | grep -v '_templ.go$$'); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || (echo "generated templ files are stale: run make generate and commit"; exit 1)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

bench-engine:
	$(GO) run ./cmd/bench-engine
