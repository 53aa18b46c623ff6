#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest end-to-end scenarios (called by e2e.sh and demo.sh), TAP output
(tests/lib/tap.py); the guest runs under tests/lib/vm.py.

  e2e.py --backend vswap|zram --kernel K --initrd I --qemu Q [options]

Scenario "basic", one guest boot (plus one reboot for vswap):
  swapon (discard: whole area once, then every freed page) -> workload with a
  hold after its fill pass (data is swapped out: host store inspected) ->
  verify passes -> counters compared (guest vmstat / driver sysfs / QMP) ->
  swapoff -> store empty -> dmesg clean -> rmmod -> reload, fill, guest
  reboot with data in the store -> store empty after the reboot.

Scenario "tier" (vswap with pool-max and a backing file, docs/writeback.md):
  the host samples query-vswap every --sample-interval s for the whole run;
  workload (default 4x guest RAM) fills and holds -> pool never above the
  cap, the rest on disk -> the guest idles, then vswap-writeback with a
  min-age moves >= 90% of the pool's pages and frees >= 0.9x the bytes it
  wrote -> the workload re-reads everything bit-exact, partly from disk ->
  swapoff + blkdiscard leave the store and the file empty.

Scenario "compare" (make check's short version of bench-guest): one guest
  with the vswap device runs the same workload (same seed) with swap on
  vswap, then, after swapoff, on guest zram (lz4, never full); both
  bit-exact, and vswap's workload time (the workload's own clock) must not
  be above zram's.

Scenario "diskfull" (the backing file on a small file system, --backing-dir,
  mounted by the caller): workload fills and holds -> a filler file takes all
  but --keep-free of the file system -> the guest pushes its memory out
  (memory.reclaim: fails instead of OOM-killing when the device refuses) ->
  VSWAP_WRITEBACK_ERROR reason disk-full, writeback-errors > 0, stores
  refused (the guest keeps those pages) -> filler deleted, vswap-writeback
  writes again -> every page bit-exact.
"""
import argparse
import contextlib
import functools
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from tap import Tap  # noqa: E402
from vm import VM, VMError, kv, vswap_entry  # noqa: E402

PAGE = 4096


def guest_vmstat(vm):
    m, _ = vm.run_capture("vmstat", r"VSWAP: VMSTAT (.*)")
    return kv(m.group(1))


def guest_sysfs(vm, name):
    m, _ = vm.run_capture("vswap_stat", r"VSWAP: SYSFS %s (.*)" % name)
    return [int(x) for x in m.group(1).split()]


VSWAP_STAT_COLS = ["store_reqs", "store_pages", "load_reqs", "load_pages",
                   "inval_reqs", "inval_pages", "wzero_reqs", "wzero_pages"]
VSWAP_ERR_COLS = ["bad_request", "no_space", "ioerr", "integrity",
                  "unsupported", "unknown", "no_space_backoff",
                  "load_by_page"]
VSWAP_FREE_COLS = ["notified", "sent", "cancelled", "dropped",
                   "store_deferred", "suspended"]


def driver_stats(vm):
    """All /sys/block/vswap0/vswap counters as one dict."""
    seq = vm.send("vswap_stat")
    out = {}
    for name, cols in (("stat", VSWAP_STAT_COLS), ("errors", VSWAP_ERR_COLS),
                       ("slot_free", VSWAP_FREE_COLS)):
        m = vm.wait_for(r"VSWAP: SYSFS %s (.*)" % name, 60)
        out.update(zip(cols, [int(x) for x in m.group(1).split()]))
    vm.wait_for(r"VSWAP: RC %d " % seq, 60)
    return out


def zram_mm_stat(vm):
    # orig_data_size compr_data_size mem_used_total mem_limit mem_used_max
    # same_pages pages_compacted huge_pages huge_pages_since
    m, _ = vm.run_capture("zram_stat", r"VSWAP: ZRAM mm_stat (.*)")
    cols = ["orig_data_size", "compr_data_size", "mem_used_total",
            "mem_limit", "mem_used_max", "same_pages", "pages_compacted",
            "huge_pages", "huge_pages_since"]
    return dict(zip(cols, [int(x) for x in m.group(1).split()]))


def close(a, b, rel, slack):
    return abs(a - b) <= max(slack, rel * max(abs(a), abs(b)))


# idle-compact of the main scenario's device, seconds
IDLE_COMPACT = 2


def pool_data(st):
    """Pool bytes beyond the slot table: what must return to ~0 once nothing
    is stored. (libvswap keeps its slot table, ~14 bytes per slot used so
    far, until the device is reset; that is metadata, not data.)"""
    return st.get("pool-bytes", 1 << 40) - st.get("meta-bytes", 0)


def wait_store(vm, cond, timeout=20):
    """Poll query-vswap until cond(stats) holds (the slot-free work sends
    INVALIDATEs asynchronously); return the last stats."""
    end = time.time() + timeout
    while True:
        st = vswap_entry(vm)
        if cond(st) or time.time() > end:
            return st
        time.sleep(0.5)


def console_diag(tap, vms, tail=4000):
    """Each VM's console tail, after a failed scenario."""
    for vm in vms:
        tap.diag("%s console tail:\n%s" % (vm.workdir,
                                           vm.console_since(0)[-tail:]))


def remove_file(path):
    if os.path.exists(path):
        os.unlink(path)


@contextlib.contextmanager
def guest_scenario(tap, name, report, vms, t0, diag=console_diag,
                   cleanup=None):
    """The end every scenario shares. A VMError (a timeout, a guest that
    died, a QMP error) is one failed check named @name with @diag's
    diagnosis, not an exception out of the suite; then every VM in @vms
    (a list the scenario may still extend) is stopped whatever happened,
    @cleanup runs, and report["seconds"] is the time since @t0."""
    try:
        yield
    except VMError as e:
        tap.ok(False, "%s: guest scenario (%s)" % (name, e))
        diag(tap, vms)
    finally:
        for vm in vms:
            vm.stop()
        if cleanup:
            cleanup()
        report["seconds"] = time.time() - t0


def scenario(args, tap):
    vswap = args.backend == "vswap"
    devices = []
    extra = []
    if vswap:
        opts = args.device_opts or ""
        # a short idle-compact, so that the check after blkdiscard does not
        # wait the default 30 s (and 30 more) for the memory to go back
        if "idle-compact=" not in opts:
            opts += ("," if opts else "") + "idle-compact=%d" % IDLE_COMPACT
        devices.append("virtio-vswap-pci,id=vs0," + opts)
        # iothread=NAME in the device options: the object it names
        m = re.search(r"(?:^|,)iothread=([^,]+)", args.device_opts or "")
        if m:
            extra = ["-object", "iothread,id=" + m.group(1)]
    if args.cpu:
        extra += ["-cpu", args.cpu]
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, devices=devices, timeout=args.timeout, extra=extra)
    report = {"backend": args.backend, "mem_mib": args.mem,
              "workload_mib": args.mib}
    t0 = time.time()
    vm.start()
    with guest_scenario(tap, args.backend, report, [vm], t0):
        m = vm.wait_for(r"VSWAP: BOOT (\S+)", 180)
        vm.wait_for(r"VSWAP: READY", 60)
        tap.ok(True, "%s: guest %s booted (%.0f s)"
               % (args.backend, m.group(1), time.time() - t0))

        if vswap:
            rc = vm.run("load_vswap")
            m, _ = vm.run_capture("ls /sys/block | grep vswap | head -1; "
                                  "echo VSWAP: DEV $(ls /sys/block | grep -c vswap)",
                                  r"VSWAP: DEV (\d+)")
            if not tap.ok(rc == 0 and int(m.group(1)) >= 1,
                          "vswap: module loads and binds the device"):
                return report
            dev = "/dev/vswap0"
            nq = re.search(r"(?:^|,)num-queues=(\d+)", args.device_opts or "")
            if nq:
                # one blk-mq hardware queue per virtqueue (up to the CPUs)
                want = min(int(nq.group(1)), args.smp)
                m, _ = vm.run_capture(
                    "echo VSWAP: HWQ $(ls /sys/block/vswap0/mq | wc -l)",
                    r"VSWAP: HWQ (\d+)")
                tap.ok(int(m.group(1)) == want,
                       "vswap: num-queues=%s: the driver runs %s hardware "
                       "queues (want %d)" % (nq.group(1), m.group(1), want))
        else:
            m, rc = vm.run_capture("load_vswap", r"VSWAP: MODULE loaded devices=(\d+)")
            rc2 = vm.run("rmmod virtio_vswap")
            tap.ok(rc == 0 and rc2 == 0,
                   "vswap module loads and unloads (%s device(s) here)"
                   % m.group(1))
            rc = vm.run("zram_setup %d" % args.swap_mib)
            if not tap.ok(rc == 0, "zram: zram.ko loaded, %d MiB disk"
                          % args.swap_mib):
                return report
            dev = "/dev/zram0"

        rc = vm.run("swap_on %s" % dev)
        tap.ok(rc == 0, "%s: mkswap + swapon -d (discard once + pages)"
               % args.backend)
        if vswap:
            rc = vm.run("grep -qx 1 /sys/block/vswap0/queue/stable_writes")
            tap.ok(rc == 0, "vswap: the queue asks for stable writes (no "
                   "page changes while its STORE is in flight, spec 7.2)")
        v0 = guest_vmstat(vm)
        h0 = vswap_entry(vm) if vswap else None
        d0 = driver_stats(vm) if vswap else None

        # Fill, then hold: the data now lives in the swap device.
        t_w = time.time()
        vm.run("hold_start -m %d -p %d -r %d -f %d"
               % (args.mib, args.procs, args.rounds, args.percent))
        vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
        vm.run("meminfo")
        vh = guest_vmstat(vm)
        m = re.search(r"SwapTotal:(\d+) SwapFree:(\d+)",
                      vm.console_since(0).rsplit("VSWAP: MEM", 1)[1])
        swap_used_pages = (int(m.group(1)) - int(m.group(2))) // 4
        report["swap_used_pages_at_hold"] = swap_used_pages
        if vswap:
            hh = vswap_entry(vm)
            report["host_at_hold"] = hh
            tap.ok(hh.get("stored-pages", 0) > 0,
                   "vswap: host store holds the swapped-out data (%d pages, "
                   "guest swap used %d pages)"
                   % (hh.get("stored-pages", 0), swap_used_pages),
                   " ".join("%s=%s" % (k, hh.get(k)) for k in
                            ("zero-pages", "same-pages", "compressed-pages",
                             "incompressible-pages", "compressed-bytes",
                             "pool-bytes")))
            # Every slot the guest uses is in the store, plus the header,
            # except zero-filled pages: 6.12 keeps those in the swap
            # layer's zeromap (vmstat swpout_zero) and never writes them.
            zero_slots = (vh.get("swpout_zero", 0) - vh.get("swpin_zero", 0)
                          - v0.get("swpout_zero", 0) + v0.get("swpin_zero", 0))
            report["zero_slots_at_hold"] = zero_slots
            tap.ok(close(hh.get("stored-pages", 0) + zero_slots,
                         swap_used_pages + 1, 0.02, 64),
                   "vswap: stored pages + guest zeromap pages ~= guest swap "
                   "in use + header (%d + %d vs %d + 1)"
                   % (hh.get("stored-pages", 0), zero_slots, swap_used_pages))
        else:
            zs = zram_mm_stat(vm)
            report["zram_at_hold"] = zs
            tap.ok(zs["orig_data_size"] > 0,
                   "zram: holds the swapped-out data (%d pages, %d same)"
                   % (zs["orig_data_size"] // PAGE, zs["same_pages"]))
        vm.run("hold_release")
        m = vm.wait_for(r"WORKLOAD: KINDS (.*)", args.timeout)
        kinds = kv(m.group(1))
        m = vm.wait_for(r"WORKLOAD: RESULT (.*)", args.timeout)
        res = kv(m.group(1))
        report["workload"] = dict(res, **{"kind_" + k: v
                                          for k, v in kinds.items()})
        report["workload_seconds"] = time.time() - t_w
        per_proc = res["pages"] // args.procs
        expect = (2 * res["pages"] + args.rounds * args.procs *
                  (per_proc * args.percent // 100))
        tap.ok(res["wrong"] == 0 and res["checked"] == expect and
               res["failed_procs"] == 0,
               "%s: workload %d MiB in %d processes, every page bit-exact "
               "(%d pages checked, %d wrong)"
               % (args.backend, args.mib, args.procs, res["checked"],
                  res["wrong"]), "kinds: %s" % kinds)

        v1 = guest_vmstat(vm)
        dout = v1["pswpout"] - v0["pswpout"]
        din = v1["pswpin"] - v0["pswpin"]
        report.update(pswpout=dout, pswpin=din)
        tap.ok(dout > res["pages"] // 2 and din > 0,
               "%s: the workload swapped (pswpout +%d, pswpin +%d)"
               % (args.backend, dout, din))

        if vswap:
            d1 = driver_stats(vm)
            h1 = wait_store(vm, lambda s: True, 0)
            report["driver"] = d1
            report["host_after"] = h1
            dd = {k: d1[k] - d0[k] for k in d1}
            errs = sum(dd[k] for k in VSWAP_ERR_COLS)
            # Guest-internal: pages the driver sent vs the kernel's counts.
            # Synchronous swap-in: one LOAD per swapped-in page, no
            # readahead; a failed STORE (no-space) is counted in pswpout
            # but not stored, hence the error slack.
            tap.ok(close(dd["store_pages"], dout, 0.01, 16 + errs),
                   "vswap: driver STORE pages match guest pswpout",
                   "store_pages +%d, pswpout +%d, errors +%d"
                   % (dd["store_pages"], dout, errs))
            tap.ok(close(dd["load_pages"], din, 0.01, 16),
                   "vswap: driver LOAD pages match guest pswpin",
                   "load_pages +%d, pswpin +%d" % (dd["load_pages"], din))
            # Host vs guest kernel: pages the device stored/loaded vs the
            # kernel's pswpout/pswpin. Same tolerance and reasons as above;
            # zero-filled pages never get here on 6.12 (the swap layer
            # keeps them in its zeromap and counts them in neither).
            hd = {k: h1.get(k, 0) - h0.get(k, 0) for k in
                  ("store-requests", "load-requests", "pages-stored",
                   "pages-loaded", "invalidate-requests")}
            report["host_delta"] = hd
            tap.ok(close(hd["pages-stored"], dout, 0.01, 16 + errs) and
                   close(hd["pages-loaded"], din, 0.01, 16),
                   "vswap: query-vswap pages stored/loaded agree with guest "
                   "pswpout/pswpin (%d/%d vs %d/%d)"
                   % (hd["pages-stored"], hd["pages-loaded"], dout, din))
            # Host vs driver: both count every STORE/LOAD request and page,
            # and the guest is idle: they must be equal.
            tap.ok(hd["store-requests"] == dd["store_reqs"] and
                   hd["load-requests"] == dd["load_reqs"] and
                   hd["pages-stored"] == dd["store_pages"] and
                   hd["pages-loaded"] == dd["load_pages"],
                   "vswap: host and driver counts agree exactly "
                   "(STORE %d req/%d pages, LOAD %d req/%d pages)"
                   % (dd["store_reqs"], dd["store_pages"], dd["load_reqs"],
                      dd["load_pages"]), "host %s\ndriver %s" % (hd, dd))
            # A dropped slot free (queue full in a burst) leaves data on
            # the host until the kernel's own discard of the free cluster
            # (swapon -d pages) or a rewrite; the swapoff check below shows
            # what is left. Seen: 0.3-0.8% under TCG; allow 2%, report it.
            tap.ok(errs == 0 and dd["dropped"] <= dd["notified"] // 50,
                   "vswap: no device errors; slot frees sent %d, cancelled "
                   "%d, dropped %d of %d" % (dd["sent"], dd["cancelled"],
                                             dd["dropped"], dd["notified"]),
                   "errors %s, slot_free %s"
                   % ({k: dd[k] for k in VSWAP_ERR_COLS},
                      {k: dd[k] for k in VSWAP_FREE_COLS}))

        rc = vm.run("swapoff %s" % dev, 600)
        tap.ok(rc == 0, "%s: swapoff" % args.backend)
        if vswap:
            # Left: the swap header, plus slot frees the driver dropped
            # (counted) that no cluster discard covered.
            d2 = driver_stats(vm)
            lost = d2["dropped"] - d0["dropped"]
            st = wait_store(vm, lambda s: s.get("stored-pages", 0) <= 1)
            report["stored_after_swapoff"] = st.get("stored-pages")
            tap.ok(0 <= st.get("stored-pages", -1) <= 1 + lost,
                   "vswap: after the workload and swapoff the store holds "
                   "the swap header + at most the %d dropped slot frees "
                   "(%s pages)" % (lost, st.get("stored-pages")))
            rc = vm.run("blkdiscard %s" % dev)
            st0 = wait_store(vm, lambda s: s.get("stored-pages", 0) == 0)
            # the segments kept for the next stores and the open ones go
            # back once the device was idle for a whole idle-compact
            # period: nothing is left but the slot table
            st = wait_store(vm, lambda s: pool_data(s) == 0,
                            4 * IDLE_COMPACT + 10)
            report["host_after_swapoff"] = st
            tap.ok(rc == 0 and st.get("stored-pages", -1) == 0 and
                   pool_data(st) == 0,
                   "vswap: after blkdiscard: 0 pages stored; after "
                   "idle-compact pool %s bytes, all slot-table metadata "
                   "(%s; at the discard %s bytes of pool)"
                   % (st.get("pool-bytes"), st.get("meta-bytes"),
                      st0.get("pool-bytes")))
        else:
            zs = zram_mm_stat(vm)
            tap.ok(zs["orig_data_size"] <= PAGE,
                   "zram: after swapoff holds at most the header (%d bytes)"
                   % zs["orig_data_size"])

        m, _ = vm.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(int(m.group(1)) == 0, "%s: guest dmesg has no WARN/BUG/Oops"
               % args.backend)

        if vswap:
            rc = vm.run("rmmod virtio_vswap")
            tap.ok(rc == 0, "vswap: rmmod virtio_vswap after swapoff")
            reboot_test(vm, args, tap, report)
    return report


MIB = 1 << 20


class PoolSampler:
    """VM.on_poll hook: query-vswap every interval seconds. Keeps pool
    bytes (and a few other counters) per sample; QMP events that arrive
    meanwhile collect in vm.qmp.events."""

    def __init__(self, vm, interval):
        self.vm, self.interval = vm, interval
        self.samples = []
        self.last = 0.0

    def __call__(self):
        if time.time() - self.last < self.interval:
            return
        self.last = time.time()
        self.take()

    def take(self):
        st = vswap_entry(self.vm)
        self.samples.append((time.time(), st.get("pool-bytes", 0),
                             st.get("disk-pages", 0),
                             qemu_rss_outside_guest(self.vm)))
        return st

    def max_pool(self):
        return max((s[1] for s in self.samples), default=0)

    def max_rss(self):
        return max((s[3] for s in self.samples), default=0)


def qemu_rss_outside_guest(vm):
    """QEMU's resident bytes outside guest RAM and TCG's translation
    buffer (from /proc/PID/smaps): what the device's store can grow.
    Guest RAM is the anonymous mapping at least as large as the guest's
    memory; TCG's code buffer is anonymous and executable (a KVM host has
    neither growth). 0 when the process is gone."""
    total, maps = 0, []
    try:
        with open("/proc/%d/smaps" % vm.machine.get_pid()) as f:
            for line in f:
                head = line.split()
                if "-" in head[0] and not head[0].endswith(":"):
                    lo, hi = (int(x, 16) for x in head[0].split("-"))
                    maps.append([hi - lo, head[1], len(head) > 5, 0])
                elif head[0] == "Rss:" and maps:
                    maps[-1][3] = int(head[1]) * 1024
    except (OSError, TypeError):
        return 0
    for size, perms, named, rss in maps:
        if not named and (size >= vm.mem * MIB or "x" in perms):
            continue
        total += rss
    return total


def events(vm, name):
    vm.qmp.cmd("query-status")          # reads events queued so far
    return [e for e in vm.qmp.events if e.get("event") == name]


def wb_result(r):
    """vswap-writeback's return, by meaning (qapi VswapWritebackResult)."""
    return {"pages": r.get("pages", 0), "bytes": r.get("bytes", 0),
            "ios": r.get("ios", 0), "freed": r.get("pool-freed", 0)}


def pool_pages(st):
    """Pages whose data is in the pool (not zero/same, not on disk)."""
    return st.get("compressed-pages", 0) + st.get("incompressible-pages", 0)


def wait_idle(vm, quiet=2.0, timeout=60):
    """Until the store counted no store or load for quiet seconds."""
    end = time.time() + timeout
    prev = vswap_entry(vm)
    while time.time() < end:
        vm.idle(quiet)
        st = vswap_entry(vm)
        if (st.get("stores") == prev.get("stores") and
                st.get("loads") == prev.get("loads")):
            return st
        prev = st
    return prev


def hold_cmd(args):
    return "hold_start -m %d -p %d -r %d -f %d%s" % (
        args.mib, args.procs, args.rounds, args.percent,
        " -1" if args.no_final else "")


def tier_boot(args, tap, backing):
    """Boot with the disk tier, load the driver, swapon; the VM or None."""
    opts = "virtio-vswap-pci,id=vs0,%s,pool-max=%dM,backing-file=%s" % (
        args.device_opts, args.pool_max, backing)
    if args.backing_max:
        opts += ",backing-max=%dM" % args.backing_max
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, devices=[opts], timeout=args.timeout)
    t0 = time.time()
    vm.start()
    m = vm.wait_for(r"VSWAP: BOOT (\S+)", 180)
    vm.wait_for(r"VSWAP: READY", 60)
    rc = vm.run("load_vswap && swap_on /dev/vswap0")
    tap.ok(rc == 0, "%s: guest %s booted (%.0f s), swapon /dev/vswap0 "
           "(pool-max %d MiB, backing file %s)"
           % (args.scenario, m.group(1), time.time() - t0, args.pool_max,
              backing))
    return vm if rc == 0 else None


# Not pool, per QEMU: codec state and a staging page per context (one
# per thread that stores), thread stacks touched, the tier's write
# buffers, glib/QEMU allocations made while the guest swaps.
RSS_ALLOWANCE_MIB = 16


def check_cap(tap, args, sampler, st, what):
    """Pool bytes never above the cap. libvswap charges every pool byte
    (segments, arena metadata, slot table) with a compare-and-swap that
    fails rather than pass pool_max (host/src/memsource.h), so the slack
    is 0: no segment in flight is uncharged. pool-bytes-peak covers the
    time between samples."""
    cap = args.pool_max * MIB
    peak = st.get("pool-bytes-peak", 1 << 62)
    tap.ok(sampler.samples and sampler.max_pool() <= cap and peak <= cap,
           "%s: %s: host pool never above pool-max %d MiB + slack 0 "
           "(%d samples every %.1f s, max %.2f MiB, pool-bytes-peak "
           "%.2f MiB)" % (args.scenario, what, args.pool_max,
                          len(sampler.samples), args.sample_interval,
                          sampler.max_pool() / MIB, peak / MIB))


def workload_result(vm, args, tap, report):
    m = vm.wait_for(r"WORKLOAD: KINDS (.*)", args.timeout)
    kinds = kv(m.group(1))
    m = vm.wait_for(r"WORKLOAD: RESULT (.*)", args.timeout)
    res = kv(m.group(1))
    report["workload"] = dict(res, **{"kind_" + k: v
                                      for k, v in kinds.items()})
    per_proc = res["pages"] // args.procs
    passes = 1 if args.no_final and not args.rounds else 2
    expect = (passes * res["pages"] + args.rounds * args.procs *
              (per_proc * args.percent // 100))
    return tap.ok(res["wrong"] == 0 and res["checked"] == expect and
                  res["failed_procs"] == 0,
                  "%s: workload %d MiB in %d processes, every page "
                  "bit-exact (%d pages checked, %d wrong)"
                  % (args.scenario, args.mib, args.procs, res["checked"],
                     res["wrong"]), "kinds: %s" % kinds)


def tier_scenario(args, tap):
    """Items 1 and 2 of docs/writeback.md's guest test, one boot."""
    report = {"scenario": "tier", "mem_mib": args.mem,
              "workload_mib": args.mib, "pool_max_mib": args.pool_max}
    backing = os.path.join(args.backing_dir or args.workdir, "tier.disk")
    t0 = time.time()
    vms = []

    def backing_left_empty():
        if os.path.exists(backing):
            # What the tier held dies with QEMU: it leaves the file empty,
            # so the next start may take it without backing-reuse.
            size = os.path.getsize(backing)
            if vms:
                tap.ok(size == 0, "tier: QEMU quit and left the backing "
                       "file empty (%d bytes)" % size)
            os.unlink(backing)

    with guest_scenario(tap, args.scenario, report, vms, t0,
                        cleanup=backing_left_empty):
        vm = tier_boot(args, tap, backing)
        if not vm:
            return report
        vms.append(vm)
        sampler = PoolSampler(vm, args.sample_interval)
        vm.on_poll = sampler
        h0 = sampler.take()

        # 1. Fill 4x RAM and hold: the pool stays at its cap, the rest
        # goes to disk by pressure writeback.
        vm.run(hold_cmd(args))
        vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
        hh = sampler.take()
        report["host_at_hold"] = hh
        check_cap(tap, args, sampler, hh, "fill")
        # The real memory, not the library's own count (issue 13 #7): QEMU
        # outside guest RAM grows by at most pool-max and an allowance for
        # what is not pool (codec state and staging per thread, thread
        # stacks, the tier's write buffers, QEMU's own allocations).
        grow = sampler.max_rss() - sampler.samples[0][3]
        report["qemu_rss_growth_mib"] = grow / MIB
        tap.ok(sampler.samples[0][3] > 0 and
               grow <= (args.pool_max + RSS_ALLOWANCE_MIB) * MIB,
               "tier: fill: QEMU's resident memory outside guest RAM grew "
               "%.1f MiB <= pool-max %d MiB + %d MiB allowance"
               % (grow / MIB, args.pool_max, RSS_ALLOWANCE_MIB))
        wb_avg = (hh["writeback-bytes"] / hh["writeback-ios"]
                  if hh.get("writeback-ios") else 0)
        tap.ok(hh.get("disk-pages", 0) > 0 and
               hh.get("writeback-pages", 0) >= hh.get("disk-pages", 0),
               "tier: the rest is on disk: %d of %d stored pages "
               "(%.1f MiB payload, file %.1f MiB; %d writes of %.0f KiB "
               "average)" % (hh.get("disk-pages", 0),
                             hh.get("stored-pages", 0),
                             hh.get("disk-bytes", 0) / MIB,
                             hh.get("disk-file-bytes", 0) / MIB,
                             hh.get("writeback-ios", 0), wb_avg / 1024))
        tap.ok(hh.get("store-nospace", 1) == h0.get("store-nospace", 0) and
               hh.get("status-no-space", 1) == 0,
               "tier: no store refused while the disk has room "
               "(store-nospace %s, status-no-space %s)"
               % (hh.get("store-nospace"), hh.get("status-no-space")))

        # 2. Proactive writeback of what is older than min-age, once the
        # guest has stopped storing for longer than that.
        quiet = wait_idle(vm)
        vm.idle(args.wb_age + 1)
        before = sampler.take()
        report["host_before_writeback"] = before
        # Pages stored in the last min-age + 1 s (at most): not old enough.
        young = before["stores"] - quiet["stores"]
        t_wb = time.time()
        r = vm.qmp.cmd("vswap-writeback", id="vs0", **{"min-age": args.wb_age})
        wb = wb_result(r)
        report["writeback"] = dict(r, seconds=time.time() - t_wb)
        after = sampler.take()
        report["host_after_writeback"] = after
        in_pool = pool_pages(before)
        moved = after["writeback-pages"] - before["writeback-pages"]
        tap.ok(wb["pages"] == moved and
               wb["bytes"] == after["writeback-bytes"] -
               before["writeback-bytes"] and
               wb["ios"] == after["writeback-ios"] - before["writeback-ios"],
               "tier: vswap-writeback's result agrees with query-vswap's "
               "writeback counters", "result %s" % r)
        old = in_pool - young
        tap.ok(old > 0 and moved >= 0.9 * old,
               "tier: vswap-writeback min-age %d s moved %d of the %d pool "
               "pages older than that (%.1f%%, >= 90%%; pool held %d, "
               "stored in the last %d s %d)"
               % (args.wb_age, moved, old, 100.0 * moved / max(old, 1),
                  in_pool, args.wb_age + 1, young))
        drop = before["pool-bytes"] - after["pool-bytes"]
        tap.ok(wb["bytes"] > 0 and drop >= 0.9 * wb["bytes"],
               "tier: pool-bytes dropped by %.2f MiB >= 0.9x the %.2f MiB "
               "written (%.2f; %d writes, freed-bytes %.2f MiB)"
               % (drop / MIB, wb["bytes"] / MIB,
                  drop / max(wb["bytes"], 1), wb["ios"], wb["freed"] / MIB))

        # Re-read everything: the verify passes load from disk.
        vm.run("hold_release")
        workload_result(vm, args, tap, report)
        h1 = sampler.take()
        report["host_after"] = h1
        tap.ok(h1["loads-from-disk"] > after["loads-from-disk"] and
               h1.get("disk-read-errors", 1) == 0 and
               h1.get("writeback-errors", 1) == 0 and
               h1.get("integrity-errors", 1) == 0,
               "tier: the re-reads came from disk: loads-from-disk +%d "
               "(disk-read-errors %s, writeback-errors %s, integrity-errors "
               "%s)" % (h1["loads-from-disk"] - after["loads-from-disk"],
                        h1.get("disk-read-errors"),
                        h1.get("writeback-errors"),
                        h1.get("integrity-errors")))
        check_cap(tap, args, sampler, h1, "whole run")

        rc = vm.run("swapoff /dev/vswap0 && blkdiscard /dev/vswap0", 600)
        st = wait_store(vm, lambda s: s.get("stored-pages", 0) == 0 and
                        s.get("disk-pages", 0) == 0)
        report["host_after_swapoff"] = st
        # The open chunk keeps its blocks until the next writeback; every
        # sealed chunk that emptied was punched.
        tap.ok(rc == 0 and st.get("stored-pages", -1) == 0 and
               st.get("disk-pages", -1) == 0 and
               st.get("disk-bytes", -1) == 0 and
               st.get("disk-file-bytes", 1 << 40) <= 2 * MIB,
               "tier: after swapoff + blkdiscard: 0 pages stored, 0 on "
               "disk, the file holds %.2f MiB of blocks (<= 2 MiB: the open "
               "chunk), pool %.2f MiB"
               % (st.get("disk-file-bytes", 0) / MIB,
                  st.get("pool-bytes", 0) / MIB))
        m, _ = vm.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(int(m.group(1)) == 0, "tier: guest dmesg has no WARN/BUG/Oops")
        report["pool_samples"] = [(round(t - t0, 1), p, d, r)
                                  for t, p, d, r in sampler.samples]
    return report


def diskfull_scenario(args, tap):
    """Item 3: the backing file's file system fills up mid-run."""
    report = {"scenario": "diskfull", "mem_mib": args.mem,
              "workload_mib": args.mib, "pool_max_mib": args.pool_max}
    if not args.backing_dir:
        tap.ok(False, "diskfull: needs --backing-dir (a small file system)")
        return report
    backing = os.path.join(args.backing_dir, "tier.disk")
    filler = os.path.join(args.backing_dir, "filler")
    t0 = time.time()
    vms = []
    with guest_scenario(tap, args.scenario, report, vms, t0,
                        cleanup=lambda: remove_file(filler)):
        vm = tier_boot(args, tap, backing)
        if not vm:
            return report
        vms.append(vm)
        sampler = PoolSampler(vm, args.sample_interval)
        vm.on_poll = sampler
        vm.run(hold_cmd(args))
        vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
        hh = sampler.take()
        report["host_at_hold"] = hh

        # The file system fills up (another tenant, say): all but
        # keep-free bytes go to a filler file.
        fs = os.statvfs(args.backing_dir)
        free = fs.f_bavail * fs.f_frsize
        size = free - args.keep_free * MIB
        if size > 0:
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, size)
            finally:
                os.close(fd)
        fs = os.statvfs(args.backing_dir)
        tap.ok(size > 0 and fs.f_bavail * fs.f_frsize <= (args.keep_free + 1) * MIB,
               "diskfull: held with %.1f MiB on disk; a filler leaves %.1f "
               "MiB free on the %.0f MiB file system"
               % (hh.get("disk-bytes", 0) / MIB,
                  fs.f_bavail * fs.f_frsize / MIB,
                  fs.f_blocks * fs.f_frsize / MIB))

        # The guest pushes all it can to swap; the pool is at its cap, so
        # pressure writeback needs the disk, which is full.
        m, _ = vm.run_capture("reclaim %dM" % (4 * args.mem),
                              r"VSWAP: RECLAIM rc=(\d+)", args.timeout)
        end = time.time() + 30
        ev = []
        while time.time() < end:
            ev = events(vm, "VSWAP_WRITEBACK_ERROR")
            if any(e["data"].get("reason") == "disk-full" for e in ev):
                break
            vm.idle(1)
        full = sampler.take()
        report["host_disk_full"] = full
        report["writeback_error_events"] = [
            e for e in vm.qmp.events if e.get("event") == "VSWAP_WRITEBACK_ERROR"]
        tap.ok(any(e["data"].get("reason") == "disk-full" and
                   e["data"].get("id") == "vs0" for e in ev),
               "diskfull: VSWAP_WRITEBACK_ERROR reason disk-full on QMP",
               "\n".join(json.dumps(e["data"]) for e in ev[:3]))
        d = driver_stats(vm)
        report["driver_disk_full"] = d
        tap.ok(full.get("writeback-errors", 0) > 0 and
               full.get("store-nospace", 0) > 0 and d["no_space"] > 0,
               "diskfull: writeback-errors %d; stores refused: store-nospace "
               "%d, guest driver no_space %d (the guest keeps those pages; "
               "memory.reclaim rc %s)"
               % (full.get("writeback-errors", 0),
                  full.get("store-nospace", 0), d["no_space"], m.group(1)))

        # Asked now, writeback must fail cleanly (nothing lost).
        try:
            r = vm.qmp.cmd("vswap-writeback", id="vs0")
            err = None
        except VMError as e:
            err = str(e)
        report["writeback_when_full"] = err or r
        tap.ok(err is not None and "full" in err,
               "diskfull: vswap-writeback on the full disk answers an error",
               err or "returned %s" % r)

        # Space comes back; a writeback call clears the disk-full state
        # at once (otherwise the next chunk freed does).
        os.unlink(filler)
        r = wb_result(vm.qmp.cmd("vswap-writeback", id="vs0",
                                 **{"max-bytes": 4 * MIB}))
        tap.ok(r["bytes"] > 0,
               "diskfull: filler deleted, vswap-writeback writes again "
               "(%d pages, %.2f MiB)" % (r["pages"], r["bytes"] / MIB))
        vm.run("hold_release")
        workload_result(vm, args, tap, report)
        h1 = sampler.take()
        report["host_after"] = h1
        tap.ok(h1.get("disk-read-errors", 1) == 0 and
               h1.get("integrity-errors", 1) == 0 and
               h1.get("loads-from-disk", 0) > 0,
               "diskfull: no read errors (loads-from-disk %d, "
               "disk-read-errors %s)" % (h1.get("loads-from-disk", 0),
                                         h1.get("disk-read-errors")))
        check_cap(tap, args, sampler, h1, "whole run")
        rc = vm.run("swapoff /dev/vswap0", 600)
        m, _ = vm.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(rc == 0 and int(m.group(1)) == 0,
               "diskfull: swapoff, guest dmesg has no WARN/BUG/Oops")
    return report


def direct_workload(args):
    """The workload run to its end in one command (no hold), and the pages
    it checks: its fill and final passes read every page, each round a
    percent of them."""
    wl = "workload -m %d -p %d -r %d -f %d" % (args.mib, args.procs,
                                               args.rounds, args.percent)
    per_proc = args.mib * MIB // PAGE // args.procs
    return wl, args.procs * (2 * per_proc + args.rounds *
                             (per_proc * args.percent // 100))


def twodev_scenario(args, tap):
    """Two devices in one guest with different settings (issue 15 #3): vs0
    lz4 with a disk tier under a 16 MiB pool cap and 128 MiB of swap, vs1
    zstd with 2 GiB. The guest's busybox swapon has no -p: the kernel
    gives the first swapon'ed area the higher priority, so vs0 fills and
    the workload spills over to vs1.
    Every page bit-exact; each device's store holds pages, by its own
    entry in query-vswap, and the two entries add up to the guest's
    pswpout."""
    report = {"scenario": "twodev", "mem_mib": args.mem,
              "workload_mib": args.mib}
    backing = os.path.join(args.backing_dir or args.workdir, "tier0.disk")
    remove_file(backing)
    # Different sizes tell the guest's disks apart (128 MiB and 2 GiB).
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, timeout=args.timeout, devices=[
                "virtio-vswap-pci,id=vs0,size=128M,compress=lz4,"
                "pool-max=16M,backing-file=" + backing,
                "virtio-vswap-pci,id=vs1,size=2G,compress=zstd,"
                "compress-level=3"])
    t0 = time.time()
    wl, expect = direct_workload(args)
    with guest_scenario(tap, "twodev", report, [vm], t0,
                        cleanup=lambda: remove_file(backing)):
        vm.start()
        vm.wait_for(r"VSWAP: READY", 240)
        rc = vm.run("load_vswap")
        m, _ = vm.run_capture(
            "echo VSWAP: SIZES $(for d in /sys/block/vswap*; do "
            "echo ${d##*/}=$(cat $d/size); done)", r"VSWAP: SIZES ?(.*)")
        sizes = dict(x.split("=") for x in m.group(1).split())
        by_size = {int(v) * 512: "/dev/" + k for k, v in sizes.items()}
        devs = {"vs0": by_size.get(128 * MIB), "vs1": by_size.get(2 << 30)}
        if not tap.ok(rc == 0 and all(devs.values()),
                      "twodev: both devices bound (%s)" % devs):
            return report
        rc = vm.run(" && ".join("mkswap %s >/dev/null && swapon %s"
                                % (d, d) for d in (devs["vs0"], devs["vs1"])))
        tap.ok(rc == 0, "twodev: swapon of both, vs0 first")
        def stored():
            return {e["id"]: e["device"]["pages-stored"]
                    for e in vm.qmp.cmd("query-vswap")}

        def pswpout(lines):
            out = [kv(ln.split("VMSTAT ", 1)[1]) for ln in lines
                   if ln.startswith("VSWAP: VMSTAT ")]
            return out[-1].get("pswpout", -1) if out else -1

        _, lines = vm.run_lines("vmstat", "")
        out0, stored0 = pswpout(lines), stored()
        rc, lines = vm.run_lines("(%s); r=$?; vmstat; [ $r = 0 ]" % wl, "",
                                 args.timeout)
        res = kv(next((ln.split("RESULT ", 1)[1] for ln in lines
                       if ln.startswith("WORKLOAD: RESULT ")), ""))
        report["workload"] = res
        tap.ok(rc == 0 and res.get("wrong") == 0 and
               res.get("checked") == expect,
               "twodev: %d MiB workload over both devices, every page "
               "bit-exact (%s pages checked)" % (args.mib,
                                                  res.get("checked")))
        info = {e["id"]: e for e in vm.qmp.cmd("query-vswap")}
        st = {i: info[i]["store"] for i in ("vs0", "vs1") if i in info}
        cfg = {i: info[i]["config"] for i in st}
        report["stores"] = {i: {"stores": st[i]["stores"],
                                "stored-pages": st[i]["stored-pages"],
                                "disk-pages": st[i]["disk-pages"]}
                            for i in st}
        tap.ok(len(st) == 2 and cfg["vs0"]["compress"] == "lz4" and
               cfg["vs1"]["compress"] == "zstd" and
               st["vs0"]["stores"] > 0 and st["vs1"]["stores"] > 0,
               "twodev: query-vswap has one entry per device with its own "
               "settings, and both took stores (%s)" % report["stores"])
        tap.ok(st["vs0"]["disk-pages"] > 0 and
               st["vs0"]["pool-bytes"] <= 16 * MIB and
               st["vs1"]["disk-pages"] == 0,
               "twodev: vs0 (pool-max 16M) put pages on its disk tier, "
               "vs1 (no tier) none (%d, %d)" % (st["vs0"]["disk-pages"],
                                                st["vs1"]["disk-pages"]))
        got = {i: info[i]["device"]["pages-stored"] - stored0.get(i, 0)
               for i in ("vs0", "vs1")}
        out = pswpout(lines) - out0
        tap.ok(got["vs0"] + got["vs1"] == out,
               "twodev: over the workload the devices' pages-stored add up "
               "to the guest's pswpout (%d + %d vs %d)"
               % (got["vs0"], got["vs1"], out))
        rc = vm.run("swapoff %s && swapoff %s" % (devs["vs0"], devs["vs1"]),
                    600)
        m, _ = vm.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(rc == 0 and int(m.group(1)) == 0,
               "twodev: swapoff of both; dmesg has no WARN/BUG/Oops")
    return report


def compare_scenario(args, tap):
    """vswap vs guest zram on one workload in one guest (see the doc)."""
    report = {"scenario": "compare", "mem_mib": args.mem,
              "workload_mib": args.mib}
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, timeout=args.timeout,
            devices=["virtio-vswap-pci,id=vs0," + args.device_opts])
    t0 = time.time()
    wl, expect = direct_workload(args)
    with guest_scenario(tap, "compare", report, [vm], t0):
        vm.start()
        vm.wait_for(r"VSWAP: READY", 240)
        secs = {}
        for name, setup, dev in (
                ("vswap", "load_vswap", "/dev/vswap0"),
                ("zram", "zram_setup %d" % (args.mib + args.mem),
                 "/dev/zram0")):
            rc = vm.run("%s && swap_on %s" % (setup, dev))
            if not tap.ok(rc == 0, "compare: swap on %s" % name):
                return report
            rc, lines = vm.run_lines(wl, "WORKLOAD: ", args.timeout)
            res = kv(next((ln[len("RESULT "):] for ln in lines
                           if ln.startswith("RESULT ")), ""))
            report[name] = res
            secs[name] = res.get("work_seconds")
            tap.ok(rc == 0 and res.get("wrong") == 0 and
                   res.get("checked") == expect,
                   "compare: %s: %d MiB workload bit-exact in %s s "
                   "(%s pages checked)" % (name, args.mib, secs[name],
                                           res.get("checked")))
            if not tap.ok(vm.run("swapoff %s" % dev, 600) == 0,
                          "compare: swapoff %s" % dev):
                return report
        ratio = (secs["vswap"] / secs["zram"]
                 if secs.get("vswap") and secs.get("zram") else None)
        report["vswap_vs_zram_time"] = ratio
        tap.ok(ratio is not None and ratio <= 1.0,
               "compare: vswap's workload time <= guest zram's (%s s vs %s "
               "s: %s)" % (secs.get("vswap"), secs.get("zram"),
                           "%.2fx" % ratio if ratio else "-"))
    return report


def reboot_test(vm, args, tap, report):
    """Data in the store, then the guest reboots: the host must free it."""
    rc = vm.run("load_vswap && swap_on /dev/vswap0")
    mib = max(args.mem, args.mib // 3)
    vm.run("hold_start -m %d -p 1 -r 0" % mib)
    vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
    before = vswap_entry(vm)
    tap.ok(rc == 0 and before.get("stored-pages", 0) > 0,
           "vswap: reloaded, %d pages in the store before reboot"
           % before.get("stored-pages", 0))
    vm.send("echo b > /proc/sysrq-trigger")
    vm.wait_for(r"VSWAP: BOOT", 180)
    vm.wait_for(r"VSWAP: READY", 60)
    st = wait_store(vm, lambda s: s.get("stored-pages", 0) == 0, 10)
    report["host_after_reboot"] = st
    tap.ok(st.get("stored-pages", -1) == 0 and
           pool_data(st) <= args.pool_slack,
           "vswap: guest reboot (sysrq b) frees the store "
           "(%s pages, pool %s bytes, metadata %s)"
           % (st.get("stored-pages"), st.get("pool-bytes"),
              st.get("meta-bytes")))


def wait_event(vm, name, timeout=60, **data):
    """The first QMP event @name whose data has every key=value of @data
    (waiting for it), or None. Events taken are removed from the queue."""
    end = time.time() + timeout
    while time.time() < end:
        ev = [e for e in events(vm, name)
              if all(e.get("data", {}).get(k) == v for k, v in data.items())]
        if ev:
            vm.qmp.events = [e for e in vm.qmp.events if e is not ev[0]]
            return ev[0]
        vm.idle(0.5)
    return None


def guest_vswap_disks(vm):
    """The guest's vswap block devices. Only whole disk names count: a
    kernel message (the driver's probe line, "vswap0: 524288 slots, ...")
    can land on the same console line as the answer."""
    m, _ = vm.run_capture("echo VSWAP: DISKS $(ls /sys/block | grep vswap)",
                          r"VSWAP: DISKS ?(.*)")
    return [w for w in m.group(1).split() if re.fullmatch(r"vswap\d+", w)]


def hotplug_scenario(args, tap):
    """device_add into a running guest, swap on it, swapoff, device_del;
    then device_add again and device_del while swap is still active and
    pages are out (issue 13 #8, issue 15 #2). The guest must survive: its
    processes whose pages were on the device get I/O errors, the driver
    keeps what the swap code still holds (vswap_free_disk()), and the host
    frees the store with the device."""
    report = {"scenario": "hotplug", "mem_mib": args.mem,
              "workload_mib": args.mib}
    # A hot-pluggable slot: a PCIe root port on q35's root bus.
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, timeout=args.timeout,
            extra=["-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
                   "-device", "pcie-root-port,id=rp1,chassis=2,slot=2"])
    t0 = time.time()
    vm.start()
    with guest_scenario(tap, "hotplug", report, [vm], t0):
        m = vm.wait_for(r"VSWAP: BOOT (\S+)", 180)
        vm.wait_for(r"VSWAP: READY", 60)
        rc = vm.run("load_vswap")
        tap.ok(rc == 0 and not guest_vswap_disks(vm),
               "hotplug: guest %s booted (%.0f s) with no vswap device; "
               "module loaded" % (m.group(1), time.time() - t0))

        for n, bus in enumerate(("rp0", "rp1")):
            dev = "vs%d" % n
            vm.qmp.cmd("device_add", driver="virtio-vswap-pci", id=dev,
                       bus=bus, size=2 << 30)
            disks = []
            for _ in range(60):
                disks = guest_vswap_disks(vm)
                if disks:
                    break
                vm.idle(0.5)
            if not tap.ok(len(disks) == 1, "hotplug: device_add %s: the "
                          "guest driver binds it (%s)" % (dev, disks)):
                return report
            blk = "/dev/" + disks[0]
            rc = vm.run("swap_on %s pages" % blk)
            # Only the workload swaps (a memory cgroup of a quarter of its
            # size): what the unplug kills must not be init.
            vm.run(hold_cmd(args).replace(
                "hold_start", "hold_start_cg %d" % (args.mib // 4), 1))
            vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
            st = vswap_entry(vm)
            tap.ok(rc == 0 and st.get("stored-pages", 0) > 0,
                   "hotplug: %s: swapon, workload filled and holds, %d "
                   "pages in the store" % (dev, st.get("stored-pages", 0)))
            if n == 0:
                # The orderly way: finish, swapoff, unplug.
                vm.run("hold_release")
                workload_result(vm, args, tap, report)
                rc = vm.run("swapoff %s" % blk, 600)
                tap.ok(rc == 0, "hotplug: %s: swapoff" % dev)
            vm.qmp.cmd("device_del", id=dev)
            ev = wait_event(vm, "DEVICE_DELETED", 60, device=dev)
            left = vm.qmp.cmd("query-vswap")
            if ev is None:
                # Where the guest's unplug stands: its blocked tasks.
                vm.run("echo w > /proc/sysrq-trigger")
            tap.ok(ev is not None and not left,
                   "hotplug: device_del %s%s: DEVICE_DELETED, the host "
                   "store is gone (query-vswap %s)"
                   % (dev, "" if n == 0 else " with swap active and pages "
                      "out", left))
            if n == 1:
                # The workload's pages are gone with the device: its
                # processes get I/O errors (SIGBUS) on the pages they fault
                # back; they exit, and the swap code frees their slots on
                # the removed disk (slot-free notifications to a driver
                # whose device is gone).
                vm.run("hold_release")
                m = vm.wait_for(r"WORKLOAD: RESULT (.*)", args.timeout)
                res = kv(m.group(1))
                tap.ok(res.get("failed_procs", 0) >= 1 and
                       res.get("wrong", 0) == 0,
                       "hotplug: %s: the workload's processes whose pages "
                       "were on the device failed (%s of %d), none read "
                       "wrong data" % (dev, res.get("failed_procs"),
                                       args.procs))
                # swapoff needs the block device opened by path, and a
                # removed disk cannot be opened: the swap area stays (as
                # "(deleted)") until the guest reboots.
                m, _ = vm.run_capture(
                    "echo VSWAP: SWAPS $(grep -c vswap /proc/swaps)",
                    r"VSWAP: SWAPS (\d+)")
                report["swaps_after_unplug"] = int(m.group(1))
        rc = vm.run("true")
        m, _ = vm.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(rc == 0 and int(m.group(1)) == 0,
               "hotplug: the guest still runs commands; dmesg has no "
               "WARN/BUG/Oops")
        # The swap area on the removed disk still holds the module: rmmod
        # must be refused (EBUSY), not free what swap still uses.
        rc = vm.run("rmmod virtio_vswap")
        tap.ok(rc != 0 and report.get("swaps_after_unplug") == 1,
               "hotplug: rmmod refused while swap still holds the removed "
               "disk (rc %d, %s swap area(s) on it left)"
               % (rc, report.get("swaps_after_unplug")))
    return report


CONTENT_KEYS = ("stored-pages", "zero-pages", "same-pages")


def store_content(vm):
    """What the store holds, by kind: the counters a migration keeps
    (objects in memory and on disk counted together: the destination may
    place them differently)."""
    e = vswap_entry(vm)
    out = {k: e[k] for k in CONTENT_KEYS}
    out["object-pages"] = (e["compressed-pages"] + e["incompressible-pages"] +
                           e["disk-pages"])
    return out


def same_content(src, dst):
    """Whether @dst holds what @src held: the same slots, zero pages and
    objects, except that a same-filled page may arrive as a (tiny)
    object: each store keys its same-fill dictionary with its own random
    key and declines a value whose chain is full (same_dict.c), so the
    destination may decline a value the source took (seen: 5 of 8,062 in
    one run). At most 1 % of them."""
    if not src or not dst:
        return False
    moved = src["same-pages"] - dst["same-pages"]
    return (src["stored-pages"] == dst["stored-pages"] and
            src["zero-pages"] == dst["zero-pages"] and
            0 <= moved <= src["same-pages"] // 100 and
            dst["object-pages"] - src["object-pages"] == moved)


def migration_end(vm, timeout):
    """Poll query-migrate until it ends; its last answer."""
    end = time.time() + timeout
    while True:
        r = vm.qmp.cmd("query-migrate")
        if r.get("status") in ("completed", "failed", "cancelled"):
            return r
        if time.time() > end:
            raise VMError("migration still %s after %d s"
                          % (r.get("status"), timeout))
        vm.idle(0.3)


def mig_vm(args, name, devices, extra, incoming=False):
    ex = list(extra) + (["-incoming", "defer", "-S"] if incoming else [])
    return VM(args.qemu, args.kernel, args.initrd,
              os.path.join(args.workdir, name), mem=args.mem, smp=args.smp,
              devices=devices, timeout=args.timeout, extra=ex)


def mig_qemu_log(vm):
    path = os.path.join(vm.workdir, "qemu.log")
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def incoming_status(vm, timeout):
    """Poll a destination until it leaves "inmigrate" (or @timeout s);
    its last status. VMError if its QEMU exits (a refused stream)."""
    end = time.time() + timeout
    while True:
        status = vm.qmp.cmd("query-status")["status"]
        if status != "inmigrate" or time.time() > end:
            return status
        time.sleep(0.2)


def workload_end(vm, seq, timeout):
    """Wait on @vm (where the guest runs now) for the end of the
    workload command sent as @seq; (its exit status, its RESULT line)."""
    rc = int(vm.wait_for(r"VSWAP: RC %d (\d+)" % seq, timeout).group(1))
    text = vm.console_since(0)
    res = kv(text.rsplit("WORKLOAD: RESULT ", 1)[1].split("\n")[0]) \
        if "WORKLOAD: RESULT " in text else {}
    return rc, res


def mig_diag(tap, vms):
    """Each VM's console and QEMU log tails, after a failed scenario."""
    for vm in vms:
        tap.diag("%s console tail:\n%s\nqemu log:\n%s"
                 % (vm.workdir, vm.console_since(0)[-2000:],
                    mig_qemu_log(vm)[-2000:]))


def compact_while_migrating(tap, vm, what):
    """vswap-compact on @vm while its outgoing migration runs: the pass
    moves live objects the export is walking (the export must send each
    slot where it is now, and a moved slot must not look changed)."""
    end = time.time() + 30
    status = vm.qmp.cmd("query-migrate").get("status")
    while status == "setup" and time.time() < end:
        vm.idle(0.05)
        status = vm.qmp.cmd("query-migrate").get("status")
    before = vswap_entry(vm).get("compacted-bytes", 0)
    res = vm.qmp.cmd("vswap-compact", id="vs0")
    after = vm.qmp.cmd("query-migrate").get("status")
    tap.ok(status == "active" and "freed" in res,
           "%s: vswap-compact on the source while it migrates (migration "
           "%s -> %s; %d bytes moved, %d freed)"
           % (what, status, after,
              vswap_entry(vm).get("compacted-bytes", 0) - before,
              res.get("freed", 0)))


def migrate_once(tap, src, dst, uri, what, before_cont=None,
                 during=None):
    """Migrate @src into the waiting @dst over @uri (calling @during
    right after the migration started); the store content must be the
    same on both sides when it completed (the destination is still
    paused, -S); then the destination runs. Returns the query-migrate
    result."""
    dst.qmp.cmd("migrate-incoming", uri=uri)
    src.qmp.cmd("migrate", uri=uri)
    if during:
        during()
    r = migration_end(src, 600)
    ok = r.get("status") == "completed"
    if ok:
        # the destination finishes loading just after the source says so
        incoming_status(dst, 60)
    a = store_content(src)
    b = store_content(dst) if ok else {}
    tap.ok(ok and same_content(a, b),
           "%s: migration %s in %s ms (downtime %s ms); the destination "
           "store holds what the source held (%s)"
           % (what, r.get("status"), r.get("total-time"), r.get("downtime"),
              a), "destination: %s; error: %s" % (b, r.get("error-desc")))
    if before_cont:
        before_cont()
    dst.qmp.cmd("cont")
    return r


def migrate_live_scenario(args, tap):
    """Live migration while the guest swaps (issue 14): source A runs the
    workload (every page verified on every read); while it swaps, A is
    migrated over a unix socket to B; B finishes a share of the
    workload and the store goes back to a new A' (A -> B -> A'); the
    workload ends on A' with every page bit-exact. The device options
    (--device-opts: disk tier, zstd, checksum, iothread) are the same on
    each side."""
    report = {"scenario": "migrate", "mem_mib": args.mem,
              "workload_mib": args.mib, "device_opts": args.device_opts}
    opts = args.device_opts or ""
    backing = None
    extra = []
    m = re.search(r"(?:^|,)iothread=([^,]+)", opts)
    if m:
        extra = ["-object", "iothread,id=" + m.group(1)]

    def devices(side):
        d = "virtio-vswap-pci,id=vs0," + opts
        if args.pool_max and "backing" in args.migrate_opts:
            path = os.path.join(args.workdir, "tier-%s.disk" % side)
            remove_file(path)
            d += ",pool-max=%dM,backing-file=%s" % (args.pool_max, path)
        return [d]

    vms = []
    t0 = time.time()
    wl, expect = direct_workload(args)
    with guest_scenario(tap, "migrate", report, vms, t0, diag=mig_diag):
        a = mig_vm(args, "a", devices("a"), extra)
        vms.append(a)
        a.start()
        a.wait_for(r"VSWAP: READY", 240)
        rc = a.run("load_vswap && swap_on /dev/vswap0")
        tap.ok(rc == 0, "migrate: device bound, swap on (%s)" % opts)
        # the workload runs in the background over every move
        seq = a.send("(%s); r=$?; vmstat; [ $r = 0 ]" % wl)
        st = wait_store(a, lambda e: e["stored-pages"] > 8000, 300)
        tap.ok(st["stored-pages"] > 8000,
               "migrate: the guest is swapping (%d pages stored, %d on "
               "disk)" % (st["stored-pages"], st.get("disk-pages", 0)))
        a.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 256 << 20,
                                                "downtime-limit": 300})
        cur = a
        for hop, side in enumerate(("b", "a2")):
            if not tap.ok(cur.finished(seq) is None,
                          "migrate: the workload still runs before hop %d "
                          "(else --rounds is too small to test anything)"
                          % (hop + 1)):
                return report
            nxt = mig_vm(args, side, devices(side), extra, incoming=True)
            vms.append(nxt)
            nxt.start()
            sock = os.path.join(args.workdir, "mig-%s.sock" % side)
            what = "migrate %s" % ("A -> B", "B -> A")[hop]
            # the first hop also compacts the source's pool meanwhile
            during = (lambda: compact_while_migrating(tap, cur, what)) \
                if hop == 0 else None
            r = migrate_once(tap, cur, nxt, "unix:" + sock, what,
                             during=during)
            report["hop%d" % hop] = {k: r.get(k) for k in
                                     ("total-time", "downtime", "status")}
            # the guest's control channel and console are now nxt's
            nxt.seq = cur.seq
            cur.stop()
            cur = nxt
            if hop == 0:
                cur.idle(10)    # B swaps on its own store for a while
        rc, res = workload_end(cur, seq, args.timeout)
        report["workload"] = res
        tap.ok(rc == 0 and res.get("wrong") == 0 and
               res.get("checked") == expect,
               "migrate: the workload finished after A -> B -> A, every "
               "page bit-exact (%s of %d pages checked, %s wrong)"
               % (res.get("checked"), expect, res.get("wrong")))
        e = vswap_entry(cur)
        tap.ok(e.get("integrity-errors", 0) == 0 and
               e.get("status-integrity", 0) == 0 and
               e.get("status-ioerr", 0) == 0,
               "migrate: no integrity or I/O error on the last host")
        # the swap header and any dropped slot free stay until a discard
        rc = cur.run("swapoff /dev/vswap0 && blkdiscard /dev/vswap0", 600)
        st = wait_store(cur, lambda e: e["stored-pages"] == 0)
        m, _ = cur.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(rc == 0 and st["stored-pages"] == 0 and
               int(m.group(1)) == 0,
               "migrate: swapoff + blkdiscard empty the migrated store (%d "
               "pages left); dmesg clean" % st["stored-pages"])
    return report


def migrate_idle_scenario(args, tap):
    """make bench-migration's guest part: the workload fills and holds
    (its pages swapped out, the guest idle), then a live migration over
    a unix socket; the source's trace of the device's stop-and-copy
    (virtio_vswap_migration_complete) gives the bytes sent with the VM
    stopped and in all, against the bytes and pages the store held."""
    report = {"scenario": "migrate-idle", "mem_mib": args.mem,
              "workload_mib": args.mib}
    devices = ["virtio-vswap-pci,id=vs0," + (args.device_opts or "")]
    vms = []
    t0 = time.time()
    with guest_scenario(tap, "migrate-idle", report, vms, t0, diag=mig_diag):
        a = mig_vm(args, "a", devices,
                   ["-trace", "virtio_vswap_migration_complete"])
        vms.append(a)
        a.start()
        a.wait_for(r"VSWAP: READY", 240)
        rc = a.run("load_vswap && swap_on /dev/vswap0")
        a.run("hold_start -m %d -p %d -r 0 -f 100" % (args.mib, args.procs))
        a.wait_for(r"WORKLOAD: HOLD", args.timeout)
        wait_idle(a)
        e = vswap_entry(a)
        stored = e["compressed-bytes"] + e["disk-bytes"]
        tap.ok(rc == 0 and e["stored-pages"] > 0,
               "migrate-idle: the workload holds %d pages in the store "
               "(%d bytes), the guest idles" % (e["stored-pages"], stored))
        b = mig_vm(args, "b", devices, [], incoming=True)
        vms.append(b)
        b.start()
        a.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        r = migrate_once(tap, a, b, "unix:" + os.path.join(
            args.workdir, "mig-idle.sock"), "migrate-idle")
        m = re.search(r"virtio_vswap_migration_complete .*stop-and-copy "
                      r"(\d+) bytes, (\d+) in all, (\d+) pages",
                      mig_qemu_log(a))
        if tap.ok(m is not None, "migrate-idle: the source traced the "
                  "device's stop-and-copy"):
            tail, total, pages = (int(x) for x in m.groups())
            report.update({
                "stored_pages": e["stored-pages"], "stored_bytes": stored,
                "tail_bytes": tail, "wire_bytes": total,
                "tail_per_stored_byte": tail / max(stored, 1),
                "wire_per_guest_byte": total / max(pages * PAGE, 1),
                "downtime_ms": r.get("downtime"),
                "total_ms": r.get("total-time")})
            tap.diag("tail %d bytes (%.4f of stored), %d bytes in all "
                     "(%.3f per guest byte)"
                     % (tail, report["tail_per_stored_byte"], total,
                        report["wire_per_guest_byte"]))
    return report


def ring_depth(vm, dev):
    """The blk-mq queue depth the guest driver took for @dev (before an
    elevator changes nr_requests)."""
    m, _ = vm.run_capture("echo VSWAP: DEPTH $(cat /sys/block/%s/queue/"
                          "nr_requests)" % dev.split("/")[-1],
                          r"VSWAP: DEPTH (\d+)")
    return int(m.group(1)) if m else -1


def options_scenario(args, tap):
    """Every option through a real guest (issue 15 #5): vq4 (queue-size
    4, the minimum, which QEMU 10.0.13 overrides with 1024; compress=zstd
    level 9) and vq1k (queue-size 1024, the maximum; checksum=on) both
    swapped to by one workload, the rings query-vswap reports being those
    the guest driver got, every page
    bit-exact; then a size=16T device and a 1 GiB one hot-plugged into the
    idle guest: the guest sees 16 TiB, the idle store holds at most
    64 KiB (query-vswap pool-bytes) and costs QEMU no more resident memory
    than the 1 GiB one (within 1 MiB of noise: one bit per slot of 16 TiB
    would be 512 MiB, while a thread stack or malloc arena touched while
    the machine is busy made them 640 KiB apart once); a page written to
    its last slot reads back."""
    report = {"scenario": "options", "mem_mib": args.mem,
              "workload_mib": args.mib}
    # A task blocked for 120 s panics the guest, verbose: the stacks of
    # the blocked tasks and then of every task reach the console (at
    # loglevel=4 they would not). This scenario hung once (2026-12-05),
    # with nothing on the console to say where.
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, timeout=args.timeout,
            append="hung_task_panic=1 panic_print=0x1", devices=[
                "virtio-vswap-pci,id=vq4,size=256M,queue-size=4,"
                "compress=zstd,compress-level=9",
                "virtio-vswap-pci,id=vq1k,size=320M,queue-size=1024,"
                "checksum=on"],
            extra=["-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
                   "-device", "pcie-root-port,id=rp1,chassis=2,slot=2"])
    t0 = time.time()
    wl, expect = direct_workload(args)
    with guest_scenario(tap, "options", report, [vm], t0):
        vm.start()
        vm.wait_for(r"VSWAP: READY", 240)
        rc = vm.run("load_vswap")

        def by_size():
            m, _ = vm.run_capture(
                "echo VSWAP: SIZES $(for d in /sys/block/vswap*; do "
                "echo ${d##*/}=$(cat $d/size); done)", r"VSWAP: SIZES ?(.*)")
            return {int(v) * 512: "/dev/" + k for k, v in
                    (x.split("=") for x in m.group(1).split())}

        disks = by_size()
        small, large = disks.get(256 * MIB), disks.get(320 * MIB)
        if not tap.ok(rc == 0 and small and large,
                      "options: queue-size 4 and 1024 devices bound (%s)"
                      % disks):
            return report
        rc = vm.run("mkswap %s >/dev/null && swapon %s && mkswap %s "
                    ">/dev/null && swapon %s" % (small, small, large, large))
        depth = {d: ring_depth(vm, dev) for d, dev in
                 (("vq4", small), ("vq1k", large))}
        # Freeze both queues over and over while the workload swaps and
        # frees slots: an elevator switch freezes the queue, and a freeze
        # must never wait for a STORE that waits for the slot-free work
        # (which once slept in blk_queue_enter() with its batch
        # published: the guest hung).
        rc3 = vm.run(
            "load_mods mq-deadline && "
            "(n=0; while [ ! -e /tmp/stop-freeze ]; do for d in %s %s; do "
            "q=/sys/block/${d##*/}/queue; "
            "for e in mq-deadline none; do "
            "echo $e > $q/scheduler 2>/dev/null && n=$((n + 1)); done; "
            "done; done; echo $n > /tmp/freezes) >/dev/null 2>&1 &"
            % (small, large))
        rc2, lines = vm.run_lines(wl, "WORKLOAD: RESULT ", args.timeout)
        res = kv(lines[-1]) if lines else {}
        m, _ = vm.run_capture(
            "touch /tmp/stop-freeze; while [ ! -e /tmp/freezes ]; do "
            "sleep 0.1; done; echo VSWAP: FREEZES $(cat /tmp/freezes) "
            "$(cat /sys/block/%s/vswap/slot_free)"
            % small.split("/")[-1], r"VSWAP: FREEZES (\d+) (\d+) (\d+)")
        freezes = int(m.group(1)) if m else 0
        report["elevator_switches"] = freezes
        tap.ok(rc3 == 0 and freezes >= 10,
               "options: %d elevator switches (queue freezes) on both "
               "devices while the workload swapped and freed slots "
               "(queue-size 4: %s slots notified free, %s sent)"
               % (freezes, m.group(2) if m else "?",
                  m.group(3) if m else "?"))
        info = {e["id"]: e for e in vm.qmp.cmd("query-vswap")}
        got = {i: info[i]["device"]["pages-stored"] for i in info}
        errs = sum(info[i]["device"][k] for i in info for k in
                   ("status-ioerr", "status-integrity", "bad-memory"))
        report["workload"], report["pages_stored"] = res, got
        tap.ok(rc == 0 and rc2 == 0 and res.get("wrong") == 0 and
               res.get("checked") == expect and got.get("vq4", 0) > 0 and
               got.get("vq1k", 0) > 0 and errs == 0,
               "options: one workload over zstd-9/queue-size 4 and "
               "checksum/queue-size 1024, every page bit-exact (%s checked), "
               "both devices stored pages %s, no errors"
               % (res.get("checked"), got))
        cfg = {i: info[i]["config"] for i in info}
        # queue-size as the guest got it (depth, read before the elevator
        # switches): the driver's blk-mq depth is min(128, ring size).
        # QEMU 10.0.13 gives every ring 1024 entries whatever the property
        # asks (realize warns), so vq4's ring is what query-vswap says,
        # not necessarily 4.
        tap.ok(all(depth[d] == min(128, cfg[d]["queue-size"]) and
                   cfg[d]["queue-size"] in (4 if d == "vq4" else 1024,
                                            1024) for d in depth) and
               cfg["vq4"]["compress"] == "zstd" and
               cfg["vq4"]["compress-level"] == 9 and
               cfg["vq1k"]["checksum"],
               "options: query-vswap shows the settings in force (rings "
               "%s, guest queue depths %s)"
               % ({d: cfg[d]["queue-size"] for d in cfg}, depth))
        rc = vm.run("swapoff %s && swapoff %s" % (small, large), 600)

        # 16 TiB and 1 GiB hot-plugged into the idle guest
        deltas = {}
        for dev, bus, size in (("g1", "rp1", 1 << 30),
                               ("t16", "rp0", 16 << 40)):
            wait_idle(vm)
            before = qemu_rss_outside_guest(vm)
            vm.qmp.cmd("device_add", driver="virtio-vswap-pci", id=dev,
                       bus=bus, size=size)
            for _ in range(60):
                if size in by_size():
                    break
                vm.idle(0.5)
            vm.idle(2)
            deltas[dev] = qemu_rss_outside_guest(vm) - before
        report["rss_delta"] = deltas
        info = {e["id"]: e for e in vm.qmp.cmd("query-vswap")}
        pool = info.get("t16", {}).get("store", {}).get("pool-bytes", -1)
        big = by_size().get(16 << 40)
        tap.ok(big is not None and 0 <= pool <= 64 * 1024,
               "options: size=16T: the guest sees 16 TiB (%s), the idle "
               "store holds %d bytes (<= 64 KiB)" % (big, pool))
        tap.ok(deltas["t16"] - deltas["g1"] <= MIB,
               "options: QEMU's resident memory grew by %d KiB for the 16T "
               "device, %d KiB for the 1G one: the size costs nothing "
               "(<= 1 MiB apart)" % (deltas["t16"] >> 10,
                                       deltas["g1"] >> 10))
        last = (16 << 40) // 4096 - 1
        rc, _ = vm.run_lines(
            "head -c 4096 /dev/urandom > /tmp/p && dd if=/tmp/p of=%s bs=4096 "
            "seek=%d count=1 conv=fsync 2>/dev/null && echo 3 > "
            "/proc/sys/vm/drop_caches && dd if=%s bs=4096 skip=%d count=1 "
            "2>/dev/null | cmp - /tmp/p" % (big, last, big, last), "")
        st = {e["id"]: e for e in vm.qmp.cmd("query-vswap")}["t16"]["store"]
        tap.ok(rc == 0 and st["stored-pages"] >= 1,
               "options: a page written to the last slot of the 16T device "
               "(%d) reads back (the store holds %d page(s), %d bytes)"
               % (last, st["stored-pages"], st["pool-bytes"]))
    return report


def fourvm_scenario(args, tap):
    """Many VMs on one host (issue 15 #8): four guests, a device each,
    swap at once: each workload fills and holds; vswapctl stats --json
    over the four QMP sockets lists one row per VM whose store counters
    are that VM's own (its query-vswap); then every workload re-reads its
    pages bit-exact."""
    report = {"scenario": "fourvm", "mem_mib": args.mem,
              "workload_mib": args.mib}
    vms, socks = [], []
    t0 = time.time()
    vswapctl = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..", "build", "host", "vswapctl")
    with guest_scenario(tap, "fourvm", report, vms, t0,
                        diag=functools.partial(console_diag, tail=1500)):
        for i in range(4):
            wd = os.path.join(args.workdir, "vm%d" % i)
            sock = os.path.join(wd, "qmp.sock")
            os.makedirs(wd, exist_ok=True)
            remove_file(sock)
            vm = VM(args.qemu, args.kernel, args.initrd, wd, mem=args.mem,
                    smp=args.smp, timeout=args.timeout,
                    devices=["virtio-vswap-pci,id=vs0,size=1G"],
                    extra=["-name", "vm%d" % i,
                           "-qmp", "unix:%s,server=on,wait=off" % sock])
            vms.append(vm)
            socks.append(sock)
            vm.start()
        for vm in vms:
            vm.wait_for(r"VSWAP: READY", 300)
        rcs = [vm.run("load_vswap && swap_on /dev/vswap0") for vm in vms]
        for vm in vms:
            vm.send("hold_start -m %d -p %d -r %d -f %d"
                    % (args.mib, args.procs, args.rounds, args.percent))
        for vm in vms:
            vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
        own = [wait_idle(vm) for vm in vms]
        tap.ok(rcs == [0] * 4 and all(e["stored-pages"] > 0 for e in own),
               "fourvm: four guests swap at once; their stores hold %s pages"
               % [e["stored-pages"] for e in own])
        cmd = [vswapctl, "stats", "--json"]
        for sk in socks:
            cmd += ["--qmp", sk]
        import subprocess
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        rows = {}
        try:
            rows = {d["vm"]: d for d in json.loads(out.stdout)["devices"]}
        except (ValueError, KeyError) as e:
            tap.diag("vswapctl: %s %s" % (e, out.stderr[-400:]))
        own = [vswap_entry(vm) for vm in vms]
        same = all(rows.get("vm%d" % i, {}).get(k) == own[i][k.replace(
            "_", "-")] for i in range(4) for k in
            ("stored_pages", "compressed_bytes", "pool_bytes", "stores"))
        report["vswapctl"] = {k: {f: v.get(f) for f in
                                  ("stored_pages", "pool_bytes")}
                              for k, v in rows.items()}
        tap.ok(out.returncode == 0 and sorted(rows) ==
               ["vm0", "vm1", "vm2", "vm3"] and same,
               "fourvm: vswapctl stats --qmp x4 lists the four VMs, each "
               "row the VM's own store (%s)" % report["vswapctl"],
               out.stderr[-400:])
        for vm in vms:
            vm.send("hold_release")
        results = []
        for vm in vms:
            m = vm.wait_for(r"WORKLOAD: RESULT (.*)", args.timeout)
            results.append(kv(m.group(1)))
        per_proc = args.mib * MIB // PAGE // args.procs
        expect = args.procs * (2 * per_proc + args.rounds *
                               (per_proc * args.percent // 100))
        report["workloads"] = results
        tap.ok(all(r.get("wrong") == 0 and r.get("checked") == expect
                   for r in results),
               "fourvm: every workload re-read its pages bit-exact (%s)"
               % [r.get("checked") for r in results])
    return report


def find_vswap_chunk(data):
    """Offset of the payload of a compressed record in the first RECORDS
    chunk of the saved stream @data, or None. A RECORDS chunk is tag 2,
    be32 length, then records (vswap.h: 8 bytes of header, a CRC, the
    body); the chunk found must parse whole, which rules out a look-alike
    in RAM."""
    import struct
    pos = 0
    while True:
        pos = data.find(b"\x00\x00\x00\x02", pos + 1)
        if pos < 0 or pos + 8 > len(data):
            return None
        (n,) = struct.unpack(">I", data[pos + 4:pos + 8])
        if not 12 <= n <= 256 * 1024 or pos + 8 + n > len(data):
            continue
        off, end, target = pos + 8, pos + 8 + n, None
        while off + 12 <= end:
            kind, codec = data[off + 4], data[off + 5]
            (ln,) = struct.unpack("<H", data[off + 6:off + 8])
            size = {0: 12, 1: 12, 2: 20}.get(kind, 12 + ln)
            if kind > 4 or (kind < 3 and (ln or codec)) or \
                    (kind >= 3 and not 0 < ln <= 4096):
                break
            if kind == 3 and target is None:
                target = off + 12
            off += size
        if off == end and target is not None:
            return target


def migrate_save_scenario(args, tap):
    """What virsh save / restore and a failed migration do (issue 14):
    while the guest swaps, a migration to a destination is cancelled
    midway, and another's destination is killed mid-stream (the source
    runs on, unharmed, both times); then the VM is saved to a
    file (migrate "file:"); a copy of the file with one byte flipped in a
    compressed page of the store's section is refused by a restoring
    QEMU, with the device's message, and a copy with a wrong header
    magic too; the intact file restores, and the workload finishes there
    bit-exact."""
    report = {"scenario": "migrate-save", "mem_mib": args.mem,
              "workload_mib": args.mib}
    opts = args.device_opts or ""
    devices = ["virtio-vswap-pci,id=vs0," + opts]
    vms = []
    t0 = time.time()
    wl, expect = direct_workload(args)
    path = os.path.join(args.workdir, "saved.vm")
    with guest_scenario(tap, "migrate-save", report, vms, t0, diag=mig_diag,
                        cleanup=lambda: remove_file(path)):
        a = mig_vm(args, "a", devices, [])
        vms.append(a)
        a.start()
        a.wait_for(r"VSWAP: READY", 240)
        rc = a.run("load_vswap && swap_on /dev/vswap0")
        seq = a.send("(%s); r=$?; vmstat; [ $r = 0 ]" % wl)
        st = wait_store(a, lambda e: e["stored-pages"] > 8000, 300)
        tap.ok(rc == 0 and st["stored-pages"] > 8000,
               "migrate-save: the guest is swapping (%d pages stored)"
               % st["stored-pages"])

        # Interrupted midway: cancelled by the source, or the destination
        # killed; either way the source runs on and keeps swapping.
        a.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 4 << 20})
        for side, want, what in (
                ("b", "cancelled", "migrate_cancel midway"),
                ("b2", "failed", "the destination killed mid-stream")):
            b = mig_vm(args, side, devices, [], incoming=True)
            vms.append(b)
            b.start()
            sock = os.path.join(args.workdir, "mig-%s.sock" % side)
            b.qmp.cmd("migrate-incoming", uri="unix:" + sock)
            a.qmp.cmd("migrate", uri="unix:" + sock)
            a.idle(3)
            if want == "cancelled":
                a.qmp.cmd("migrate_cancel")
            else:
                b.machine.kill()
            r = migration_end(a, 60)
            run = a.qmp.cmd("query-status")
            # stores and loads: a verify pass of the workload only loads
            e = vswap_entry(a)
            before = e["stores"] + e["loads"]
            a.idle(5)
            e = vswap_entry(a)
            after = e["stores"] + e["loads"]
            tap.ok(r.get("status") == want and run["running"] and
                   after > before,
                   "migrate-save: %s: status %s, the source runs on and "
                   "keeps swapping (%d -> %d stores + loads)"
                   % (what, r.get("status"), before, after))
            b.stop()

        # A background snapshot (saved while the VM runs on) would save
        # the store after the snapshot point: refused, the VM runs on.
        try:
            a.qmp.cmd("migrate-set-capabilities", capabilities=[
                {"capability": "background-snapshot", "state": True}])
            bg = True
        except Exception as e:   # the host kernel lacks uffd-wp
            bg = str(e)
        if bg is True:
            a.qmp.cmd("migrate", uri="file:" + path + ".bg")
            r = migration_end(a, 60)
            a.qmp.cmd("migrate-set-capabilities", capabilities=[
                {"capability": "background-snapshot", "state": False}])
            run = a.qmp.cmd("query-status")
            remove_file(path + ".bg")
            tap.ok(r.get("status") == "failed" and
                   "virtio-vswap: a background snapshot" in
                   r.get("error-desc", "") and
                   run["running"],
                   "migrate-save: a background snapshot is refused with "
                   "the device's reason, the VM runs on",
                   "status %s, %s" % (r.get("status"), r.get("error-desc")))
        else:
            tap.skip("migrate-save: a background snapshot is refused",
                     "this host cannot take one: %s" % bg)

        # save to a file, as virsh save does
        tap.ok(a.finished(seq) is None, "migrate-save: the workload still "
               "runs when the VM is saved")
        remove_file(path)
        a.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        a.qmp.cmd("migrate", uri="file:" + path)
        r = migration_end(a, 600)
        saved = store_content(a)
        tap.ok(r.get("status") == "completed" and os.path.getsize(path) > 0,
               "migrate-save: saved to a file (%d MiB, store %s)"
               % (os.path.getsize(path) >> 20, saved))
        a.stop()
        with open(path, "rb") as f:
            data = bytearray(f.read())

        def refused(name, blob, want):
            bad = path + "." + name
            with open(bad, "wb") as f:
                f.write(blob)
            c = mig_vm(args, name, devices, [], incoming=True)
            vms.append(c)
            c.start()
            try:
                c.qmp.cmd("migrate-incoming", uri="file:" + bad)
                status = incoming_status(c, 120)
            except VMError:
                status = None   # QEMU exits when the load fails
            c.stop()
            log = mig_qemu_log(c)
            os.unlink(bad)
            tap.ok(status != "paused" and want in log,
                   "migrate-save: a restore from a file with %s is refused "
                   "with the device's message" % name,
                   "status %s; log: %s" % (status, log[-600:]))

        at = find_vswap_chunk(bytes(data))
        if tap.ok(at is not None, "migrate-save: a compressed page of the "
                  "store found in the saved file"):
            blob = bytearray(data)
            blob[at + 3] ^= 0x20
            refused("flipped-page", blob, "checksum mismatch")
            # the record's slot number: the page would land in another
            # slot (stream version 3's CRC covers the header too)
            blob = bytearray(data)
            blob[at - 12] ^= 0x01
            refused("flipped-slot", blob, "checksum mismatch")
        magic = bytes(data).find(b"VSWP")
        if tap.ok(magic > 0, "migrate-save: the store's header found"):
            blob = bytearray(data)
            blob[magic] ^= 0x01
            refused("bad-magic", blob, "not a virtio-vswap stream")

        # restore, as virsh restore does
        c = mig_vm(args, "restored", devices, [], incoming=True)
        vms.append(c)
        c.start()
        c.qmp.cmd("migrate-incoming", uri="file:" + path)
        incoming_status(c, 300)
        got = store_content(c)
        tap.ok(same_content(saved, got), "migrate-save: restored from the "
               "file, the "
               "store holds what was saved (%s)" % got)
        c.qmp.cmd("cont")
        c.seq = a.seq
        rc, res = workload_end(c, seq, args.timeout)
        report["workload"] = res
        tap.ok(rc == 0 and res.get("wrong") == 0 and
               res.get("checked") == expect,
               "migrate-save: the workload finished on the restored VM, "
               "every page bit-exact (%s of %d checked)"
               % (res.get("checked"), expect))
    return report


def dmesg_count(vm, text):
    """Lines of the guest's kernel log containing @text (-1: no answer)."""
    _, lines = vm.run_lines("dmesg | grep -c '%s' | sed 's/^/VSWAP: N /'"
                            % text, "VSWAP: N ")
    return int(lines[-1]) if lines else -1


def suspend_s3(vm, timeout=180):
    """Suspend the guest to RAM and wake it with QMP system_wakeup once
    QEMU says SUSPEND. Returns (the suspend command's exit status, QMP
    status while suspended, the store's content while suspended)."""
    seq = vm.send("echo deep > /sys/power/mem_sleep && "
                  "echo mem > /sys/power/state")
    status = during = None
    if wait_event(vm, "SUSPEND", 60) is not None:
        status = vm.qmp.cmd("query-status").get("status")
        during = store_content(vm)
        vm.qmp.cmd("system_wakeup")
    m = vm.wait_for(r"VSWAP: RC %d (\d+)" % seq, timeout)
    return int(m.group(1)), status, during


def suspend_scenario(args, tap):
    """Suspend and resume with pages in the store (issue 15 #1, spec
    6.8): the driver sends SUSPEND in its freeze, so the resets of the
    freeze, of QEMU's wake-up and of the restore keep the store.
    First boot: a workload fills and holds, the guest suspends to RAM
    (S3, mem_sleep "deep"), QMP system_reset while it sleeps, then cont:
    the store is empty (a system reset empties it whatever the driver
    armed), and the firmware resumes the guest (its S3 resume flag), so
    the driver finds another store_id: every request fails, the
    workload's processes fail, none reads a zero page as data; the
    guest reboots (sysrq b). Second boot: the same fill, S3, QMP
    system_wakeup: the store keeps its content over the three resets and
    the workload verifies every page; hibernation is refused while swap
    is on (the store would not survive the power-off).
    One S3 per boot: under TCG a second S3 of the same boot never
    reaches QEMU (the guest returns at once, then hangs), with or without
    the driver loaded. Not s2idle either: woken by serial input, the
    guest's clock stood still after it and the next command hung."""
    report = {"scenario": "suspend", "mem_mib": args.mem,
              "workload_mib": args.mib}
    # tsc=reliable: after an S3 resume the ACPI PM timer of this q35
    # machine reads 0xffffff and stands still; the clocksource watchdog
    # then calls the TSC unstable and switches to that timer, time stops
    # and every timed wait in the guest hangs (seen: the workload never
    # finished after system_wakeup). The TSC keeps running.
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, timeout=args.timeout, append="tsc=reliable",
            devices=["virtio-vswap-pci,id=vs0,%s" % args.device_opts])
    # The workload in a cgroup of an eighth of its size: the rest of the
    # guest keeps free memory, as a resume needs some and runs with
    # GFP_NOIO (no swapping then; with every page of the guest taken,
    # request_irq() in the restore failed once), and only the workload's
    # pages go to the device (init's would be lost with the store).
    hold = hold_cmd(args).replace(
        "hold_start", "hold_start_cg %d" % (args.mib // 8), 1)

    def fill(boot):
        vm.wait_for(r"VSWAP: READY", 180)
        before = vswap_entry(vm)["invalidate-requests"]
        rc = vm.run("load_vswap")
        # The probe of a driver with F_SUSPEND empties whatever store a
        # driver instance before it left kept (spec 8.6): one INVALIDATE
        # per 2^32 - 1 slots of the capacity.
        e = vswap_entry(vm)
        want = -(-e["capacity"] // 0xffffffff)
        sent = e["invalidate-requests"] - before
        tap.ok(rc == 0 and sent == want,
               "suspend: boot %d: the probe invalidated the whole capacity "
               "(%d INVALIDATE requests, %d expected)" % (boot, sent, want))
        rc = vm.run("swap_on /dev/vswap0")
        vm.run(hold)
        vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
        st = wait_idle(vm)
        tap.ok(rc == 0 and st.get("stored-pages", 0) > 0,
               "suspend: boot %d: swap on /dev/vswap0, the workload "
               "filled and holds, %d pages in the store"
               % (boot, st.get("stored-pages", 0)))
        return store_content(vm)

    t0 = time.time()
    vm.start()
    with guest_scenario(tap, "suspend", report, [vm], t0):
        m = vm.wait_for(r"VSWAP: BOOT (\S+)", 180)
        held = fill(1)
        rc, lines = vm.run_lines("dmesg | grep 'vswap0:'", "")
        tap.ok(any(", suspend" in ln for ln in lines),
               "suspend: guest %s: the driver negotiated "
               "VIRTIO_VSWAP_F_SUSPEND" % m.group(1), "\n".join(lines))
        seq = vm.send("echo deep > /sys/power/mem_sleep && "
                      "echo mem > /sys/power/state")
        ev = wait_event(vm, "SUSPEND", 60)
        during = store_content(vm) if ev else None
        vm.qmp.cmd("system_reset")
        # A reset of a suspended VM leaves it stopped (prelaunch); on
        # "cont" the firmware finds the S3 resume flag and resumes the
        # guest: a system reset under a suspended guest, so the device
        # emptied the store and gave it a new store_id.
        vm.idle(1)
        report["status_after_reset"] = vm.qmp.cmd(
            "query-status").get("status")
        if report["status_after_reset"] != "running":
            vm.qmp.cmd("cont")
        rc = int(vm.wait_for(r"VSWAP: RC %d (\d+)" % seq, 120).group(1))
        st = wait_store(vm, lambda s: s.get("stored-pages", 0) == 0, 10)
        report["store_after_reset"] = st
        lost = dmesg_count(vm, "emptied while suspended")
        tap.ok(ev is not None and during == held and rc == 0 and
               st.get("stored-pages", -1) == 0 and
               pool_data(st) <= args.pool_slack and lost == 1,
               "suspend: S3 with %d pages stored (kept while asleep), "
               "then system_reset and cont: the store is empty (%s pages, "
               "pool %s bytes), the resumed driver sees another store_id "
               "and says the pages are lost" % (held["stored-pages"],
                                                 st.get("stored-pages"),
                                                 st.get("pool-bytes")),
               "held %s\nduring %s" % (held, during))
        # Lost pages must fail, never read back as zeroes.
        vm.run("hold_release")
        m = vm.wait_for(r"WORKLOAD: RESULT (.*)", args.timeout)
        res = kv(m.group(1))
        report["workload_lost"] = res
        tap.ok(res.get("failed_procs", 0) == args.procs and
               res.get("wrong", 1) == 0,
               "suspend: the workload's processes fail on the lost pages "
               "(%s of %d), none read wrong data (%s wrong)"
               % (res.get("failed_procs"), args.procs, res.get("wrong")))
        vm.send("echo b > /proc/sysrq-trigger")
        vm.wait_for(r"VSWAP: BOOT", 180)

        before = fill(2)
        report["store_before"] = before
        d0 = driver_stats(vm)
        rc, status, during = suspend_s3(vm)
        after = store_content(vm)
        d1 = driver_stats(vm)
        kept = d1["suspended"] - d0["suspended"]
        dropped = d1["dropped"] - d0["dropped"]
        stored = d1["store_pages"] - d0["store_pages"]
        report["store_s3"] = {"before": before, "during": during,
                              "after": after, "frees_kept": kept,
                              "frees_dropped": dropped,
                              "pages_stored": stored}
        # Between "before" and QEMU's SUSPEND the guest may still free
        # a few slots (suspend entry faults some pages in): the store may
        # shrink a little, never empty. From the freeze on (the device's
        # own reset) it keeps everything; slots the guest frees while the
        # driver is suspended are kept (column "suspended") and
        # invalidated after the resume, none dropped: the store may
        # shrink by those only. After the resume reclaim may swap out a
        # few more pages (seen: 10): it may grow by the pages the driver
        # stored since "before", no more.
        shrunk = (during["stored-pages"] - after["stored-pages"]
                  if during else None)   # the check fails on during first
        tap.ok(rc == 0 and status == "suspended" and during is not None
               and during["stored-pages"] >= 0.95 * before["stored-pages"]
               and -stored <= shrunk <= kept and dropped == 0,
               "suspend: S3 with %d pages in the store, QMP "
               "system_wakeup: the guest resumed, the store kept its "
               "content over the freeze, wake-up and restore resets (%s "
               "pages; %d slots freed while suspended kept and "
               "invalidated after it, %d dropped)"
               % (before["stored-pages"], during and during["stored-pages"],
                  kept, dropped),
               "before %s\nduring %s\nafter %s\nstatus %s rc %s, "
               "%d pages stored since before"
               % (before, during, after, status, rc, stored))
        tap.ok(dmesg_count(vm, "resumed, the host kept") == 1,
               "suspend: the driver says it resumed with the store kept")

        rc = vm.run("echo disk > /sys/power/state")
        said = dmesg_count(vm, "refusing hibernation")
        tap.ok(rc != 0 and said >= 1,
               "suspend: hibernation refused while swap is on the device "
               "(echo disk fails, the driver says why)",
               "rc %d, messages %d" % (rc, said))

        vm.run("hold_release")
        workload_result(vm, args, tap, report)
        m, _ = vm.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(int(m.group(1)) == 0, "suspend: dmesg has no "
               "WARN/BUG/Oops after the suspend and resume")
    return report


def smallpool_scenario(args, tap):
    """A very small pool-max without a disk tier in a real guest (issue 15
    #5): the guest pushes all its memory out (memory.reclaim, which fails
    instead of OOM-killing when the device refuses), the pool fills to its
    cap and no further (sampled all along, pool-bytes-peak too), the
    device refuses the rest with NO_SPACE (host counter, QMP event, the
    guest driver's counter), the guest keeps those pages and lives on, and
    the workload then verifies every page."""
    report = {"scenario": "smallpool", "mem_mib": args.mem,
              "workload_mib": args.mib, "pool_max_mib": args.pool_max}
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, timeout=args.timeout,
            devices=["virtio-vswap-pci,id=vs0,%s,pool-max=%dM"
                     % (args.device_opts, args.pool_max)])
    t0 = time.time()
    vm.start()
    with guest_scenario(tap, "smallpool", report, [vm], t0):
        vm.wait_for(r"VSWAP: READY", 240)
        sampler = PoolSampler(vm, args.sample_interval)
        vm.on_poll = sampler
        rc = vm.run("load_vswap && swap_on /dev/vswap0")
        vm.run(hold_cmd(args))
        vm.wait_for(r"WORKLOAD: HOLD", args.timeout)
        m, _ = vm.run_capture("reclaim %dM" % (2 * args.mem),
                              r"VSWAP: RECLAIM rc=(\d+)", args.timeout)
        st = sampler.take()
        d = driver_stats(vm)
        ev = wait_event(vm, "VSWAP_NO_SPACE", 10, id="vs0")
        report.update(host_full=st, driver_full=d)
        tap.ok(rc == 0 and st.get("stored-pages", 0) > 0 and
               st.get("store-nospace", 0) > 0 and d["no_space"] > 0 and
               ev is not None and int(m.group(1)) != 0,
               "smallpool: pool-max %d MiB, no disk tier: the guest pushed "
               "its memory out; %d pages stored, then stores refused "
               "(store-nospace %d, guest driver no_space %d, "
               "VSWAP_NO_SPACE on QMP); memory.reclaim failed (rc %s) "
               "instead of an OOM kill"
               % (args.pool_max, st.get("stored-pages", 0),
                  st.get("store-nospace", 0), d["no_space"], m.group(1)))
        # The driver's back-off: after a NO_SPACE it refuses STOREs
        # itself for a while. Without it every retry of reclaim was a
        # request the device refused (985,495 for 1,926 pages stored);
        # with it most never leave the guest (measured: 1,005,999 kept
        # in the guest, 26,469 refused by the device).
        tap.ok(d["no_space_backoff"] > st.get("store-nospace", 0) > 0,
               "smallpool: the guest backs off after NO_SPACE: %d STOREs "
               "refused by the driver without a request, %d by the device "
               "(%d pages stored)"
               % (d["no_space_backoff"], st.get("store-nospace", 0),
                  st.get("stored-pages", 0)))
        vm.run("hold_release")
        workload_result(vm, args, tap, report)
        h1 = sampler.take()
        check_cap(tap, args, sampler, h1, "whole run")
        rc = vm.run("swapoff /dev/vswap0", 600)
        m, _ = vm.run_capture("dmesg_check", r"VSWAP: DMESG bad=(\d+)")
        tap.ok(rc == 0 and int(m.group(1)) == 0,
               "smallpool: swapoff, guest dmesg has no WARN/BUG/Oops")
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["vswap", "zram"], default="vswap")
    ap.add_argument("--scenario",
                    choices=["basic", "tier", "diskfull", "compare",
                             "hotplug", "twodev", "migrate",
                             "migrate-save", "migrate-idle", "options",
                             "fourvm", "suspend", "smallpool"],
                    default="basic", help="tier, diskfull, hotplug: vswap "
                    "only; compare: vswap, then zram")
    ap.add_argument("--pool-max", type=int, default=16,
                    help="tier/diskfull: device pool-max, MiB")
    ap.add_argument("--backing-dir",
                    help="tier/diskfull: directory of the backing file "
                    "(default: the workdir)")
    ap.add_argument("--backing-max", type=int, default=0,
                    help="tier/diskfull: device backing-max, MiB")
    ap.add_argument("--keep-free", type=int, default=2,
                    help="diskfull: MiB the filler leaves free")
    ap.add_argument("--wb-age", type=int, default=5,
                    help="tier: vswap-writeback min-age, seconds")
    ap.add_argument("--sample-interval", type=float, default=0.5,
                    help="tier/diskfull: query-vswap period, seconds")
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mem", type=int, default=256, help="guest MiB")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--cpu", help="basic scenario: QEMU -cpu model (max: "
                    "RDRAND, so the guest's crng is ready at boot)")
    ap.add_argument("--mib", type=int, default=0,
                    help="workload MiB (default 3x guest RAM)")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--percent", type=int, default=100,
                    help="pages touched per random round, in percent")
    ap.add_argument("--no-final", action="store_true",
                    help="tier/diskfull: with --rounds 0, one verify pass "
                    "after the hold (workload -1)")
    ap.add_argument("--migrate-opts", default="",
                    help="migrate: 'backing' adds pool-max (--pool-max) "
                    "and a backing file on each side")
    ap.add_argument("--swap-mib", type=int, default=0)
    # 2 GiB: enough for the workload; the 64 GiB default costs a 256 MiB
    # guest ~20 MiB of swap_map and cluster info.
    ap.add_argument("--device-opts", default="size=2G")
    ap.add_argument("--pool-slack", type=int, default=1 << 20,
                    help="pool bytes still 'near 0' after everything is freed")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--report", help="write the numbers as JSON here")
    args = ap.parse_args()
    if args.scenario != "basic":
        args.backend = "vswap"
    if not args.mib:
        args.mib = (4 if args.scenario == "tier" else 3) * args.mem
    if not args.swap_mib:
        args.swap_mib = args.mib + args.mem
    tap = Tap()
    if args.scenario == "tier":
        report = tier_scenario(args, tap)
    elif args.scenario == "hotplug":
        report = hotplug_scenario(args, tap)
    elif args.scenario == "diskfull":
        report = diskfull_scenario(args, tap)
    elif args.scenario == "twodev":
        report = twodev_scenario(args, tap)
    elif args.scenario == "compare":
        report = compare_scenario(args, tap)
    elif args.scenario == "migrate":
        report = migrate_live_scenario(args, tap)
    elif args.scenario == "migrate-save":
        report = migrate_save_scenario(args, tap)
    elif args.scenario == "migrate-idle":
        report = migrate_idle_scenario(args, tap)
    elif args.scenario == "options":
        report = options_scenario(args, tap)
    elif args.scenario == "fourvm":
        report = fourvm_scenario(args, tap)
    elif args.scenario == "suspend":
        report = suspend_scenario(args, tap)
    elif args.scenario == "smallpool":
        report = smallpool_scenario(args, tap)
    else:
        report = scenario(args, tap)
    report["tap_failed"] = tap.failed
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True)
    return tap.end()


if __name__ == "__main__":
    sys.exit(main())
