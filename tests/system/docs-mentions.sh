# What the pages mention exists: programs, control files, repository paths, README.md's layout,
# queue paths and other home paths (in a fresh home or named by src/), the sections of
# performance.md a page cites (make bench writes them), and no page speaks of
# issues (tests/system/docs_mentions.py says how each is checked).
. "$FERRY_TOP/tests/lib.sh"
/usr/bin/python3 "$FERRY_TOP/tests/system/docs_mentions.py" || fail "a page mentions what does not exist (above)"
pass "every program, control file, repository path, layout folder, queue path and home path the pages mention exists, and no page speaks of issues"
done_testing
