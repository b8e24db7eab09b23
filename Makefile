# skillrun: `make demo` and `make test` are the whole quick start; both install what they need.
SHELL := /bin/bash
GO ?= go
BIN := bin/skillrun
# landlocktsync: go-landlock's syscall layer without libcap's psx (the exec step confines the one thread that executes the command).
TAGS := seccomp netgo osusergo landlocktsync urfave_cli_no_docs
LDFLAGS := -s -w -extldflags "-static"
export CGO_ENABLED := 1
# A user the end-to-end tests run unprivileged sandboxes as, when they are run as root.
TEST_USER ?= skillrun-test

STATICCHECK := bin/tools/staticcheck
STATICCHECK_VERSION := v0.8.2

.PHONY: build demo test test-user bench lint deps clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## install the C library skillrun links statically (Debian's libseccomp-dev)
	@if ! pkg-config --exists libseccomp 2>/dev/null || [ ! -e "$$(pkg-config --variable=libdir libseccomp 2>/dev/null)/libseccomp.a" ]; then \
		echo "skillrun: installing libseccomp-dev and pkg-config (needed to build)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev pkg-config >/dev/null; \
	fi

build: deps ## build the static binary bin/skillrun
	$(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/skillrun
	ln -sfn skillrun $(dir $(BIN))skillrun-sh

demo: build ## run the bundled example: work in a workspace, attacks stopped
	$(GO) run ./examples/demo $(abspath $(BIN))

test-user:
	@if [ "$$(id -u)" = 0 ] && ! id -u $(TEST_USER) >/dev/null 2>&1; then \
		echo "skillrun: creating the unprivileged test user $(TEST_USER)"; \
		useradd --system --no-create-home --shell /usr/sbin/nologin $(TEST_USER); \
	fi

$(STATICCHECK):
	GOBIN=$(abspath bin/tools) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: deps $(STATICCHECK) ## go vet, gofmt and staticcheck
	$(GO) vet -tags '$(TAGS)' ./...
	@test -z "$$(gofmt -l cmd sandbox policy profiles test examples)" || { gofmt -l cmd sandbox policy profiles test examples; echo "gofmt needed"; exit 1; }
	$(STATICCHECK) -tags '$(TAGS)' ./...

test: build test-user lint ## lint, unit tests (race) and end-to-end tests, as root and as $(TEST_USER)
	$(GO) test -race -count=1 ./policy/... ./profiles/...
	$(GO) test -tags '$(TAGS)' -count=1 ./cmd/... ./sandbox/...
	SKILLRUN_BIN=$(abspath $(BIN)) SKILLRUN_TEST_USER=$(TEST_USER) $(GO) test -tags '$(TAGS)' -count=1 -timeout 20m ./test/...

bench: build test-user ## skill digest, scan and policy times; per-command overhead and peak RSS against bare exec and bwrap, root and unprivileged
	$(GO) test -run '^$$' -bench '^(BenchmarkHash|BenchmarkCompile|BenchmarkScan)$$' -benchtime 2s -count 1 ./policy/ ./policy/trust/ ./policy/scan/
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./sandbox/netproxy/
	@command -v bwrap >/dev/null || { echo "skillrun: installing Debian's bubblewrap (for the comparison only; skillrun never uses it)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
			|| echo "skillrun: could not install bubblewrap: measuring without it"; }
	SKILLRUN_BIN=$(abspath $(BIN)) SKILLRUN_TEST_USER=$(TEST_USER) $(GO) test -tags '$(TAGS)' -run '^$$' -bench '^(BenchmarkCommandOverhead|BenchmarkWorkload|BenchmarkLearn)$$' -benchtime 1x -count 1 -timeout 60m -v ./test/...

clean:
	rm -rf bin
