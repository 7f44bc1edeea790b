# Benchmark: ferry alone at several queue sizes, every workload and mode; see scale_bench.py.
# SIZES: the sizes, the first the reference; RUNS: runs at the first size; BIGRUNS: at the others,
# D/E for D runs of a drain and E of an end-to-end row.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/scale_bench.py" "${SIZES:-5000 20000 100000}" "${RUNS:-3}" "${BIGRUNS:-3/1}"
