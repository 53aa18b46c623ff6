#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host NUMA placement of virtio-vswap against the real QEMU, over QMP.

  numa_qmp.py QEMU DRIVER TMPDIR

Starts QEMU (-accel qtest, no guest) with two devices: vsb at 00:04.0
with policy=bind,host-nodes=0, and vsd (the virtio-vswap alias, no
placement).  DRIVER (tests/vswapctl/qtest_driver.py) plays the guest
driver of vsb through the qtest socket and stores real pages, while this
script drives QMP: query-vswap's policy, host-nodes, per-node bytes and
migration counters, vswap-set-numa-policy's successes and refusals (a
refusal changes nothing), policy changes while pages are being stored,
and every page loaded back bit-exact afterwards.  Node 0 is the only one
the test relies on: it works on a single-node host.

Prints one line per check, "ok - WHAT" or "not ok - WHAT", for run.sh
to number; exits 1 if any failed.
"""
import json
import os
import socket
import subprocess
import sys
import time

QEMU, DRIVER, TMP = sys.argv[1:4]
QMP_PATH = os.path.join(TMP, "numa.qmp")
QTEST_PATH = os.path.join(TMP, "numa.qtest")
# A node number that is not this host's (the refusal tests need one).
ABSENT = next(n for n in (5, 63)
              if not os.path.exists("/sys/devices/system/node/node%d" % n))
failed = 0


def check(what, cond, detail=None):
    global failed
    if cond:
        print("ok - %s" % what)
    else:
        failed += 1
        print("not ok - %s" % what)
        if detail is not None:
            for line in str(detail).splitlines():
                print("# %s" % line[:400])
    sys.stdout.flush()
    return cond


class QMP:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(200):
            try:
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("no QMP socket %s" % path)
        self.f = self.sock.makefile("r")
        json.loads(self.f.readline())           # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = json.loads(self.f.readline())
            if "return" in reply or "error" in reply:
                return reply


def driver(*args):
    return subprocess.run([sys.executable, DRIVER, QTEST_PATH] + list(args),
                          capture_output=True, text=True, timeout=600)


def devices(q):
    return {e["id"]: e for e in q.cmd("query-vswap")["return"]}


def fresh(q, dev, since, timeout=30):
    """The query-vswap entry of @dev once its per-node figures were read
    after @since (time.monotonic()): query-vswap itself starts the
    refresh in the background and answers with the previous figures."""
    deadline = time.monotonic() + timeout
    while True:
        e = devices(q)[dev]
        age = e["store"].get("nodes-age-ms")
        if age is not None and time.monotonic() - age / 1000.0 > since:
            return e
        if time.monotonic() > deadline:
            return e
        time.sleep(0.3)


def placement(e):
    return e["config"]["policy"], e["config"]["host-nodes"]


def node0_only(e):
    st = e["store"]
    return (st["segment-bytes"] > 0 and
            st["nodes"] == [{"node": 0, "pool-bytes": st["segment-bytes"]}])


def main():
    for p in (QMP_PATH, QTEST_PATH):
        if os.path.exists(p):
            os.unlink(p)
    log = open(os.path.join(TMP, "numa.qemu.log"), "w")
    qemu = subprocess.Popen(
        [QEMU, "-M", "q35", "-m", "128", "-nodefaults", "-display", "none",
         "-accel", "qtest", "-qtest-log", "/dev/null",
         "-chardev", "socket,id=qt,path=%s,server=on,wait=off" % QTEST_PATH,
         "-qtest", "chardev:qt",
         "-qmp", "unix:%s,server=on,wait=off" % QMP_PATH,
         "-device", '{"driver": "virtio-vswap-pci", "id": "vsb", '
                    '"addr": "04.0", "policy": "bind", "host-nodes": [0]}',
         "-device", "virtio-vswap,id=vsd,addr=05.0"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        run(QMP(QMP_PATH))
    finally:
        qemu.kill()
        qemu.wait()
    return 1 if failed else 0


def run(q):
    d = devices(q)
    check("query-vswap: policy=bind,host-nodes=0 is in force (bind, [0])",
          placement(d["vsb"]) == ("bind", [0]), d["vsb"]["config"])
    check("query-vswap: a device without placement: default, []",
          placement(d["vsd"]) == ("default", []), d["vsd"]["config"])
    check("query-vswap: the NUMA counters, all 0 on an empty store",
          all(d["vsd"]["store"][k] == 0 for k in
              ("segment-bytes", "numa-migrated-bytes",
               "numa-migrate-failures", "numa-migrate-pending-bytes")) and
          d["vsd"]["store"]["nodes"] == [], d["vsd"]["store"])

    r = driver("store", "0", "256", "1")
    check("256 pages stored through vsb's virtqueue",
          r.stdout.strip() == "store ok 256", r.stdout + r.stderr)
    e = fresh(q, "vsb", time.monotonic())
    check("query-vswap: nodes [{node 0, pool-bytes == segment-bytes > 0}] "
          "(bind 0, refreshed in the background)", node0_only(e), e["store"])
    check("query-vswap: segment-bytes <= pool-bytes and nodes-age-ms given",
          0 < e["store"]["segment-bytes"] <= e["store"]["pool-bytes"] and
          "nodes-age-ms" in e["store"], e["store"])

    # Run-time changes that fit this host.
    for pol, nodes in (("default", None), ("bind", [0]),
                       ("interleave", [0]), ("preferred", [0])):
        args = {"id": "vsb", "policy": pol}
        if nodes is not None:
            args["host-nodes"] = nodes
        r = q.cmd("vswap-set-numa-policy", **args)
        e = devices(q)["vsb"]
        check("vswap-set-numa-policy %s %s succeeds and is in force" %
              (pol, nodes or []), r.get("return") == {} and
              placement(e) == (pol, nodes or []), (r, e["config"]))

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
        r = q.cmd("vswap-set-numa-policy", id="vsb", **args)
        e = devices(q)["vsb"]
        check("vswap-set-numa-policy %s refused: %s; preferred [0] stays" %
              (json.dumps(args), msg.split(": ", 1)[1]),
              r.get("error", {}).get("desc") == msg and
              placement(e) == ("preferred", [0]), (r, e["config"]))
    r = q.cmd("vswap-set-numa-policy", id="nosuch", policy="default")
    check("vswap-set-numa-policy of an unknown id: DeviceNotFound",
          r.get("error", {}).get("class") == "DeviceNotFound", r)
    r = q.cmd("vswap-set-numa-policy", id="/machine/peripheral",
              policy="default")
    check("vswap-set-numa-policy of a non-vswap object: clear error",
          r.get("error", {}).get("desc") ==
          "'/machine/peripheral' is not a virtio-vswap device", r)

    # Policy changes while the guest stores: the driver stores 1024 more
    # pages in the background, the policy changes under it.
    store = subprocess.Popen([sys.executable, DRIVER, QTEST_PATH, "store",
                              "256", "1024", "1"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    changes = 0
    cycle = [("bind", [0]), ("interleave", [0]), ("default", None),
             ("preferred", [0]), ("bind", [0])]
    while store.poll() is None or changes < len(cycle):
        pol, nodes = cycle[changes % len(cycle)]
        args = {"id": "vsb", "policy": pol}
        if nodes:
            args["host-nodes"] = nodes
        r = q.cmd("vswap-set-numa-policy", **args)
        if r.get("return") != {}:
            break
        changes += 1
        time.sleep(0.05)
    out = store.communicate(timeout=600)[0]
    check("%d policy changes while 1024 pages were stored: all accepted, "
          "every store ok" % changes,
          r.get("return") == {} and out.strip() == "store ok 1024",
          (r, out))
    final = cycle[(changes - 1) % len(cycle)]
    args = {"id": "vsb", "policy": "bind", "host-nodes": [0]}
    r = q.cmd("vswap-set-numa-policy", **args)
    check("back to bind [0] (from %s)" % final[0], r.get("return") == {}, r)

    deadline = time.monotonic() + 60
    while True:
        st = devices(q)["vsb"]["store"]
        if st["numa-migrate-pending-bytes"] == 0 or \
           time.monotonic() > deadline:
            break
        time.sleep(0.2)
    check("the background migration finishes (numa-migrate-pending-bytes "
          "0); on node 0 already, nothing moved, nothing failed",
          st["numa-migrate-pending-bytes"] == 0 and
          st["numa-migrated-bytes"] == 0 and
          st["numa-migrate-failures"] == 0, st)

    r = driver("load", "0", "1280", "1")
    check("all 1280 pages load back bit-exact after the changes",
          r.returncode == 0 and "load ok 1280" in r.stdout and
          "load data 1280" in r.stdout and "load mismatch 0" in r.stdout,
          r.stdout + r.stderr)
    e = fresh(q, "vsb", time.monotonic())
    check("query-vswap: still nodes [{node 0, pool-bytes == "
          "segment-bytes}]", node0_only(e), e["store"])

    hmp = q.cmd("human-monitor-command",
                **{"command-line": "info vswap"}).get("return", "")
    seg = e["store"]["segment-bytes"]
    check("HMP info vswap: the policy and the bytes per host node",
          "numa: policy bind host-nodes 0; segment bytes %d;" % seg in hmp
          and " ms ago): 0:%d\r\n" % seg in hmp and
          "numa: policy default; segment bytes 0;" in hmp, hmp)
    r = [q.cmd("qom-get", path="/machine/peripheral/vsb/virtio-backend",
               property=p).get("return") for p in ("policy", "host-nodes")]
    check("qom-get policy, host-nodes follow the run-time change",
          r == ["bind", [0]], r)


if __name__ == "__main__":
    sys.exit(main())
