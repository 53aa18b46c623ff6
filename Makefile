# virtio-vswap top-level build. Everything generated goes under $(BUILD).
#   make demo        the main job (README)
#   make check       every test suite, ends with "N passed, N failed"
#   make deps        install build/test dependencies through apt (idempotent)
#   make lib         libvswap (host/)
#   make qemu        QEMU 10.0 with the qemu-patches/ series
#   make bench-host  host store benchmark -> build/bench/host.json
BUILD ?= $(CURDIR)/build
export BUILD

.PHONY: all deps lib check check-asan qemu demo bench-host clean

all: lib

deps:
	scripts/install-deps.sh all

lib: deps
	$(MAKE) -C host

check: deps
	tests/run.sh

check-asan: deps
	tests/run.sh host-asan

bench-host: deps
	$(MAKE) -C host bench

demo: deps
	$(MAKE) -C host demo

clean:
	rm -rf $(BUILD)
