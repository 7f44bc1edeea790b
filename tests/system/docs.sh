# The documentation keeps up with the code: a page per program, every control setting and
# every ferry-inject exit code described.
. "$FERRY_TOP/tests/lib.sh"
D=$FERRY_TOP/doc
for p in $(awk '!/^#/ && NF { print $1 }' "$FERRY_TOP/package/targets") ; do
  [ -f "$D/$p.html" ] || fail "doc/$p.html is missing"
  for section in Interface Options "Exit codes" Files Notes Examples ; do
    grep -q "<h2>$section</h2>" "$D/$p.html" || fail "doc/$p.html has no $section section"
  done
done
pass "every program has its page with every section"
new_home "$T/home"
for c in $(ls "$T/home/control") ; do
  grep -q "<td><code>$c</code></td>" "$D/control.html" || fail "control/$c is not in doc/control.html"
done
pass "every control file that ferry-setup writes is in doc/control.html"
for code in $(sed -n 's/^#define FERRY_INJECT_[A-Z]* \([0-9]*\)$/\1/p' "$FERRY_TOP/src/include/ferry/inject.h") ; do
  grep -q "<tr><td>$code</td>" "$D/ferry-inject.html" || fail "exit code $code is not in doc/ferry-inject.html"
done
pass "every exit code of ferry-inject is documented"
done_testing
