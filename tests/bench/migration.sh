#!/usr/bin/env bash
# make bench-migration (docs/migration.md, docs/benchmarks.md): the store's
# migration stream against the limits measured in the same run.
#   host   host/bench/bench_migration on 1 GiB of the e2e workload's pages
#          (tests/lib/guest/pagegen.h), lz4 (the default, the targets) and
#          zstd: wire bytes per stored guest byte, export -> unix socket
#          -> import vs a raw copy of the same bytes over the same kind of
#          socket, the stop-and-copy of a 1 % dirty tail vs a memcpy
#   guest  e2e.py --scenario migrate-idle: a guest whose workload holds
#          512 MiB swapped out (128 MiB guest) and idles is live-migrated;
#          the device's stop-and-copy bytes (its trace) vs the bytes stored
# Writes build/bench/migration.json (both parts, the targets, pass) and
# exits 1 if a target is missed. Env: BENCH_MIG_MIB (host store, 1024).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
dir=$BUILD/bench
mkdir -p "$dir/migration"
echo "# load before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cpus"

make -s -C "$REPO/host" "$BUILD/host/bench/bench_migration" >/dev/null || exit 2
mib=${BENCH_MIG_MIB:-1024}
for codec in lz4 zstd; do
	"$BUILD/host/bench/bench_migration" --json "$dir/migration/host-$codec.json" \
		--mib "$mib" --reps 5 --codec "$codec"
done

"$REPO/scripts/build-qemu.sh" --no-deps >&2 || exit 2
image=$("$TESTLIB/guest/image.sh") || exit 2
. "$image"
rm -rf "$dir/migration/guest"
mkdir -p "$dir/migration/guest"
"$PY" "$REPO/tests/guest/e2e.py" --qemu "$QEMU" --kernel "$VMLINUZ" \
	--initrd "$INITRD" --workdir "$dir/migration/guest" \
	--scenario migrate-idle --mem 128 --mib 512 --procs 2 --timeout 900 \
	--report "$dir/migration/guest.json"

"$PY" - "$dir" <<'PYEOF'
import json, sys
d = sys.argv[1]
host = json.load(open(d + "/migration/host-lz4.json"))
zstd = json.load(open(d + "/migration/host-zstd.json"))
guest = json.load(open(d + "/migration/guest.json"))
targets = [
    ("wire_per_stored_byte (lz4, default)", host["wire_per_stored_byte"],
     "<=", 0.4),
    ("idle guest: stop-and-copy bytes per stored byte",
     guest.get("tail_per_stored_byte", 1.0), "<=", 0.01),
    ("stop-and-copy ms per GiB stored (1% dirty tail)",
     host["tail_ms_per_gib"], "<=", 50),
    ("stream vs raw copy over a unix socket", host["stream_vs_raw_copy"],
     ">=", 0.7),
]
out = {"host_lz4": host, "host_zstd": zstd, "guest": guest, "targets": []}
ok = True
for name, v, op, t in targets:
    p = v <= t if op == "<=" else v >= t
    ok &= p
    out["targets"].append({"name": name, "value": v, "op": op,
                           "target": t, "pass": p})
    print("%-52s %10.4f  (target %s %s) %s"
          % (name, v, op, t, "PASS" if p else "FAIL"))
print("%-52s %10.4f  (informational)" % ("wire_per_stored_byte (zstd)",
                                          zstd["wire_per_stored_byte"]))
print("%-52s %10.4f  (informational: real guest, e2e mix)"
      % ("wire bytes per stored guest byte (lz4)",
         guest.get("wire_per_guest_byte", 0)))
out["pass"] = ok
json.dump(out, open(d + "/migration.json", "w"), indent=1, sort_keys=True)
print("wrote %s/migration.json: %s" % (d, "PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PYEOF
