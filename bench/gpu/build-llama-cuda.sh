#!/usr/bin/env bash
# Builds llama.cpp's llama-bench with CUDA for Hopper (sm_90) on the GPU machine, for the side-by-side
# (bench/gpu/side-by-side.sh). Never commit the source or the build.
#   bash bench/gpu/build-llama-cuda.sh SRC BUILD
# SRC: llama.cpp's source (the release node-llama-cpp bundles: /work/shared/tools/llamacpp-peer.sh fetches it; for the
# GPU machine's 64 MiB transfer, bench/gpu/pack-llama.sh packs the part llama-bench needs, about 1.8 MB). On the
# H100 machine's 16 cores this takes several minutes: start it in the background beside other work.
set -euo pipefail
src=$1 build=$2
cmake -S "$src" -B "$build" -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_NATIVE=ON -DGGML_CUDA_NCCL=OFF -DGGML_LLAMAFILE=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)" --target llama-bench
echo "built: $build/bin/llama-bench"
