#!/usr/bin/env bash
# Makes specdec.ptx from specdec.cu with nvcc (CUDA 13; run on a machine with the toolkit, e.g. the GPU machine):
#   bash src/SpecDec/Backends/Cuda/Kernels/build-ptx.sh [source] [output]
# The PTX targets compute_80 (Ampere and newer: the tensor-core matmuls need sm_80); the driver compiles it for the card at load. Its first line records
# the source's SHA-256, which a test (CudaKernelFilesTests) compares with specdec.cu, so the two cannot drift.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-$here/specdec.cu}"
out="${2:-$here/specdec.ptx}"
hash="$(tr -d '\r' < "$src" | sha256sum | cut -d' ' -f1)"
tmp="$(mktemp --suffix=.ptx)"
nvcc -arch=compute_80 --ptx -O3 -o "$tmp" "$src"
{ echo "// specdec.cu sha256 $hash"; echo "// made by build-ptx.sh with $(nvcc --version | grep release | sed 's/.*release/nvcc/')"; cat "$tmp"; } > "$out"
rm -f "$tmp"
echo "wrote $out ($(wc -c < "$out") bytes) for source $hash"
