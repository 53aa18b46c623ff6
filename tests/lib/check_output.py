#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks on vswapctl output, read from stdin.

  check_output.py json SCHEMA [EXPECT]  validate against the JSON Schema
                                        (draft-07, python3-jsonschema); with
                                        EXPECT, a JSON object of
                                        "vm|device|key": value to compare
  check_output.py prom                  Prometheus text format 0.0.4: every
                                        family has HELP and TYPE before its
                                        samples, names and labels are well
                                        formed, counters end in _total
Exit 0 if fine, else 1 with the reason on stderr.
"""
import json
import re
import sys


def fail(msg):
    print("check_output: " + msg, file=sys.stderr)
    sys.exit(1)


def check_json(schema_path, expect_path=None):
    import jsonschema
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    doc = json.load(sys.stdin)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc),
                    key=lambda e: list(e.path))
    if errors:
        fail("; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message)
                       for e in errors[:5]))
    if expect_path:
        with open(expect_path) as f:
            expect = json.load(f)
        devs = {(d["vm"], d["device"]): d for d in doc["devices"]}
        for key, want in expect.items():
            vm, dev, field = key.split("|")
            if (vm, dev) not in devs:
                fail("no device %s/%s in output" % (vm, dev))
            got = devs[(vm, dev)].get(field, "<missing>")
            if isinstance(want, float) and isinstance(got, (int, float)):
                ok = abs(got - want) < 1e-6 * max(1.0, abs(want))
            else:
                ok = got == want
            if not ok:
                fail("%s: got %r, want %r" % (key, got, want))


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)\{(%s(?:,%s)*)\} (\S+)$" % (NAME, LABEL, LABEL))


def check_prom():
    helped, typed, seen_samples = set(), {}, set()
    n = 0
    for ln, line in enumerate(sys.stdin, 1):
        line = line.rstrip("\n")
        m = re.match(r"^# HELP (%s) (.+)$" % NAME, line)
        if m:
            if m.group(1) in helped:
                fail("line %d: second HELP for %s" % (ln, m.group(1)))
            helped.add(m.group(1))
            continue
        m = re.match(r"^# TYPE (%s) (counter|gauge)$" % NAME, line)
        if m:
            if m.group(1) not in helped:
                fail("line %d: TYPE before HELP for %s" % (ln, m.group(1)))
            typed[m.group(1)] = m.group(2)
            continue
        m = SAMPLE.match(line)
        if not m:
            fail("line %d: not a sample: %r" % (ln, line))
        name, labels, value = m.group(1), m.group(2), m.group(3)
        if name not in typed:
            fail("line %d: sample of %s before its TYPE" % (ln, name))
        if typed[name] == "counter" and not name.endswith("_total"):
            fail("line %d: counter %s does not end in _total" % (ln, name))
        if 'vm="' not in labels or 'device="' not in labels:
            fail("line %d: missing vm/device label" % ln)
        if (name, labels) in seen_samples:
            fail("line %d: duplicate sample" % ln)
        seen_samples.add((name, labels))
        float(value)
        n += 1
    print("%d families, %d samples" % (len(typed), n))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "json":
        check_json(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif len(sys.argv) == 2 and sys.argv[1] == "prom":
        check_prom()
    else:
        fail(__doc__)
