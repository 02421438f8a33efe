#!/bin/bash
# Interleaved timing: 3 reps; in each rep every variant runs the same layers (order rotated).
cd "$(dirname "$0")"
V=(/tmp/prof /tmp/profA /tmp/profB)
for rep in 0 1 2; do
  for i in 0 1 2; do
    v=${V[$(( (i + rep) % 3 ))]}
    PYTHONPATH=$v nice -n 5 python bench.py 14a 14b 14c | sed "s/^{/{\"rep\": $rep, /"
  done
done
for i in 0 1 2; do PYTHONPATH=${V[$i]} nice -n 5 python bench.py 15a | sed 's/^{/{"rep": 9, /'; done
