#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A minimal virtio-vswap guest driver over QEMU's qtest protocol.

It lets the vswapctl tests put real pages into a real QEMU's store (and
so give writeback and its events something to work on) without booting
a guest: QEMU runs with -accel qtest and a qtest chardev, and this
script plays the guest through that socket (port I/O for PCI config,
memory reads and writes for the ring and the buffers).

  qtest_driver.py SOCKET store FIRST COUNT SEED   store COUNT random pages
  qtest_driver.py SOCKET load FIRST COUNT SEED    load and compare them
  qtest_driver.py SOCKET invalidate FIRST COUNT

One page per request, on queue 0. Output: one line per status value,
"ACTION STATUS COUNT" (ok, no-space, ioerr, ...); load also prints
"load data COUNT" (pages equal to what store wrote with SEED), "load
zero COUNT" (empty slots, e.g. refused stores) and "load mismatch
COUNT". Exit status 0 unless the protocol failed or a load returned OK
with other data (a page that loads OK is the page stored, or zeroes).

Several actions may be given, separated by '--'. The device must be
virtio-vswap-pci at 00:04.0 on q35. The first run sets it up (BAR,
features, queue 0 at fixed guest addresses); later runs find it live
(DRIVER_OK) and continue on the same ring, so the store keeps its pages
between runs (a reset would drop them).
"""
import random
import socket
import struct
import sys

PAGE = 4096
PCI_DEV = 4
BAR_ADDR = 0xc0000000
RAM = 0x100000              # ring, then header/status, then the page
QSIZE = 16
STATUS = {0: "ok", 1: "bad-request", 2: "no-space", 3: "ioerr",
          4: "integrity", 5: "unsupported"}


class QTest:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                data = self.sock.recv(1 << 20)
                if not data:
                    raise SystemExit("qtest: connection closed")
                self.buf += data
            reply, self.buf = self.buf.split(b"\n", 1)
            reply = reply.decode()
            if reply.startswith("IRQ"):
                continue
            if not reply.startswith("OK"):
                raise SystemExit("qtest: %s -> %s" % (line[:60], reply))
            return reply[3:]

    def out(self, size, port, val):
        self.cmd("out%s 0x%x 0x%x" % (size, port, val))

    def inp(self, size, port):
        return int(self.cmd("in%s 0x%x" % (size, port)), 16)

    def write(self, width, addr, val):
        self.cmd("write%s 0x%x 0x%x" % (width, addr, val))

    def read(self, width, addr):
        return int(self.cmd("read%s 0x%x" % (width, addr)), 16)

    def memwrite(self, addr, data):
        self.cmd("write 0x%x 0x%x 0x%s" % (addr, len(data), data.hex()))

    def memread(self, addr, size):
        return bytes.fromhex(self.cmd("read 0x%x 0x%x" % (addr, size))[2:])


class VSwap:
    """virtio-pci modern, one split queue of QSIZE, polled (no interrupts)."""

    def __init__(self, qt):
        self.qt = qt
        if self.cfg_read(0, 4) & 0xffff != 0x1af4:
            raise SystemExit("qtest: no virtio device at 00:%02x.0" % PCI_DEV)
        caps = self.find_caps()
        # BAR 4/5: the 64-bit memory BAR holding the modern regions.
        self.cfg_write(0x20, BAR_ADDR & 0xffffffff)
        self.cfg_write(0x24, BAR_ADDR >> 32)
        self.cfg_write(0x04, self.cfg_read(0x04, 2) | 0x6, 2)
        self.common = BAR_ADDR + caps[1][1]
        self.notify = BAR_ADDR + caps[2][1]
        self.notify_mult = caps[2][2]
        self.setup()

    def cfg_addr(self, reg):
        self.qt.out("l", 0xcf8, 0x80000000 | PCI_DEV << 11 | (reg & ~3))

    def cfg_read(self, reg, size=4):
        self.cfg_addr(reg)
        return self.qt.inp({1: "b", 2: "w", 4: "l"}[size], 0xcfc + (reg & 3))

    def cfg_write(self, reg, val, size=4):
        self.cfg_addr(reg)
        self.qt.out({1: "b", 2: "w", 4: "l"}[size], 0xcfc + (reg & 3), val)

    def find_caps(self):
        caps, ptr = {}, self.cfg_read(0x34, 1)
        while ptr:
            if self.cfg_read(ptr, 1) == 0x09:           # vendor: virtio
                kind = self.cfg_read(ptr + 3, 1)
                bar = self.cfg_read(ptr + 4, 1)
                off = self.cfg_read(ptr + 8)
                mult = self.cfg_read(ptr + 16) if kind == 2 else 0
                if kind in (1, 2) and kind not in caps:
                    if bar != 4:
                        raise SystemExit("qtest: virtio cap in BAR %d" % bar)
                    caps[kind] = (bar, off, mult)
            ptr = self.cfg_read(ptr + 1, 1)
        return caps

    def setup(self):
        qt, c = self.qt, self.common
        self.desc, self.avail = RAM, RAM + 16 * QSIZE
        self.used = RAM + 0x1000
        self.hdr, self.page = RAM + 0x3000, RAM + 0x4000
        qt.write("w", c + 0x16, 0)                      # queue 0
        self.notify_addr = self.notify + \
            qt.read("w", c + 0x1e) * self.notify_mult
        if qt.read("b", c + 0x14) == 1 | 2 | 8 | 4:
            # set up by an earlier run; every request it sent completed
            self.idx = qt.read("w", self.used + 2)
            return
        qt.write("b", c + 0x14, 0)                      # reset
        while qt.read("b", c + 0x14):
            pass
        qt.write("b", c + 0x14, 1 | 2)                  # ACKNOWLEDGE, DRIVER
        qt.write("l", c + 0x08, 1)
        qt.write("l", c + 0x0c, 1)                      # VIRTIO_F_VERSION_1
        qt.write("l", c + 0x08, 0)
        qt.write("l", c + 0x0c, 0)
        qt.write("b", c + 0x14, 1 | 2 | 8)              # FEATURES_OK
        if not qt.read("b", c + 0x14) & 8:
            raise SystemExit("qtest: features refused")
        qt.write("w", c + 0x16, 0)                      # queue 0
        qt.write("w", c + 0x18, QSIZE)
        qt.memwrite(RAM, bytes(0x2000))
        qt.write("q", c + 0x20, self.desc)
        qt.write("q", c + 0x28, self.avail)
        qt.write("q", c + 0x30, self.used)
        qt.write("w", c + 0x1c, 1)                      # queue_enable
        qt.write("b", c + 0x14, 1 | 2 | 8 | 4)          # DRIVER_OK
        self.idx = 0

    def request(self, rtype, slot, data=None, load=False):
        """One request of one page (none for invalidate): (status, page)."""
        qt = self.qt
        descs, writable = [(self.hdr, 24, False)], []
        qt.memwrite(self.hdr, struct.pack("<HHIQQ", rtype, 0, 1, slot, 0) +
                    b"\xee")
        if data is not None:
            qt.memwrite(self.page, data)
            descs.append((self.page, PAGE, False))
        if load:
            descs.append((self.page, PAGE, True))
        descs.append((self.hdr + 24, 1, True))
        table = b""
        for i, (addr, size, write) in enumerate(descs):
            last = i == len(descs) - 1
            table += struct.pack("<QIHH", addr, size,
                                 (0 if last else 1) | (2 if write else 0),
                                 0 if last else i + 1)
        qt.memwrite(self.desc, table)
        qt.write("w", self.avail + 4 + 2 * (self.idx % QSIZE), 0)
        self.idx = (self.idx + 1) & 0xffff
        qt.write("w", self.avail + 2, self.idx)
        qt.write("w", self.notify_addr, 0)
        while qt.read("w", self.used + 2) != self.idx:
            pass
        status = qt.memread(self.hdr + 24, 1)[0]
        return status, qt.memread(self.page, PAGE) if load else None


def page_of(seed, slot):
    return random.Random(seed * 1000003 + slot).randbytes(PAGE)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    dev = VSwap(QTest(argv[1]))
    actions, cur = [], []
    for a in argv[2:]:
        if a == "--":
            actions.append(cur)
            cur = []
        else:
            cur.append(a)
    actions.append(cur)
    rc = 0
    for act in actions:
        what, first, count = act[0], int(act[1]), int(act[2])
        counts, data = {}, {"data": 0, "zero": 0, "mismatch": 0}
        for slot in range(first, first + count):
            if what == "store":
                st, _ = dev.request(1, slot, page_of(int(act[3]), slot))
            elif what == "load":
                st, got = dev.request(2, slot, load=True)
                if st == 0:
                    data["data" if got == page_of(int(act[3]), slot) else
                         "zero" if got == bytes(PAGE) else "mismatch"] += 1
            elif what == "invalidate":
                st, _ = dev.request(3, slot)
            else:
                raise SystemExit("qtest: unknown action %s" % what)
            counts[STATUS.get(st, str(st))] = \
                counts.get(STATUS.get(st, str(st)), 0) + 1
        for k in sorted(counts):
            print("%s %s %d" % (what, k, counts[k]))
        if what == "load":
            for k in sorted(data):
                print("load %s %d" % (k, data[k]))
            rc |= data["mismatch"] != 0
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
