#!/usr/bin/env python3
"""Quick check that qemu-patches/*.patch still say what their sources say.

No QEMU source needed (that is gen-series.sh --check, byte for byte): this
reads the committed series and compares, patch by patch, with
qemu-patches/commits/NN-name/ and qemu-patches/tree/:
  - the patches are the commits/ directories, in order, with their
    subjects and message bodies;
  - every file a patch creates has exactly the content of tree/ and is
    listed in that directory's `files`; every tree/ file is created once;
  - every change to an existing QEMU file is exactly the hunks of that
    directory's *.diff files.
Prints TAP; exits 1 on any difference.

  scripts/qemu/check-series.py [QEMU_PATCHES_DIR]
"""
import os
import re
import sys

STD_HEADER = "include/standard-headers/linux/virtio_vswap.h"


def parse_patch(text):
    """(subject, body, {path: (is_new, [hunk lines])})"""
    head, _, rest = text.partition("\n---\n")
    lines = head.split("\n")
    subject, body, i = "", [], 0
    while i < len(lines) and lines[i]:
        if lines[i].startswith("Subject: "):
            subject = lines[i][len("Subject: "):]
            while i + 1 < len(lines) and lines[i + 1].startswith(" "):
                i += 1
                subject += lines[i]
        i += 1
    body = "\n".join(lines[i + 1:]).strip("\n")
    subject = re.sub(r"^\[PATCH[^\]]*\] ", "", subject)
    return subject, body, parse_diffs(rest)


def parse_diffs(text):
    files, cur, in_hunks = {}, None, False
    for line in text.split("\n"):
        m = re.match(r"^diff --git a/(\S+) b/(\S+)$", line)
        if m:
            cur = m.group(2)
            files[cur] = [False, []]
            in_hunks = False
            continue
        if cur is None:
            continue
        if not in_hunks:
            if line.startswith("new file mode"):
                files[cur][0] = True
            if line.startswith("@@"):
                in_hunks = True
        if in_hunks:
            if line.startswith(("@@", "+", "-", " ", "\\")) or line == "":
                files[cur][1].append(line)
    for f in files.values():       # the blank line(s) ending a section
        while f[1] and f[1][-1] == "":
            f[1].pop()
    return {k: (v[0], v[1]) for k, v in files.items()}


def new_file_content(hunk):
    return "".join(l[1:] + "\n" for l in hunk
                   if l.startswith("+") and not l.startswith("+++"))


def main():
    pq = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../../qemu-patches")
    pq = os.path.normpath(pq)
    n = fails = 0

    def check(ok, what, detail=""):
        nonlocal n, fails
        n += 1
        if not ok:
            fails += 1
            print(f"not ok {n} - {what}")
            if detail:
                print("# " + detail.replace("\n", "\n# "))
        else:
            print(f"ok {n} - {what}")

    series = [l for l in open(os.path.join(pq, "series")).read().split("\n")
              if l and not l.startswith("#")]
    commits = sorted(d for d in os.listdir(os.path.join(pq, "commits"))
                     if os.path.isdir(os.path.join(pq, "commits", d)))
    check(len(series) == len(commits),
          f"series has one patch per commits/ directory ({len(series)})",
          f"series {len(series)}, commits/ {len(commits)}")
    tree_files = set()
    for root, _, names in os.walk(os.path.join(pq, "tree")):
        for name in names:
            tree_files.add(os.path.relpath(os.path.join(root, name),
                                           os.path.join(pq, "tree")))
    created = {}
    for num, (pname, cname) in enumerate(zip(series, commits), 1):
        cdir = os.path.join(pq, "commits", cname)
        subject, body, diffs = parse_patch(open(os.path.join(pq, pname)).read())
        msg = open(os.path.join(cdir, "message")).read().strip("\n")
        msubject, _, mbody = msg.partition("\n")
        body_wo_sob = re.sub(r"\n*Signed-off-by: .*$", "", body).strip("\n")
        check(subject == msubject and body_wo_sob == mbody.strip("\n"),
              f"{pname}: subject and message are {cname}/message")
        listed = set()
        for line in open(os.path.join(cdir, "files")).read().split("\n"):
            parts = line.split()
            if parts and not parts[0].startswith("#"):
                listed.add(parts[-1])
        hunks = {}
        for dname in sorted(os.listdir(cdir)):
            if dname.endswith(".diff"):
                for path, (_, h) in parse_diffs(
                        open(os.path.join(cdir, dname)).read()).items():
                    hunks.setdefault(path, []).extend(h)
        for path, (is_new, h) in sorted(diffs.items()):
            if is_new:
                created.setdefault(path, []).append(pname)
                if path == STD_HEADER:
                    check(path in listed, f"{pname}: creates {path} (generated)")
                    continue
                tree = os.path.join(pq, "tree", path)
                same = (os.path.isfile(tree) and
                        open(tree).read() == new_file_content(h))
                check(path in listed and same,
                      f"{pname}: {path} is tree/{path}",
                      "" if same else f"differs from qemu-patches/tree/{path}"
                      if path in listed else f"not in {cname}/files")
            else:
                want = hunks.pop(path, None)
                check(want == h, f"{pname}: its change to {path} is "
                      f"{cname}/*.diff", "differs" if want else
                      f"no *.diff in {cname} changes {path}")
        for path in sorted(hunks):
            check(False, f"{pname}: changes {path} as {cname}/*.diff says",
                  "the patch does not touch it")
        for path in sorted(listed - {p for p, (new, _) in diffs.items() if new}):
            check(False, f"{pname}: creates {path} listed in {cname}/files")
    for path in sorted(tree_files):
        check(len(created.get(path, [])) == 1,
              f"tree/{path} is created by exactly one patch",
              f"created by: {created.get(path, [])}")
    print(f"1..{n}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
