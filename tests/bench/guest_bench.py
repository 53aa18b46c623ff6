#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-guest: virtio-vswap against what a guest can do alone, one run.

Every (workload, size, configuration) is a fresh guest (tests/lib/vm.py)
on the same plugin-enabled QEMU, the same kernel and initramfs, the same
workload and seed; QEMU runs with the TCG instruction-counting plugin.

  guest_bench.py --qemu Q --plugin libinsn.so --kernel K --initrd I
                 --workdir D --out guest.json [--configs ...] [--sizes ...]

Configurations (--configs, in this order by default):
  vswap          virtio-vswap-pci with its defaults (+ --vswap-props),
                 driver module parameters --vswap-modparams
  vswap-zstd     the same with compress=zstd
  zram           guest zram, lz4, sized so it never fills
  zswap          guest zswap (lz4, zsmalloc) in front of swap on virtio-blk
                 (a host file, cache=none)
  blk-none       swap on virtio-blk, a host file, cache=none
  blk-writeback  the same with cache=writeback
  noswap         no swap, guest RAM = workload + --mem (the upper bound;
                 its instruction count is what the others subtract)
Workloads (--workloads): e2e (tests/lib/guest/workload.c's mix) and
corpus (real process memory, /data/corpus.bin in the initramfs), at
--sizes multiples of --mem (0.75x: a size guest zram completes in a
128 MiB guest, to compare with it; 1x, 2x, 3x), 2 processes, fill, a timed first read pass
(-L), a rewrite pass that checks first, a final read pass, every page
verified. A configuration that fails (OOM, wrong pages, timeout) at a size
is not run at the larger sizes (it would fail there too).

Per run (JSON "runs"): the workload's own time less the hold after its
fill pass, the guest's vmstat, QEMU's process and per-thread CPU times
(vCPU threads are "CPU n/TCG"), VmHWM, the store's pool at the hold,
query-vswap counters, the page-in latency histogram, and the plugin's
"total insns" for the whole QEMU run. report.py turns them into metrics,
targets, a table and a plot.

Then, per workload, "bytes" runs (bytes_run(), "kind": "bytes") of the
configurations with a pool of their own, at the largest size where vswap
and zram both completed: the whole workload swapped out before the pools
are read, so that they hold the same pages.
"""
import argparse
import fcntl
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from vm import VM, VMError, kv, vswap_entry  # noqa: E402
from report import pick_size  # noqa: E402  (this directory)

PAGE = 4096
CONFIGS = ["vswap", "vswap-zstd", "zram", "zswap", "blk-none",
           "blk-writeback", "noswap"]
WORKLOADS = ["e2e", "corpus"]
# Configurations whose pool bytes_run() reads with everything swapped out.
BYTES_CONFIGS = ["vswap", "vswap-zstd", "zram", "zswap"]
CORPUS_IN_GUEST = "/data/corpus.bin"


def log(msg):
    print("# " + msg, flush=True)


# --- host side: QEMU's threads ---------------------------------------------

def qemu_threads(pid):
    """CPU seconds of the whole QEMU process (exited threads included, from
    /proc/PID/stat) and of its vCPU threads (named "CPU n/TCG"), context
    switches of the live threads, and VmHWM (KiB)."""
    tck = os.sysconf("SC_CLK_TCK")

    def cpu(path):
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tck  # utime + stime

    out = {"all": cpu("/proc/%d/stat" % pid), "vcpu": 0.0, "vcpus": 0,
           "voluntary_switches": 0, "involuntary_switches": 0,
           "threads": 0}
    for tid in os.listdir("/proc/%d/task" % pid):
        d = "/proc/%d/task/%s" % (pid, tid)
        try:
            with open(d + "/comm") as f:
                comm = f.read().strip()
            c = cpu(d + "/stat")
            with open(d + "/status") as f:
                st = f.read()
        except OSError:          # the thread ended meanwhile
            continue
        out["threads"] += 1
        if re.match(r"CPU \d+/TCG", comm):
            out["vcpu"] += c
            out["vcpus"] += 1
        for k in ("voluntary", "involuntary"):
            m = re.search(r"^%s_ctxt_switches:\s+(\d+)" %
                          ("non" + k[2:] if k[0] == "i" else k), st, re.M)
            if m:
                out[k + "_switches"] += int(m.group(1))
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^VmHWM:\s+(\d+)", f.read(), re.M)
    out["vm_hwm_kib"] = int(m.group(1)) if m else None
    return out


def guest_line(vm, cmd, pattern, timeout=120):
    """A read-only query (vmstat, meminfo, the zram/zswap stats): asked
    again once if its answer does not come. Seen once in a full run: the
    command line reached the guest's shell garbled ("VSWAP: RC  0", no
    sequence, no output) and the whole e2e no-swap baseline was lost."""
    try:
        m, rc = vm.run_capture(cmd, pattern, timeout / 4)
    except VMError as e:
        if not str(e).startswith("timeout"):
            raise
        print("# guest command %r got no answer (%s): asked again"
              % (cmd, e), flush=True)
        m, rc = vm.run_capture(cmd, pattern, timeout)
    if rc != 0:
        raise VMError("guest command %r failed (%d)" % (cmd, rc))
    return m


# --- one run -----------------------------------------------------------------

def setup(a, cfg, mib, mem, wd):
    """QEMU devices/arguments and the guest commands that turn swap on."""
    devices, extra, cmds, disk = [], [], [], None
    # The device and the disks get the same swap size. It matters beyond
    # room: once swap is more than half full (vm_swap_full()) the kernel
    # frees a swapped-in page's slot, and the page, clean, must be written
    # again at the next eviction; a smaller swap file would make the disk
    # configurations write up to twice as many pages. Zram is sized apart:
    # its slot table costs guest memory per slot, and as a synchronous
    # device it frees the slot on every swap-in whatever its size.
    swap_mib = max(2048, 2 * mib)
    if cfg.startswith("vswap"):
        props = ["size=%dM" % swap_mib]
        if cfg == "vswap-zstd":
            props.append("compress=zstd")
        if a.vswap_props:
            props.append(a.vswap_props)
        devices.append("virtio-vswap-pci,id=vs0," + ",".join(props))
        cmds += ["load_vswap %s" % a.vswap_modparams, "swap_on /dev/vswap0"]
    elif cfg == "zram":
        cmds += ["zram_setup %d" % (mib + mem), "swap_on /dev/zram0"]
    elif cfg in ("zswap", "blk-none", "blk-writeback"):
        disk = os.path.join(wd, "swap.img")
        with open(disk, "wb") as f:
            f.truncate(swap_mib << 20)
        cache = "writeback" if cfg == "blk-writeback" else "none"
        extra += ["-drive", "file=%s,format=raw,if=none,id=d0,cache=%s"
                  % (disk, cache)]
        devices.append("virtio-blk-pci,drive=d0")
        cmds.append("load_mods virtio_blk")
        if cfg == "zswap":
            cmds.append("zswap_setup")
        cmds.append("swap_on /dev/vda")
    elif cfg != "noswap":
        raise SystemExit("unknown configuration %s" % cfg)
    return devices, extra, cmds, disk


def pool_at_hold(vm, cfg, disk):
    """The store's own bytes and pages while the workload holds."""
    if cfg.startswith("vswap"):
        st = vswap_entry(vm)
        # compressed_bytes: the payload, as zram's compr_data_size
        return {"pool_bytes": st.get("pool-bytes"),
                "stored_pages": st.get("stored-pages"),
                "meta_bytes": st.get("meta-bytes"),
                "compressed_bytes": st.get("compressed-bytes")}
    if cfg == "zram":
        m = guest_line(vm, "zram_stat", r"VSWAP: ZRAM mm_stat (.*)")
        v = [int(x) for x in m.group(1).split()]
        return {"pool_bytes": v[2], "stored_pages": v[0] // PAGE,
                "compr_data_size": v[1], "same_pages": v[5],
                "huge_pages": v[7]}
    if cfg == "zswap":
        m = guest_line(vm, "zswap_stat", r"VSWAP: ZSWAP stat (.*)")
        z = kv(m.group(1))
        return {"pool_bytes": z.get("pool_total_size"),
                "stored_pages": z.get("stored_pages"), "zswap": z}
    if disk:
        return {"file_bytes": os.stat(disk).st_blocks * 512}
    return {}


def swap_in_use_kib(vm):
    m = guest_line(vm, "meminfo", r"VSWAP: MEM (.*)")
    mi = {k.rstrip(":"): int(v) for k, v in
          re.findall(r"(\w+:)(\d+)", m.group(1))}
    return mi.get("SwapTotal", 0) - mi.get("SwapFree", 0)


def save_kallsyms(a):
    """--profile: the guest kernel's function addresses (KASLR off), from
    a guest of their own so that no measured run prints them; Debian's
    System.map is a placeholder."""
    path = os.path.join(a.workdir, "kallsyms.txt")
    if os.path.exists(path):
        return
    wd = os.path.join(a.workdir, "kallsyms")
    os.makedirs(wd, exist_ok=True)
    vm = VM(a.qemu, a.kernel, a.initrd, wd, mem=a.mem, smp=a.smp,
            append="nokaslr", timeout=900)
    try:
        vm.start()
        vm.wait_for(r"VSWAP: READY", 300)
        rc, lines = vm.run_lines("grep ' [tTwW] ' /proc/kallsyms | "
                                 "sed 's/^/KSYM: /'", "KSYM: ", 600)
        if rc != 0 or not lines:
            raise VMError("no kallsyms from the guest (rc %d)" % rc)
    finally:
        vm.stop()
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(path + ".tmp", path)


def heavy_lock(a):
    """--lock: one heavy job at a time on a shared machine (None: none)."""
    if not a.lock:
        return None
    lock = open(a.lock, "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def run_failed(rec, e):
    """A guest run that ended in VMError: oom and timeout are "did not
    complete", anything else stays an error of the harness or device."""
    msg = str(e)
    if "Out of memory" in msg:
        rec["status"] = "oom"
    elif msg.startswith("timeout") or "deadline" in msg:
        rec["status"] = "timeout"
    rec["reason"] = msg


def run_ended(rec, vm, lock, t0, disk):
    """Stop the guest, free the lock and the swap disk, time the run."""
    vm.stop()
    if lock:
        lock.close()
    rec["wall_seconds"] = round(time.time() - t0, 1)
    if disk and os.path.exists(disk):
        os.unlink(disk)


def run_setup(vm, cmds):
    """The configuration's guest commands (swapon, zram, zswap...)."""
    for c in cmds:
        if vm.run(c, 120) != 0:
            raise VMError("setup %r failed" % c)


def judge(rec, res, expect):
    """The run's verdict from the workload's RESULT: ok only if every one
    of @expect pages was checked and none was wrong."""
    if res["wrong"] or res["failed_procs"] or res["checked"] != expect:
        rec["status"] = "wrong"
        rec["reason"] = ("%d wrong pages, %d failed processes, %d of %d "
                         "checked" % (res["wrong"], res["failed_procs"],
                                      res["checked"], expect))
    else:
        rec["status"] = "ok"


def log_run(name, rec):
    log("%s: %s%s (%.0f s)" % (name, rec["status"],
                               ": " + rec["reason"] if rec.get("reason")
                               else "", rec["wall_seconds"]))


def bytes_run(a, cfg, wl, size):
    """The pools on the same pages: a guest fills the workload, swaps all
    of it out (workload -P: MADV_PAGEOUT), and the store's (or zram's,
    zswap's) pool is read then; the workload then verifies every page
    once. The timed runs read the pools at the hold after the fill, where
    each configuration holds different pages (a device behind the swap
    cache keeps pages the kernel swapped in; zram frees them). No plugin:
    nothing here is counted."""
    mib = int(round(size * a.mem))
    name = "bytes-%s-%gx-%s" % (wl, size, cfg)
    wd = os.path.join(a.workdir, name)
    os.makedirs(wd, exist_ok=True)
    rec = {"config": cfg, "workload": wl, "size": size, "mib": mib,
           "mem": a.mem, "smp": a.smp, "status": "error", "dir": name,
           "kind": "bytes"}
    devices, extra, cmds, disk = setup(a, cfg, mib, a.mem, wd)
    vm = VM(a.qemu, a.kernel, a.initrd, wd, mem=a.mem, smp=a.smp,
            devices=devices, extra=extra, timeout=a.run_timeout)
    lock = heavy_lock(a)
    t0 = time.time()
    log("%s: %d MiB workload, all of it swapped out" % (name, mib))
    try:
        vm.start()
        vm.wait_for(r"VSWAP: READY", 300)
        run_setup(vm, cmds)
        w = "hold_start -m %d -p %d -r 0 -1 -P -s %s" % (mib, a.procs,
                                                         a.seed)
        if wl == "corpus":
            w += " -c " + CORPUS_IN_GUEST
        vm.run(w)
        rec["pagedout"] = kv(vm.wait_for(r"WORKLOAD: PAGEDOUT (.*)",
                                         a.run_timeout).group(1))
        vm.wait_for(r"WORKLOAD: HOLD", 120)
        rec["swap_in_use_kib_at_hold"] = swap_in_use_kib(vm)
        rec["pool_at_hold"] = pool_at_hold(vm, cfg, disk)
        vm.run("hold_release")
        res = kv(vm.wait_for(r"WORKLOAD: RESULT (.*)", a.run_timeout).group(1))
        rec["workload_result"] = res
        judge(rec, res, res["pages"])
    except VMError as e:
        run_failed(rec, e)
    finally:
        run_ended(rec, vm, lock, t0, disk)
    log_run(name, rec)
    return rec


def run_one(a, cfg, wl, size):
    mib = int(round(size * a.mem))
    mem = a.mem + mib if cfg == "noswap" else a.mem
    name = "%s-%gx-%s" % (wl, size, cfg)
    wd = os.path.join(a.workdir, name)
    os.makedirs(wd, exist_ok=True)
    rec = {"config": cfg, "workload": wl, "size": size, "mib": mib,
           "mem": mem, "smp": a.smp, "status": "error", "dir": name}
    devices, extra, cmds, disk = setup(a, cfg, mib, mem, wd)
    insn_log = os.path.join(wd, "insn.log")
    if os.path.exists(insn_log):
        os.unlink(insn_log)
    # debug-threads: QEMU names its threads ("CPU 0/TCG", "worker"...)
    plugin = a.plugin + ",inline=on"
    append = ""
    if a.profile:
        # tbprof.c: instructions per block start address; nokaslr so
        # that save_kallsyms()'s addresses name them (tbprof.py)
        rec["profile"] = os.path.join(wd, "tbprof.txt")
        plugin = a.profile + ",out=" + rec["profile"]
        append = "nokaslr"
    extra += ["-name", "bench,debug-threads=on",
              "-plugin", plugin, "-d", "plugin", "-D", insn_log]
    vm = VM(a.qemu, a.kernel, a.initrd, wd, mem=mem, smp=a.smp,
            append=append, devices=devices, extra=extra,
            timeout=a.run_timeout)
    lock = heavy_lock(a)
    t0 = time.time()
    log("%s: %d MiB workload, %d MiB guest" % (name, mib, mem))
    try:
        vm.start()
        pid = vm.machine.get_pid()
        vm.wait_for(r"VSWAP: BOOT (\S+)", 300)
        vm.wait_for(r"VSWAP: READY", 60)
        rec["boot_seconds"] = round(time.time() - t0, 1)
        run_setup(vm, cmds)
        v0 = kv(guest_line(vm, "vmstat", r"VSWAP: VMSTAT (.*)").group(1))
        h0 = vswap_entry(vm) if cfg.startswith("vswap") else None
        c0 = qemu_threads(pid)
        t_c0 = time.time()
        w = "hold_start -m %d -p %d -r 1 -f 100 -s %s -L" % (
            mib, a.procs, a.seed)
        if wl == "corpus":
            w += " -c " + CORPUS_IN_GUEST
        t_w = time.time()
        vm.run(w)
        vm.wait_for(r"WORKLOAD: HOLD", a.run_timeout)
        rec["fill_wall_seconds"] = round(time.time() - t_w, 1)
        ch = qemu_threads(pid)
        hh = vswap_entry(vm) if h0 else None
        rec["swap_in_use_kib_at_hold"] = swap_in_use_kib(vm)
        vh = kv(guest_line(vm, "vmstat", r"VSWAP: VMSTAT (.*)").group(1))
        rec["pool_at_hold"] = pool_at_hold(vm, cfg, disk)
        vm.run("hold_release")
        kinds = kv(vm.wait_for(r"WORKLOAD: KINDS (.*)", a.run_timeout).group(1))
        lat = kv(vm.wait_for(r"WORKLOAD: LATENCY (.*)", 120).group(1))
        hist = vm.wait_for(r"WORKLOAD: LATHIST(.*)", 60).group(1)
        res = kv(vm.wait_for(r"WORKLOAD: RESULT (.*)", 120).group(1))
        c1 = qemu_threads(pid)
        # Wall time of the c0 -> c1 CPU deltas (report.py: the no-swap
        # run's rate of non-vCPU CPU per second).
        rec["cpu_span_seconds"] = round(time.time() - t_c0, 2)
        h1 = vswap_entry(vm) if h0 else None
        v1 = kv(guest_line(vm, "vmstat", r"VSWAP: VMSTAT (.*)").group(1))
        rec.update(workload_result=res, kinds=kinds, latency=lat,
                   lathist={int(b): int(n) for b, n in
                            (t.split(":") for t in hist.split())},
                   vmstat={"start": v0, "hold": vh, "end": v1},
                   qemu={"start": c0, "hold": ch, "end": c1},
                   work_seconds=res.get("work_seconds"))
        if h0:
            rec["vswap"] = {"start": h0, "hold": hh, "end": h1}
        if a.profile:       # where each module sits, for tbprof.py
            rec["modules"] = vm.run_lines(
                "sed 's/^/MOD: /' /proc/modules; for t in "
                "/sys/module/*/sections/.text; do echo MOD: text $t "
                "$(cat $t); done", "MOD: ")[1]
        expect = 3 * res["pages"]      # verify, rewrite (checks), final
        judge(rec, res, expect)
    except VMError as e:
        run_failed(rec, e)
    finally:
        if disk:
            rec.setdefault("pool_at_hold", {})
        run_ended(rec, vm, lock, t0, disk)
    try:
        with open(insn_log) as f:
            m = re.search(r"total insns: (\d+)", f.read())
        rec["insns"] = int(m.group(1)) if m else None
    except OSError:
        rec["insns"] = None
    if rec["status"] == "ok" and rec["insns"] is None:
        rec["status"] = "error"
        rec["reason"] = "no instruction count from the plugin (%s)" % insn_log
    log_run(name, rec)
    return rec


def save(a, out):
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--plugin", required=True, help="libinsn.so")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True, help="guest.json")
    ap.add_argument("--configs", default=" ".join(CONFIGS))
    ap.add_argument("--workloads", default=" ".join(WORKLOADS))
    ap.add_argument("--sizes", default="0.75 1 2 3",
                    help="workload sizes, multiples of --mem")
    ap.add_argument("--mem", type=int, default=128, help="guest MiB")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--seed", default="0x5eed5eed")
    ap.add_argument("--vswap-props", default="",
                    help="more virtio-vswap-pci properties, a,b=c")
    ap.add_argument("--vswap-modparams", default="",
                    help="virtio_vswap module parameters, a=b c=d")
    ap.add_argument("--run-timeout", type=int, default=2400,
                    help="seconds one guest may take")
    ap.add_argument("--lock", default=os.environ.get("BENCH_LOCK"),
                    help="hold an flock on this file during each guest run "
                    "($BENCH_LOCK)")
    ap.add_argument("--profile", help="libtbprof.so (tbprof.c) instead of "
                    "--plugin: instructions per guest code address, "
                    "KASLR off (tbprof.py reads them)")
    ap.add_argument("--no-bytes-runs", dest="bytes_runs",
                    action="store_false",
                    help="skip the runs that compare the pools with the "
                    "whole workload swapped out (bytes_run)")
    ap.add_argument("--raw-lz4", help="JSON by workload from rawlz4")
    ap.add_argument("--meta", help="JSON of facts about the run to keep")
    a = ap.parse_args()
    if a.profile:
        a.bytes_runs = False
    configs = a.configs.replace(",", " ").split()
    workloads = a.workloads.replace(",", " ").split()
    sizes = sorted(float(s) for s in a.sizes.replace(",", " ").split())
    sizes = [int(s) if s == int(s) else s for s in sizes]
    for c in configs:
        if c not in CONFIGS:
            ap.error("unknown configuration %s (%s)" % (c, " ".join(CONFIGS)))
    for w in workloads:
        if w not in WORKLOADS:
            ap.error("unknown workload %s" % w)
    os.makedirs(a.workdir, exist_ok=True)
    out = {"meta": {"mem_mib": a.mem, "smp": a.smp, "procs": a.procs,
                    "seed": a.seed, "configs": configs,
                    "workloads": workloads, "sizes": sizes,
                    "vswap_props": a.vswap_props,
                    "vswap_modparams": a.vswap_modparams,
                    "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                    "load_average_start": open("/proc/loadavg").read().split()[:3]},
           "runs": []}
    if a.meta:
        out["meta"].update(json.load(open(a.meta)))
    if a.raw_lz4:
        out["raw_lz4"] = json.load(open(a.raw_lz4))
    t0 = time.time()
    if a.profile:
        save_kallsyms(a)
    for wl in workloads:
        failed = set()
        for size in sizes:
            for cfg in configs:
                if cfg in failed:
                    out["runs"].append(
                        {"config": cfg, "workload": wl, "size": size,
                         "mib": int(round(size * a.mem)),
                         "status": "skipped",
                         "reason": "did not complete at a smaller size"})
                    continue
                rec = run_one(a, cfg, wl, size)
                out["runs"].append(rec)
                if rec["status"] != "ok":
                    failed.add(cfg)
                save(a, out)        # partial results too
        # The pools on the same pages, at the size report.py's bytes
        # target compares vswap and zram (its pick_size()).
        peers = [c for c in ("vswap", "zram") if c in configs]
        by = {(r["workload"], r["size"], r["config"]): r
              for r in out["runs"]}
        at = pick_size(out, by, wl, peers) if peers else None
        if a.bytes_runs and at is not None:
            for cfg in configs:
                if cfg in BYTES_CONFIGS:
                    out["runs"].append(bytes_run(a, cfg, wl, at))
                    save(a, out)
    out["meta"]["seconds"] = round(time.time() - t0)
    out["meta"]["load_average_end"] = open("/proc/loadavg").read().split()[:3]
    save(a, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
