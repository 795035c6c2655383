# mbox — one plain Makefile for the C library, the programs, the tests and the local stack.
# `make help` lists the targets.

CC ?= cc
CLANG ?= clang
BUILD ?= build
PKGS := json-c yaml-0.1 libcurl openssl libpq libmicrohttpd gnutls libzstd
FUZZ_SECONDS ?= 60

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wno-missing-field-initializers -Wno-format-truncation -Werror
BASE_CFLAGS := -std=gnu17 -D_GNU_SOURCE -g -fstack-protector-strong -fno-strict-aliasing $(WARN) -Ipkg
OPT_CFLAGS ?= -O2 -D_FORTIFY_SOURCE=2
# pkg-config is read lazily so that `make` can first install the -dev packages it names.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
ALL_CFLAGS = $(BASE_CFLAGS) $(OPT_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
# wslay ships no pkg-config file
LIBS = $(PKG_LIBS) -lwslay -lpthread -lm

PKG_SRC := $(sort $(wildcard pkg/*.c pkg/*/*.c))
PKG_OBJ := $(PKG_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libmbox.a
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
ITEST_SRC := $(sort $(wildcard tests/integration/c/test-*.c))
ITEST_BIN := $(ITEST_SRC:tests/integration/c/%.c=$(BUILD)/itests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)-fuzz/%)
PROGRAMS := $(BUILD)/mbox-operator $(BUILD)/mbox-apiserver $(BUILD)/mbox
C_FILES := $(shell git ls-files '*.c' '*.h' 2>/dev/null)

DEPS_STAMP := $(BUILD)/.deps-installed
.SECONDEXPANSION:

.PHONY: all deps test unit integration fuzz-replay check-asan check-valgrind fuzz format format-check lint help clean \
        cluster-up cluster-down cluster-status binaries up down demo api-docs bench-cluster bench-kube bench-operator bench-tasks bench-apiserver bench-sessions \
        man install bench-cli bench-previews sdk sdk-unit bench-sdk web bench-console

all: $(LIB) $(PROGRAMS) $(BUILD)/mbox.1 $(UNIT_BIN) $(ITEST_BIN) $(FUZZ_BIN) web

help:
	@echo 'up / down        start / stop the main job: the local control plane and mbox-operator'
	@echo 'demo             apply examples/ and wait until the demo sandbox is Running'
	@echo 'all              build libmbox, the programs, the unit, integration and fuzz test binaries'
	@echo 'test             unit tests, fuzz corpus replay, integration tests on a private test stack (the test command)'
	@echo 'unit             unit tests only'
	@echo 'fuzz-replay      every fuzz target over its seed corpus once, no fuzzing (part of test)'
	@echo 'check-asan       unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer'
	@echo 'check-valgrind   unit tests under valgrind'
	@echo 'fuzz             each libFuzzer target for FUZZ_SECONDS (default 60)'
	@echo 'format           clang-format the C sources; format-check only reports'
	@echo 'lint             cppcheck, the banned-function check and check-unused (public functions no one calls)'
	@echo 'compile_commands.json  for clangd'
	@echo 'api-docs         regenerate docs/api.md from crds/'
	@echo 'binaries         build the Kubernetes, etcd, KWOK and agent-sandbox binaries into the cache'
	@echo 'bench-cluster    build and cluster-up figures of the local control plane'
	@echo 'bench-kube       the C Kubernetes client against client-go: list, informer cache, watch'
	@echo 'bench-operator   mbox-operator against agent-sandbox alone: burst, memory, claim latency, writes'
	@echo 'bench-tasks      ExecutionTasks beside kubectl exec: latency, throughput, operator memory, output'
	@echo 'bench-apiserver  history: mirror ingest beside COPY, one object of 1,000,000 rows, RSS'
	@echo 'bench-sessions   terminal and exec sessions beside pods/exec: keystroke echo, exec, RSS per session'
	@echo 'bench-cli        the mbox command beside kubectl: exec, and a list of 1000 sandboxes'
	@echo 'install          mbox, kubectl-mbox, its man page and completions into PREFIX (/usr/local), DESTDIR'
	@echo 'bench-previews   the preview gateway beside kubectl port-forward and the app itself: requests/s, p50/p99'
	@echo 'web              the web console (web/): npm ci of its pinned modules, then web/dist by vite build'
	@echo 'bench-console    the console in Chromium: first-view JavaScript, a list of 500 sandboxes, create to screen'
	@echo 'sdk              the TypeScript SDK (sdk/typescript): npm ci of its pinned modules, then dist/ by tsc'
	@echo 'bench-sdk        the TypeScript SDK beside the mbox command: create to Running, task run true to its end'
	@echo 'cluster-up, cluster-down, cluster-status   the local control plane'

# Installs missing Debian packages once per build directory (hack/install-deps.sh is idempotent).
deps: $(DEPS_STAMP)
$(DEPS_STAMP): hack/install-deps.sh
	@bash hack/install-deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/%.o: %.c $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(PKG_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Programs are thin: one directory of sources each, over libmbox.
$(BUILD)/mbox-%: $$(wildcard %/*.c) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LIB) $(LIBS)

# The command line, cli/.
$(BUILD)/mbox: $(wildcard cli/*.c) $(wildcard cli/*.h) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Icli -o $@ $(filter %.c,$^) $(LIB) $(LIBS)

# Its man page, generated from its help text; `make install` puts it with the program, the kubectl plugin
# links (kubectl-mbox, kubectl_complete-mbox) and the completion scripts under DESTDIR/PREFIX.
PREFIX ?= /usr/local
$(BUILD)/mbox.1: $(BUILD)/mbox cli/mkman.sh
	bash cli/mkman.sh $(BUILD)/mbox >$@.tmp && mv $@.tmp $@

man: $(BUILD)/mbox.1

install: $(BUILD)/mbox $(BUILD)/mbox.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 $(BUILD)/mbox $(DESTDIR)$(PREFIX)/bin/mbox
	ln -sf mbox $(DESTDIR)$(PREFIX)/bin/kubectl-mbox
	ln -sf mbox $(DESTDIR)$(PREFIX)/bin/kubectl_complete-mbox
	install -m 0644 $(BUILD)/mbox.1 $(DESTDIR)$(PREFIX)/share/man/man1/mbox.1
	$(BUILD)/mbox completion bash >$(DESTDIR)$(PREFIX)/share/bash-completion/completions/mbox
	$(BUILD)/mbox completion zsh >$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mbox

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB) $(CHECK_LIBS) $(LIBS)

$(BUILD)/itests/%: tests/integration/c/%.c tests/integration/c/testcluster.c tests/integration/c/testcluster.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/integration/c -o $@ $< tests/integration/c/testcluster.c $(LIB) \
		$(CHECK_LIBS) $(LIBS)

# The operator's shutdown test runs under AddressSanitizer, against the sanitizer build of the library
# that check-asan uses: a task thread that touches the operator after operator_free() fails it.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_LIB := build-asan/libmbox.a
.PHONY: asan-lib
asan-lib:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT_CFLAGS='-O1' CFLAGS='$(ASAN_FLAGS)' $(ASAN_LIB)

ifneq ($(BUILD),build-asan)
$(BUILD)/itests/test-operator-shutdown: tests/integration/c/test-operator-shutdown.c tests/integration/c/testcluster.c \
		tests/integration/c/testcluster.h asan-lib
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O1 $(PKG_CFLAGS) $(ASAN_FLAGS) -Itests/unit -Itests/integration/c -o $@ $< \
		tests/integration/c/testcluster.c $(ASAN_LIB) $(CHECK_LIBS) $(LIBS)
endif

-include $(PKG_OBJ:.o=.d)

unit: $(UNIT_BIN) sdk-unit
	@bash tests/run-unit.sh $(UNIT_BIN)

# The TypeScript SDK: its modules from the lockfile (again only when it changed), then dist/ by tsc; its
# unit tests (pure functions, no cluster) run with `make unit`, its integration suites in
# tests/integration/test-sdk.sh.
SDK := sdk/typescript
$(SDK)/node_modules/.mbox-lock.json: $(SDK)/package-lock.json
	cd $(SDK) && npm ci --no-audit --no-fund --loglevel=error
	cp $< $@

sdk: $(SDK)/node_modules/.mbox-lock.json
	cd $(SDK) && npm run --silent build

sdk-unit: sdk
	@cd $(SDK) && node --test test/unit/

# The web console: its modules from the lockfile (only when it changed), then web/dist by tsc and vite,
# again whenever a source (or the SDK's types it shares) is newer than the build.
WEB := web
WEB_SRC = $(shell find $(WEB)/src $(WEB)/test -type f) $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json \
        $(SDK)/src/runtime.ts $(SDK)/src/meta.ts $(SDK)/src/generated/crds.ts
# npm comes with the Debian packages (hack/install-deps.sh), installed first on a fresh machine
$(WEB)/node_modules/.mbox-lock.json: $(WEB)/package-lock.json | $(DEPS_STAMP)
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	cp $< $@

$(WEB)/dist/index.html: $(WEB)/node_modules/.mbox-lock.json $$(WEB_SRC)
	cd $(WEB) && npm run --silent build -- --logLevel warn
	touch $@

web: $(WEB)/dist/index.html

# The integration tests run the programs (and the console test its web/dist): they are built first, so no
# test ever runs a stale binary.
test: $(UNIT_BIN) $(ITEST_BIN) $(FUZZ_BIN) $(PROGRAMS) web
	@MBOX_C_ITESTS='$(ITEST_BIN)' MBOX_FUZZ_BINS='$(FUZZ_BIN)' bash tests/run.sh $(UNIT_BIN)

integration: $(ITEST_BIN) $(PROGRAMS)
	@MBOX_C_ITESTS='$(ITEST_BIN)' bash tests/integration/run.sh

fuzz-replay: $(FUZZ_BIN)
	@bash tests/fuzz/replay.sh $(FUZZ_BIN)

check-asan:
	@$(MAKE) --no-print-directory unit BUILD=build-asan OPT_CFLAGS='-O1' CFLAGS='$(ASAN_FLAGS)'

check-valgrind: $(UNIT_BIN)
	@CK_FORK=no MBOX_TEST_WRAPPER='valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect' \
		bash tests/run-unit.sh $(UNIT_BIN)

# libFuzzer targets are built with clang over one instrumented copy of the library. UBSan stops at the
# first report, so that a corpus replay fails on undefined behaviour as it does on a crash.
FUZZ_CFLAGS = -std=gnu17 -D_GNU_SOURCE -g -O1 -Ipkg $(PKG_CFLAGS) -fno-sanitize-recover=all
FUZZ_LIB := $(BUILD)-fuzz/libmbox-fuzz.a
FUZZ_OBJ := $(PKG_SRC:%.c=$(BUILD)-fuzz/%.o)

$(BUILD)-fuzz/%.o: %.c $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)-fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzzutil.h $(FUZZ_LIB)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB) $(LIBS)

-include $(FUZZ_OBJ:.o=.d)

fuzz: $(FUZZ_BIN)
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

format:
	clang-format -i $(C_FILES)

format-check:
	clang-format --dry-run --Werror $(C_FILES)

# varFuncNullUB: NULL is a pointer on every platform we build for, so it is a safe sentinel.
# ctunullpointer in pkg/api/*.h: API_KIND_DECLARE expands a kind's wrappers on one line, and cppcheck's
# whole-program pass then takes one wrapper's NULL argument (X_free(NULL)) for another's (X_freep's).
# check-unused reads the library's objects, so lint builds the library first.
lint: $(DEPS_STAMP) $(LIB)
	bash hack/check-banned.sh $(C_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance --inline-suppr \
		--suppress=missingIncludeSystem --suppress=varFuncNullUB \
		--suppress=ctunullpointer:pkg/api/*.h --std=c11 -Ipkg $(filter %.c,$(C_FILES))
	bash hack/check-unused.sh $(BUILD)

compile_commands.json: $(DEPS_STAMP)
	bear --output $@ -- $(MAKE) --no-print-directory -B all

binaries:
	bash hack/build-binaries.sh

# docs/api.md is generated from the CRD schemas; the integration tests fail when it is stale.
api-docs:
	bash hack/gen-api-docs.sh

# The main job: the local control plane, mbox-operator, mbox-apiserver and its console.
up: all
	@bash hack/mbox.sh up

down:
	@bash hack/mbox.sh down

demo:
	@bash hack/mbox.sh demo

cluster-up:
	bash hack/cluster.sh up

# The local control plane's figures (docs/local-cluster.md), as one table.
bench-cluster: all
	@bash bench/cluster.sh

bench-kube: all
	@bash bench/kube/run.sh

bench-operator: all
	@bash bench/operator/run.sh

bench-tasks: all
	@bash bench/tasks/run.sh

bench-apiserver: all
	@bash bench/apiserver/run.sh

bench-sessions: all
	@bash bench/sessions/run.sh

bench-cli: all
	@bash bench/cli/run.sh

bench-previews: all
	@bash bench/previews/run.sh

bench-sdk: all sdk
	@bash bench/sdk/run.sh

bench-console: all
	@bash bench/console/run.sh

cluster-down:
	bash hack/cluster.sh down

cluster-status:
	bash hack/cluster.sh status

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz compile_commands.json $(WEB)/dist
