#!/usr/bin/env bash
# Decode and c(k) of the synthesized 1B files (made by device-round.sh's perf step) under each variant of the CUDA
# backend's switches, in one run on the GPU machine, interleaved so a slow spell hits every variant: as shipped;
# with the RMSNorm in its own kernel again (SPECDEC_CUDA_FUSE_NORM=0); without dependent launches; one query head per
# attention block; without CUDA graphs. AB_VARIANTS replaces the list (one variant a word, switches joined by commas,
# "shipped" for none), e.g. SPECDEC_CUDA_SPLIT_BLOCKS=0|N, SPECDEC_CUDA_STREAM=0 (decode's BF16 matmul not streaming),
# SPECDEC_CUDA_STREAM_STAGES=4|8|16, SPECDEC_CUDA_STREAM_TILES=N (default 600: the head does not stream). AB_MODELS
# replaces the two files. About 8 s a variant and file on the H100.
S=${S:-/tmp/pub/SpecDec.Cli}
variants=${AB_VARIANTS:-"shipped SPECDEC_CUDA_FUSE_NORM=0 SPECDEC_CUDA_PDL=0 SPECDEC_CUDA_ATTENTION_HEADS=1 SPECDEC_CUDA_GRAPHS=0
  shipped SPECDEC_CUDA_FUSE_NORM=0"}
for v in $variants; do
  for m in ${AB_MODELS:-/tmp/1b-bf16.gguf /tmp/1b-q8_0.gguf}; do
    echo "== $v $m"
    [ "$v" = shipped ] && v=
    env ${v//,/ } timeout 60 $S perf --device cuda --model $m --context 512 2>&1 | grep -E "^decode|^prefill |^ +[0-9.]+ +[0-9.]|c\((16|32|64)\)"
  done
done
