#!/usr/bin/env bash
# Packs the part of llama.cpp's source that a CUDA llama-bench on x86 needs (ggml's CPU backend for x86 and its CUDA
# backend, libllama, common, tools/llama-bench, vendor; tools/CMakeLists.txt cut to llama-bench, the headers of what
# only the multimodal tools use emptied, llamafile's CPU GEMMs left out: built with GGML_LLAMAFILE=OFF) into one .tar.xz of about 1.6 MB, to carry to the GPU machine within its
# 64 MiB transfer (bench/gpu/build-llama-cuda.sh builds it there). Never commit the result.
#   bash bench/gpu/pack-llama.sh [SRC] [OUT]     SRC: llama.cpp's git checkout (default ~/llamacpp-peer/src)
set -euo pipefail
src=${1:-$HOME/llamacpp-peer/src} out=${2:-/tmp/llama-src.tar.xz}
tmp=$(mktemp -d); d=$tmp/llama
mkdir -p "$d"
git -C "$src" archive HEAD CMakeLists.txt cmake common include src vendor licenses LICENSE ggml/CMakeLists.txt ggml/cmake \
    ggml/include ggml/src/ggml-cpu ggml/src/ggml-cuda ggml/src/ggml-blas tools/llama-bench | tar x -C "$d"
# ggml/src's own files (not the other backends' folders)
git -C "$src" ls-files ggml/src | grep -Ev '^ggml/src/ggml-[a-z0-9-]+/' | tar c -C "$src" -T - | tar x -C "$d"
: > "$d/vendor/miniaudio/miniaudio.h"; : > "$d/vendor/stb/stb_image.h"
rm -rf "$d"/ggml/src/ggml-cpu/arch/{arm,loongarch,powerpc,riscv,s390,wasm} "$d"/ggml/src/ggml-cpu/{kleidiai,spacemit,llamafile}
printf 'find_package(Threads REQUIRED)\nllama_add_compile_flags()\nadd_subdirectory(llama-bench)\n' > "$d/tools/CMakeLists.txt"
tar c -C "$tmp" llama | xz -9 > "$out"
rm -rf "$tmp"
echo "wrote $out ($(wc -c < "$out") bytes)"
