#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every store counter is in all four places, or the test fails.

  check_counters.py REPO VSWAPCTL_SCHEMA

The places, each read on its own:
  vswap.h   VSWAP_STATS_COUNTERS in host/include/vswap.h
  QAPI      members of VswapStoreStats in qemu-patches/tree/qapi/vswap.json
            (parsed as QAPI reads it), less the histograms and QEMU's own
            members (scripts/gen-counters.py's QEMU_MEMBERS)
  vswapctl  the fields of the vswapctl being tested whose query-vswap
            member is under /store/ (VSWAPCTL_SCHEMA: `vswapctl schema`
            output, which says each key's member in $comment), less
            QEMU's own members
  schema    keys of a device in the committed
            docs/vswapctl-json-schema.json, less the keys vswapctl has
            for things that are not store counters
A counter is named as in C (stored_pages). Exit 0 when the four sets are
equal, else 1 with one line per counter saying where it is missing.
Python 3 standard library only.
"""
import ast
import importlib.util
import json
import os
import re
import sys


def load_generator(repo):
    path = os.path.join(repo, "scripts", "gen-counters.py")
    spec = importlib.util.spec_from_file_location("gen_counters", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def qapi_struct(path, name):
    """The members of QAPI struct @name: the file's top-level expressions
    (comments dropped), each a Python literal, as QEMU's parser sees them."""
    with open(path) as f:
        text = "".join(ln for ln in f if not ln.lstrip().startswith("#"))
    depth, start = 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                expr = ast.literal_eval(text[start:i + 1])
                if expr.get("struct") == name:
                    return list(expr["data"])
    sys.exit("check_counters: no struct %s in %s" % (name, path))


def store_members(schema):
    """{json key: query-vswap member} of a vswapctl schema's device keys
    whose member is under /store/."""
    props = schema["definitions"]["device"]["properties"]
    out = {}
    for key, p in props.items():
        m = re.match(r"query-vswap /store/(\S+)$", p.get("$comment", ""))
        if m:
            out[key] = m.group(1)
    return out


def main():
    repo, vc_schema_path = sys.argv[1], sys.argv[2]
    gen = load_generator(repo)
    counters, hists = gen.parse_header(
        os.path.join(repo, "host", "include", "vswap.h"))
    qemu_own = {m.lstrip("*").replace("-", "_") for m, _, _ in
                gen.QEMU_MEMBERS}
    hist_names = {h.name for h in hists}

    places = {}
    places["vswap.h"] = {c.name for c in counters}
    places["QAPI"] = {m.lstrip("*").replace("-", "_") for m in qapi_struct(
        os.path.join(repo, "qemu-patches", "tree", "qapi", "vswap.json"),
        "VswapStoreStats")} - hist_names - qemu_own

    with open(vc_schema_path) as f:
        vc = json.load(f)
    vc_store = store_members(vc)
    places["vswapctl"] = {m.replace("-", "_") for m in vc_store.values()
                          } - qemu_own
    not_counters = set(vc["definitions"]["device"]["properties"]) - {
        k for k, m in vc_store.items() if m.replace("-", "_") not in qemu_own}
    with open(os.path.join(repo, "docs", "vswapctl-json-schema.json")) as f:
        committed = json.load(f)
    places["schema"] = set(committed["definitions"]["device"]["properties"]
                           ) - not_counters

    bad = 0
    for key, member in sorted(vc_store.items()):
        if member.replace("-", "_") not in qemu_own and \
                key != member.replace("-", "_"):
            print("vswapctl: key %s is not its member's name (%s)"
                  % (key, member))
            bad += 1
    every = set().union(*places.values())
    for name in sorted(every):
        missing = [p for p, s in places.items() if name not in s]
        if missing:
            print("%s: in %s, missing in %s" % (
                name, ", ".join(p for p in places if p not in missing),
                ", ".join(missing)))
            bad += 1
    if not bad:
        print("%d counters, the same in %s" % (len(every),
                                               ", ".join(places)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
