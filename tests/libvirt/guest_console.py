#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Copy a guest serial port that libvirt exposes as a unix socket to a file.

  guest_console.py SOCKET LOG     connect (retrying for 60 s), append all
                                  output to LOG until the socket closes
  guest_console.py --send SOCKET LINE
                                  write LINE + newline to SOCKET and close
                                  (the control port of tests/guest/init.sh)
"""
import socket
import sys
import time


def connect(path, timeout=60):
    end = time.time() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > end:
                raise
            time.sleep(0.1)


if len(sys.argv) == 4 and sys.argv[1] == "--send":
    s = connect(sys.argv[2])
    s.sendall(sys.argv[3].encode() + b"\n")
    time.sleep(0.2)         # let QEMU pass it on before the hang-up
    s.close()
elif len(sys.argv) == 3:
    s = connect(sys.argv[1])
    with open(sys.argv[2], "ab", buffering=0) as log:
        while True:
            data = s.recv(65536)
            if not data:
                break
            log.write(data)
else:
    sys.exit(__doc__)
