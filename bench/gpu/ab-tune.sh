#!/usr/bin/env bash
# Decode and c(k) of the synthesized 1B files (made by device-round.sh's perf step) under each variant of the CUDA
# backend's switches, in one run on the GPU machine: as shipped, without dependent launches, with the matmuls' K split
# over blocks off (0) or wider (2048 blocks; BF16 only), one query head per attention block, and without CUDA graphs.
S=${S:-/tmp/pub/SpecDec.Cli}
for v in "" SPECDEC_CUDA_PDL=0 SPECDEC_CUDA_SPLIT_BLOCKS=0 SPECDEC_CUDA_SPLIT_BLOCKS=2048 SPECDEC_CUDA_ATTENTION_HEADS=1 SPECDEC_CUDA_GRAPHS=0; do
  for m in /tmp/1b-bf16.gguf /tmp/1b-q8_0.gguf; do
    echo "== ${v:-shipped} $m"
    env $v timeout 60 $S perf --device cuda --model $m --context 512 2>&1 | grep -E "^decode|^prefill |^ +[0-9.]+ +[0-9.]|c\((32|64)\)"
  done
done
