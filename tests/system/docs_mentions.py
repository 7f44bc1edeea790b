"""What the pages (doc/*.html, README.md) mention exists, checked against the tree and the
programs as they are when the test runs:
- every program ferry-NAME is in package/targets;
- every control/NAME is in the control table (src/libferry/control_table.c), written by ferry-setup,
  or named so by the code (control/mailboxes and its compiled table);
- every repository path (src/..., tests/..., doc/..., package/..., conf-*) exists;
- every queue path (queue/...) is one ferry-setup makes or a row of doc/queue.html's table;
- no page speaks of issues, or promises what has not landed.
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
    + [os.path.join(TOP, "README.md")])
texts = {os.path.relpath(p, TOP): text_of(p) for p in pages}

# what exists
targets = {l.split()[0] for l in open(os.path.join(TOP, "package", "targets")) if l.strip() and not l.startswith("#")}
controls = set(re.findall(r'^\s*\{ "([a-z0-9]+)"', open(os.path.join(TOP, "src", "libferry", "control_table.c")).read(), re.M))
tmp = tempfile.mkdtemp(prefix="ferry-docs.")
home = os.path.join(tmp, "home")
r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-b", BIN, home], capture_output=True, text=True)
if r.returncode:
    print("FAILED: ferry-setup: " + r.stdout + r.stderr)
    sys.exit(1)
controls |= set(os.listdir(os.path.join(home, "control")))
for root, dirs, files in os.walk(os.path.join(TOP, "src")):      # and the files the code reads or writes
    for f in files:
        if f.endswith(".c"):
            controls |= set(re.findall(r'"control/([a-z0-9._-]+)', open(os.path.join(root, f), errors="replace").read()))
queue_known = set()
for name in os.listdir(os.path.join(home, "queue")):
    queue_known.add(name)
    if os.path.isdir(os.path.join(home, "queue", name)) and not os.path.isdir(os.path.join(home, "queue", name, "0")):
        queue_known |= {name + "/" + x for x in os.listdir(os.path.join(home, "queue", name))}
subprocess.run(["rm", "-rf", tmp])
for row in re.findall(r"<tr><td><code>queue/([a-z]+(?:/[a-z]+)?)/?</code>", open(os.path.join(TOP, "doc", "queue.html")).read()):
    queue_known.add(row)

bad = []
for page, t in texts.items():
    for m in set(re.findall(r"(?<![\w/.=-])ferry-[a-z][a-z-]*[a-z]", t)):
        if m not in targets:
            bad.append("%s: the program %s is not in package/targets" % (page, m))
    for line in t.split("\n"):
        for m in set(re.findall(r"(?<![\w.-])control/([a-z0-9][a-z0-9._-]*[a-z0-9])", line)):
            if m not in controls and "not a ferry setting" not in line:     # ferry-showctl's example of a typo
                bad.append("%s: control/%s is neither in the control table nor written by ferry-setup" % (page, m))
    for m in set(re.findall(r"(?<![\w/.~-])((?:src|tests|doc|package)/[A-Za-z0-9_./-]*|conf-[a-z]+)", t)):
        p = m.rstrip(".-")
        if not os.path.exists(os.path.join(TOP, p)):
            bad.append("%s: %s does not exist in the repository" % (page, p))
    for m in set(re.findall(r"(?<![\w/.~-])queue/([a-z]+(?:/[a-z]+)?)", t)):
        name = m if m.startswith("lock/") else m.split("/")[0]     # a split directory's files, or a FIFO of lock/
        if name not in queue_known:
            bad.append("%s: queue/%s is neither made by ferry-setup nor defined in doc/queue.html" % (page, m))
    for m in re.findall(r"[^\n]*\bissues?\b[^\n]*", t, re.I):
        bad.append("%s: speaks of issues: %s" % (page, m.strip()[:120]))
    for m in re.findall(r"[^\n]*\b(?:arrives? with|not landed|not yet implemented)\b[^\n]*", t, re.I):
        bad.append("%s: promises what is not there: %s" % (page, m.strip()[:120]))

for b in sorted(set(bad)):
    print("FAILED: " + b)
print("checked %d pages: %d programs, %d control files, %d queue names known" % (len(texts), len(targets), len(controls), len(queue_known)))
sys.exit(1 if bad else 0)
