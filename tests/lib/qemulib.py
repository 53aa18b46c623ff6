# SPDX-License-Identifier: MIT
"""QEMU's own Python packages, python/qemu/machine and python/qemu/qmp,
for the tests; every test that starts QEMU or speaks QMP uses them.

They ship in the QEMU source tree that scripts/qemu/source.sh unpacks (the
tree the QEMU under test is built from): <its output>/src/python, found by
running source.sh, or named by $QEMU_PYTHON.

  from qemulib import Machine, QMPError
  with Machine(qemu, ["-M", "q35", "-S"], workdir=d) as m:
      m.launch()
      m.cmd("query-vswap")                 # the return value, or raises
      m.qmp("vswap-writeback", {"id": "x"})  # the whole reply
"""
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def qemu_python_dir():
    path = os.environ.get("QEMU_PYTHON")
    if not path:
        top = subprocess.run([os.path.join(REPO, "scripts/qemu/source.sh")],
                             stdout=subprocess.PIPE, check=True,
                             text=True).stdout.strip()
        path = os.path.join(top, "src", "python")
    if not os.path.isdir(os.path.join(path, "qemu", "qmp")):
        raise SystemExit("no QEMU python packages in %s" % path)
    return path


sys.path.insert(0, qemu_python_dir())
# pylint: disable=wrong-import-position
from qemu.machine import QEMUMachine  # noqa: E402
from qemu.machine.machine import AbnormalShutdown  # noqa: E402,F401
from qemu.qmp import QMPError  # noqa: E402,F401
from qemu.qmp import ExecuteError  # noqa: E402,F401

FIRMWARE = ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu"]


class Machine(QEMUMachine):
    """QEMUMachine as every test here runs it: TCG, no defaults, the
    firmware of Debian's seabios/qemu-system-data, logs in @workdir
    (@name.log: QEMU's stdout and stderr), and a timeout on every QMP
    command (QEMUMachine waits forever by default).

    qmp(name, args) takes the arguments as a dict, with their QAPI names
    (QEMUMachine's keyword form turns '_' into '-')."""

    def __init__(self, binary, args=(), workdir=None, name="qemu",
                 qmp_timeout=30, accel="tcg"):
        base = ["-nodefaults", "-no-user-config"] + FIRMWARE
        if accel:
            base = ["-accel", accel] + base
        super().__init__(binary, base + list(args), name=name,
                         base_temp_dir=workdir or "/var/tmp",
                         log_dir=workdir)
        self.qmp_timeout = qmp_timeout

    def _post_launch(self):
        super()._post_launch()
        self._qmp.settimeout(self.qmp_timeout)

    def qmp(self, cmd, args_dict=None, conv_keys=None, **args):
        if args_dict is None and not args:
            args_dict = {}
        return super().qmp(cmd, args_dict, conv_keys, **args)

    def hmp(self, command_line):
        return self.cmd("human-monitor-command",
                        {"command-line": command_line})
