#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vswapctl against the real QEMU with virtio-vswap (TAP; suite
vswapctl-qemu, tests/vswapctl/run.sh --qemu).

  real_qemu.py --qemu QEMU --vswapctl BIN --workdir DIR
               [--kernel K --initrd I]

QEMU runs under QEMU's own harness (tests/lib/qemulib.py, vm.py); vswapctl
talks to it through -qmp sockets of its own. Two parts:
  - stopped QEMUs (-S), no guest: an empty store, set, a VM without the
    device, a device without a disk tier, the -device virtio-vswap alias;
  - one boot of the test guest (tests/lib/guest/) with four devices, whose
    block devices the guest writes and reads directly (blkpages: O_DIRECT,
    one page per request): the disk tier (writeback, its stats, disk full,
    a backing file that lost its data, the events), NUMA placement (per
    node bytes in every output, vswapctl numa), and disk rot (a corrupted
    backing file, checksum=on and off: every load refused, the events;
    one corrupted object among 16 reads merged into one LOAD: only its
    read fails).
Without --kernel the guest part is skipped.

Checked elsewhere, so not here: that on a full disk tier the refused
stores leave their slots empty and every accepted page loads back
bit-exact is the qtest case disk-full (tests/qtest/virtio-vswap-test.c);
here the disk fills only to raise the events vswapctl must print.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from qemulib import Machine  # noqa: E402
from tap import Tap  # noqa: E402
from vm import VM, VMError  # noqa: E402

SCHEMA = os.path.join(REPO, "docs", "vswapctl-json-schema.json")
CHECK_OUTPUT = os.path.join(REPO, "tests", "lib", "check_output.py")
PAGE = 4096

STOPPED_CHECKS = [
    "real QEMU: stats --json of an empty store",
    "real QEMU: set pool-max and idle-compact, read back via query-vswap",
    "real QEMU: VM without the device",
    "real QEMU: writeback of a device without backing-file names the property",
    "real QEMU: -device virtio-vswap alias, two devices, two rows",
    "real QEMU: vswapctl compact of an empty store: done, 0 freed, its pool bytes",
]
GUEST_CHECKS = [
    "real QEMU disk tier: 128 pages stored through the virtqueue",
    "real QEMU disk tier: vswapctl writeback moves them and prints the result",
    "real QEMU disk tier: stats show the disk fields",
    "real QEMU disk tier: events prints VSWAP_WRITEBACK_ERROR (disk-full) and VSWAP_DISK_READ_ERROR",
    "real QEMU NUMA: 256 pages stored on a device with policy=bind,host-nodes=0",
    "real QEMU NUMA: stats --json: numa_policy bind, node_bytes [{node 0, bytes == segment_bytes}]",
    "real QEMU NUMA: the NODES column shows node 0",
    "real QEMU NUMA: --prometheus has the node 0 sample and the migration counters",
    "real QEMU NUMA: vswapctl numa changes the policy and prints the placement in force",
    "real QEMU NUMA: vswapctl numa with a node this host lacks: QEMU's reason, nothing changed",
    "real QEMU NUMA: vswapctl numa with garbage nodes: usage error (exit 2)",
    "real QEMU integrity: a corrupted disk tier (checksum=on): every load refused with INTEGRITY, no wrong data",
    "real QEMU integrity: events prints VSWAP_INTEGRITY_ERROR; counts agree with query-vswap",
    "real QEMU integrity: a corrupted disk tier (checksum=off, the default): every load refused with INTEGRITY, no wrong data",
    "real QEMU integrity: events prints VSWAP_INTEGRITY_ERROR (checksum=off); counts agree with query-vswap",
    "real QEMU integrity: one corrupted page among 16 reads merged into one LOAD: only its read fails, the driver loads the other 15 again a page at a time, bit-exact",
]

tap = Tap()
args = None


class Fail(Exception):
    pass


def expect(cond, detail=""):
    if not cond:
        raise Fail(detail)


notes = []


def note(what):
    """Diagnostics of the running check(), shown if it fails."""
    notes.append(str(what))


def check(name, fn, *a):
    """One test: @fn(*a) returns normally (ok) or raises (not ok; the
    reason, after what fn noted)."""
    del notes[:]
    try:
        fn(*a)
        tap.ok(True, name)
    except Exception as e:      # whatever went wrong, this test failed
        tap.ok(False, name, on_fail="\n".join(
            notes + ["%s: %s" % (type(e).__name__, e)]))


def vc(*argv):
    """vswapctl ARGV: (exit status, stdout, stderr)."""
    r = subprocess.run([args.vswapctl] + list(argv), capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def run_vc(want, pattern, *argv):
    """vswapctl exits @want and its stderr holds @pattern ('' = any)."""
    rc, out, err = vc(*argv)
    expect(rc == want, "exit status %d, want %d\n%s%s" % (rc, want, out, err))
    expect(pattern in err, "stderr lacks: %s\n%s" % (pattern, err))


def check_output(kind, text):
    """tests/lib/check_output.py json SCHEMA | prom, on @text."""
    argv = [sys.executable, CHECK_OUTPUT, kind] + ([SCHEMA] if kind == "json"
                                                   else [])
    r = subprocess.run(argv, input=text, capture_output=True, text=True)
    expect(r.returncode == 0, "check_output %s: %s" % (kind, r.stderr))


def stats_json(sock):
    rc, out, err = vc("stats", "--json", "-q", sock)
    expect(rc == 0, "stats --json: exit %d: %s" % (rc, err))
    return json.loads(out)


def device(doc, dev):
    """The device @dev of a stats --json document."""
    for d in doc["devices"]:
        if d["device"] == dev:
            return d
    raise Fail("no device %s in %s" % (dev, doc))


def table_row(text, dev):
    """The table row of @dev as {column: value}."""
    lines = text.splitlines()
    cols = lines[0].split()
    for ln in lines[1:]:
        row = dict(zip(cols, ln.split()))
        if row.get("DEVICE") == dev:
            return row
    raise Fail("no row for %s in\n%s" % (dev, text))


def events(path, name):
    """The data of every @name event vswapctl events wrote to @path."""
    out = []
    with open(path) as f:
        for line in f:
            part = line.split(" ", 3)
            if len(part) == 4 and part[2] == name and line.endswith("\n"):
                out.append(json.loads(part[3]))
    return out


def until(fn, tries=50, pause=0.2):
    """Call @fn until it stops raising Fail (at most @tries times)."""
    for i in range(tries):
        try:
            return fn()
        except Fail:
            if i == tries - 1:
                raise
            time.sleep(pause)


# --- stopped QEMUs, no guest ---

def stopped(name, *devices):
    qmp = os.path.join(args.workdir, name + ".qmp")
    argv = ["-M", "q35", "-m", "128", "-S", "-name", name,
            "-qmp", "unix:%s,server=on,wait=off" % qmp]
    for d in devices:
        argv += ["-device", d]
    m = Machine(args.qemu, argv, workdir=args.workdir, name=name)
    m.launch()
    return m, qmp


def stopped_checks():
    machines = []
    try:
        rq, rq_qmp = stopped("rq", "virtio-vswap-pci,id=vs0")
        machines.append(rq)
        rqbare, bare_qmp = stopped("rqbare")
        machines.append(rqbare)
    except Exception as e:         # QEMU did not start: all fail
        for m in machines:
            m.shutdown()
        for c in STOPPED_CHECKS:
            tap.ok(False, c, on_fail="QEMU did not start: %s" % e)
        return
    try:
        def empty_store():
            rc, out, err = vc("stats", "--json", "--qmp", rq_qmp)
            expect(rc == 0, err)
            check_output("json", out)
            d = json.loads(out)
            expect(len(d["devices"]) == 1, d)
            dev = d["devices"][0]
            expect(dev["vm"] == "rq" and dev["device"] == "vs0", dev)
            # Field-name alignment with qapi/vswap.json: list what the
            # table expects but this QEMU does not report (null); the core
            # counters must be there.
            absent = sorted(k for k, v in dev.items() if v is None)
            tap.diag("fields this QEMU does not report: %s"
                     % (" ".join(absent) or "none"))
            # An empty store: no pages, no payload (pool_bytes may hold
            # metadata).
            for k in ("stored_pages", "zero_pages", "same_pages",
                      "compressed_pages", "compressed_bytes", "stores",
                      "loads"):
                expect(dev[k] == 0, (k, dev[k]))
            expect(dev["pool_bytes"] is not None and
                   dev["ratio"] in (None, 0), dev)
            for k in ("capacity_bytes", "pool_max_bytes"):
                expect(dev[k] is not None, (k, "not found in query-vswap"))
            expect(dev["idle_compact_seconds"] == 30, dev)
        check(STOPPED_CHECKS[0], empty_store)

        def set_pool_max():
            rc, out, err = vc("set", "rq", "-q", rq_qmp, "pool-max=64M",
                              "idle-compact=2m")
            expect(rc == 0 and "pool-max=64M" in out and
                   "idle-compact=120" in out, out + err)
            dev = stats_json(rq_qmp)["devices"][0]
            expect(dev["pool_max_bytes"] == 67108864 and
                   dev["idle_compact_seconds"] == 120, dev)
        check(STOPPED_CHECKS[1], set_pool_max)
        check(STOPPED_CHECKS[2], run_vc, 1,
              "vm rqbare has no virtio-vswap device", "stats", "-q", bare_qmp)
        check(STOPPED_CHECKS[3], run_vc, 1,
              "vm rq: vswap-writeback vs0: virtio-vswap 'vs0' has no disk "
              "tier (property 'backing-file')",
              "writeback", "rq", "-q", rq_qmp, "--max-bytes", "1M")

        def alias():
            m, qmp = stopped("rqtwo", "virtio-vswap,id=a",
                             "virtio-vswap-pci,id=b")
            machines.append(m)
            rc, out, err = vc("stats", "-q", qmp)
            rows = sorted(" ".join(ln.split()[:2])
                          for ln in out.splitlines()[1:])
            expect(rows == ["rqtwo a", "rqtwo b"], out + err)
        check(STOPPED_CHECKS[4], alias)

        def compact():
            rc, out, err = vc("compact", "rq", "-q", rq_qmp)
            note(out + err)
            lines = out.splitlines()
            expect(rc == 0 and lines[0] == "rq vs0: compact done", lines)
            r = json.loads(lines[1])
            dev = stats_json(rq_qmp)["devices"][0]
            expect(r == {"freed": 0, "pool-bytes": dev["pool_bytes"]}, r)
        check(STOPPED_CHECKS[5], compact)
    finally:
        for m in machines:
            m.shutdown()


# --- one guest, four devices ---

class Guest:
    """The test guest with vsd (disk tier: 1 MiB pool, 1 MiB of disk),
    vsn (policy=bind,host-nodes=0), vsi-on and vsi-off (a disk tier with
    checksum=on / off); vswapctl reaches it as VM "rqg" through rqg.qmp
    (commands) and rqg-ev.qmp (events)."""

    ADDR = {"vsd": "04.0", "vsn": "05.0", "vsi-on": "06.0", "vsi-off": "07.0"}

    def __init__(self):
        w = args.workdir
        self.qmp = os.path.join(w, "rqg.qmp")
        self.ev_qmp = os.path.join(w, "rqg-ev.qmp")
        self.events = os.path.join(w, "rqg.events")
        self.swap = {d: os.path.join(w, "rqg-%s.swap" % d)
                     for d in ("vsd", "vsi-on", "vsi-off")}
        devs = [
            "virtio-vswap-pci,id=vsd,addr=%s,backing-file=%s,"
            "backing-max=1M,pool-max=1M" % (self.ADDR["vsd"],
                                            self.swap["vsd"]),
            '{"driver": "virtio-vswap-pci", "id": "vsn", "addr": "%s", '
            '"policy": "bind", "host-nodes": [0]}' % self.ADDR["vsn"],
        ] + ["virtio-vswap-pci,id=vsi-%s,addr=%s,checksum=%s,backing-file=%s"
             % (m, self.ADDR["vsi-" + m], m, self.swap["vsi-" + m])
             for m in ("on", "off")]
        self.vm = VM(args.qemu, args.kernel, args.initrd,
                     os.path.join(w, "guest"), mem=128, devices=devs,
                     timeout=args.timeout,
                     extra=["-name", "rqg",
                            "-qmp", "unix:%s,server=on,wait=off" % self.qmp,
                            "-qmp", "unix:%s,server=on,wait=off"
                            % self.ev_qmp])
        self.dev = {}
        self.follower = None

    def start(self):
        vm = self.vm
        vm.start()
        vm.wait_for(r"VSWAP: READY", 180)
        rc = vm.run("load_vswap")
        _, lines = vm.run_lines("vswap_devs", "VSWAP: DEV ")
        by_addr = dict((a, d) for d, a in (ln.split() for ln in lines))
        for name, addr in self.ADDR.items():
            blk = by_addr.get("0000:00:%s" % addr)
            if rc or not blk:
                raise VMError("driver did not bind %s (%s)" % (name, lines))
            self.dev[name] = "/dev/" + blk
        # vswapctl events on the second monitor, once it follows
        with open(self.events, "w") as out, \
                open(self.events + ".err", "w") as err:
            self.follower = subprocess.Popen(
                [args.vswapctl, "events", "-q", self.ev_qmp],
                stdout=out, stderr=err)
        for _ in range(100):
            with open(self.events + ".err") as err:
                if "following" in err.read():
                    break
            time.sleep(0.05)

    def pages(self, dev, *actions):
        """blkpages on @dev's block device: (exit status, PAGES lines)."""
        return self.vm.run_lines("blkpages %s %s"
                                 % (self.dev[dev], " ".join(actions)),
                                 "PAGES: ", 300)

    def stop(self):
        if self.follower:
            self.follower.terminate()
            self.follower.wait()
        self.vm.stop()


def stored(g, dev, count, seed):
    """The guest stores pages 0 to @count - 1 of @seed on @dev, all OK."""
    rc, out = g.pages(dev, "store 0 %d %d" % (count, seed))
    note(out)
    expect(rc == 0 and out == ["store ok %d" % count], out)


def disk_tier(g):
    check(GUEST_CHECKS[0], stored, g, "vsd", 128, 1)

    def writeback():
        rc, out, err = vc("writeback", "rqg", "-q", g.qmp, "--device", "vsd",
                          "--min-age", "0")
        note(out + err)
        lines = out.splitlines()
        expect(rc == 0 and lines[0] == "rqg vsd: writeback done", lines)
        r = json.loads(lines[1])
        expect(r["pages"] == 128 and r["bytes"] >= 128 * 4096 and
               r["ios"] > 0, r)
        expect(r["pool-freed"] > 0 and r["segments"] > 0, r)
    check(GUEST_CHECKS[1], writeback)

    def stats():
        d = device(stats_json(g.qmp), "vsd")
        expect(d["disk_pages"] == 128 and d["writeback_pages"] == 128, d)
        expect(d["disk_bytes"] >= 128 * 4096 and d["disk_file_bytes"] > 0, d)
        expect(d["writeback_ios"] > 0 and d["writeback_freed_bytes"] > 0, d)
        expect(d["writeback_errors"] == 0 and d["disk_read_errors"] == 0, d)
        rc, out, err = vc("stats", "-q", g.qmp)
        row = table_row(out, "vsd")
        expect(row["DISK"] != "0" and row["WB-PAGES"] == "128", row)
    check(GUEST_CHECKS[2], stats)

    # 4 MiB more than the 1 MiB pool and the 768 KiB left on disk take:
    # stores are refused and VSWAP_WRITEBACK_ERROR says disk-full.
    rc, out = g.pages("vsd", "store 1000 1024 2 -- load 1000 1024 2")
    tap.diag(out)
    # A disk tier that lost its data (truncated behind QEMU's back):
    # loads fail with IOERR, never wrong data.
    os.truncate(g.swap["vsd"], 0)

    def lost():
        rc, out = g.pages("vsd", "load 0 128 1")
        note(out)
        expect("load ioerr 128" in out, out)

        def ev():
            wb = events(g.events, "VSWAP_WRITEBACK_ERROR")
            rd = events(g.events, "VSWAP_DISK_READ_ERROR")
            expect(wb and all(e["reason"] == "disk-full" and e["id"] == "vsd"
                              for e in wb) and
                   rd and rd[-1]["total"] == 128, open(g.events).read())
        until(ev)
    check(GUEST_CHECKS[3], lost)


def numa(g):
    check(GUEST_CHECKS[4], stored, g, "vsn", 256, 3)

    # Until a refresh made after the stores is reported (query-vswap
    # refreshes figures older than 1 s and answers with the previous ones).
    def refreshed():
        rc, out, err = vc("stats", "--json", "-q", g.qmp)
        d = device(json.loads(out), "vsn")
        expect(d["node_bytes"] and d["segment_bytes"] and
               sum(n["bytes"] for n in d["node_bytes"]) ==
               d["segment_bytes"], d)
        return out
    try:
        doc = until(refreshed)
    except Exception as e:      # placement() below reports it
        doc = json.dumps({"devices": [], "error": str(e)})
    seg = None

    def placement():
        nonlocal seg
        note(doc)
        check_output("json", doc)
        d = device(json.loads(doc), "vsn")
        expect(d["numa_policy"] == "bind", d)
        expect(d["segment_bytes"] > 0, d)
        expect(d["node_bytes"] == [{"node": 0, "bytes": d["segment_bytes"]}],
               d)
        expect(d["node_bytes_age_ms"] is not None, d)
        expect(d["numa_migrate_pending_bytes"] == 0 and
               d["numa_migrate_failures"] == 0, d)
        seg = d["segment_bytes"]
    check(GUEST_CHECKS[5], placement)

    def nodes_column():
        rc, out, err = vc("stats", "--bytes", "-q", g.qmp)
        note(out)
        expect(table_row(out, "vsn")["NODES"] == "0:%s" % seg, out)
    check(GUEST_CHECKS[6], nodes_column)

    def prometheus():
        rc, out, err = vc("stats", "--prometheus", "-q", g.qmp)
        expect(rc == 0, err)
        check_output("prom", out)
        lines = out.splitlines()
        for want in (
                'vswap_node_bytes{vm="rqg",device="vsn",node="0"} %s' % seg,
                'vswap_numa_migrated_bytes_total{vm="rqg",device="vsn"} 0',
                'vswap_numa_migrate_failures_total{vm="rqg",device="vsn"} 0',
                'vswap_segment_bytes{vm="rqg",device="vsn"} %s' % seg):
            expect(want in lines, "no line: " + want)
    check(GUEST_CHECKS[7], prometheus)

    def policy_of():
        return device(stats_json(g.qmp), "vsn")["numa_policy"]

    def numa_cmd():
        for argv, want in (
                (["numa", "rqg", "-q", g.qmp, "-d", "vsn", "interleave", "0"],
                 "rqg vsn: policy=interleave host-nodes=0 migration-pending=0"),
                (["numa", "rqg", "-q", g.qmp, "-d", "vsn", "default"],
                 "rqg vsn: policy=default host-nodes=none migration-pending=0"),
                (["numa", "-q", g.qmp, "rqg", "-d", "vsn", "bind", "0"],
                 "rqg vsn: policy=bind host-nodes=0 migration-pending=0")):
            rc, out, err = vc(*argv)
            note(out + err)
            expect(rc == 0 and out.strip() == want, (argv, out, err))
        expect(policy_of() == "bind", "policy is not bind")
    check(GUEST_CHECKS[8], numa_cmd)

    absent = 63 if os.path.exists("/sys/devices/system/node/node5") else 5

    def absent_node():
        rc, out, err = vc("numa", "rqg", "-q", g.qmp, "-d", "vsn", "bind",
                          str(absent))
        msg = (out + err).strip()
        note(msg)
        expect(rc == 1 and msg ==
               "vswapctl: vm rqg: vswap-set-numa-policy vsn: virtio-vswap "
               "'vsn': host node %d is not online, has no memory or is not "
               "allowed to this process (GenericError)" % absent, msg)
        expect(policy_of() == "bind", "policy is not bind")
    check(GUEST_CHECKS[9], absent_node)
    check(GUEST_CHECKS[10], run_vc, 2,
          "'0-x' is not a list of host nodes (0-63) such as 1 or 0-1,3",
          "numa", "rqg", "-q", g.qmp, "-d", "vsn", "bind", "0-x")


def flip_bytes(path):
    """One flipped byte every 512: each 4 KiB object gets several, some
    headers too (slot or checksum no longer match)."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        expect(len(data) >= 64 * 4096, "backing file: %d bytes" % len(data))
        for off in range(100, len(data), 512):
            data[off] ^= 0x5a
        f.seek(0)
        f.write(data)


def integrity(g):
    """Disk rot, the fault an operator can actually meet: pages written
    back, then bytes of the backing file flipped behind QEMU's back. Every
    load must fail with INTEGRITY (none returns other data), and
    VSWAP_INTEGRITY_ERROR must report them. With checksum=on and with
    checksum=off (the default): objects on disk always carry a checksum."""
    seen = 0            # integrity events of the devices checked before
    for i, mode in enumerate(("on", "off")):
        dev = "vsi-" + mode

        def corrupted_loads():
            stored(g, dev, 64, 5)
            rc, wb, err = vc("writeback", "rqg", "-q", g.qmp, "-d", dev,
                             "--min-age", "0")
            note(wb + err)
            expect(rc == 0 and "writeback done" in wb, wb + err)
            flip_bytes(g.swap[dev])
            rc, out = g.pages(dev, "load 0 64 5")
            note(out)
            expect("load integrity 64" in out and "load data 0" in out and
                   "load mismatch 0" in out, out)
        check(GUEST_CHECKS[11 + 2 * i], corrupted_loads)

        def reported():
            ev = events(g.events, "VSWAP_INTEGRITY_ERROR")[seen:]
            d = device(stats_json(g.qmp), dev)
            expect(ev and all(e["id"] == dev for e in ev) and
                   ev[-1]["total"] == 64 and
                   d["integrity_errors"] == 64 and
                   d["disk_read_errors"] == 0,
                   "%s\n%s" % (open(g.events).read(), d))
        check(GUEST_CHECKS[12 + 2 * i], until, reported)
        seen = len(events(g.events, "VSWAP_INTEGRITY_ERROR"))


def page_of(seed, slot):
    """blkpages' page @slot of @seed (splitmix64, tests/lib/guest)."""
    mask = (1 << 64) - 1
    z = (seed * 1000003 + slot) & mask
    out = bytearray()
    for _ in range(PAGE // 8):
        z = (z + 0x9e3779b97f4a7c15) & mask
        x = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & mask
        x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & mask
        out += (x ^ (x >> 31)).to_bytes(8, "little")
    return bytes(out)


def driver_errors(g, dev):
    """The guest driver's errors counters of @dev, by name."""
    idx = g.dev[dev][len("/dev/vswap"):]
    _, lines = g.vm.run_lines("vswap_stat %s" % idx, "VSWAP: SYSFS errors ")
    _, names = g.vm.run_lines("cat /sys/block/vswap%s/vswap/columns" % idx,
                              "")
    cols = [ln.split() for ln in names if "bad_request" in ln]
    expect(lines and cols, (lines, names))
    errs = cols[0][cols[0].index("bad_request"):]
    return dict(zip(errs, (int(v) for v in lines[0].split())))


def one_bad_page(g):
    """A LOAD of several pages with one bad page among them (one object
    of the disk tier corrupted) must fail only that page: swap readahead
    merges other folios, of other processes too, into the same request.
    The 16 reads go in one io_submit (blkpages loadv), which the block
    layer merges into one LOAD; the driver's load_by_page counter shows
    that it did, and that the driver then loaded the request again a
    page at a time."""
    dev, first, bad, seed = "vsi-off", 100, 105, 9

    def confined():
        rc, out = g.pages(dev, "store %d 16 %d" % (first, seed))
        note(out)
        expect(rc == 0 and out == ["store ok 16"], out)
        rc, wb, err = vc("writeback", "rqg", "-q", g.qmp, "-d", dev,
                         "--min-age", "0")
        note(wb + err)
        expect(rc == 0 and "writeback done" in wb, wb + err)
        want = page_of(seed, bad)
        with open(g.swap[dev], "r+b") as f:
            data = f.read()
            at = data.find(want[:256])
            expect(at >= 0 and data.find(want[:256], at + 1) < 0,
                   "slot %d's page is not once in the backing file" % bad)
            f.seek(at + 2048)
            f.write(bytes([data[at + 2048] ^ 0x5a]))
        before = driver_errors(g, dev)
        rc, out = g.pages(dev, "loadv %d 16 %d" % (first, seed))
        note(out)
        after = driver_errors(g, dev)
        note("driver errors before %s after %s" % (before, after))
        expect(sorted(out) == sorted(["load ok 15", "load integrity 1",
                                      "load data 15", "load zero 0",
                                      "load mismatch 0"]), out)
        expect(after.get("load_by_page", 0) -
               before.get("load_by_page", 0) == 1 and
               after["integrity"] - before["integrity"] == 2,
               "not one merged LOAD retried page by page: %s -> %s"
               % (before, after))
    check(GUEST_CHECKS[15], confined)


def guest_checks():
    if not args.kernel:
        for c in GUEST_CHECKS:
            tap.skip(c, "no test guest image")
        return
    g = Guest()
    first = tap.n
    try:
        g.start()
        for part in (disk_tier, numa, integrity, one_bad_page):
            part(g)
    except VMError as e:        # the checks not reported yet fail
        for c in GUEST_CHECKS[tap.n - first:]:
            tap.ok(False, c, on_fail="guest: %s" % e)
        tap.diag("console tail:\n" + g.vm.console_since(0)[-3000:])
    finally:
        g.stop()


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--vswapctl", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--kernel")
    ap.add_argument("--initrd")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    why = None
    if not os.access(args.qemu, os.X_OK):
        why = "no %s (make qemu)" % args.qemu
    elif "virtio-vswap" not in subprocess.run(
            [args.qemu, "-device", "help"], capture_output=True,
            text=True).stdout:
        why = "QEMU has no virtio-vswap"
    if why:
        for c in STOPPED_CHECKS + GUEST_CHECKS:
            tap.skip(c, why)
    else:
        stopped_checks()
        guest_checks()
    return tap.end()


if __name__ == "__main__":
    sys.exit(main())
