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

spawnrate () {  # [program] -> "rate cpu_ms"
  "$top/build/tests/helpers/inject-load" spawn "$N" ${1:-} | awk '{ printf "%.0f %.2f\n", $1 / $4, $8 * 1000 / $1 }'
}

# a program that does nothing, static, with glibc and with musl: what the C library's start costs
mkdir -p "$top/build/bench"
printf 'int main (void) { return 0 ; }\n' > "$top/build/bench/empty.c"
gcc -O2 -static -o "$top/build/bench/empty-glibc" "$top/build/bench/empty.c"
musl=""
if command -v musl-gcc > /dev/null ; then
  musl-gcc -O2 -static -o "$top/build/bench/empty-musl" "$top/build/bench/empty.c" && musl=1
fi
# one CPUID instruction, timed (x86 only): what glibc's start repeats
cat > "$top/build/bench/cpuid.c" <<'EOC'
#include <stdio.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
int main (void)
{
  struct timespec a, b ;
  unsigned int e[4], i, n = 20000 ;
  clock_gettime(CLOCK_MONOTONIC, &a) ;
  for (i = 0 ; i < n ; i++) __cpuid_count(4, i & 3, e[0], e[1], e[2], e[3]) ;
  clock_gettime(CLOCK_MONOTONIC, &b) ;
  printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0 + 0 * e[0]) ;
  return 0 ;
}
#else
int main (void) { printf("-\n") ; return 0 ; }
#endif
EOC
gcc -O2 -o "$top/build/bench/cpuid" "$top/build/bench/cpuid.c"

mkdir -p "$top/build/bench"
r1="" ; c1="" ; r4="" ; c4="" ; rb="" ; rbb="" ; rs="" ; cs="" ; rg="" ; cg="" ; rm_="" ; cm="" ; cu=""
i=0
while [ "$i" -lt "$RUNS" ] ; do
  set -- $(one 1 "$N") ; r1="$r1 $1" ; c1="$c1 $2"
  set -- $(one 4 $((N / 4))) ; r4="$r4 $1" ; c4="$c4 $2"
  rb="$rb $(bare "")" ; rbb="$rbb $(bare -b)"
  set -- $(spawnrate) ; rs="$rs $1" ; cs="$cs $2"
  set -- $(spawnrate "$top/build/bench/empty-glibc") ; rg="$rg $1" ; cg="$cg $2"
  if [ -n "$musl" ] ; then set -- $(spawnrate "$top/build/bench/empty-musl") ; rm_="$rm_ $1" ; cm="$cm $2" ; fi
  cu="$cu $("$top/build/bench/cpuid")"
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
| spawn of an empty static glibc program | $(m "$rg") [$(echo $rg)] | $(m "$cg") ms [$(echo $cg)] |
$(if [ -n "$musl" ] ; then echo "| spawn of an empty static musl program | $(m "$rm_") [$(echo $rm_)] | $(m "$cm") ms [$(echo $cm)] |" ; else echo "| spawn of an empty static musl program | (musl-gcc not installed) | |" ; fi)

<!-- figure inject.n $N -->
<!-- figure inject.runs $RUNS -->
<!-- figure inject.cpu1 $(m "$c1") -->
<!-- figure inject.cpu4 $(m "$c4") -->

The injectors are driven by tests/helpers/inject-load (a posix_spawn of ferry-inject per
message, as qmail-smtpd's vfork or an s6 front end's spawn), so the rate includes process
creation.

What limits it: process creation, and most of that is the C library's start, as the two empty
programs show: the same program, static, costs far more CPU to start with glibc than with musl.
At its start glibc (2.36) reads the CPU's features and cache sizes with CPUID instructions (a
profile shows intel_check_word, handle_intel and get_common_cache_info), and in a virtual
machine each CPUID traps to the hypervisor: $(m "$cu") us each here [$(echo $cu)], timed over
20,000 in a loop$(if [ -n "$musl" ] ; then awk -v g="$(m "$cg")" -v u="$(m "$cm")" -v c="$(m "$cu")" 'BEGIN { if (c + 0 > 0) printf "; the two empty programs differ by %.2f ms, some %.0f of them", g - u, (g - u) * 1000 / c }' ; fi).
ferry-inject is a glibc program (skalibs is built for glibc), linked statically, and the load
starts it with posix_spawn: a fork's child paid, in the CPU counted as ferry-inject's, for
tearing down a copy of the load program's memory. The sendmail command avoids the start:
ferry-sendmail is a static musl program, and the job runs in a worker that ferry-sendmaild
forked without an exec and keeps for the caller's next calls (ferry-sendmaild.html). ferry-inject itself makes about 80 system calls, 4
of them fsync; the wall-clock rate of one injector is process creation plus 4 sync calls in
sequence, where the bare commit needs 2. Group commit across injections (ferry-injectd, for
ferry-sendmail) is the way past the sync rate, not fewer syncs per message.
EOT
rm -rf "$top/build/bench"
