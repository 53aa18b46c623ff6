#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench-guest's metrics and targets from the runs guest_bench.py recorded.

  report.py guest.json [--md guest.md] [--dat guest.dat --plot guest.png
            --gp guest.gp]

Adds "metrics", "capacity" and "targets" to guest.json (rewritten), prints
the markdown tables (also to --md), plots with gnuplot, and exits 1 when a
target that could be evaluated was missed. Definitions: docs/benchmarks.md
("Guest benchmark").
"""
import argparse
import json
import os
import subprocess
import sys

PAGE = 4096
DEVICE = "vswap"            # the configuration the targets are about
TARGET_SIZE = 2             # "at 2x guest RAM"


def delta(run, group, key, a="start", b="end"):
    g = run.get(group) or {}
    return (g.get(b) or {}).get(key, 0) - (g.get(a) or {}).get(key, 0)


def div(a, b):
    return a / b if a is not None and b else None


def non_vcpu_seconds(run):
    """CPU seconds of QEMU's threads other than the vCPUs, start to end."""
    return delta(run, "qemu", "all") - delta(run, "qemu", "vcpu")


def run_metrics(run, base, raw):
    """The metrics of one completed run; @base is the no-swap run of the
    same workload and size (or None), @raw rawlz4's figures."""
    out_pages = delta(run, "vmstat", "pswpout") + delta(run, "vmstat", "zswpout")
    in_pages = delta(run, "vmstat", "pswpin") + delta(run, "vmstat", "zswpin")
    moved = out_pages + in_pages
    m = {"pages_out": out_pages, "pages_in": in_pages, "pages_moved": moved,
         "work_seconds": run.get("work_seconds")}
    if base and base.get("status") == "ok":
        m["time_vs_noswap"] = div(run["work_seconds"], base["work_seconds"])
        if run.get("insns") is not None and base.get("insns") is not None:
            m["swap_insns"] = run["insns"] - base["insns"]
            m["insns_per_page"] = div(m["swap_insns"], moved)
    q = run.get("qemu") or {}
    all_s = delta(run, "qemu", "all")
    vcpu_s = delta(run, "qemu", "vcpu")
    m["host_cpu_seconds"] = {"all": all_s, "vcpu": vcpu_s,
                             "non_vcpu": all_s - vcpu_s}
    m["host_us_per_page_non_vcpu"] = div((all_s - vcpu_s) * 1e6, moved)
    # Informative, beside the target (which stays on the figure above):
    # less what QEMU's non-vCPU threads spend per second with no swapping
    # at all (main loop, timers: the no-swap run's rate), over this run's
    # span. The rest is what swapping added.
    if (base and base.get("status") == "ok" and
            base.get("cpu_span_seconds") and run.get("cpu_span_seconds")):
        idle = non_vcpu_seconds(base) / base["cpu_span_seconds"]
        m["host_us_per_page_non_vcpu_less_idle"] = div(
            (non_vcpu_seconds(run) - idle * run["cpu_span_seconds"]) * 1e6,
            moved)
    m["host_us_per_page_all"] = div(all_s * 1e6, moved)
    sw = (delta(run, "qemu", "voluntary_switches") +
          delta(run, "qemu", "involuntary_switches"))
    m["switches_per_page"] = div(sw, moved)
    if raw and moved:
        m["raw_lz4_us_per_page"] = (raw["compress_ns"] * out_pages +
                                    raw["decompress_ns"] * in_pages) / moved / 1e3
        m["host_cpu_vs_raw_lz4"] = div(m["host_us_per_page_non_vcpu"],
                                       m["raw_lz4_us_per_page"])
        m["host_cpu_less_idle_vs_raw_lz4"] = div(
            m.get("host_us_per_page_non_vcpu_less_idle"),
            m["raw_lz4_us_per_page"])
    hwm = (q.get("end") or {}).get("vm_hwm_kib")
    m["qemu_peak_rss_mib"] = hwm / 1024 if hwm else None
    pool = run.get("pool_at_hold") or {}
    if pool.get("stored_pages"):
        # The data pools alike: zram's mem_used_total and zswap's
        # pool_total_size count zsmalloc's pages, not the per-page
        # metadata (zram's table over its whole disksize, zsmalloc's
        # handles, zswap's entries); vswap's pool-bytes includes its slot
        # table and other metadata (meta-bytes), so that is taken out
        # (pool_metrics) and reported on its own, per stored page.
        meta = pool.get("meta_bytes") or 0
        m["host_bytes_per_guest_byte"] = \
            pool_metrics(run)["host_bytes_per_guest_byte"]
        if meta:
            m["host_bytes_per_guest_byte_with_meta"] = div(
                pool.get("pool_bytes"), pool["stored_pages"] * PAGE)
            m["meta_bytes_per_stored_page"] = div(meta,
                                                  pool["stored_pages"])
    elif pool.get("file_bytes") is not None:
        m["host_bytes_per_guest_byte"] = div(
            pool["file_bytes"], run.get("swap_in_use_kib_at_hold", 0) * 1024)
    lat = run.get("latency") or {}
    if lat.get("n"):
        m["pagein_us"] = {"n": lat["n"], "p50": lat["p50"], "p99": lat["p99"],
                          "p99.9": lat["p999"], "max": lat["max"]}
    if run.get("vswap"):
        pages = (delta(run, "vswap", "pages-stored") +
                 delta(run, "vswap", "pages-loaded"))
        reqs = (delta(run, "vswap", "store-requests") +
                delta(run, "vswap", "load-requests"))
        m["pages_per_request"] = div(pages, reqs)
        m["pages_per_kick"] = div(pages, delta(run, "vswap", "kicks"))
        m["pages_per_notify"] = div(pages, delta(run, "vswap", "notifies"))
        m["storm_pages_per_kick"] = div(
            delta(run, "vswap", "pages-stored", "start", "hold"),
            delta(run, "vswap", "kicks", "start", "hold"))
        m["requests"] = reqs
        m["invalidate_requests"] = delta(run, "vswap", "invalidate-requests")
    return m


def pool_metrics(run):
    """Host bytes per guest byte of a run's pool_at_hold (see run_metrics)."""
    pool = run.get("pool_at_hold") or {}
    if not pool.get("stored_pages"):
        return {}
    meta = pool.get("meta_bytes") or 0
    guest = pool["stored_pages"] * PAGE
    payload = pool.get("compressed_bytes", pool.get("compr_data_size"))
    return {"stored_pages": pool["stored_pages"],
            "host_bytes_per_guest_byte": div(pool.get("pool_bytes") - meta,
                                             guest),
            "payload_per_guest_byte": div(payload, guest),
            "resident_pages": (run.get("pagedout") or {}).get("resident")}


def same_pages(runs):
    """The bytes runs (guest_bench.py bytes_run()): per workload, the size
    and each configuration's pool with the whole workload swapped out."""
    out = {}
    for r in runs:
        if r.get("kind") != "bytes":
            continue
        w = out.setdefault(r["workload"], {"size": r["size"], "configs": {}})
        m = pool_metrics(r) if r["status"] == "ok" else {}
        m["status"] = r["status"]
        w["configs"][r["config"]] = m
    return out


def analyse(j):
    runs = [r for r in j["runs"] if r.get("kind") != "bytes"]
    j["same_pages"] = same_pages(j["runs"])
    raw = j.get("raw_lz4") or {}
    by = {(r["workload"], r["size"], r["config"]): r for r in runs}
    metrics, capacity = {}, {}
    for r in runs:
        wl, size, cfg = r["workload"], r["size"], r["config"]
        cap = capacity.setdefault(wl, {})
        cap.setdefault(cfg, 0)
        if r["status"] != "ok":
            continue
        cap[cfg] = max(cap[cfg], size)
        base = by.get((wl, size, "noswap"))
        metrics.setdefault(wl, {}).setdefault(str(size), {})[cfg] = \
            run_metrics(r, base, raw.get(wl))
    j["metrics"], j["capacity"] = metrics, capacity
    j["targets"] = targets(j, by)
    return j


def pick_size(j, by, wl, cfgs):
    """TARGET_SIZE if every config completed there, else the largest size
    where they all did (None if none)."""
    sizes = j["meta"]["sizes"]
    ok = [s for s in sizes
          if all(by.get((wl, s, c), {}).get("status") == "ok" for c in cfgs)]
    if TARGET_SIZE in ok:
        return TARGET_SIZE
    return max(ok) if ok else None


def targets(j, by):
    """Issue 12 item 3, per workload."""
    out = []
    ran = set(j["meta"]["configs"])

    def add(wl, name, what, value, op, limit, size, note=""):
        t = {"workload": wl, "name": name, "what": what, "op": op,
             "limit": limit, "value": value, "size": size, "note": note}
        if value is None or limit is None:
            t["result"] = "FAIL" if not note.startswith("not run") else "SKIP"
            t["note"] = note or "could not be measured"
        else:
            ok = value <= limit if op == "<=" else value >= limit
            t["result"] = "PASS" if ok else "FAIL"
            # > 0: passes by that share of the limit; < 0: misses by it
            t["margin"] = ((limit - value) if op == "<=" else
                           (value - limit)) / limit if limit else None
        out.append(t)

    def metric(wl, size, cfg, key):
        m = j["metrics"].get(wl, {}).get(str(size), {}).get(cfg, {})
        v = m
        for k in key.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        return v

    for wl in j["meta"]["workloads"]:
        def vs(name, what, key, peer, factor, op="<="):
            need = [DEVICE, peer] + (["noswap"] if key == "insns_per_page"
                                     else [])
            missing = [c for c in need if c not in ran]
            if missing:
                add(wl, name, what, None, op, None, None,
                    "not run: " + " ".join(missing))
                return
            s = pick_size(j, by, wl, need)
            if s is None:
                add(wl, name, what, None, op, None, None,
                    "no size where %s all completed" % ", ".join(need))
                return
            pv = metric(wl, s, peer, key)
            note = "" if s == TARGET_SIZE else \
                "at %gx: the largest size where %s completed" % (
                    s, " and ".join(need))
            add(wl, name, what, metric(wl, s, DEVICE, key), op,
                pv * factor if pv is not None else None, s, note)

        def own(name, what, key, limit, op, info=None):
            if DEVICE not in ran:
                add(wl, name, what, None, op, None, None, "not run: " + DEVICE)
                return
            s = pick_size(j, by, wl, [DEVICE])
            note = "" if s == TARGET_SIZE or s is None else \
                "at %gx: the largest size %s completed" % (s, DEVICE)
            iv = metric(wl, s, DEVICE, info[0]) if s and info else None
            if iv is not None:
                note = "; ".join(x for x in (note, info[1] % iv) if x)
            add(wl, name, what, metric(wl, s, DEVICE, key) if s else None,
                op, limit, s, note)

        vs("insns_vs_zram", "guest instructions per swapped page <= 0.33x "
           "guest zram's", "insns_per_page", "zram", 0.33)
        vs("time_vs_zram", "workload time <= guest zram's",
           "work_seconds", "zram", 1.0)
        vs("time_vs_blk", "workload time <= 0.5x swap on virtio-blk "
           "cache=none", "work_seconds", "blk-none", 0.5)
        if DEVICE in ran and "zram" in ran:
            cap = j["capacity"].get(wl, {})
            largest = max(j["meta"]["sizes"])
            add(wl, "capacity_vs_zram", "capacity >= 2.5x guest zram's "
                "(largest workload completed bit-exact, x guest RAM)",
                cap.get(DEVICE, 0), ">=", 2.5 * cap.get("zram", 0), None,
                "%s completed the largest size run (%gx): its capacity is "
                "at least that" % (DEVICE, largest)
                if cap.get(DEVICE) == largest else "")
        else:
            add(wl, "capacity_vs_zram", "capacity >= 2.5x guest zram's",
                None, ">=", None, None, "not run: vswap or zram")
        sp = j.get("same_pages", {}).get(wl, {})
        dv = sp.get("configs", {}).get(DEVICE, {})
        zr = sp.get("configs", {}).get("zram", {})
        what = ("host bytes per guest byte swapped <= guest zram's (data "
                "pools: without per-page metadata on either side)")
        if dv.get("host_bytes_per_guest_byte") is not None and \
                zr.get("host_bytes_per_guest_byte") is not None:
            add(wl, "bytes_vs_zram", what + " on the same pages",
                dv["host_bytes_per_guest_byte"], "<=",
                zr["host_bytes_per_guest_byte"], sp["size"],
                "the whole workload swapped out: %s held %d pages, zram %d"
                % (DEVICE, dv["stored_pages"], zr["stored_pages"]))
        else:
            vs("bytes_vs_zram", what + " (at the hold after the fill: "
               "each holds other pages)", "host_bytes_per_guest_byte",
               "zram", 1.0)
        own("host_cpu_vs_raw_lz4", "host CPU per swapped page (non-vCPU "
            "threads) <= 1.5x raw lz4 compress + decompress",
            "host_cpu_vs_raw_lz4", 1.5, "<=",
            ("host_cpu_less_idle_vs_raw_lz4", "informative: %.2fx less "
             "what the no-swap run's non-vCPU threads spend per second"))
        own("pages_per_notification", ">= 8 pages per notification during "
            "a swap-out storm (fill pass: pages stored / kicks)",
            "storm_pages_per_kick", 8, ">=")
        vs("pagein_p99_vs_zram", "page-in p99 <= guest zram's",
           "pagein_us.p99", "zram", 1.0)
    return out


# --- output ------------------------------------------------------------------

def f(v, fmt="%.2f"):
    return "-" if v is None else fmt % v


def md(j):
    L = []
    meta = j["meta"]
    L.append("Guest %d MiB, %d vCPUs, TCG with the instruction-counting "
             "plugin; kernel %s; QEMU %s; tree %s; %s; %d s in all; load "
             "average %s at the start, %s at the end." % (
                 meta["mem_mib"], meta["smp"], meta.get("kernel", "?"),
                 meta.get("qemu", "?"), meta.get("tree", "?"),
                 meta.get("started", "?"), meta.get("seconds", 0),
                 " ".join(meta.get("load_average_start", [])),
                 " ".join(meta.get("load_average_end", []))))
    if meta.get("vswap_props") or meta.get("vswap_modparams"):
        L.append("")
        L.append("vswap device properties `%s`, module parameters `%s`." % (
            meta.get("vswap_props"), meta.get("vswap_modparams")))
    for wl in meta["workloads"]:
        raw = (j.get("raw_lz4") or {}).get(wl)
        for size in meta["sizes"]:
            if not any(r["workload"] == wl and r["size"] == size
                       for r in j["runs"]):
                continue
            L += ["", "**%s workload, %gx guest RAM (%d MiB)**" % (
                wl, size, round(size * meta["mem_mib"])), ""]
            L.append("| config | result | time / no-swap | insns / swapped "
                     "page | swap insns (G) | pages moved | host µs/page "
                     "non-vCPU (all) | vs raw lz4 | QEMU peak RSS MiB | "
                     "host B / guest B (with metadata) | page-in µs p50 / p99 / p99.9 | "
                     "pages / req | pages / kick (fill) |")
            L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:"
                     "|---:|---:|")
            for r in j["runs"]:
                if r["workload"] != wl or r["size"] != size or \
                        r.get("kind") == "bytes":
                    continue
                m = j["metrics"].get(wl, {}).get(str(size), {}).get(
                    r["config"])
                if not m:
                    L.append("| %s | %s |%s" % (r["config"], r["status"],
                                                " |" * 11))
                    continue
                lat = m.get("pagein_us") or {}
                L.append("| %s | ok | %s | %s | %s | %d | %s (%s) | %s | %s "
                         "| %s | %s | %s | %s |" % (
                             r["config"], f(m.get("time_vs_noswap")),
                             f(m.get("insns_per_page"), "%.0f"),
                             f(m.get("swap_insns") / 1e9
                               if m.get("swap_insns") is not None else None),
                             m["pages_moved"],
                             f(m.get("host_us_per_page_non_vcpu"), "%.1f"),
                             f(m.get("host_us_per_page_all"), "%.1f"),
                             f(m.get("host_cpu_vs_raw_lz4")),
                             f(m.get("qemu_peak_rss_mib"), "%.0f"),
                             f(m.get("host_bytes_per_guest_byte"), "%.3f")
                             + (" (%s)" % f(m["host_bytes_per_guest_byte_with_meta"],
                                            "%.3f")
                                if "host_bytes_per_guest_byte_with_meta" in m
                                else ""),
                             " / ".join(f(lat.get(k), "%.0f") for k in
                                        ("p50", "p99", "p99.9"))
                             if lat else "-",
                             f(m.get("pages_per_request")),
                             "%s (%s)" % (f(m.get("pages_per_kick")),
                                          f(m.get("storm_pages_per_kick")))
                             if "pages_per_kick" in m else "-"))
        sp = (j.get("same_pages") or {}).get(wl)
        if sp:
            L += ["", "**%s workload, %gx guest RAM, all of it swapped out** "
                  "(MADV_PAGEOUT after the fill: the pools hold the same "
                  "pages; behind an asynchronous device a page just written "
                  "stays in guest RAM, in the swap cache, until reclaim "
                  "comes back for it)" % (wl, sp["size"]), "",
                  "| config | result | pages held | still in guest RAM | "
                  "host B / guest B | payload B / guest B |",
                  "|---|---|---:|---:|---:|---:|"]
            for cfg, m in sp["configs"].items():
                L.append("| %s | %s | %s | %s | %s | %s |" % (
                    cfg, m["status"], f(m.get("stored_pages"), "%d"),
                    f(m.get("resident_pages"), "%d"),
                    f(m.get("host_bytes_per_guest_byte"), "%.3f"),
                    f(m.get("payload_per_guest_byte"), "%.3f")))
        if raw:
            L += ["", "Raw lz4 on this workload's non-zero pages, host, same "
                  "run: compress %.2f µs, decompress %.2f µs per page." % (
                      raw["compress_ns"] / 1e3, raw["decompress_ns"] / 1e3)]
    L += ["", "**Capacity** (largest workload completed bit-exact, x guest "
          "RAM; 0: none of the sizes run)", "",
          "| workload | " + " | ".join(meta["configs"]) + " |",
          "|---|" + "---:|" * len(meta["configs"])]
    for wl in meta["workloads"]:
        cap = j["capacity"].get(wl, {})
        L.append("| %s | %s |" % (wl, " | ".join(
            str(cap.get(c, "-")) for c in meta["configs"])))
    fails = [r for r in j["runs"] if r["status"] not in ("ok", "skipped")]
    if fails:
        L += ["", "Did not complete:"]
        L += ["- %s%s %gx %s: %s (%s)" % (
            "bytes run, " if r.get("kind") == "bytes" else "",
            r["workload"], r["size"], r["config"], r["status"],
            r.get("reason", "")[:160]) for r in fails]
    L += ["", "**Targets** (issue 12; margin: share of the limit by which it "
          "passes, negative: misses)", "",
          "| workload | target | size | value | limit | result | margin |",
          "|---|---|---:|---:|---:|---|---:|"]
    for t in j["targets"]:
        L.append("| %s | %s%s | %s | %s | %s %s | %s | %s |" % (
            t["workload"], t["what"], " (%s)" % t["note"] if t["note"] else "",
            "%gx" % t["size"] if t["size"] else "-", f(t["value"], "%.3g"),
            t["op"], f(t["limit"], "%.3g"),
            "**FAIL**" if t["result"] == "FAIL" else t["result"],
            f(100 * t["margin"], "%+.0f %%") if t.get("margin") is not None
            else "-"))
    return "\n".join(L) + "\n"


def plot(j, dat, png, gp):
    """Bars per configuration at TARGET_SIZE (or the largest size run):
    workload time / no-swap and guest instructions per swapped page."""
    wls = j["meta"]["workloads"]

    def has(s):
        return any(m.get("time_vs_noswap") is not None
                   for w in wls for m in
                   j["metrics"].get(w, {}).get(str(s), {}).values())
    sizes = [s for s in j["meta"]["sizes"] if has(s)]
    if not sizes:
        return False
    size = TARGET_SIZE if TARGET_SIZE in sizes else max(sizes)
    with open(dat, "w") as fh:
        fh.write("# config " + " ".join("%s_time %s_kinsn" % (w, w)
                                        for w in wls) + "\n")
        for cfg in j["meta"]["configs"]:
            if cfg == "noswap":
                continue
            row = ['"%s"' % cfg]
            for w in wls:
                m = j["metrics"].get(w, {}).get(str(size), {}).get(cfg, {})
                row.append(f(m.get("time_vs_noswap")))
                row.append(f(m.get("insns_per_page") / 1e3
                             if m.get("insns_per_page") is not None else None))
            fh.write(" ".join(row) + "\n")
    cols = " ".join(w for w in wls)
    subprocess.run(["gnuplot", "-e", "datafile='%s'; outfile='%s'; "
                    "workloads='%s'; size='%gx guest RAM (%d MiB)'" % (
                        dat, png, cols, size, round(size * j["meta"]["mem_mib"])),
                    gp], check=True)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--md")
    ap.add_argument("--dat")
    ap.add_argument("--plot")
    ap.add_argument("--gp")
    a = ap.parse_args()
    j = analyse(json.load(open(a.json)))
    with open(a.json, "w") as fh:
        json.dump(j, fh, indent=1, sort_keys=True)
    text = md(j)
    sys.stdout.write(text)
    if a.md:
        with open(a.md, "w") as fh:
            fh.write(text)
    if a.plot and a.gp and a.dat and j["metrics"]:
        try:
            if plot(j, a.dat, a.plot, a.gp):
                print("plot: %s" % a.plot)
            else:
                print("no plot: no size with a no-swap run to compare")
        except (OSError, subprocess.CalledProcessError) as e:
            print("no plot: %s" % e)
    failed = [t for t in j["targets"] if t["result"] == "FAIL"]
    errors = [r for r in j["runs"] if r["status"] == "error"]
    j["pass"] = not failed and not errors
    with open(a.json, "w") as fh:
        json.dump(j, fh, indent=1, sort_keys=True)
    print("%d targets passed, %d failed, %d not evaluated; %d runs with "
          "harness or device errors" % (
              sum(t["result"] == "PASS" for t in j["targets"]), len(failed),
              sum(t["result"] == "SKIP" for t in j["targets"]), len(errors)))
    return 0 if j["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
