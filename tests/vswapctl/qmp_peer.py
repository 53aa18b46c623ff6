#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A QMP peer for vswapctl's tests: a test double of QEMU's monitor protocol.

It speaks real QMP framing (greeting, capabilities negotiation, "id" echo,
asynchronous events interleaved with replies, CRLF-terminated JSON) and
answers query-vswap from a canned JSON file. It checks nothing about the
device itself; the real-QEMU test does that.

Usage: qmp_peer.py --socket PATH [--name NAME] [--reply FILE | --no-vswap-cmd]
                   [--writeback] [--compact] [--events N] [--noise] [--fragment]
                   [--log FILE]
"""
import argparse
import copy
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--socket", required=True)
ap.add_argument("--name", default="", help="query-name answer ('' = none)")
ap.add_argument("--reply", help="JSON file: the query-vswap return value")
ap.add_argument("--no-vswap-cmd", action="store_true",
                help="behave like a QEMU without the series")
ap.add_argument("--writeback", action="store_true",
                help="implement vswap-writeback (else CommandNotFound)")
ap.add_argument("--compact", action="store_true",
                help="implement vswap-compact (else CommandNotFound)")
ap.add_argument("--events", type=int, default=0,
                help="after capabilities, send N VSWAP_NO_SPACE events")
ap.add_argument("--noise", action="store_true",
                help="send an unrelated event before every reply")
ap.add_argument("--fragment", action="store_true",
                help="send every message in 5-byte pieces (framing test)")
ap.add_argument("--log", help="append every command received (JSON lines)")
ap.add_argument("--job-delay", type=float, default=0,
                help="seconds before vswap-writeback/-compact reply (a "
                "long writeback; vswapctl must wait for it)")
args = ap.parse_args()

devices = []
if args.reply:
    with open(args.reply) as f:
        devices = json.load(f)
lock = threading.Lock()


def now():
    t = time.time()
    return {"seconds": int(t), "microseconds": int((t % 1) * 1e6)}


def error(klass, desc):
    return {"error": {"class": klass, "desc": desc}}


def qom_set(a):
    with lock:
        for d in devices:
            if d.get("qom-path") == a.get("path"):
                prop = a.get("property")
                if prop not in ("pool-max", "idle-compact"):
                    return error("GenericError", "Property '%s' not found"
                                 % prop)
                if not isinstance(a.get("value"), int):
                    return error("GenericError", "Parameter 'value' expects uint64")
                if prop == "idle-compact" and a["value"] >= 1 << 32:
                    return error("GenericError", "Parameter 'value' expects uint32_t")
                d.setdefault("config", {})[prop] = a["value"]
                return {"return": {}}
    return error("DeviceNotFound", "Device '%s' not found" % a.get("path"))


def dispatch(cmd, a):
    if cmd == "query-name":
        return {"return": {"name": args.name} if args.name else {}}
    if cmd == "query-vswap" and not args.no_vswap_cmd:
        with lock:
            return {"return": copy.deepcopy(devices)}
    if cmd == "qom-set":
        return qom_set(a)
    if cmd in ("vswap-writeback", "vswap-compact"):
        time.sleep(args.job_delay)
    if cmd == "vswap-writeback" and args.writeback:
        ids = [d.get("id") for d in devices]
        if a.get("id") not in ids:
            return error("GenericError", "no vswap device '%s'" % a.get("id"))
        return {"return": {"written-bytes": min(a.get("max-bytes", 8192), 8192)}}
    if cmd == "vswap-compact" and args.compact:
        if set(a) != {"id"}:
            return error("GenericError", "unexpected arguments %s" % a)
        if a["id"] not in [d.get("id") for d in devices]:
            return error("GenericError", "no vswap device '%s'" % a["id"])
        return {"return": {"freed": 2097152, "pool-bytes": 8388608}}
    return error("CommandNotFound", "The command %s has not been found" % cmd)


class Handler(socketserver.BaseRequestHandler):
    def send(self, obj):
        data = json.dumps(obj).encode() + b"\r\n"
        if not args.fragment:
            self.request.sendall(data)
            return
        for i in range(0, len(data), 5):
            self.request.sendall(data[i:i + 5])
            time.sleep(0.0005)

    def handle(self):
        self.send({"QMP": {"version": {"qemu": {"micro": 0, "minor": 0,
                                                "major": 10},
                                       "package": "qmp_peer"},
                           "capabilities": ["oob"]}})
        dec = json.JSONDecoder()
        buf = ""
        negotiated = False
        while True:
            data = self.request.recv(4096)
            if not data:
                return
            buf += data.decode()
            while True:
                buf = buf.lstrip()
                if not buf:
                    break
                try:
                    msg, end = dec.raw_decode(buf)
                except ValueError:
                    break           # incomplete: wait for more
                buf = buf[end:]
                cmd = msg.get("execute")
                a = msg.get("arguments", {})
                if args.log:
                    with lock, open(args.log, "a") as f:
                        f.write(json.dumps(msg) + "\n")
                if not negotiated:
                    if cmd == "qmp_capabilities":
                        negotiated = True
                        reply = {"return": {}}
                    else:
                        reply = error("CommandNotFound", "Expecting capabilities "
                                      "negotiation with 'qmp_capabilities'")
                else:
                    reply = dispatch(cmd, a)
                if args.noise:
                    self.send({"event": "RTC_CHANGE", "data": {"offset": 0},
                               "timestamp": now()})
                if "id" in msg:
                    reply["id"] = msg["id"]
                self.send(reply)
                if cmd == "qmp_capabilities" and args.events:
                    self.send_events()

    def send_events(self):
        for i in range(args.events):
            time.sleep(0.05)
            self.send({"event": "POWERDOWN", "timestamp": now()})
            self.send({"event": "VSWAP_NO_SPACE", "timestamp": now(),
                       "data": {"id": "vs0",
                                "qom-path": "/machine/peripheral/vs0/virtio-backend",
                                "count": i + 1}})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(args.socket):
    os.unlink(args.socket)
srv = Server(args.socket, Handler)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
try:
    srv.serve_forever()
except (KeyboardInterrupt, SystemExit):
    pass
finally:
    os.unlink(args.socket)
