#!/usr/bin/env python3
"""Check that the printed outputs quoted in the docs are what the code prints.

For every ```text block in README.md and docs/**/*.md that directly follows one
`cargo run --release -- <args>` command line, run `target/release/omerta-sim
<args>` (with `--out` into a temporary folder and `--progress none` for `run`)
and compare its stdout with the block. Blocks that elide lines (a line that
is just `...`) are skipped. Build first: `cargo build --release`.

    python3 scripts/check_docs.py [--fix] [FILE.md ...]

Exit 0 when every checked block matches, 1 otherwise (with a diff).
`--fix` rewrites each differing block with what the code prints now.
"""
import difflib, glob, os, shlex, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "omerta-sim")


def blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```text":
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            body = lines[i + 1 : j]
            k = i - 1
            while k >= 0 and lines[k].strip() == "":
                k -= 1
            cmds = []
            while k >= 0 and lines[k].startswith("    cargo run --release -- "):
                cmds.append(lines[k])
                k -= 1
            if len(cmds) == 1 and not any(l.strip() == "..." for l in body):
                yield i + 1, j, cmds[0].split("#")[0].strip(), body
            i = j
        i += 1


def main(files):
    fix = "--fix" in files
    files = [f for f in files if f != "--fix"]
    files = files or [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    bad = checked = 0
    for f in files:
        fixes = []
        for line, end, cmd, body in blocks(f):
            args = []
            for a in shlex.split(cmd)[4:]:
                args += sorted(glob.glob(a, root_dir=ROOT)) or [a] if "*" in a else [a]
            with tempfile.TemporaryDirectory() as tmp:
                if args and args[0] == "run":
                    args += ["--out", tmp, "--progress", "none"]
                out = subprocess.run([BIN] + args, cwd=ROOT, capture_output=True, text=True)
            got = out.stdout.rstrip("\n").split("\n")
            want = body
            checked += 1
            if got != want:
                bad += 1
                fixes.append((line, end, got))
                print(f"{os.path.relpath(f, ROOT)}:{line}: `{cmd}` prints something else:")
                sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(want, got, "docs", "now", lineterm="", n=1))
            else:
                print(f"{os.path.relpath(f, ROOT)}:{line}: ok ({cmd})")
        if fix and fixes:
            lines = open(f, encoding="utf-8").read().split("\n")
            for line, end, got in reversed(fixes):
                lines[line:end] = got
            with open(f + ".tmp", "w", encoding="utf-8") as out:
                out.write("\n".join(lines))
            os.replace(f + ".tmp", f)
            print(f"{os.path.relpath(f, ROOT)}: rewrote {len(fixes)} block(s)")
    print(f"{checked} blocks checked, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
