# scribe: see README.md for what each target does.
GO ?= go
# Debian packages: what the app needs to run, and what the tests add.
RUN_DEBS := ffmpeg pocketsphinx pocketsphinx-en-us libpocketsphinx-dev libsphinxbase-dev pkg-config gcc
TEST_DEBS := $(RUN_DEBS) flite espeak-ng sox chromium git postgresql
CLUSTER_DEBS := $(RUN_DEBS) postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run cluster test generate lint bench bench-go bench-quick bench-engine build deps-run deps-test

run: deps-run
	$(GO) run . serve

# Two app replicas and two engines on one PostgreSQL, behind load balancers
# on :8080 (app) and :8081 (engine): README, "Running on more than one machine".
cluster: deps-cluster build
	$(GO) run ./cmd/cluster

build: deps-run
	$(GO) build -o bin/scribe .

test: deps-test lint
	$(GO) test -race -count=1 -timeout 40m ./...

generate:
	$(GO) tool templ generate

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l . | grep -v '_templ.go$$'); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || (echo "generated templ files are stale: run make generate and commit"; exit 1)

# The performance table (bench/): the real app on loopback, measured beside
# baselines in the same run. bench-quick is the small run make test includes.
bench: deps-test
	$(GO) test -count=1 -timeout 15m -run '^TestPerformance$$' -v ./bench -args -full

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

bench-quick: deps-test
	$(GO) test -count=1 -timeout 5m -run '^TestPerformance$$' -v ./bench

bench-engine: deps-test
	$(GO) run ./cmd/bench-engine

# Install the Debian packages that are missing (nothing to do when all are there).
deps-run deps-test deps-cluster: deps-%:
	@missing=$$(for p in $(if $(filter run,$*),$(RUN_DEBS),$(if $(filter cluster,$*),$(CLUSTER_DEBS),$(TEST_DEBS))); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
