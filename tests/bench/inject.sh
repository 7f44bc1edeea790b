# Benchmark: ferry-inject's rate, one injector and 4 in parallel, 4 KiB messages, beside the
# disk's bare commit rate in the same directory. Prints a markdown section on stdout.
# Run through tests/bench/run (make bench). N defaults to 2000 per measurement.
set -eu
top=${FERRY_TOP:?}
BIN=$top/build/bin
H=$top/build/bench/inject-home
N=${N:-2000}
RUNS=${RUNS:-3}
export FERRY_BIN=$BIN
median () { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' ; }

one () {  # injectors count-each -> "rate cpu_ms_per_message"
  rm -rf "$H" ; "$BIN/ferry-setup" -b "$BIN" "$H" > /dev/null
  k=0 ; pids=""
  start=$(date +%s.%N)
  while [ "$k" -lt "$1" ] ; do
    "$top/build/tests/helpers/inject-load" bench "$H" "$2" 4096 > "$H/../out.$k" &
    pids="$pids $!" ; k=$((k + 1))
  done
  for p in $pids ; do wait "$p" ; done
  end=$(date +%s.%N)
  cpu=$(cat "$H"/../out.* | sed 's/.*CPU \([0-9.]*\) s/\1/' | awk '{ s += $1 } END { print s }')
  total=$(( $1 * $2 ))
  [ "$(find "$H/queue/todo" -type f | wc -l)" = "$total" ] || { echo "bench: lost messages" >&2 ; exit 1 ; }
  awk -v t="$total" -v s="$start" -v e="$end" -v c="$cpu" 'BEGIN { printf "%.0f %.2f\n", t / (e - s), c * 1000 / t }'
  rm -f "$H"/../out.*
}

bare () {  # [-b] -> rate
  d=$top/build/bench/bare ; rm -rf "$d" ; mkdir -p "$d"
  "$top/build/tests/helpers/sync-rate" $1 "$d" "$N" 4096 | sed 's/.*: \([0-9]*\) per second/\1/'
  rm -rf "$d"
}

spawnrate () {  # -> "rate cpu_ms"
  "$top/build/tests/helpers/inject-load" spawn "$N" | awk '{ printf "%.0f %.2f\n", $1 / $4, $8 * 1000 / $1 }'
}

mkdir -p "$top/build/bench"
r1="" ; c1="" ; r4="" ; c4="" ; rb="" ; rbb="" ; rs="" ; cs=""
i=0
while [ "$i" -lt "$RUNS" ] ; do
  set -- $(one 1 "$N") ; r1="$r1 $1" ; c1="$c1 $2"
  set -- $(one 4 $((N / 4))) ; r4="$r4 $1" ; c4="$c4 $2"
  rb="$rb $(bare "")" ; rbb="$rbb $(bare -b)"
  set -- $(spawnrate) ; rs="$rs $1" ; cs="$cs $2"
  i=$((i + 1))
done
m () { printf '%s\n' $1 | median ; }
cat <<EOT
## Injection (ferry-inject)

$N messages of 4 KiB per measurement, median of $RUNS runs (each run's figures in brackets).
A fresh home on the same file system for each run; every message fully durable (4 sync calls:
message, mess/ directory, envelope, todo/ directory).

| measurement | per second | CPU per message (ferry-inject) |
|---|---|---|
| ferry-inject, 1 injector | $(m "$r1") [$(echo $r1)] | $(m "$c1") ms [$(echo $c1)] |
| ferry-inject, 4 injectors in parallel | $(m "$r4") [$(echo $r4)] | $(m "$c4") ms [$(echo $c4)] |
| bare create+write+fsync+link+directory fsync | $(m "$rb") [$(echo $rb)] | |
| bare, batched 100 per syncfs | $(m "$rbb") [$(echo $rbb)] | |
| spawn of /bin/true, no I/O | $(m "$rs") [$(echo $rs)] | $(m "$cs") ms [$(echo $cs)] |

<!-- figure inject.n $N -->
<!-- figure inject.runs $RUNS -->
<!-- figure inject.cpu1 $(m "$c1") -->
<!-- figure inject.cpu4 $(m "$c4") -->

The injectors are driven by tests/helpers/inject-load (a posix_spawn of ferry-inject per
message, as qmail-smtpd's vfork or an s6 front end's spawn), so the rate includes process
creation.

What limits it: process creation. A page fault costs about 40 us of CPU on this virtual machine
(\`perf stat -r 300\`: a static empty program, 26 faults, 1.2 ms; a dynamic one, 48 faults,
1.9 ms), and with 4 injectors on 2 cores every fault and context switch costs more again.
ferry-inject is linked statically (half the start-up faults), and the load starts it with
posix_spawn: a fork's child paid, in the CPU counted as ferry-inject's, for tearing down a copy
of the load program's memory. Each is about 2 ms of CPU per message with 4 injectors (measured
one against the other when the change was made). ferry-inject itself makes about 80 system calls, 4
of them fsync; the wall-clock rate of one injector is process creation plus 4 sync calls in
sequence, where the bare commit needs 2. Group commit across injections (ferry-injectd, for
ferry-sendmail) is the way past the sync rate, not fewer syncs per message.
EOT
rm -rf "$top/build/bench"
