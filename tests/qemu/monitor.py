#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""QMP and HMP of the patched QEMU, no guest (TAP; tests/qemu/run.sh).

  monitor.py QEMU TMPDIR

Three stopped QEMUs (-S), driven with QEMU's own python/qemu/machine and
python/qemu/qmp (tests/lib/qemulib.py):
  1. four devices (both names, JSON -device): query-vswap, qom-set
     pool-max, HMP info vswap; saved to a file (migrate "file:") and
     loaded by a second QEMU with the same devices, refused by a third
     whose vs0 is smaller (the device's message)
  2. -M none: the schema has the events and commands
  3. the disk tier without a guest: backing-file as a path and as
     /dev/fdset/N (-add-fd), its settings in query-vswap and info vswap,
     vswap-writeback's errors and a success
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from qemulib import Machine  # noqa: E402
from tap import Tap  # noqa: E402

QEMU, TMP = sys.argv[1:3]
tap = Tap()


def show(what, reply):
    """The reply in the log, as the shell sessions showed it."""
    tap.diag("%s: %s" % (what, json.dumps(reply)[:300]))


def by_id(devices):
    return {e.get("id"): e for e in devices}


def devices_session():
    args = ["-M", "q35", "-smp", "2", "-S",
            "-device", "virtio-vswap,id=vs0,size=1G",
            "-device", "virtio-vswap-pci,id=vs1,num-queues=1,compress=zstd,"
                       "idle-compact=0",
            "-device", '{"driver":"virtio-vswap","id":"vs2",'
                       '"policy":"bind","host-nodes":[0]}',
            "-device", '{"driver":"virtio-vswap","id":"vs3",'
                       '"policy":"interleave","host-nodes":[0]}']
    with Machine(QEMU, args, workdir=TMP, name="devices") as m:
        m.launch()
        r = m.qmp("query-vswap")
        show("query-vswap", r)
        d = by_id(r.get("return", []))
        show("qom-set", m.qmp("qom-set", {
            "path": "/machine/peripheral/vs0/virtio-backend",
            "property": "pool-max", "value": 1048576}))
        hmp = m.qmp("human-monitor-command",
                    {"command-line": "info vswap"})
        show("info vswap", hmp)
        hmp = hmp.get("return", "")
        saved = os.path.join(TMP, "devices.vm")
        mig = m.qmp("migrate", {"uri": "file:" + saved})
        show("migrate", mig)
        for _ in range(300):
            st = m.qmp("query-migrate").get("return", {}).get("status")
            if st in ("completed", "failed"):
                break
            time.sleep(0.1)
    loaded = load_saved(args, saved, "restored")
    refused = load_saved([a.replace("id=vs0,size=1G", "id=vs0,size=512M")
                          for a in args], saved, "smaller")

    tap.ok(sorted(d) == ["vs0", "vs1", "vs2", "vs3"],
           "QMP query-vswap lists the four devices")
    tap.ok(len(d) == 4 and
           (d["vs2"]["config"]["policy"], d["vs2"]["config"]["host-nodes"])
           == ("bind", [0]) and
           (d["vs0"]["config"]["policy"], d["vs0"]["config"]["host-nodes"])
           == ("default", []) and
           (d["vs3"]["config"]["policy"], d["vs3"]["config"]["host-nodes"])
           == ("interleave", [0]),
           "query-vswap: bind [0] and interleave [0] (JSON -device) in force; "
           "default without nodes")
    tap.ok(d and all(d[i]["store"]["nodes"] == [] and
                     d[i]["store"]["segment-bytes"] == 0 and
                     d[i]["store"]["numa-migrated-bytes"] == 0 and
                     d[i]["store"]["numa-migrate-failures"] == 0 and
                     d[i]["store"]["numa-migrate-pending-bytes"] == 0
                     for i in d),
           "query-vswap: the NUMA members of an empty store (nodes [], "
           "counters 0)")
    tap.ok("vs0" in d and d["vs0"]["config"]["capacity"] == 262144 and
           d["vs0"]["config"]["num-queues"] == 2,
           "query-vswap: vs0 capacity 262144 slots, 2 queues (one per vCPU)")
    tap.ok("vs1" in d and d["vs1"]["config"]["compress"] == "zstd" and
           d["vs1"]["config"]["num-queues"] == 1 and
           d["vs1"]["config"]["idle-compact"] == 0 and
           d["vs0"]["config"]["idle-compact"] == 30 and
           len(d["vs1"]["store"]["load-latency"]) == 32 and
           not any(d["vs1"]["device"].values()),
           "query-vswap: vs1 zstd, 1 queue, idle-compact off (vs0: the "
           "default 30 s), 32 latency buckets, zero counters")
    tap.ok("pool-max 1048576" in hmp and "idle-compact 30 s\r\n" in hmp and
           "idle-compact 0 s (off)" in hmp,
           "HMP info vswap shows pool-max set with qom-set, idle-compact "
           "30 s and off")
    # the source never ran (-S): the destination keeps its "prelaunch"
    tap.ok(st == "completed" and loaded[0] in ("paused", "prelaunch") and
           sorted(loaded[1]) == ["vs0", "vs1", "vs2", "vs3"],
           "migrate to a file with four devices, and a QEMU with the same "
           "devices loads it (%s, %s)" % (st, loaded[0]))
    tap.ok(refused[0] is None and
           "the source's size is 1073741824 bytes, this device's only "
           "536870912" in refused[2],
           "a destination whose device is smaller refuses the stream, "
           "naming the device and both sizes", refused[2][-400:])


def load_saved(args, path, name):
    """Load the file @path into a new QEMU with @args; (its status or
    None if it exited, the ids query-vswap lists, its log)."""
    m = Machine(QEMU, args + ["-incoming", "defer"], workdir=TMP, name=name)
    status, ids = None, []
    try:
        m.launch()
        m.qmp("migrate-incoming", {"uri": "file:" + path})
        for _ in range(300):
            status = m.qmp("query-status").get("return", {}).get("status")
            if status != "inmigrate":
                break
            time.sleep(0.1)
        ids = [e["id"] for e in m.qmp("query-vswap").get("return", [])]
    except Exception:       # pylint: disable=broad-except
        status = None       # it exited: the load failed
    finally:
        try:
            m.shutdown(timeout=10)
        except Exception:   # pylint: disable=broad-except
            pass
    log = m.get_log() or ""
    return status, ids, log


def schema_session():
    # Both events are in the schema.  VSWAP_INTEGRITY_ERROR is not
    # provoked here: the vswapctl-qemu suite corrupts a disk tier for it.
    with Machine(QEMU, ["-M", "none"], workdir=TMP, name="schema") as m:
        m.launch()
        schema = m.cmd("query-qmp-schema")
    names = {e["name"]: e["meta-type"] for e in schema}
    vswap = {n for n in names if n.startswith("VSWAP_")}
    tap.ok(len(vswap) == 4 and
           all(names[n] == "event" for n in vswap),
           "query-qmp-schema has the 4 VSWAP_* events (NO_SPACE, "
           "INTEGRITY_ERROR, WRITEBACK_ERROR, DISK_READ_ERROR)",
           on_fail=sorted(vswap))
    tap.ok(names.get("vswap-writeback") == "command",
           "query-qmp-schema has the vswap-writeback command")
    tap.ok(names.get("vswap-set-numa-policy") == "command",
           "query-qmp-schema has the vswap-set-numa-policy command")
    tap.ok(names.get("vswap-compact") == "command",
           "query-qmp-schema has the vswap-compact command")


def disk_tier_session():
    # vsd has a backing file (a path), vsf one passed with -add-fd, vsn
    # none.  The library truncates the file it is given, so the junk
    # written before shows the fd was attached.
    fdset = os.path.join(TMP, "fdset.swap")
    vsd = os.path.join(TMP, "vsd.swap")
    # 0600 and backing-reuse=on: a backing file holds guest memory, and a
    # non-empty one is only taken when told to discard it
    with open(os.open(fdset, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              "wb") as f:
        f.write(os.urandom(100000))
    if os.path.exists(vsd):
        os.unlink(vsd)
    fd = os.open(fdset, os.O_RDWR)
    os.set_inheritable(fd, True)
    args = ["-M", "q35", "-S",
            "-add-fd", "fd=%d,set=2" % fd,
            "-device", "virtio-vswap,id=vsd,size=1G,backing-file=%s,"
                       "backing-max=64M,writeback-age=30" % vsd,
            "-device", "virtio-vswap,id=vsf,size=1G,"
                       "backing-file=/dev/fdset/2,backing-reuse=on",
            "-device", "virtio-vswap,id=vsn,size=1G"]
    wb = {}
    with Machine(QEMU, args, workdir=TMP, name="disk-tier") as m:
        m.launch()
        os.close(fd)
        r = m.qmp("query-vswap")
        show("query-vswap", r)
        d = by_id(r.get("return", []))
        for name, wb_args in (
                ("nosuch", {"id": "nosuch"}),
                ("partial", {"id": "vsf/virtio-backend"}),
                ("vsn", {"id": "vsn"}),
                ("peripheral", {"id": "/machine/peripheral"}),
                ("vsd", {"id": "vsd", "min-age": 0, "max-bytes": 1048576}),
                ("vsf", {"id": "/machine/peripheral/vsf/virtio-backend"})):
            wb[name] = m.qmp("vswap-writeback", wb_args)
            show("vswap-writeback %s" % name, wb[name])
        compact = m.qmp("vswap-compact", {"id": "vsn"})
        show("vswap-compact vsn", compact)
        hmp = m.qmp("human-monitor-command",
                    {"command-line": "info vswap"}).get("return", "")
        tap.diag(hmp)

    def err(name):
        return wb[name].get("error", {})

    tap.ok(len(d) == 3 and d["vsd"]["config"]["backing-file"] == vsd and
           d["vsd"]["config"]["backing-max"] == 64 << 20 and
           d["vsd"]["config"]["writeback-age"] == 30 and
           "backing-file" not in d["vsn"]["config"] and
           d["vsn"]["config"]["writeback-age"] == 0,
           "query-vswap: vsd's backing-file, backing-max, writeback-age; "
           "vsn without backing-file")
    tap.ok(d and all(d[i]["store"][k] == 0 for i in d for k in (
        "disk-pages", "disk-bytes", "disk-file-bytes", "writeback-pages",
        "writeback-bytes", "writeback-ios", "writeback-errors",
        "writeback-freed-bytes", "loads-from-disk", "disk-read-errors")) and
        all(d[i]["store"]["disk-load-latency"] == [0] * 32 for i in d),
        "query-vswap: every disk tier counter, 0, and a 32-bucket "
        "disk-load-latency")
    tap.ok(os.path.exists(vsd) and os.stat(vsd).st_mode & 0o777 == 0o600,
           "backing-file: a missing file is created with mode 0600")
    tap.ok(os.stat(fdset).st_size == 0,
           "backing-file=/dev/fdset/N (-add-fd): the store took the fd "
           "(file truncated)")
    tap.ok(err("nosuch").get("class") == "DeviceNotFound" and
           re.fullmatch("Device .nosuch. not found",
                        err("nosuch").get("desc", "")),
           "vswap-writeback: unknown id -> DeviceNotFound")
    tap.ok(err("partial").get("class") == "DeviceNotFound",
           "vswap-writeback: a relative path is an id under "
           "/machine/peripheral, never a partial path over the whole "
           "QOM tree -> DeviceNotFound (%s)" % err("partial").get("desc"))
    tap.ok("kicks 0, notifies 0; thread pool 0 (over the inline budget 0)"
           in hmp, "info vswap: the batching and thread-pool counters")
    tap.ok("virtio-vswap 'vsn' has no disk tier (property 'backing-file')"
           in err("vsn").get("desc", ""),
           "vswap-writeback: device without backing-file -> clear error")
    tap.ok("'/machine/peripheral' is not a virtio-vswap device" in
           err("peripheral").get("desc", ""),
           "vswap-writeback: not a virtio-vswap device -> clear error")
    empty = dict.fromkeys(("pages", "bytes", "pool-freed", "ios",
                           "segments"), 0)
    tap.ok(wb["vsd"].get("return") == empty and
           wb["vsf"].get("return") == empty,
           "vswap-writeback: success by id and by QOM path (-add-fd "
           "device), empty pool")
    tap.ok(compact.get("return") ==
           {"freed": 0, "pool-bytes": d["vsn"]["store"]["pool-bytes"]},
           "vswap-compact of an empty store: nothing freed, its pool-bytes",
           on_fail=compact)
    tap.ok("disk tier: backing-file %s, backing-max 67108864 bytes, "
           "writeback-age 30 s" % vsd in hmp,
           "HMP info vswap shows the disk tier")


devices_session()
schema_session()
disk_tier_session()
sys.exit(tap.end())
