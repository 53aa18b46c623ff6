#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host NUMA placement of virtio-vswap with real pages, over QMP (TAP;
tests/qemu/run.sh).

  numa_guest.py --qemu QEMU --kernel K --initrd I --workdir DIR

The test guest (tests/lib/guest/, tests/lib/vm.py) has two devices: vsb
at 00:04.0 with policy=bind,host-nodes=0, and vsd (the virtio-vswap
alias, no placement) at 00:05.0. The guest stores pages on vsb's block
device (blkpages: O_DIRECT, one page per request), while this script
drives QMP: query-vswap's per-node figures, vswap-set-numa-policy's
successes and refusals (a refusal changes nothing) with those pages
stored, HMP and QOM; then the guest loads every page back and compares.
Node 0 is the only one the test relies on: it works on a single-node host.

Checked elsewhere, so not here:
  - the placement in force at start-up (bind [0]; default [] without
    placement) and the NUMA members of an empty store: monitor.py, and
    bind [0] by the qtest case numa-policy;
  - policy changes while pages are being stored (all accepted, every
    store OK), the background migration ending with nothing moved and
    nothing failed, and all segment bytes reported on node 0 once the
    figures are refreshed: the qtest case numa-policy
    (tests/qtest/virtio-vswap-test.c), with and without an iothread.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from tap import Tap  # noqa: E402
from vm import VM, VMError  # noqa: E402

# A node number that is not this host's (the refusal tests need one).
ABSENT = next(n for n in (5, 63)
              if not os.path.exists("/sys/devices/system/node/node%d" % n))
PAGES = 256
tap = Tap()


def devices(vm):
    return {e["id"]: e for e in vm.qmp.cmd("query-vswap")}


def fresh(vm, dev, since, timeout=30):
    """The query-vswap entry of @dev once its per-node figures were read
    after @since (time.monotonic()): query-vswap itself starts the
    refresh in the background and answers with the previous figures."""
    deadline = time.monotonic() + timeout
    while True:
        e = devices(vm)[dev]
        age = e["store"].get("nodes-age-ms")
        if age is not None and time.monotonic() - age / 1000.0 > since:
            return e
        if time.monotonic() > deadline:
            return e
        time.sleep(0.3)


def placement(e):
    return e["config"]["policy"], e["config"]["host-nodes"]


def guest_pages(vm, dev, what):
    """blkpages in the guest: (exit status, its PAGES: lines)."""
    return vm.run_lines("blkpages %s %s" % (dev, what), "PAGES: ", 300)


def boot(args):
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=128,
            timeout=args.timeout,
            devices=['{"driver": "virtio-vswap-pci", "id": "vsb", '
                     '"addr": "04.0", "policy": "bind", "host-nodes": [0]}',
                     "virtio-vswap,id=vsd,addr=05.0"])
    vm.start()
    vm.wait_for(r"VSWAP: READY", 180)
    rc = vm.run("load_vswap")
    _, lines = vm.run_lines("vswap_devs", "VSWAP: DEV ")
    by_addr = {a: "/dev/" + d for d, a in (ln.split() for ln in lines)}
    dev = by_addr.get("0000:00:04.0")
    tap.ok(rc == 0 and dev and len(by_addr) == 2,
           "the test guest booted, its driver bound both devices; vsb is %s"
           % dev, on_fail=lines)
    return vm, dev


def run(vm, dev):
    rc, out = guest_pages(vm, dev, "store 0 %d 1" % PAGES)
    tap.ok(rc == 0 and out == ["store ok %d" % PAGES],
           "%d pages stored through vsb's virtqueue by the guest" % PAGES,
           on_fail=out)
    e = fresh(vm, "vsb", time.monotonic())
    tap.ok(0 < e["store"]["segment-bytes"] <= e["store"]["pool-bytes"] and
           "nodes-age-ms" in e["store"],
           "query-vswap: segment-bytes <= pool-bytes and nodes-age-ms given",
           on_fail=e["store"])

    # Run-time changes that fit this host, with the pages stored.
    for pol, nodes in (("default", None), ("bind", [0]),
                       ("interleave", [0]), ("preferred", [0])):
        args = {"id": "vsb", "policy": pol}
        if nodes is not None:
            args["host-nodes"] = nodes
        r = vm.qmp.reply("vswap-set-numa-policy", **args)
        e = devices(vm)["vsb"]
        tap.ok(r.get("return") == {} and placement(e) == (pol, nodes or []),
               "vswap-set-numa-policy %s %s succeeds and is in force" %
               (pol, nodes or []), on_fail=(r, e["config"]))

    # Refusals: the library's sentence, nothing changes.
    bad = [
        ({"policy": "bind", "host-nodes": [ABSENT]},
         "virtio-vswap 'vsb': host node %d is not online, has no memory or "
         "is not allowed to this process" % ABSENT),
        ({"policy": "preferred", "host-nodes": [0, 1]},
         "virtio-vswap 'vsb': policy 'preferred' takes exactly one host "
         "node"),
        ({"policy": "bind"},
         "virtio-vswap 'vsb': policy 'bind' needs at least one host node"),
        ({"policy": "default", "host-nodes": [0]},
         "virtio-vswap 'vsb': policy 'default' takes no host nodes"),
        ({"policy": "interleave", "host-nodes": [0, 64]},
         "virtio-vswap 'vsb': host node 64 is above the highest supported, "
         "63"),
    ]
    for args, msg in bad:
        r = vm.qmp.reply("vswap-set-numa-policy", id="vsb", **args)
        e = devices(vm)["vsb"]
        tap.ok(r.get("error", {}).get("desc") == msg and
               placement(e) == ("preferred", [0]),
               "vswap-set-numa-policy %s refused: %s; preferred [0] stays" %
               (json.dumps(args), msg.split(": ", 1)[1]),
               on_fail=(r, e["config"]))
    r = vm.qmp.reply("vswap-set-numa-policy", id="nosuch", policy="default")
    tap.ok(r.get("error", {}).get("class") == "DeviceNotFound",
           "vswap-set-numa-policy of an unknown id: DeviceNotFound",
           on_fail=r)
    r = vm.qmp.reply("vswap-set-numa-policy", id="/machine/peripheral",
                     policy="default")
    tap.ok(r.get("error", {}).get("desc") ==
           "'/machine/peripheral' is not a virtio-vswap device",
           "vswap-set-numa-policy of a non-vswap object: clear error",
           on_fail=r)
    r = vm.qmp.reply("vswap-set-numa-policy", id="vsb", policy="bind",
                     **{"host-nodes": [0]})
    tap.ok(r.get("return") == {}, "back to bind [0] (from preferred)",
           on_fail=r)

    rc, out = guest_pages(vm, dev, "load 0 %d 1" % PAGES)
    tap.ok(rc == 0 and "load ok %d" % PAGES in out and
           "load data %d" % PAGES in out and "load mismatch 0" in out,
           "all %d pages load back bit-exact in the guest after the changes"
           % PAGES, on_fail=out)

    e = fresh(vm, "vsb", time.monotonic())
    hmp = vm.qmp.cmd("human-monitor-command", **{"command-line": "info vswap"})
    seg = e["store"]["segment-bytes"]
    tap.ok("numa: policy bind host-nodes 0; segment bytes %d;" % seg in hmp
           and " ms ago): 0:%d\r\n" % seg in hmp and
           "numa: policy default; segment bytes 0;" in hmp,
           "HMP info vswap: the policy and the bytes per host node",
           on_fail=hmp)
    r = [vm.qmp.cmd("qom-get", path="/machine/peripheral/vsb/virtio-backend",
                    property=p) for p in ("policy", "host-nodes")]
    tap.ok(r == ["bind", [0]],
           "qom-get policy, host-nodes follow the run-time change", on_fail=r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    vm = None
    try:
        vm, dev = boot(args)
        if dev:
            run(vm, dev)
    except VMError as e:
        tap.ok(False, "NUMA with guest pages (%s)" % e)
        if vm:
            tap.diag("console tail:\n" + vm.console_since(0)[-3000:])
    finally:
        if vm:
            vm.stop()
    return tap.end()


if __name__ == "__main__":
    sys.exit(main())
