# Shared by the system tests: a private temporary directory, checks that say what failed,
# and a fresh ferry home. Source it: . "$FERRY_TOP/tests/lib.sh"
set -u
: "${FERRY_TOP:?run the system tests through tests/run}"
BIN=${FERRY_BIN:-$FERRY_TOP/build/bin}
HELPERS=$FERRY_TOP/build/tests/helpers
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-test.XXXXXX")
checks=0
cleanups=""
on_exit () {
  for c in $cleanups ; do $c ; done
  rm -rf "$T"
}
trap on_exit EXIT
trap 'exit 111' INT TERM HUP

fail () { echo "FAILED: $*" >&2 ; exit 1 ; }
# skip WHY: the test cannot run here (tests/run counts it as skipped, not passed)
skip () { echo "skipped: $*" ; exit 77 ; }
pass () { checks=$((checks + 1)) ; echo "ok - $*" ; }
# at_exit FUNCTION: run FUNCTION (say, stopping what the test started) when the test ends
at_exit () { cleanups="$1 $cleanups" ; }

# expect_eq WHAT GOT WANT
expect_eq () { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'" ; pass "$1" ; }

# new_home DIR: a ferry home made by ferry-setup, programs from the build
new_home () {
  "$BIN/ferry-setup" -b "$BIN" "$1" > "$T/setup.out" 2>&1 || { cat "$T/setup.out" ; fail "ferry-setup $1" ; }
}

# count_files DIR: regular files under DIR
count_files () { find "$1" -type f | wc -l | tr -d ' ' ; }

# expect_no_queue_files HOME WHAT: no file in todo, intd, mess or pid (what a failed injection must leave)
expect_no_queue_files () {
  n=$(find "$1/queue/todo" "$1/queue/intd" "$1/queue/mess" "$1/queue/pid" -type f | wc -l | tr -d ' ')
  [ "$n" = 0 ] || { find "$1/queue" -type f >&2 ; fail "$2: $n files left in todo/intd/mess" ; }
}

# inject HOME MESSAGEFILE ENVELOPEFILE: runs ferry-inject, sets $rc
inject () {
  rc=0
  FERRY_HOME=$1 "$BIN/ferry-inject" < "$2" 1< "$3" 2> "$T/inject.err" || rc=$?
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, or fail after SECONDS
wait_for () {
  limit=$(( $(date +%s) + $1 )) ; shift
  until "$@" ; do
    [ "$(date +%s)" -lt "$limit" ] || fail "timed out waiting for: $*"
    sleep 0.05
  done
}

done_testing () { echo "$checks checks passed" ; }
