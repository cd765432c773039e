# kstage: continuous integration for stacked Linux kernel work.
#
#   make deps          install the Debian packages a fresh machine lacks
#   make               build ./kstage
#   make test          unit, end-to-end (fake kernel), API and browser tests
#   make run           real kernel: demo stack, daemon, dashboard on :8080
#   make check-kernel  real-kernel end-to-end acceptance run
#   make bench         benchmarks (each prints a ratio against a baseline)
#   make fuzz          libFuzzer targets (tests/fuzz), FUZZ_SECONDS each
#
# WERROR=1 (set by .ci/run) turns warnings into errors.
# SANITIZE=1 builds with AddressSanitizer, LeakSanitizer and UBSan into
# build-san/ (never over the normal ./kstage): "make SANITIZE=1 test".

CC ?= cc
PKGS = libgit2 libcurl sqlite3 libmicrohttpd jansson libcrypto gmime-3.0 zlib
# Deferred (=, not :=): on a fresh machine "make test" installs pkg-config
# and the libraries (deps) before it compiles, so ask pkg-config then.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wvla \
       -Wdeclaration-after-statement -Wno-unused-parameter \
       -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
# A sanitized build lives in its own tree ($(B) is its prefix), so that
# switching SANITIZE on and off never leaves one kind of object behind
# for the other; -O1 keeps the stacks readable and does not hoist loads
# out of the checks that guard them.  It uses clang: with gcc 12, UBSan
# ignores log_path when ASan is linked in, and a report from a daemon
# running in the background would be lost on its stderr.
ifeq ($(SANITIZE),1)
B = build-san/
ifeq ($(origin CC),default)
CC = clang
endif
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
CFLAGS ?= -O1 -g
else
B =
SAN_FLAGS =
CFLAGS ?= -O2 -g
endif
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -D_GNU_SOURCE -Idaemon
LIBS = $(PKG_LIBS) -lpthread

# Every module of the daemon except main.o; unit tests link against these.
LIB_OBJS =
LIB_OBJS += daemon/ack.o
LIB_OBJS += daemon/api.o
LIB_OBJS += daemon/api_read.o
LIB_OBJS += daemon/api_write.o
LIB_OBJS += daemon/bisect.o
LIB_OBJS += daemon/bisector.o
LIB_OBJS += daemon/bisector_range.o
LIB_OBJS += daemon/buildlog.o
LIB_OBJS += daemon/child.o
LIB_OBJS += daemon/cli.o
LIB_OBJS += daemon/client.o
LIB_OBJS += daemon/compare.o
LIB_OBJS += daemon/config.o
LIB_OBJS += daemon/config_notify.o
LIB_OBJS += daemon/config_slurm.o
LIB_OBJS += daemon/console.o
LIB_OBJS += daemon/db.o
LIB_OBJS += daemon/each.o
LIB_OBJS += daemon/events.o
LIB_OBJS += daemon/exec_local.o
LIB_OBJS += daemon/exec_slurm.o
LIB_OBJS += daemon/excerpt.o
LIB_OBJS += daemon/executor.o
LIB_OBJS += daemon/gate.o
LIB_OBJS += daemon/hooks.o
LIB_OBJS += daemon/http.o
LIB_OBJS += daemon/inbox.o
LIB_OBJS += daemon/intake.o
LIB_OBJS += daemon/jfile.o
LIB_OBJS += daemon/json.o
LIB_OBJS += daemon/kcidb.o
LIB_OBJS += daemon/ktap.o
LIB_OBJS += daemon/log.o
LIB_OBJS += daemon/loop.o
LIB_OBJS += daemon/mbox.o
LIB_OBJS += daemon/metrics.o
LIB_OBJS += daemon/node_run.o
LIB_OBJS += daemon/notify.o
LIB_OBJS += daemon/notify_mail.o
LIB_OBJS += daemon/options.o
LIB_OBJS += daemon/outbox.o
LIB_OBJS += daemon/patchwork.o
LIB_OBJS += daemon/plain.o
LIB_OBJS += daemon/plan.o
LIB_OBJS += daemon/profile.o
LIB_OBJS += daemon/queue.o
LIB_OBJS += daemon/rcache.o
LIB_OBJS += daemon/remote.o
LIB_OBJS += daemon/repo.o
LIB_OBJS += daemon/report.o
LIB_OBJS += daemon/schema.o
LIB_OBJS += daemon/series.o
LIB_OBJS += daemon/slurm_cmd.o
LIB_OBJS += daemon/stages.o
LIB_OBJS += daemon/states.o
LIB_OBJS += daemon/steplog.o
LIB_OBJS += daemon/strbuf.o
LIB_OBJS += daemon/text.o
LIB_OBJS += daemon/token.o
LIB_OBJS += daemon/verdict.o
LIB_OBJS += daemon/wrapper.o

UNIT_TESTS =
UNIT_TESTS += tests/unit/test_api
UNIT_TESTS += tests/unit/test_bisect
UNIT_TESTS += tests/unit/test_buildlog
UNIT_TESTS += tests/unit/test_child
UNIT_TESTS += tests/unit/test_client
UNIT_TESTS += tests/unit/test_compare
UNIT_TESTS += tests/unit/test_config
UNIT_TESTS += tests/unit/test_console
UNIT_TESTS += tests/unit/test_inbox
UNIT_TESTS += tests/unit/test_kcidb
UNIT_TESTS += tests/unit/test_ktap
UNIT_TESTS += tests/unit/test_mbox
UNIT_TESTS += tests/unit/test_node_run
UNIT_TESTS += tests/unit/test_options
UNIT_TESTS += tests/unit/test_patchwork
UNIT_TESTS += tests/unit/test_plan
UNIT_TESTS += tests/unit/test_queue
UNIT_TESTS += tests/unit/test_remote
UNIT_TESTS += tests/unit/test_states
UNIT_TESTS += tests/unit/test_strbuf
UNIT_TESTS += tests/unit/test_token
UNIT_TESTS += tests/unit/test_verdict

SCHEMA = $(sort $(wildcard schema/*.sql))

all: $(B)kstage

$(B)kstage: $(B)daemon/main.o $(B)libkstage.a
	$(CC) $(ALL_CFLAGS) -o $@ $(B)daemon/main.o $(B)libkstage.a $(LIBS)

$(B)libkstage.a: $(addprefix $(B),$(LIB_OBJS))
	$(AR) rcs $@ $(addprefix $(B),$(LIB_OBJS))

$(B)daemon/%.o: daemon/%.c daemon/*.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The migrations are compiled into the binary so that it is self-contained.
daemon/schema.c: $(SCHEMA) daemon/gen-schema.sh
	sh daemon/gen-schema.sh $(SCHEMA) > $@+ && mv $@+ $@

$(B)tests/unit/%: tests/unit/%.c $(B)libkstage.a tests/unit/unit.h tests/unit/unit-db.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(B)libkstage.a $(LIBS) -lcmocka

# Test-only programs: built with the unit tests, not part of kstage.
TEST_PROGS =
TEST_PROGS += tests/unit/inbox-get

$(B)tests/unit/inbox-get: tests/unit/inbox-get.c $(B)libkstage.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)libkstage.a $(LIBS)

# The fuzz targets (tests/fuzz/fuzz_NAME.c, listed in tests/fuzz/targets)
# linked with a plain main() that replays files: t0005 runs them over the
# seeds and the inputs that once crashed.
FUZZ_TARGETS = console config http ktap mbox record series
FUZZ_REPLAY = $(addprefix tests/fuzz/replay_,$(FUZZ_TARGETS))

$(B)tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(B)libkstage.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/replay.c $(B)libkstage.a $(LIBS)

# fuzz_http includes http.c whole (its parsers are static).
$(B)tests/fuzz/replay_http build-fuzz/fuzz_http: daemon/http.c

unit: $(addprefix $(B),$(UNIT_TESTS) $(TEST_PROGS) $(FUZZ_REPLAY))

# --- installing what a fresh Debian 12 lacks --------------------------------
DEB_BUILD = build-essential pkg-config libgit2-dev libcurl4-openssl-dev \
	libsqlite3-dev libmicrohttpd-dev libjansson-dev libssl-dev libcmocka-dev \
	zlib1g-dev libgmime-3.0-dev \
	git curl ca-certificates sqlite3 jq procps
# Real servers the end-to-end tests start on loopback (tests/t/lib-*.sh);
# slurm-wlm and munge for a single-node Slurm cluster under the test's
# directory (tests/t/lib-slurm.sh: its own ports and munge socket, so a
# system slurmctld or munged the packages may start does not matter).
DEB_TEST = public-inbox python3-jsonschema python3-aiosmtpd openssl \
	slurm-wlm munge
DEB_KERNEL = qemu-system-x86 busybox-static linux-source-6.12 ccache cpio \
	bc flex bison libelf-dev xz-utils e2fsprogs
DEB_WEB = chromium wrk
# make SANITIZE=1 test and make fuzz: clang, its ASan/UBSan/libFuzzer
# runtimes, and llvm-symbolizer for readable reports.
DEB_SAN = clang llvm libclang-rt-14-dev
DEB_ALL = $(DEB_BUILD) $(DEB_TEST) $(DEB_KERNEL) $(DEB_WEB) $(DEB_SAN)
# Wait (up to 10 minutes) for another apt or dpkg to let go of its lock.
APT = apt-get -o DPkg::Lock::Timeout=600

deps: .deps-stamp
.deps-stamp: Makefile $(wildcard tests/web/package.json)
	@missing=$$(for p in $(DEB_ALL); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		$(APT) update -qq && DEBIAN_FRONTEND=noninteractive \
		$(APT) install -y -qq $$missing >/dev/null || exit 1; \
	fi
	@# Node.js often comes from elsewhere (with its own npm): only a
	@# machine without any gets Debian's.
	@command -v npm >/dev/null || { $(APT) update -qq && \
		DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq nodejs npm >/dev/null; }
	if [ -f tests/web/package.json ] && [ ! -d tests/web/node_modules/playwright-core ]; then \
		cd tests/web && npm install --no-audit --no-fund --silent; fi
	touch $@

# --- fuzzing (clang, libFuzzer) -------------------------------------------------
# make fuzz [FUZZ_SECONDS=N]: every target for N seconds (tests/fuzz/run.sh);
# a crash fails and its input is kept in tests/fuzz/regress/NAME/.  The
# objects are built again with coverage and sanitizers into build-fuzz/.
FUZZ_SECONDS = 30
FUZZ_CC = clang
FUZZ_CFLAGS = -std=gnu11 $(WARN) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	$(PKG_CFLAGS) -D_GNU_SOURCE -Idaemon

build-fuzz/daemon/%.o: daemon/%.c daemon/*.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

build-fuzz/libkstage.a: $(addprefix build-fuzz/,$(LIB_OBJS))
	$(AR) rcs $@ $(addprefix build-fuzz/,$(LIB_OBJS))

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build-fuzz/libkstage.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< \
		build-fuzz/libkstage.a $(LIBS)

fuzz: deps $(addprefix build-fuzz/fuzz_,$(FUZZ_TARGETS))
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# --- tests --------------------------------------------------------------------
# KSTAGE_BUILD tells the tests where the binaries are (tests/t/test-lib.sh);
# KSTAGE_SANITIZE makes tests/run.sh collect the sanitizers' reports.
test: deps $(B)kstage unit
ifeq ($(SANITIZE),1)
	@KSTAGE_BUILD=$(CURDIR)/build-san KSTAGE_SANITIZE=1 sh tests/run.sh
else
	@sh tests/run.sh
endif

check-kernel: deps kstage
	sh tests/kernel/check-kernel.sh

run: deps kstage
	sh jobs/run-demo

bench: deps kstage
	sh bench/run.sh

clean:
	rm -f kstage libkstage.a daemon/*.o daemon/schema.c $(UNIT_TESTS) $(TEST_PROGS) \
		$(FUZZ_REPLAY)
	rm -rf build-san build-fuzz

.PHONY: all unit deps test check-kernel run bench clean fuzz
