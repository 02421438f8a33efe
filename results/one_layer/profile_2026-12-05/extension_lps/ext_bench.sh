#!/bin/bash
# base and variants alternated (rotated order), 2 repetitions, each on 14a 14b 14c 15a
cd /work/main/results/one_layer/profile_2026-12-05
for rep in 1 2; do
  if [ $rep = 1 ]; then order="extBase extB extA extA2"; else order="extA2 extA extB extBase"; fi
  for x in $order; do
    PYTHONPATH=/tmp/$x nice -n 5 python bench.py 14a 14b 14c 15a | sed "s/^{/{\"build\": \"$x\", \"rep\": $rep, /"
  done
done
