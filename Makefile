# virtio-vswap top-level build. Everything generated goes under $(BUILD).
#   make demo        the main job (README): a VM swaps into virtio-vswap
#   make demo-host   the host-only store demo (no VM)
#   make e2e         long guest end-to-end suite + the libvirt test
#   make check       every test suite, ends with "N passed, N failed"
#   make check-quick the fast tier: ABI, libvswap and vswapctl unit tests,
#                    series in sync; no VM, no QEMU build, under a minute
#   make deps        install build/test dependencies through apt (idempotent)
#   make lib         libvswap (host/)
#   make qemu        QEMU 10.0 with the qemu-patches/ series
#   make bench-host  host store benchmark -> build/bench/host.json
#   make bench-writeback  disk-tier writeback vs raw write -> build/bench/writeback.json
#   make bench-migration  the store's migration stream (libvswap, a guest)
#                    -> build/bench/migration.json (docs/migration.md)
#   make bench-guest virtio-vswap vs guest zram, zswap, virtio-blk swap, in
#                    guests -> build/bench/guest.json (docs/benchmarks.md);
#                    BENCH_CONFIGS, BENCH_SIZES, BENCH_WORKLOADS, BENCH_MEM,
#                    BENCH_VSWAP_PROPS, BENCH_VSWAP_MODPARAMS, BENCH_QUICK=1
#   make vswapctl    operator CLI -> build/host/vswapctl
#   make check-libvirt  vswapctl + the device through a real libvirtd (root)
#   make fuzz        libvswap's libFuzzer harnesses, FUZZ_SECONDS (60) each
#                    (host/fuzz/run.sh; docs/security.md, Fuzzing)
#   make fuzz-smoke  the harnesses over their committed inputs only
BUILD ?= $(CURDIR)/build
export BUILD

.PHONY: all deps lib check check-quick check-asan qemu demo demo-host e2e \
	bench-host clean vswapctl \
	check-libvirt bench-writeback bench-guest bench-migration fuzz \
	fuzz-smoke fuzz-qemu fuzz-qemu-smoke

all: lib

deps:
	scripts/install-deps.sh all

lib: deps
	$(MAKE) -C host

# Installs its own deps (qemu host); cached outside the clone, see the script.
qemu:
	scripts/build-qemu.sh

check: deps
	tests/run.sh

# What the fast tier builds needs: libvswap's and vswapctl's (libvirt-dev).
check-quick:
	scripts/install-deps.sh host libvirt
	tests/run.sh --quick

# libvswap and QEMU (with the series) under ASan + UBSan.
check-asan: deps
	tests/run.sh host-asan qemu-asan

vswapctl: deps
	$(MAKE) -C host/vswapctl

check-libvirt: vswapctl
	tests/libvirt/run.sh

bench-host: deps
	$(MAKE) -C host bench

bench-writeback: deps
	$(MAKE) -C host $(BUILD)/host/bench/bench_writeback
	BUILD=$(BUILD) OUT=$(BUILD)/host host/bench/writeback.sh

# Builds its own QEMU (scripts/build-qemu.sh --plugins) and guest image.
bench-guest: deps
	BENCH_CONFIGS="$(BENCH_CONFIGS)" BENCH_SIZES="$(BENCH_SIZES)" \
	BENCH_WORKLOADS="$(BENCH_WORKLOADS)" BENCH_MEM="$(BENCH_MEM)" \
	BENCH_VSWAP_PROPS="$(BENCH_VSWAP_PROPS)" \
	BENCH_VSWAP_MODPARAMS="$(BENCH_VSWAP_MODPARAMS)" \
	BENCH_QUICK="$(BENCH_QUICK)" tests/bench/run.sh

# QEMU's libFuzzer binary on the device's generic-fuzz targets (clang-16
# build of QEMU, cached like the others): FUZZ_SECONDS each.
fuzz-qemu: deps
	scripts/qemu/fuzz.sh --no-deps

# The device's fuzz targets over their committed seeds only (make check).
fuzz-qemu-smoke: deps
	scripts/qemu/fuzz.sh --smoke --no-deps

# The store's migration stream: host part (libvswap) and a guest part.
bench-migration: deps
	tests/bench/migration.sh

demo: deps qemu
	tests/guest/demo.sh

demo-host: deps
	$(MAKE) -C host demo

# Long guest soak, then the device and vswapctl through a real libvirtd.
e2e: deps qemu vswapctl
	tests/guest/e2e.sh --long
	tests/libvirt/run.sh

# clang-16 + libFuzzer (scripts/install-deps.sh fuzz, also part of "all");
# where they are missing, make check's fuzz-smoke suite skips, saying why.
fuzz:
	scripts/install-deps.sh fuzz
	$(MAKE) -C host fuzz

fuzz-smoke:
	$(MAKE) -C host fuzz-smoke

clean:
	rm -rf $(BUILD)
