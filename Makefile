# blksnap: top-level build and test entry points.
#
#   make deps              install the Debian packages (scripts/deps.sh)
#   make modules [KVER=]   build the kernel modules into build/KVER/modules-out
#   make tests-bin         build the test programs into build/tests-bin
#   make all               modules + tests-bin
#   make check             deps, build for every kernel in KERNELS, run tests
#   make demo              run demo/demo.sh in a 6.12 VM
#   make bench             run bench/run.sh
#   make lint              checkpatch --strict on kernel code, shellcheck
#   make userspace         libblksnap and the blksnap tool into build/lib, build/tools
#   make install [PREFIX=/usr/local] [DESTDIR=]
#                          install the library, header, pkg-config file, tool
#                          and man pages
#   make check-host        the host tests only (tests/host/run.sh)
#   make series            regenerate the in-tree series in patches/linux-6.12
#   make check-series      checkpatch, build each patch, kernel-doc, htmldocs
#   make check-series-quick  only: are the committed patches up to date (CI)
#   make debug-kernel      build the debug kernel (scripts/debug-kernel.sh)
#                          and the modules for it; "debug" in KERNELS tests
#                          on it (tests/vm/run.sh --kernel debug)
#   make check-debug       the whole suite on the debug kernel only (builds
#                          it first; see README, "Test kernels")
#   make clean
#
# Sub-makefiles (kernel/Makefile, tests/Makefile) get KVER, MODULES_OUT and
# TESTS_BIN; add new rules below or there.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Newest installed 6.12 kernel, found when make runs (the ABI suffix changes
# with Debian security updates: never hard-code it).
KVER ?= $(shell $(TOP)/scripts/kver.sh 6.12 2>/dev/null)
# Kernel series "make check" builds for and tests on.
KERNELS ?= 6.12 6.1

BUILD       := $(TOP)/build
MODULES_OUT  = $(BUILD)/$(KVER)/modules-out
TESTS_BIN   := $(BUILD)/tests-bin
BLKSNAP_CACHE ?= /var/cache/blksnap
CHECKPATCH  := $(BLKSNAP_CACHE)/checkpatch/checkpatch.pl

export KERNELS BLKSNAP_CACHE

.PHONY: all deps modules tests-bin check demo bench lint clean \
	userspace lib tool install check-host debug-kernel series \
	check-series check-series-quick check-debug

all: modules tests-bin

deps:
	$(TOP)/scripts/deps.sh

modules:
	@test -n "$(KVER)" || { echo "no 6.12 kernel installed: run 'make deps'" >&2; exit 1; }
	@if [ -f $(TOP)/kernel/Makefile ]; then \
		$(MAKE) -C $(TOP)/kernel KVER=$(KVER) MODULES_OUT=$(MODULES_OUT); \
	else \
		echo "modules: no kernel/Makefile yet, nothing to build"; \
	fi

tests-bin:
	@mkdir -p $(TESTS_BIN)
	@if [ -f $(TOP)/tests/Makefile ]; then \
		$(MAKE) -C $(TOP)/tests TESTS_BIN=$(TESTS_BIN); \
	else \
		echo "tests-bin: no tests/Makefile yet, nothing to build"; \
	fi

# Userspace: libblksnap (lib/) and the blksnap tool (tools/blksnap/).
PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man

userspace: lib tool

lib:
	@$(MAKE) --no-print-directory -C $(TOP)/lib O=$(BUILD)/lib

tool: lib
	@$(MAKE) --no-print-directory -C $(TOP)/tools/blksnap O=$(BUILD)/tools LIBO=$(BUILD)/lib

install: userspace
	@$(MAKE) --no-print-directory -C $(TOP)/lib O=$(BUILD)/lib PREFIX=$(PREFIX) install
	@$(MAKE) --no-print-directory -C $(TOP)/tools/blksnap O=$(BUILD)/tools \
		LIBO=$(BUILD)/lib PREFIX=$(PREFIX) install
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man3
	install -m 0644 $(TOP)/man/blksnap.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(TOP)/man/libblksnap.3 $(DESTDIR)$(MANDIR)/man3/

check-host:
	$(TOP)/tests/host/run.sh

# The debug kernel (KASAN, lockdep, kmemleak, KFENCE, fault injection),
# built from linux-source-6.12 in $(BLKSNAP_CACHE)/debug-kernel (a no-op
# when nothing changed), and our modules built against it.
debug-kernel:
	$(TOP)/scripts/debug-kernel.sh
	@$(MAKE) --no-print-directory modules \
		KVER=$$($(TOP)/scripts/debug-kernel.sh --print release) \
		KDIR=$$($(TOP)/scripts/debug-kernel.sh --print kdir)

# The in-tree series (kernel/intree/): made from the same sources as the
# modules; the extracted kernel tree and its builds live in build/intree.
series:
	$(TOP)/kernel/intree/mkseries.sh

check-series:
	$(TOP)/kernel/intree/check-series.sh

check-series-quick:
	$(TOP)/kernel/intree/check-series.sh --quick

# Series are resolved to kernel versions in the recipe, after deps ran;
# "debug" is the debug kernel, built here.
check: deps
	@set -e; for k in $(KERNELS); do \
		if [ $$k = debug ]; then \
			$(MAKE) --no-print-directory debug-kernel; \
			continue; \
		fi; \
		kv=$$($(TOP)/scripts/kver.sh $$k) || { echo "kernel $$k not installed" >&2; exit 1; }; \
		$(MAKE) --no-print-directory modules KVER=$$kv; \
	done
	@$(MAKE) --no-print-directory tests-bin
	$(TOP)/tests/run-all.sh

# The whole suite with the debug kernel as the only kernel, in one boot,
# without the benchmark smoke run.
check-debug: deps
	@$(MAKE) --no-print-directory debug-kernel
	@$(MAKE) --no-print-directory tests-bin
	KERNELS=debug BENCH_SMOKE=0 BOOT_MAX=100 $(TOP)/tests/run-all.sh

demo: deps
	@$(MAKE) --no-print-directory modules KVER=$$($(TOP)/scripts/kver.sh 6.12)
	@$(MAKE) --no-print-directory tests-bin
	$(TOP)/tests/vm/run.sh --kernel 6.12 --show-output $(TOP)/demo/demo.sh

bench: deps
	@if [ -x $(TOP)/bench/run.sh ]; then \
		$(MAKE) --no-print-directory modules KVER=$$($(TOP)/scripts/kver.sh 6.12) && \
		$(MAKE) --no-print-directory tests-bin && \
		$(TOP)/bench/run.sh; \
	else \
		echo "bench: no bench/run.sh yet"; \
	fi

LINT_C  = $(shell find $(TOP)/kernel $(TOP)/include $(TOP)/tests/modules -name '*.[ch]' 2>/dev/null | sort)
LINT_SH = $(shell find $(TOP) -path $(TOP)/build -prune -o -path $(TOP)/.git -prune \
		-o -name '*.sh' -print | sort) $(TOP)/tests/vm/init $(TOP)/.ci/run

lint:
	@test -x $(CHECKPATCH) || $(TOP)/scripts/deps.sh
	@rc=0; \
	if [ -n "$(LINT_C)" ]; then \
		$(CHECKPATCH) --strict --no-tree --quiet --show-types --file $(LINT_C) || rc=1; \
	fi; \
	shellcheck -x -P SCRIPTDIR -P $(TOP)/tests/progs $(LINT_SH) || rc=1; \
	exit $$rc

clean:
	@if [ -f $(TOP)/kernel/Makefile ]; then $(MAKE) -C $(TOP)/kernel clean KVER=$(KVER) || true; fi
	@if [ -f $(TOP)/tests/Makefile ]; then $(MAKE) -C $(TOP)/tests clean || true; fi
	rm -rf $(BUILD)
