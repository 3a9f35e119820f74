# famledger -- build, run and test.
#
#   make deps        install missing Debian packages (deploy/debian-packages.txt)
#   make             build famledgerd, ledgerctl and libfamledger into $(BUILD)/
#   make run         run famledgerd in the foreground on ./var
#   make test        build and run every test
#   make SANITIZE=address,undefined WERROR=1 test    the CI variant (own build folder)
#   make bench       run the bounded benchmarks (see docs/BENCHMARKS.md)
#   make bench-postgres   famledgerd and PostgreSQL side by side on the same workload
#   make fuzz        a bounded libFuzzer run of every request handler (clang)

SANITIZE ?=
WERROR ?=
BUILD ?= $(if $(SANITIZE),build/sanitize,build)

CC ?= cc
PROTOC_C ?= protoc-c
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0
SOVERSION := 0

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wvla
OPTIMIZE ?= -O2
# Lazily expanded: pkg-config runs when a recipe needs it, after `make deps` installed it.
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags lmdb libuv libprotobuf-c libsodium libmicrohttpd libsystemd)
DEP_LIBS = $(shell $(PKG_CONFIG) --libs lmdb libuv libprotobuf-c libsodium libmicrohttpd libsystemd)
CLIENT_LIBS = $(shell $(PKG_CONFIG) --libs libprotobuf-c libsodium)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -g $(OPTIMIZE) -fPIC -fvisibility=hidden $(WARNINGS) \
             $(if $(WERROR),-Werror) $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
             -fno-sanitize-recover=all) \
             -DFAMLEDGER_VERSION='"$(VERSION)"' \
             -I$(BUILD)/gen -Iproto -Idaemon -Iclient $(DEP_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(if $(SANITIZE),-fsanitize=$(SANITIZE)) $(LDFLAGS)

# When `deps` is asked for together with a build, build only after it.
DEPS_FIRST := $(if $(filter deps,$(MAKECMDGOALS)),deps)

GEN_C := $(BUILD)/gen/famledger.pb-c.c
GEN_H := $(BUILD)/gen/famledger.pb-c.h

PROTO_SRC := proto/frame.c proto/status.c proto/metrics_text.c
DAEMON_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
CLIENT_SRC := $(wildcard client/*.c)
UNIT_TESTS := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/integration/test_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
PROTO_OBJ := $(call obj,$(PROTO_SRC)) $(BUILD)/obj/gen/famledger.pb-c.o
DAEMON_OBJ := $(call obj,$(DAEMON_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))

PROGRAMS := $(BUILD)/famledgerd $(BUILD)/ledgerctl $(BUILD)/famledger-bench \
            $(BUILD)/famledger-notify
LIBRARIES := $(BUILD)/libfamledger.a $(BUILD)/libfamledger.so.$(SOVERSION) $(BUILD)/famledger.pc

.PHONY: all deps run test bench bench-postgres fuzz clean
# Keep intermediate objects, so that a second `make test` rebuilds nothing.
.SECONDARY:
.DEFAULT_GOAL := all

all: $(PROGRAMS) $(LIBRARIES)

deps:
	@deploy/install-deps

run: $(BUILD)/famledgerd $(BUILD)/ledgerctl
	@mkdir -p var
	$(BUILD)/famledgerd --data-dir var/data --socket var/famledgerd.sock

test: all $(UNIT_TESTS) $(INTEGRATION_TESTS) $(BUILD)/tests/famledger-corrupt \
      $(BUILD)/tests/libfailsync.so
	@BUILD=$(BUILD) tests/run-tests $(UNIT_TESTS) $(INTEGRATION_TESTS) tests/integration/test_*.sh

bench: all
	@BUILD=$(BUILD) tools/bench.sh

# famledgerd and PostgreSQL side by side on the issue-12 workload (installs PostgreSQL when
# missing; BENCH_PATIENTS, BENCH_SECONDS, BENCH_CONNECTIONS).
bench-postgres: all
	@BUILD=$(BUILD) tools/bench-postgres.sh

# The daemon's code is built with coverage for libFuzzer in its own folder; the run is bounded
# and seeded, so that it is repeatable.
FUZZ_RUNS ?= 200000
fuzz:
	$(MAKE) CC=clang BUILD=build/fuzz SANITIZE=address,undefined \
	    CFLAGS=-fsanitize=fuzzer-no-link build/fuzz/libfamledgerd.a build/fuzz/obj/tests/fuzz/fuzz_request.o \
	    build/fuzz/obj/tests/fuzz/seeds.o
	clang -fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_request \
	    build/fuzz/obj/tests/fuzz/fuzz_request.o build/fuzz/libfamledgerd.a $(DEP_LIBS) -lpthread
	clang -fsanitize=address,undefined -o build/fuzz/seeds build/fuzz/obj/tests/fuzz/seeds.o \
	    build/fuzz/libfamledgerd.a $(DEP_LIBS)
	rm -rf build/fuzz/corpus && mkdir -p build/fuzz/corpus && build/fuzz/seeds build/fuzz/corpus
	build/fuzz/fuzz_request -seed=1 -runs=$(FUZZ_RUNS) -max_len=4096 build/fuzz/corpus

clean:
	rm -rf build

# ---- Generated protobuf code ----
$(GEN_C) $(GEN_H) &: proto/famledger.proto | $(DEPS_FIRST)
	@mkdir -p $(BUILD)/gen
	$(PROTOC_C) --proto_path=proto --c_out=$(BUILD)/gen proto/famledger.proto

# Generated code is not ours to warn about beyond the basics.
$(BUILD)/obj/gen/famledger.pb-c.o: $(GEN_C)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -g $(OPTIMIZE) -fPIC -fvisibility=hidden $(if $(SANITIZE),-fsanitize=$(SANITIZE)) \
	    -I$(BUILD)/gen $(DEP_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN_H) | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CMOCKA_CFLAGS) -MMD -MP -c $< -o $@

# ---- Programs and libraries ----
$(BUILD)/libfamledgerd.a: $(DAEMON_OBJ) $(PROTO_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/famledgerd: $(BUILD)/obj/daemon/main.o $(BUILD)/libfamledgerd.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS) -lpthread

$(BUILD)/libfamledger.a: $(CLIENT_OBJ) $(PROTO_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libfamledger.so.$(SOVERSION): $(CLIENT_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,-soname,libfamledger.so.$(SOVERSION) -o $@ $^ $(CLIENT_LIBS)
	ln -sf libfamledger.so.$(SOVERSION) $(BUILD)/libfamledger.so

$(BUILD)/famledger.pc: client/famledger.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|/usr/local|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/ledgerctl: $(call obj,tools/ledgerctl.c tools/ledgerctl_family.c \
                        tools/ledgerctl_lifecycle.c tools/ledgerctl_audit.c \
                        tools/ledgerctl_reconcile.c tools/ledgerctl_books.c tools/ledgerctl_wallet.c \
                        tools/ledgerctl_migrate.c \
                        tools/cli.c) $(BUILD)/libfamledger.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS)

$(BUILD)/famledger-notify: $(call obj,tools/famledger-notify.c) $(BUILD)/libfamledger.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS)

# The bench also runs the raw LMDB limit (--raw-lmdb), so it links LMDB.
$(BUILD)/famledger-bench: $(call obj,tools/famledger-bench.c) $(BUILD)/libfamledger.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS) $(shell $(PKG_CONFIG) --libs lmdb) -lpthread

# ---- Tests ----
# Unit tests drive daemon internals directly (no socket); integration tests use only the client.
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libfamledgerd.a $(BUILD)/libfamledger.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $(TEST_LDFLAGS) -o $@ $< $(BUILD)/libfamledgerd.a $(BUILD)/libfamledger.a \
	    $(DEP_LIBS) $(CMOCKA_LIBS) -lpthread
# test_batch fails chosen LMDB puts through the linker, not a hook in the daemon.
$(BUILD)/tests/unit/test_batch: TEST_LDFLAGS = -Wl,--wrap=mdb_put

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o \
                              $(BUILD)/obj/tests/integration/harness.o $(BUILD)/libfamledger.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS) $(CMOCKA_LIBS) -lpthread

$(BUILD)/tests/famledger-corrupt: $(BUILD)/obj/tests/integration/corrupt.o $(BUILD)/libfamledgerd.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS) -lpthread

# An LD_PRELOAD shim that makes syncs fail on demand (tests/integration/test_storage.sh).
$(BUILD)/tests/libfailsync.so: tests/integration/failsync.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -fPIC -shared -Wall -Wextra $(if $(WERROR),-Werror) -o $@ $< -ldl

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
