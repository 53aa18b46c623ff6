#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot the test guest under QEMU (TCG) and talk to it. Standard library only.

Channels:
  console  ttyS0 -> a log file; lines the tests parse start with "VSWAP: "
           or "WORKLOAD: " (tests/guest/init.sh, workload.c)
  control  ttyS1 <- unix socket; one shell command per line, answered on the
           console by "VSWAP: RC <seq> <status>"
  QMP      unix socket; the host side (query-vswap, vswap-writeback);
           events that arrive meanwhile are kept in QMP.events

Every wait calls VM.on_poll (if set) about every 0.2 s, so a test can sample
the host side (query-vswap) while the guest works.

Every wait has a deadline, and the VM has an overall deadline after which
QEMU is killed, so a hung guest fails a test instead of hanging CI.
"""
import json
import os
import re
import socket
import subprocess
import time


class VMError(Exception):
    pass


class QMP:
    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise VMError("QMP socket %s did not open" % path)
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        self._recv()                      # greeting
        self.cmd("qmp_capabilities")

    def _recv(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise VMError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        """Run a command; QMP errors and a silent QEMU raise VMError."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        try:
            self.sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as e:
            raise VMError("QMP %s: %s" % (name, e))
        while True:
            try:
                r = self._recv()
            except OSError as e:        # socket.timeout included
                raise VMError("QMP %s: no answer (%s)" % (name, e))
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise VMError("QMP %s: %s" % (name, r["error"].get("desc")))
            return r.get("return")

    def close(self):
        self.sock.close()


class VM:
    def __init__(self, qemu, kernel, initrd, workdir, mem=256, smp=2,
                 append="", devices=(), timeout=600, extra=()):
        self.qemu, self.kernel, self.initrd = qemu, kernel, initrd
        self.workdir = workdir
        self.mem, self.smp = mem, smp
        self.append, self.devices, self.extra = append, list(devices), list(extra)
        self.deadline = time.time() + timeout
        self.log = os.path.join(workdir, "console.log")
        self.qmp_path = os.path.join(workdir, "qmp.sock")
        self.ctl_path = os.path.join(workdir, "ctl.sock")
        self.proc = None
        self.qmp = None
        self.ctl = None
        self.pos = 0          # how far wait_for() has read the console log
        # console text that ends a wait at once: nothing good follows
        self.fatal = ["Kernel panic", "Out of memory: Killed process"]
        self.seq = 0
        self.on_poll = None   # called in every wait, see the module doc

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        for p in (self.log, self.qmp_path, self.ctl_path):
            if os.path.exists(p):
                os.unlink(p)
        open(self.log, "w").close()
        args = [self.qemu, "-accel", "tcg", "-M", "q35",
                "-m", str(self.mem), "-smp", str(self.smp),
                "-nodefaults", "-no-user-config", "-display", "none",
                "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
                "-kernel", self.kernel, "-initrd", self.initrd,
                "-append", "console=ttyS0 panic=-1 " + self.append,
                "-chardev", "file,id=con,path=" + self.log,
                "-serial", "chardev:con",
                "-chardev", "socket,id=ctl,path=%s,server=on,wait=off" % self.ctl_path,
                "-serial", "chardev:ctl",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        for d in self.devices:
            args += ["-device", d]
        args += self.extra
        with open(os.path.join(self.workdir, "qemu.cmd"), "w") as f:
            f.write(" ".join(args) + "\n")
        self.stderr = open(os.path.join(self.workdir, "qemu.stderr"), "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        self.qmp = QMP(self.qmp_path)
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.connect(self.ctl_path)
        return self

    def remaining(self):
        return self.deadline - time.time()

    def wait_for(self, pattern, timeout=300):
        """Wait for a console line matching pattern (from the last match on);
        return the re.Match. Raises VMError on timeout, QEMU exit or panic."""
        rx = re.compile(pattern)
        end = min(time.time() + timeout, self.deadline)
        while True:
            with open(self.log, "rb") as f:
                f.seek(self.pos)
                data = f.read()
            if data:
                # A line without its newline yet stays unconsumed: the
                # next read starts at it again (pos is not moved past it).
                lines = data.split(b"\n")
                lines.pop()
                consumed = 0
                for raw in lines:
                    consumed += len(raw) + 1
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    for bad in self.fatal:
                        if bad in line:
                            raise VMError("guest: " + line.strip())
                    m = rx.search(line)
                    if m:
                        self.pos += consumed
                        return m
                self.pos += consumed
            if self.proc.poll() is not None:
                raise VMError("QEMU exited (status %s) waiting for %r"
                              % (self.proc.returncode, pattern))
            if time.time() > end:
                raise VMError("timeout waiting for %r" % pattern)
            if self.on_poll:
                self.on_poll()
            time.sleep(0.2)

    def idle(self, seconds):
        """Let the guest run for seconds, polling like wait_for does (a
        panic or a dead QEMU ends it with VMError). Console lines stay
        unread for the next wait_for."""
        pos = self.pos
        try:
            self.wait_for(r"(?!x)x", seconds)   # matches nothing
        except VMError as e:
            if not str(e).startswith("timeout"):
                raise
        finally:
            self.pos = pos
        if time.time() > self.deadline:
            raise VMError("VM deadline passed")

    def send(self, cmd):
        """Send one command line without waiting; returns its sequence."""
        self.seq += 1
        self.ctl.sendall(("%d %s\n" % (self.seq, cmd)).encode())
        return self.seq

    def run(self, cmd, timeout=300):
        """Run a guest shell command; return its exit status."""
        seq = self.send(cmd)
        m = self.wait_for(r"VSWAP: RC %d (\d+)" % seq, timeout)
        return int(m.group(1))

    def run_capture(self, cmd, pattern, timeout=300):
        """Run a command that prints a line matching pattern; return the match."""
        seq = self.send(cmd)
        m = self.wait_for(pattern, timeout)
        rc = int(self.wait_for(r"VSWAP: RC %d (\d+)" % seq, timeout).group(1))
        return m, rc

    def console_since(self, start):
        with open(self.log, "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.qmp.cmd("quit")
            except Exception:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.qmp, self.ctl):
            try:
                s.close()
            except Exception:
                pass
