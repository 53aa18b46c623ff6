# SPDX-License-Identifier: MIT
"""TAP for Python test programs (the shell twin is tests/lib/tap.sh).

    tap = Tap()
    tap.ok(cond, "what", diag=None, on_fail=None)
                                      -> cond; diag is shown always,
                                      on_fail only when cond is false
    tap.skip("what", "why")
    tap.diag("text")                  "# "-prefixed lines
    sys.exit(tap.end())               plan "1..N", a summary line, and the
                                      exit status: 0 if nothing failed

Numbers run from 1. A shell suite that runs the program folds its lines
into its own numbering with tap_pipe (tests/lib/tap.sh).
"""
import sys


class Tap:
    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.n = 0
        self.failed = 0
        self.skipped = 0

    def _print(self, line):
        self.out.write(line + "\n")
        self.out.flush()

    def ok(self, cond, what, diag=None, on_fail=None):
        self.n += 1
        cond = bool(cond)
        self._print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what))
        if diag is not None:
            self.diag(diag, indent="  ")
        if not cond:
            self.failed += 1
            if on_fail is not None:
                self.diag(on_fail, indent="  ")
        return cond

    def skip(self, what, why):
        self.n += 1
        self.skipped += 1
        self._print("ok %d - %s # SKIP %s" % (self.n, what, why))

    def diag(self, msg, indent=""):
        for line in str(msg).splitlines():
            self._print("# " + indent + line)

    def end(self):
        self._print("1..%d" % self.n)
        self._print("# %d passed, %d failed, %d skipped"
                    % (self.n - self.failed - self.skipped, self.failed,
                       self.skipped))
        return 1 if self.failed else 0
