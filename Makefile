# blksnap: top-level build and test entry points.
#
#   make deps              install the Debian packages (scripts/deps.sh)
#   make modules [KVER=|FLAVOUR=]
#                          build the kernel modules into build/KVER/modules-out
#                          (default: the newest 6.12 of FLAVOUR, generic)
#   make running           the modules for the running kernel (uname -r)
#   make tests-bin         build the test programs into build/tests-bin
#   make all               modules + tests-bin
#   make check             deps, build for every kernel in KERNELS and the
#                          packages (not with SKIP_DEB=1), run every test
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
#   make check-debug-stock the whole suite on the debug kernel without the
#                          in-tree series, with our out-of-tree modules
#   make check-flavours    the kernel groups on Debian's rt (6.12, 6.1) and
#                          cloud (6.12) kernels (installs them first)
#   make deb               Debian packages (debian/) into build/deb:
#                          blksnap-dkms, libblksnap1, libblksnap-dev,
#                          blksnap; lintian checks them
#   make check-installed   the installed-system test (tests/installed/):
#                          the packages installed in a Debian 12 VM
#   make clean
#
# Sub-makefiles (kernel/Makefile, tests/Makefile) get KVER, MODULES_OUT and
# TESTS_BIN; add new rules below or there.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Newest installed 6.12 kernel of FLAVOUR (Debian's: empty or amd64 for the
# generic one, cloud, rt), found when make runs (the ABI suffix changes
# with Debian security updates: never hard-code it).
FLAVOUR ?=
KVER ?= $(shell $(TOP)/scripts/kver.sh 6.12$(if $(FLAVOUR),-$(FLAVOUR)) 2>/dev/null)
# Kernel series "make check" builds for and tests on: the stock ones and
# the debug kernel, which is also the in-tree series (scripts/debug-kernel.sh).
KERNELS ?= 6.12 6.1 debug
# VMs at a time: each runs on one host thread.
VM_JOBS ?= 2

BUILD       := $(TOP)/build
MODULES_OUT  = $(BUILD)/$(KVER)/modules-out
TESTS_BIN   := $(BUILD)/tests-bin
BLKSNAP_CACHE ?= /var/cache/blksnap
CHECKPATCH  := $(BLKSNAP_CACHE)/checkpatch/checkpatch.pl

export KERNELS BLKSNAP_CACHE VM_JOBS

.PHONY: all deps modules tests-bin check demo bench lint clean \
	userspace lib tool install check-host debug-kernel series \
	check-series check-series-quick check-debug running check-flavours \
	check-debug-stock deb check-installed

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

running:
	@$(MAKE) --no-print-directory modules KVER=$$(uname -r)

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
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man3
	install -m 0644 $(TOP)/man/blksnap.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(TOP)/man/blksnap-tracking.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(TOP)/man/libblksnap.3 $(DESTDIR)$(MANDIR)/man3/

check-host:
	$(TOP)/tests/host/run.sh

# The debug kernel (KASAN, lockdep, kmemleak, KFENCE, fault injection),
# built from linux-source-6.12 in $(BLKSNAP_CACHE)/debug-kernel (a no-op
# when nothing changed), and our modules built against it.
# DEBUG_VARIANT=stock: the same kernel without the series, for our
# out-of-tree modules ("make check-debug-stock").
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
# The debug kernel builds in the background while the stock kernels' VMs
# run (run-all.sh, DEBUG_BUILD).
check: deps
	@set -e; for k in $(KERNELS); do \
		[ $$k != debug ] || continue; \
		kv=$$($(TOP)/scripts/kver.sh $$k) || { echo "kernel $$k not installed" >&2; exit 1; }; \
		$(MAKE) --no-print-directory modules KVER=$$kv; \
	done
	@$(MAKE) --no-print-directory tests-bin
	@[ "$(SKIP_DEB)" = 1 ] || $(MAKE) --no-print-directory deb || \
		echo "make check: the packages did not build; the installed-system test will fail" >&2
	DEBUG_BUILD="$(MAKE) -C $(TOP) --no-print-directory debug-kernel" \
		INSTALLED_DEBS=$(DEB_OUT) $(TOP)/tests/run-all.sh

# Every VM test group, whatever tests/kernel-groups says.
ALL_GROUPS = $(filter-out vm host debug-kernel modules progs,$(notdir $(patsubst %/,%,$(wildcard $(TOP)/tests/*/))))

# The whole suite with the debug kernel as the only kernel, in one boot,
# without the benchmark smoke run.
check-debug: deps
	@$(MAKE) --no-print-directory debug-kernel
	@$(MAKE) --no-print-directory tests-bin
	KERNELS=debug BENCH_SMOKE=0 BOOT_MAX=100 $(TOP)/tests/run-all.sh $(ALL_GROUPS)

# The whole suite on the debug kernel without the series, our out-of-tree
# modules loaded into it: their hooks under KASAN, lockdep and kmemleak.
check-debug-stock: deps
	@DEBUG_VARIANT=stock $(MAKE) --no-print-directory debug-kernel
	@$(MAKE) --no-print-directory tests-bin
	KERNELS=debug-stock BENCH_SMOKE=0 BOOT_MAX=100 $(TOP)/tests/run-all.sh $(ALL_GROUPS)

# Debian's other flavours of the same kernels: the kernel groups, on each.
FLAVOUR_KERNELS ?= 6.12-rt 6.1-rt 6.12-cloud
check-flavours:
	$(TOP)/scripts/deps.sh --flavours
	@set -e; for k in $(FLAVOUR_KERNELS); do \
		kv=$$($(TOP)/scripts/kver.sh $$k) || { echo "kernel $$k not installed" >&2; exit 1; }; \
		$(MAKE) --no-print-directory modules KVER=$$kv; \
	done
	@$(MAKE) --no-print-directory tests-bin
	KERNELS="$(FLAVOUR_KERNELS)" BENCH_SMOKE=0 $(TOP)/tests/run-all.sh blkfilter blksnap fault compat

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

# Debian packages, versioned by lib/version.mk (debian/gen-changelog).
DEB_OUT := $(BUILD)/deb
DEB_VERSION = $(shell sed -n 's/^BLKSNAP_VERSION *:= *//p' $(TOP)/lib/version.mk)
DEB_ARCH = $(shell dpkg --print-architecture)

deb: deps
	@rm -f $(DEB_OUT)/*.deb $(DEB_OUT)/*.changes $(DEB_OUT)/*.buildinfo
	@mkdir -p $(DEB_OUT)
	$(TOP)/debian/gen-changelog
	cd $(TOP) && dpkg-buildpackage -b -us -uc \
		--changes-option=-u$(DEB_OUT) --buildinfo-option=-u$(DEB_OUT) \
		--changes-file=$(DEB_OUT)/blksnap_$(DEB_VERSION)_$(DEB_ARCH).changes \
		--buildinfo-file=$(DEB_OUT)/blksnap_$(DEB_VERSION)_$(DEB_ARCH).buildinfo
	lintian --fail-on error,warning $(DEB_OUT)/blksnap_$(DEB_VERSION)_$(DEB_ARCH).changes
	@ls $(DEB_OUT)/*.deb

# INSTALLED_ARGS: more options of tests/installed/run.sh, e.g. "--lock
# /tmp/blksnap-vm.lock" on a machine whose VMs take turns.
check-installed: deb
	$(TOP)/tests/installed/run.sh --debs $(DEB_OUT) $(INSTALLED_ARGS)

LINT_C  = $(shell find $(TOP)/kernel $(TOP)/include $(TOP)/tests/modules -name '*.[ch]' 2>/dev/null | sort)
LINT_SH = $(shell find $(TOP) -path $(TOP)/build -prune -o -path $(TOP)/.git -prune \
		-o -name '*.sh' -print | sort) $(TOP)/tests/vm/init $(TOP)/.ci/run \
		$(TOP)/debian/gen-changelog $(TOP)/debian/blksnap-dkms.postinst \
		$(TOP)/debian/blksnap-dkms.prerm $(TOP)/debian/blksnap.postrm \
		$(TOP)/debian/kernel/postinst.d/blksnap-dkms \
		$(TOP)/debian/initramfs/hooks/blksnap \
		$(TOP)/debian/initramfs/local-premount/blksnap

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
