"""What the pages (doc/*.html, README.md, doc/performance.md) mention exists, checked against the
tree, the code and a fresh home as they are when the test runs:
- every program ferry-NAME is in package/targets (but the name of a file format, FORMAT_TAGS, and
  a home's service, service/NAME in package/modes);
- every control/NAME is in the control table (src/libferry/control_table.c), written by ferry-setup,
  or named so by the code (control/mailboxes and its compiled table);
- every repository path (src/..., tests/..., doc/..., package/..., conf-*) exists (a test or helper
  may be named without its .c, .sh or .py: tests/unit/dests), and so does every
  folder README.md's layout names (queue/ on src/'s line is src/queue);
- every queue path (queue/DIR, queue/DIR/NAME) is in a fresh home (ferry-setup -b build/bin HOME),
  or src/ names it: a string "queue/DIR..." or a DIR string handed to ferry_queue_path or
  ferry_queue_subdir; the pages' own tables (doc/queue.html's) prove nothing, they are checked too;
- every other home path (remote/..., public/..., service/..., log/...) is in a fresh home, or src/
  names it as a string (public/inject, made when ferry-injectd starts), or its last name is a
  string of src/ in a directory a fresh home has (remote/qctl.PID), or it is s6's own (supervise/
  in a service directory, current in a log directory);
- a section of performance.md a page cites by name ("One big message" in performance.md, or
  performance.md, "...") is one make bench writes: "The targets" or a bench's "## " heading in
  tests/bench/;
- no page speaks of issues, or promises what has not landed.
doc/performance.md, which make bench writes, is checked for programs and repository paths only.
Each offence is named with its page. Run with /usr/bin/python3 by docs-mentions.sh."""

import html
import os
import re
import subprocess
import sys
import tempfile

TOP = os.environ["FERRY_TOP"]
BIN = os.environ.get("FERRY_BIN") or os.path.join(TOP, "build", "bin")
DOCS = os.environ.get("FERRY_DOCS_PAGES")      # a page list to check instead (the test's own check)
GENERATED = {"doc/performance.md"}             # written by make bench: programs and repository paths only


def text_of(path):
    s = open(path, encoding="utf-8").read()
    if path.endswith(".html"):
        s = re.sub(r"<em>[^<]*</em>", "\x01", s)      # a placeholder (control/<em>name</em>) ends a name
        s = re.sub(r"</?(?:td|th|tr|table|li|ul|ol|p|h[1-6]|pre|br|div)\b[^>]*>", "\n", s)
        s = re.sub(r"<[^>]*>", "", s)
        s = html.unescape(s)
    return s


pages = DOCS.split() if DOCS else sorted(
    [os.path.join(TOP, "doc", f) for f in os.listdir(os.path.join(TOP, "doc")) if f.endswith(".html")]
    + [os.path.join(TOP, "README.md"), os.path.join(TOP, "doc", "performance.md")])
texts = {os.path.relpath(p, TOP): text_of(p) for p in pages}

# the code: every .c and .h of src/, and its string literals
sources = []
for root, dirs, files in os.walk(os.path.join(TOP, "src")):
    for f in files:
        if f.endswith((".c", ".h")):
            sources.append(open(os.path.join(root, f), errors="replace").read())
literals = set()
for s in sources:
    literals |= set(re.findall(r'"((?:[^"\\\n]|\\.)*)"', s))
all_literals = "\n".join(sorted(literals))

# a fresh home
tmp = tempfile.mkdtemp(prefix="ferry-docs.")
home = os.path.join(tmp, "home")
r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-b", BIN, home], capture_output=True, text=True)
if r.returncode:
    print("FAILED: ferry-setup: " + r.stdout + r.stderr)
    subprocess.run(["rm", "-rf", tmp])
    sys.exit(1)
home_paths = set()
for root, dirs, files in os.walk(home):
    dirs[:] = [d for d in dirs if not d.isdigit()]          # a split directory's numbered subdirectories
    for n in dirs + files:
        home_paths.add(os.path.relpath(os.path.join(root, n), home))
subprocess.run(["rm", "-rf", tmp])

# what exists
targets = {l.split()[0] for l in open(os.path.join(TOP, "package", "targets")) if l.strip() and not l.startswith("#")}
# the services of a home (service/NAME in package/modes) are named like programs: ferry-submission
services = {l.split()[1].split("/")[1] for l in open(os.path.join(TOP, "package", "modes"))
            if not l.startswith("#") and len(l.split()) > 1 and l.split()[1].startswith("service/") and l.split()[1].count("/") == 1}
controls = set(re.findall(r'^\s*\{ "([a-z0-9]+)"', open(os.path.join(TOP, "src", "libferry", "control_table.c")).read(), re.M))
controls |= {p[len("control/"):] for p in home_paths if p.startswith("control/")}
for s in sources:                                           # and the files the code reads or writes
    controls |= set(re.findall(r'"control/([a-z0-9._-]+)', s))

queue_known = {p[len("queue/"):] for p in home_paths if p.startswith("queue/")}
queue_from_src = set()
for l in literals:                                          # "queue/lock/steer", "queue/corrupt/"
    m = re.match(r"queue/([a-z]+(?:/[a-z]+)?)/?$", l)
    if m:
        queue_from_src.add(m.group(1))
for s in sources:                                           # ferry_queue_path(fn, "bounce", id, 0)
    for args in re.findall(r"\bferry_queue_(?:path|subdir)\s*\(([^;]*?)\)\s*;", s):
        queue_from_src |= set(re.findall(r'"([a-z]+)"', args))
queue_known |= queue_from_src

# the sections of performance.md that make bench writes
bench_sections = {"The targets"}
bench_dir = os.path.join(TOP, "tests", "bench")
for f in os.listdir(bench_dir):
    if os.path.isfile(os.path.join(bench_dir, f)):
        bench_sections |= set(re.findall(r"""(?:^|["'])## ([A-Za-z][^"\n\\]*)""", open(os.path.join(bench_dir, f), errors="replace").read(), re.M))

HOME_TOPS = ("remote", "public", "service", "log")
FORMAT_TAGS = {"ferry-mtasts"}     # the first line of a cache file, "ferry-mtasts 1": a format, no program


def home_path_known(p):
    if p in home_paths or re.search(r"(?<![\w.-])" + re.escape(p) + r"(?![\w-])", all_literals):
        return True                                         # "public/inject", "/log/run", in a message
    parts = p.split("/")
    parent, last = "/".join(parts[:-1]), parts[-1]
    if parts[0] == "service" and len(parts) > 2 and parts[2] == "supervise" and "/".join(parts[:2]) in home_paths:
        return True                                         # s6-supervise's own files
    if parent in home_paths and last == "current" and (parent == "log" or parent.startswith("log/")):
        return True                                         # s6-log's own file
    return bool(parent) and bool(last) and parent in home_paths and last in literals


# README.md's layout: each bare folder name on an entry's lines is a folder of that entry
layout_bad = []
readme = open(os.path.join(TOP, "README.md"), encoding="utf-8").read()
m = re.search(r"^## Layout\n\n((?:    [^\n]*\n|\n)*)", readme, re.M)
if not DOCS:
    if not m:
        layout_bad.append("README.md: no ## Layout block")
    else:
        entry = None
        for line in m.group(1).split("\n"):
            if not line.strip():
                continue
            if line[4] != " ":
                entry = line.split()[0]
                if not os.path.exists(os.path.join(TOP, entry)):
                    layout_bad.append("README.md: the layout's %s does not exist in the repository" % entry)
                rest = line[4 + len(entry):]
            else:
                rest = line
            if not entry.endswith("/"):
                continue
            for name in re.findall(r"(?<![\w/.~-])([a-z][a-z0-9_-]*)/(?![\w])", rest):
                if not os.path.isdir(os.path.join(TOP, entry, name)):
                    layout_bad.append("README.md: the layout's %s on %s's line is not %s%s" % (name + "/", entry, entry, name))

bad = list(layout_bad)
for page, t in texts.items():
    for m in set(re.findall(r"(?<![\w/.=-])ferry-[a-z][a-z-]*[a-z]", t)):
        if m not in targets and m not in services and not (m.endswith("s") and m[:-1] in targets) and m not in FORMAT_TAGS:     # "both ferry-cleans"
            bad.append("%s: the program %s is not in package/targets" % (page, m))
    for m in set(re.findall(r"(?<![\w/.~-])((?:src|tests|doc|package)/[A-Za-z0-9_./-]*|conf-[a-z]+)", t)):
        p = m.rstrip(".-")
        if not any(os.path.exists(os.path.join(TOP, p + x)) for x in ("", ".c", ".sh", ".py")):   # a test by its name
            bad.append("%s: %s does not exist in the repository" % (page, p))
    if page in GENERATED:
        continue
    for line in t.split("\n"):
        for m in set(re.findall(r"(?<![\w.-])control/([a-z0-9][a-z0-9._-]*[a-z0-9])", line)):
            if m not in controls and "not a ferry setting" not in line:     # ferry-showctl's example of a typo
                bad.append("%s: control/%s is neither in the control table nor written by ferry-setup" % (page, m))
    # a home path stands alone, or after HOME/, /var/ferry/ or ~/mail/
    at_home = r"(?:(?<![\w/.~$-])|(?<=HOME/)|(?<=/var/ferry/)|(?<=~/mail/))"
    for m in set(re.findall(at_home + r"queue/([a-z]+(?:[./][a-z]+)?)(?![\w])", t)):
        if m not in queue_known:
            bad.append("%s: queue/%s is neither in a fresh home nor named by src/" % (page, m))
    for m in set(re.findall(at_home + r"((?:%s)/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*)" % "|".join(HOME_TOPS), t)):
        if not home_path_known(m) and not home_path_known(m.rstrip("./")):    # remote/qctl.PID; remote/ask.
            bad.append("%s: %s is neither in a fresh home nor named by src/" % (page, m.rstrip("./")))
    flat = re.sub(r"\s+", " ", t)
    for m in re.findall(r'"([^"]+)" in performance\.md|performance\.md\)?, "([^"]+)"', flat):
        cited = m[0] or m[1]
        if not any(h.startswith(cited) for h in bench_sections):
            bad.append('%s: cites "%s" of doc/performance.md, a section make bench does not write' % (page, cited))
    for m in re.findall(r"[^\n]*\bissues?\b[^\n]*", t, re.I):
        bad.append("%s: speaks of issues: %s" % (page, m.strip()[:120]))
    for m in re.findall(r"[^\n]*\b(?:arrives? with|not landed|not yet implemented)\b[^\n]*", t, re.I):
        bad.append("%s: promises what is not there: %s" % (page, m.strip()[:120]))

for b in sorted(set(bad)):
    print("FAILED: " + b)
print("checked %d pages: %d programs, %d control files, %d queue names known (%d named by src/), %d paths in a fresh home"
      % (len(texts), len(targets), len(controls), len(queue_known), len(queue_from_src), len(home_paths)))
sys.exit(1 if bad else 0)
