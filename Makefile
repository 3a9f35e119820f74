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
#   make install     PREFIX=/usr/local DESTDIR= (GNU directory variables); make uninstall
#   make deb         Debian packages into build/deb/ (dpkg-buildpackage, debhelper)
#   make lint-manuals   mandoc -Tlint on the man pages
#   make check-package  the units' hardening, the manuals, the packages installed and removed

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
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags lmdb libuv libprotobuf-c libcrypto libsodium libmicrohttpd libsystemd)
DEP_LIBS = $(shell $(PKG_CONFIG) --libs lmdb libuv libprotobuf-c libcrypto libsodium libmicrohttpd libsystemd)
CLIENT_LIBS = $(shell $(PKG_CONFIG) --libs libprotobuf-c libcrypto libsodium) -lpthread
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -g $(OPTIMIZE) -fPIC -fvisibility=hidden $(WARNINGS) \
             $(if $(WERROR),-Werror) $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
             -fno-sanitize-recover=all) \
             -DFAMLEDGER_VERSION='"$(VERSION)"' $(CPPFLAGS) \
             -I$(BUILD)/gen -Iproto -Idaemon -Iclient -Itests/common $(DEP_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(if $(SANITIZE),-fsanitize=$(SANITIZE)) $(LDFLAGS)

# When `deps` is asked for together with a build, build only after it.
DEPS_FIRST := $(if $(filter deps,$(MAKECMDGOALS)),deps)

GEN_C := $(BUILD)/gen/famledger.pb-c.c
GEN_H := $(BUILD)/gen/famledger.pb-c.h

PROTO_SRC := proto/frame.c proto/status.c proto/metrics_text.c proto/json_text.c proto/sha256.c \
             proto/table_digest.c proto/entry_check.c proto/wire_text.c \
             proto/sync_dir.c
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

.PHONY: all deps run test test-deferred test-direct bench bench-postgres fuzz clean install uninstall deb lint-manuals \
        check-units check-package
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
      $(BUILD)/tests/famledger-digest-proxy $(BUILD)/tests/libfailsync.so
	@BUILD=$(BUILD) tests/run-tests $(UNIT_TESTS) $(INTEGRATION_TESTS) tests/integration/test_*.sh

# The same suite with the accounts and references swept back every 20 ms instead of the
# default 5 s (state_sweep_ms), so that every test also meets the sweep, the journal dropped
# behind it and their restarts; and with the setting off, each table written at each commit.
test-deferred: all $(UNIT_TESTS) $(INTEGRATION_TESTS) $(BUILD)/tests/famledger-corrupt \
               $(BUILD)/tests/famledger-digest-proxy $(BUILD)/tests/libfailsync.so
	@FAMLEDGER_TEST_STATE_SWEEP_MS=20 BUILD=$(BUILD) tests/run-tests $(UNIT_TESTS) \
	    $(INTEGRATION_TESTS) tests/integration/test_*.sh

test-direct: all $(UNIT_TESTS) $(INTEGRATION_TESTS) $(BUILD)/tests/famledger-corrupt \
             $(BUILD)/tests/famledger-digest-proxy $(BUILD)/tests/libfailsync.so
	@FAMLEDGER_TEST_STATE_SWEEP_MS=0 BUILD=$(BUILD) tests/run-tests $(UNIT_TESTS) \
	    $(INTEGRATION_TESTS) tests/integration/test_*.sh

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
	    build/fuzz/obj/tests/fuzz/seeds.o build/fuzz/libfamledger.a \
	    build/fuzz/obj/tests/fuzz/fuzz_reply.o build/fuzz/obj/tests/fuzz/reply_seeds.o
	clang -fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_request \
	    build/fuzz/obj/tests/fuzz/fuzz_request.o build/fuzz/libfamledgerd.a $(DEP_LIBS) -lpthread
	clang -fsanitize=address,undefined -o build/fuzz/seeds build/fuzz/obj/tests/fuzz/seeds.o \
	    build/fuzz/libfamledgerd.a $(DEP_LIBS)
	rm -rf build/fuzz/corpus && mkdir -p build/fuzz/corpus && build/fuzz/seeds build/fuzz/corpus
	build/fuzz/fuzz_request -seed=1 -runs=$(FUZZ_RUNS) -max_len=4096 build/fuzz/corpus
	clang -fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_reply \
	    build/fuzz/obj/tests/fuzz/fuzz_reply.o build/fuzz/libfamledger.a $(DEP_LIBS) -lpthread
	clang -fsanitize=address,undefined -o build/fuzz/reply_seeds \
	    build/fuzz/obj/tests/fuzz/reply_seeds.o build/fuzz/libfamledger.a $(DEP_LIBS)
	rm -rf build/fuzz/replies && mkdir -p build/fuzz/replies && \
	    build/fuzz/reply_seeds build/fuzz/replies
	build/fuzz/fuzz_reply -seed=1 -runs=$(FUZZ_RUNS) -max_len=16384 build/fuzz/replies

clean:
	rm -rf build

# ---- Install (GNU conventions: PREFIX or prefix, DESTDIR, the *dir variables) ----
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir ?= $(exec_prefix)/bin
sbindir ?= $(exec_prefix)/sbin
libdir ?= $(exec_prefix)/lib
libexecdir ?= $(exec_prefix)/libexec
includedir ?= $(prefix)/include
datadir ?= $(prefix)/share
mandir ?= $(datadir)/man
docdir ?= $(datadir)/doc/famledger
# /etc for a system prefix, as Debian and systemd expect; $(prefix)/etc otherwise.
sysconfdir ?= $(if $(filter /usr,$(prefix)),/etc,$(prefix)/etc)
systemdunitdir ?= $(prefix)/lib/systemd/system
sysusersdir ?= $(prefix)/lib/sysusers.d
tmpfilesdir ?= $(prefix)/lib/tmpfiles.d
bashcompletiondir ?= $(datadir)/bash-completion/completions
INSTALL ?= install

MANUALS := docs/man/ledgerctl.1 docs/man/famledger.3 docs/man/famledgerd.conf.5 \
           docs/man/famledgerd.8
# The units name the Debian package's paths; an install elsewhere rewrites them.
UNIT_PATHS = -e 's|/usr/sbin/|$(sbindir)/|g' -e 's|/usr/libexec/famledger/|$(libexecdir)/famledger/|g' \
             -e 's|/etc/famledger/|$(sysconfdir)/famledger/|g'

# famledger.pc names its directories under ${prefix} where they are, so that
# `pkg-config --define-variable=prefix=...` can move them.
PC_SUBSTITUTIONS = -e 's|@PREFIX@|$(prefix)|' -e 's|@VERSION@|$(VERSION)|' \
                   -e 's|@LIBDIR@|$(patsubst $(prefix)/%,$${prefix}/%,$(libdir))|' \
                   -e 's|@INCLUDEDIR@|$(patsubst $(prefix)/%,$${prefix}/%,$(includedir))|'

install: $(BUILD)/famledgerd $(BUILD)/ledgerctl $(BUILD)/libfamledger.a \
         $(BUILD)/libfamledger.so.$(SOVERSION)
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(libdir)/pkgconfig \
	    $(DESTDIR)$(libexecdir)/famledger $(DESTDIR)$(includedir) $(DESTDIR)$(mandir)/man1 \
	    $(DESTDIR)$(mandir)/man3 $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 \
	    $(DESTDIR)$(systemdunitdir) $(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) \
	    $(DESTDIR)$(bashcompletiondir) $(DESTDIR)$(sysconfdir)/famledger $(DESTDIR)$(docdir)
	$(INSTALL) -m 0755 $(BUILD)/famledgerd $(DESTDIR)$(sbindir)/famledgerd
	$(INSTALL) -m 0755 $(BUILD)/ledgerctl $(DESTDIR)$(bindir)/ledgerctl
	$(INSTALL) -m 0755 deploy/famledger-nightly $(DESTDIR)$(libexecdir)/famledger/famledger-nightly
	$(INSTALL) -m 0644 $(BUILD)/libfamledger.a $(DESTDIR)$(libdir)/libfamledger.a
	$(INSTALL) -m 0755 $(BUILD)/libfamledger.so.$(SOVERSION) \
	    $(DESTDIR)$(libdir)/libfamledger.so.$(VERSION)
	ln -sf libfamledger.so.$(VERSION) $(DESTDIR)$(libdir)/libfamledger.so.$(SOVERSION)
	ln -sf libfamledger.so.$(SOVERSION) $(DESTDIR)$(libdir)/libfamledger.so
	$(INSTALL) -m 0644 client/famledger.h proto/famledger_status.h $(DESTDIR)$(includedir)/
	sed $(PC_SUBSTITUTIONS) client/famledger.pc.in > $(DESTDIR)$(libdir)/pkgconfig/famledger.pc
	$(INSTALL) -m 0644 docs/man/ledgerctl.1 $(DESTDIR)$(mandir)/man1/
	$(INSTALL) -m 0644 docs/man/famledger.3 $(DESTDIR)$(mandir)/man3/
	$(INSTALL) -m 0644 docs/man/famledgerd.conf.5 $(DESTDIR)$(mandir)/man5/
	$(INSTALL) -m 0644 docs/man/famledgerd.8 $(DESTDIR)$(mandir)/man8/
	for unit in famledgerd.service famledger-nightly.service famledger-nightly.timer; do \
	    sed $(UNIT_PATHS) deploy/$$unit > $(DESTDIR)$(systemdunitdir)/$$unit || exit 1; \
	    chmod 0644 $(DESTDIR)$(systemdunitdir)/$$unit; done
	$(INSTALL) -m 0644 deploy/famledger.sysusers $(DESTDIR)$(sysusersdir)/famledger.conf
	$(INSTALL) -m 0644 deploy/famledger.tmpfiles $(DESTDIR)$(tmpfilesdir)/famledger.conf
	$(INSTALL) -m 0644 deploy/ledgerctl.bash-completion $(DESTDIR)$(bashcompletiondir)/ledgerctl
	$(INSTALL) -m 0644 deploy/famledgerd.conf.sample $(DESTDIR)$(docdir)/famledgerd.conf.sample
	# An operator's settings are never overwritten.
	[ -e $(DESTDIR)$(sysconfdir)/famledger/famledgerd.conf ] || \
	    $(INSTALL) -m 0644 deploy/famledgerd.conf.sample $(DESTDIR)$(sysconfdir)/famledger/famledgerd.conf

# Removes what install put there, except the settings (an operator's) and, of course, the ledger.
uninstall:
	rm -f $(DESTDIR)$(sbindir)/famledgerd $(DESTDIR)$(bindir)/ledgerctl \
	    $(DESTDIR)$(libexecdir)/famledger/famledger-nightly \
	    $(DESTDIR)$(libdir)/libfamledger.a $(DESTDIR)$(libdir)/libfamledger.so.$(VERSION) \
	    $(DESTDIR)$(libdir)/libfamledger.so.$(SOVERSION) $(DESTDIR)$(libdir)/libfamledger.so \
	    $(DESTDIR)$(libdir)/pkgconfig/famledger.pc $(DESTDIR)$(includedir)/famledger.h \
	    $(DESTDIR)$(includedir)/famledger_status.h $(DESTDIR)$(mandir)/man1/ledgerctl.1 \
	    $(DESTDIR)$(mandir)/man3/famledger.3 $(DESTDIR)$(mandir)/man5/famledgerd.conf.5 \
	    $(DESTDIR)$(mandir)/man8/famledgerd.8 $(DESTDIR)$(systemdunitdir)/famledgerd.service \
	    $(DESTDIR)$(systemdunitdir)/famledger-nightly.service \
	    $(DESTDIR)$(systemdunitdir)/famledger-nightly.timer \
	    $(DESTDIR)$(sysusersdir)/famledger.conf $(DESTDIR)$(tmpfilesdir)/famledger.conf \
	    $(DESTDIR)$(bashcompletiondir)/ledgerctl $(DESTDIR)$(docdir)/famledgerd.conf.sample
	-rmdir $(DESTDIR)$(libexecdir)/famledger $(DESTDIR)$(docdir) 2>/dev/null

lint-manuals:
	mandoc -Tlint -Wwarning $(MANUALS)

# The services' hardening as systemd rates it: 2.0 or lower (0 is best, 10 worst).
check-units:
	@for unit in deploy/famledgerd.service deploy/famledger-nightly.service; do \
	    rating=$$(systemd-analyze security --offline=yes $$unit 2>/dev/null | \
	              sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p'); \
	    echo "$$unit: $$rating"; \
	    awk -v r="$$rating" 'BEGIN { exit !(r != "" && r <= 2.0) }' || exit 1; done

# CI's packaging stage: the units' rating, the manuals, the packages built, installed, run,
# removed and purged (tests/package/test_deb.sh; needs root, and changes the machine).
check-package: deps check-units lint-manuals deb
	bash tests/package/test_deb.sh

# Debian packages, built by the standard tools from a copy of the tree (deploy/debian becomes
# debian/); the .deb files land in build/deb/.
deb: deps
	rm -rf build/deb && mkdir -p build/deb/famledger-$(VERSION)
	tar --exclude=./build --exclude=./var --exclude=./.git -cf - . | \
	    tar -C build/deb/famledger-$(VERSION) -xf -
	cp -r deploy/debian build/deb/famledger-$(VERSION)/debian
	cp deploy/famledger.sysusers build/deb/famledger-$(VERSION)/debian/famledgerd.sysusers
	cp deploy/famledger.tmpfiles build/deb/famledger-$(VERSION)/debian/famledgerd.tmpfiles
	cd build/deb/famledger-$(VERSION) && dpkg-buildpackage -b -us -uc
	@ls -1 build/deb/*.deb

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
	sed $(PC_SUBSTITUTIONS) $< > $@

$(BUILD)/ledgerctl: $(call obj,tools/ledgerctl.c tools/ledgerctl_family.c \
                        tools/ledgerctl_lifecycle.c tools/ledgerctl_audit.c \
                        tools/ledgerctl_reconcile.c tools/ledgerctl_books.c tools/ledgerctl_wallet.c \
                        tools/ledgerctl_migrate.c tools/ledgerctl_emergency.c \
                        tools/cli.c) $(BUILD)/libfamledger.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS)

$(BUILD)/famledger-notify: $(call obj,tools/famledger-notify.c) $(BUILD)/libfamledger.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS)

# The bench also runs the raw LMDB limit (--raw-lmdb), so it links LMDB.
$(BUILD)/famledger-bench: $(call obj,tools/famledger-bench.c tools/thread_cpu.c) $(BUILD)/libfamledger.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS) $(shell $(PKG_CONFIG) --libs lmdb) -lpthread

# ---- Tests ----
# Unit tests drive daemon internals directly (no socket); integration tests use only the client.
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libfamledgerd.a $(BUILD)/libfamledger.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $(TEST_LDFLAGS) -o $@ $< $(BUILD)/libfamledgerd.a $(BUILD)/libfamledger.a \
	    $(DEP_LIBS) $(CMOCKA_LIBS) -lpthread
# test_batch fails chosen LMDB puts through the linker, not a hook in the daemon.
$(BUILD)/tests/unit/test_batch: TEST_LDFLAGS = -Wl,--wrap=mdb_put
# test_overlay fails chosen allocations the same way.
$(BUILD)/tests/unit/test_overlay: TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
# test_arena counts and fails allocations the same way.
$(BUILD)/tests/unit/test_arena: TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
# test_deferred fails LMDB's puts and commits the same way.
$(BUILD)/tests/unit/test_deferred: TEST_LDFLAGS = -Wl,--wrap=mdb_put,--wrap=mdb_txn_commit
# test_thread_cpu tests famledger-bench's reading of /proc (tools/thread_cpu.c).
$(BUILD)/tests/unit/test_thread_cpu: $(call obj,tools/thread_cpu.c)
$(BUILD)/tests/unit/test_thread_cpu: TEST_LDFLAGS = $(call obj,tools/thread_cpu.c)
# test_upgrade makes ledgers of older formats (tests/common/format_older.c).
$(BUILD)/tests/unit/test_upgrade: $(BUILD)/obj/tests/common/format_older.o
$(BUILD)/tests/unit/test_upgrade: TEST_LDFLAGS = $(BUILD)/obj/tests/common/format_older.o

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o \
                              $(BUILD)/obj/tests/integration/harness.o $(BUILD)/libfamledger.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS) $(CMOCKA_LIBS) -lpthread

$(BUILD)/tests/famledger-corrupt: $(BUILD)/obj/tests/integration/corrupt.o \
                                  $(BUILD)/obj/tests/common/format_older.o $(BUILD)/libfamledgerd.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(DEP_LIBS) -lpthread

# A daemon of another digest definition, in front of the real one (test_verify_load.sh).
$(BUILD)/tests/famledger-digest-proxy: $(BUILD)/obj/tests/integration/digest_proxy.o \
                                       $(BUILD)/libfamledger.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS)

# An LD_PRELOAD shim that makes syncs fail on demand (tests/integration/test_storage.sh).
$(BUILD)/tests/libfailsync.so: tests/integration/failsync.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -fPIC -shared -Wall -Wextra $(if $(WERROR),-Werror) -o $@ $< -ldl

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
