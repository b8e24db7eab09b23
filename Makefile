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

# make install: PREFIX and DESTDIR as usual; a PREFIX in your home needs no root.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d

STATICCHECK := bin/tools/staticcheck
STATICCHECK_VERSION := v0.8.2

.PHONY: build install uninstall demo test test-user test-tools test-shells test-agents bench lint deps clean help

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

install: build ## install skillrun, the skillrun-sh link and bash, zsh and fish completion under PREFIX (default /usr/local; PREFIX=$HOME/.local needs no root)
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(BASHCOMPDIR)' '$(DESTDIR)$(ZSHCOMPDIR)' '$(DESTDIR)$(FISHCOMPDIR)'
	install -m 0755 $(BIN) '$(DESTDIR)$(BINDIR)/skillrun'
	ln -sfn skillrun '$(DESTDIR)$(BINDIR)/skillrun-sh'
	$(BIN) completion bash > bin/completion.bash && install -m 0644 bin/completion.bash '$(DESTDIR)$(BASHCOMPDIR)/skillrun'
	$(BIN) completion zsh > bin/completion.zsh && install -m 0644 bin/completion.zsh '$(DESTDIR)$(ZSHCOMPDIR)/_skillrun'
	$(BIN) completion fish > bin/completion.fish && install -m 0644 bin/completion.fish '$(DESTDIR)$(FISHCOMPDIR)/skillrun.fish'
	rm -f bin/completion.bash bin/completion.zsh bin/completion.fish

uninstall: ## remove what make install put under PREFIX (the same PREFIX and DESTDIR)
	rm -f '$(DESTDIR)$(BINDIR)/skillrun' '$(DESTDIR)$(BINDIR)/skillrun-sh' '$(DESTDIR)$(BASHCOMPDIR)/skillrun' \
		'$(DESTDIR)$(ZSHCOMPDIR)/_skillrun' '$(DESTDIR)$(FISHCOMPDIR)/skillrun.fish'

demo: build ## run the bundled example: work in a workspace, attacks stopped
	$(GO) run ./examples/demo $(abspath $(BIN))

test-user:
	@if [ "$$(id -u)" = 0 ] && ! id -u $(TEST_USER) >/dev/null 2>&1; then \
		echo "skillrun: creating the unprivileged test user $(TEST_USER)"; \
		useradd --system --no-create-home --shell /usr/sbin/nologin $(TEST_USER); \
	fi

# The projects suite (test/projects_test.go) runs real projects' own tests with the system's tools:
# install the Debian packages of the ones missing (nothing is downloaded while the tests run).
test-tools:
	@missing=; \
	command -v gcc >/dev/null || missing="$$missing gcc libc6-dev"; \
	command -v make >/dev/null || missing="$$missing make"; \
	command -v git >/dev/null || missing="$$missing git"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	/usr/bin/python3 -c 'import pytest' 2>/dev/null || missing="$$missing python3-pytest"; \
	if [ -n "$$missing" ]; then \
		echo "skillrun: installing the test projects' tools:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STATICCHECK):
	GOBIN=$(abspath bin/tools) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: deps $(STATICCHECK) ## go vet, gofmt, staticcheck, and no build or oversized file tracked by git
	.ci/check-tracked.sh
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) vet -tags '$(TAGS) agents' ./test/agents/
	@test -z "$$(gofmt -l cmd sandbox policy profiles test examples)" || { gofmt -l cmd sandbox policy profiles test examples; echo "gofmt needed"; exit 1; }
	$(STATICCHECK) -tags '$(TAGS)' ./...

test-shells: # zsh and fish, for the completion tests (bash is there already)
	@command -v zsh >/dev/null && command -v fish >/dev/null || { echo "skillrun: installing Debian's zsh and fish (for the shell completion tests)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zsh fish >/dev/null; } \
			|| echo "skillrun: could not install zsh and fish: their completion tests will be skipped"; }

test: build test-user test-tools test-shells lint ## lint, unit tests (race) and end-to-end tests, as root and as $(TEST_USER)
	$(GO) test -race -count=1 ./policy/... ./profiles/...
	$(GO) test -tags '$(TAGS)' -count=1 ./cmd/... ./sandbox/...
	$(GO) test -asan -count=1 ./sandbox/stage/specfuzz/ # the stage's C parser on its seeds, under ASan and UBSan
	SKILLRUN_BIN=$(abspath $(BIN)) SKILLRUN_TEST_USER=$(TEST_USER) $(GO) test -tags '$(TAGS)' -count=1 -timeout 20m ./test/...

# The agent clients test-agents drives, as published on npm (override to try other versions).
AGENTS_DIR := bin/agents
AGENT_PACKAGES ?= @anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 @google/gemini-cli@0.61.0
# The Codex CLI make bench compares its sandbox with (optional).
CODEX_PACKAGE ?= @openai/codex@0.171.0

test-agents: build test-user ## the real Claude Code, Codex and Gemini CLI against mock model APIs, root and $(TEST_USER) (installs them with npm; needs the registry)
	@command -v npm >/dev/null || { echo "skillrun: error: test-agents needs node (20 or later) and npm"; echo "skillrun: hint: sudo apt-get install nodejs npm"; exit 1; }
	@if ! timeout 60 npm ping --fetch-retries=0 --fetch-timeout=15000 >/dev/null 2>&1; then echo "skillrun: test-agents skipped: the npm registry is unreachable"; exit 0; fi; \
	set -e; mkdir -p $(AGENTS_DIR); \
	npm install --prefix $(AGENTS_DIR) --no-audit --no-fund --loglevel=error $(AGENT_PACKAGES) >/dev/null; \
	$(AGENTS_DIR)/node_modules/.bin/claude --version >/dev/null 2>&1 || node $(AGENTS_DIR)/node_modules/@anthropic-ai/claude-code/install.cjs >/dev/null; \
	SKILLRUN_BIN=$(abspath $(BIN)) SKILLRUN_AGENTS_DIR=$(abspath $(AGENTS_DIR)) SKILLRUN_TEST_USER=$(TEST_USER) \
		$(GO) test -tags '$(TAGS) agents' -count=1 -timeout 60m ./test/agents/

bench: build test-user ## skill digest, scan and policy times; per-command overhead and peak RSS against bare exec and bwrap, root and unprivileged
	$(GO) test -run '^$$' -bench '^(BenchmarkHash|BenchmarkCompile|BenchmarkScan)$$' -benchtime 2s -count 1 ./policy/ ./policy/trust/ ./policy/scan/
	$(GO) test -run '^$$' -bench '^BenchmarkWalk$$' -benchtime 20x -count 1 ./sandbox/wstree/
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./sandbox/netproxy/
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench '^BenchmarkMissingProtected$$' -benchtime 1x -count 1 -timeout 30m ./sandbox/
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench '^BenchmarkGuardHostSide$$' -benchtime 100x -count 1 ./sandbox/
	@command -v bwrap >/dev/null || { echo "skillrun: installing Debian's bubblewrap (for the comparison only; skillrun never uses it)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
			|| echo "skillrun: could not install bubblewrap: measuring without it"; }
	@test -n "$$(ls $(AGENTS_DIR)/node_modules/@openai/codex-linux-*/vendor/*/bin/codex 2>/dev/null)" || { \
		if command -v npm >/dev/null && timeout 60 npm ping --fetch-retries=0 --fetch-timeout=15000 >/dev/null 2>&1; then \
			echo "skillrun: installing the Codex CLI into $(AGENTS_DIR) (for the comparison only)"; mkdir -p $(AGENTS_DIR); \
			npm install --prefix $(AGENTS_DIR) --no-audit --no-fund --loglevel=error $(CODEX_PACKAGE) >/dev/null || true; \
		else echo "skillrun: npm or its registry is unreachable: measuring without codex sandbox"; fi; }
	SKILLRUN_BIN=$(abspath $(BIN)) SKILLRUN_TEST_USER=$(TEST_USER) SKILLRUN_CODEX=$$(ls $(abspath $(AGENTS_DIR))/node_modules/@openai/codex-linux-*/vendor/*/bin/codex 2>/dev/null | head -1) \
		$(GO) test -tags '$(TAGS)' -run '^$$' -bench '^(BenchmarkCommandOverhead|BenchmarkWorkload|BenchmarkLearn)$$' -benchtime 1x -count 1 -timeout 60m -v ./test/...

clean:
	rm -rf bin
