#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot the test guest (tests/lib/guest/) under QEMU (TCG) and talk to it.

QEMU runs under QEMU's own harness (qemulib.Machine, i.e. python/qemu/
machine); the host side speaks QMP through it.

Channels:
  console  ttyS0 -> a log file; lines the tests parse start with "VSWAP: ",
           "WORKLOAD: " or "PAGES: " (tests/lib/guest/init.sh)
  control  ttyS1 <- unix socket; one shell command per line, answered on the
           console by "VSWAP: RC <seq> <status>" (control=False: none; the
           guest runs its /init to the end and powers off)
  QMP      vm.qmp.cmd(name, **args): the return value, VMError on a QMP
           error (vm.qmp.reply: the whole reply); events that arrive
           meanwhile are kept in vm.qmp.events

Every wait calls VM.on_poll (if set) about every 0.2 s, so a test can sample
the host side (query-vswap) while the guest works.

Every wait has a deadline, and the VM has an overall deadline after which
waits fail, so a hung guest fails a test instead of hanging CI; stop()
kills a QEMU that does not quit.
"""
import os
import re
import socket
import sys
import time

from qemulib import AbnormalShutdown, Machine, QMPError


class VMError(Exception):
    pass


def kv(s):
    """'a=1 b=2' -> {'a': 1, 'b': 2} (ints or floats where they parse):
    the guest's "VSWAP: ...", "WORKLOAD: ..." lines."""
    out = {}
    for tok in s.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
    return out


def vswap_entry(vm):
    """The first virtio-vswap device of query-vswap (qapi/vswap.json,
    VswapInfo), flattened: the members of its "store", "device" and "config"
    sub-objects in one dict (their names do not collide), plus "id" and
    "qom-path"."""
    lst = vm.qmp.cmd("query-vswap")
    if not lst:
        raise VMError("query-vswap returned no device")
    flat = {}
    for k, v in lst[0].items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                flat.setdefault(kk, vv)
        else:
            flat.setdefault(k, v)
    return flat


class Monitor:
    """QMP of a Machine as the tests use it: cmd() returns the result and
    raises VMError (QMP errors, timeouts, a dead QEMU alike); events are
    collected in .events as they come."""

    def __init__(self, machine):
        self.machine = machine
        self.events = []

    def reply(self, name, **args):
        """The whole reply ({"return": ...} or {"error": ...})."""
        try:
            return self.machine.qmp(name, args)
        except (QMPError, OSError, EOFError, TimeoutError) as e:
            raise VMError("QMP %s: %s" % (name, e or type(e).__name__))
        finally:
            self.poll_events()

    def cmd(self, name, **args):
        r = self.reply(name, **args)
        if "error" in r:
            raise VMError("QMP %s: %s" % (name, r["error"].get("desc")))
        return r.get("return")

    def poll_events(self):
        try:
            self.events += self.machine.get_qmp_events(wait=False)
        except (QMPError, OSError, EOFError):
            pass


class VM:
    def __init__(self, qemu, kernel, initrd, workdir, mem=256, smp=2,
                 append="", devices=(), timeout=600, extra=(),
                 control=True):
        self.qemu, self.kernel, self.initrd = qemu, kernel, initrd
        self.workdir = workdir
        self.mem, self.smp = mem, smp
        self.append, self.devices, self.extra = append, list(devices), list(extra)
        self.control = control
        self.deadline = time.time() + timeout
        self.log = os.path.join(workdir, "console.log")
        self.ctl_path = os.path.join(workdir, "ctl.sock")
        self.machine = None
        self.qmp = None
        self.ctl = None
        self.pos = 0          # how far wait_for() has read the console log
        # console text that ends a wait at once: nothing good follows
        self.fatal = ["Kernel panic", "Out of memory: Killed process"]
        self.seq = 0
        self.on_poll = None   # called in every wait, see the module doc

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        for p in (self.log, self.ctl_path):
            if os.path.exists(p):
                os.unlink(p)
        open(self.log, "w").close()
        args = ["-M", "q35", "-m", str(self.mem), "-smp", str(self.smp),
                "-kernel", self.kernel, "-initrd", self.initrd,
                # loglevel=4: only errors and worse reach the console (a
                # panic, an oops, the OOM killer's verdict: self.fatal);
                # the guest's answers share it, and an info line (a probe,
                # swapon) once landed inside one. dmesg keeps them all.
                "-append", "console=ttyS0 loglevel=4 panic=-1 " +
                self.append,
                "-chardev", "file,id=con,path=" + self.log,
                "-serial", "chardev:con"]
        if self.control:
            args += ["-chardev", "socket,id=ctl,path=%s,server=on,wait=off"
                     % self.ctl_path, "-serial", "chardev:ctl"]
        for d in self.devices:
            args += ["-device", d]
        args += self.extra
        with open(os.path.join(self.workdir, "qemu.cmd"), "w") as f:
            f.write(" ".join([self.qemu] + args) + "\n")
        self.machine = Machine(self.qemu, args, workdir=self.workdir)
        try:
            self.machine.launch()
        except Exception as e:
            raise VMError("QEMU did not start: %s" % e)
        self.qmp = Monitor(self.machine)
        if self.control:
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
            if not self.machine.is_running():
                raise VMError("QEMU exited (status %s) waiting for %r"
                              % (self.machine.exitcode(), pattern))
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

    def run_lines(self, cmd, prefix, timeout=300):
        """Run a command; return (its exit status, the text after @prefix
        of every console line starting with it that came before the end)."""
        start = self.pos
        rc = self.run(cmd, timeout)
        text = self.console_since(start)
        return rc, [ln.rstrip("\r")[len(prefix):] for ln in text.split("\n")
                    if ln.startswith(prefix)]

    def finished(self, seq):
        """Whether the command sent as @seq has ended (does not wait);
        its exit status or None."""
        pos = self.pos
        try:
            return int(self.wait_for(r"VSWAP: RC %d (\d+)" % seq, 0).group(1))
        except VMError as e:
            if not str(e).startswith("timeout"):
                raise
            self.pos = pos
            return None

    def console_since(self, start):
        with open(self.log, "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    def wait_exit(self, timeout):
        """Wait for QEMU to end on its own (the guest powered off)."""
        end = min(time.time() + timeout, self.deadline)
        while self.machine.is_running() and time.time() < end:
            time.sleep(0.5)
        return not self.machine.is_running()

    def stop(self):
        if self.machine:
            try:
                if self.machine.is_running():
                    self.machine.shutdown(timeout=10)
                else:               # powered off: only clean up
                    self.machine.wait(timeout=10)
            except (AbnormalShutdown, QMPError, OSError, EOFError) as e:
                print("# QEMU did not quit cleanly (%s): killed" % e)
        if self.ctl:
            self.ctl.close()


def main():
    """vm.py --until REGEX ...: boot a guest that runs its /init to the end
    (no control channel) and wait for a console line matching REGEX and for
    the guest to power off. Exit status 0 if the line came; the console is
    in WORKDIR/console.log."""
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mem", default="256")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--append", default="")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--until", required=True)
    ap.add_argument("qemu_args", nargs="*", help="after --: more QEMU arguments")
    args = ap.parse_args()
    vm = VM(args.qemu, args.kernel, args.initrd, args.workdir, mem=args.mem,
            smp=args.smp, append=args.append, timeout=args.timeout,
            extra=args.qemu_args + ["-no-reboot"], control=False)
    # Its program may provoke the OOM killer on purpose (numa_guest does):
    # only a panic ends the wait early.
    vm.fatal = ["Kernel panic"]
    try:
        vm.start()
        vm.wait_for(args.until, args.timeout)
        vm.wait_exit(60)
        return 0
    except VMError as e:
        print("vm.py: %s" % e)
        return 1
    finally:
        vm.stop()


if __name__ == "__main__":
    sys.exit(main())
