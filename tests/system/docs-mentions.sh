# What the pages mention exists: programs, control files, repository paths, queue paths, and no
# page speaks of issues (tests/system/docs_mentions.py says how each is checked).
. "$FERRY_TOP/tests/lib.sh"
/usr/bin/python3 "$FERRY_TOP/tests/system/docs_mentions.py" || fail "a page mentions what does not exist (above)"
pass "every program, control file, repository path and queue path the pages mention exists, and no page speaks of issues"
done_testing
