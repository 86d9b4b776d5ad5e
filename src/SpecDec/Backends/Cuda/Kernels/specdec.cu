// SpecDec's CUDA kernels: everything one forward pass runs on the GPU. Compiled at run time by NVRTC when the
// toolkit's libnvrtc is present, else loaded from specdec.ptx (build-ptx.sh; a test checks that file was made
// from this source), which the driver compiles for the card. No #include: f16 and bf16 are converted with PTX
// and bit operations, so NVRTC needs no toolkit headers.
//
// Activations are f32 rows with a padded stride (a multiple of 32 elements, the padding zero), so every weight
// row and activation row is read in aligned 16-byte pieces. Every kernel computes a row the same way whatever
// the other rows of the batch are: a tree's row gets exactly the bits its path gets when run causally.

typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
#define NEG_INF __int_as_float((int)0xff800000)

__device__ __forceinline__ float h2f(u16 h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ u16 f2h(float f) { u16 h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__device__ __forceinline__ float bf2f(u16 b) { return __uint_as_float(((u32)b) << 16); }
__device__ __forceinline__ float lo16h(u32 w) { return h2f((u16)(w & 0xffff)); }
__device__ __forceinline__ float hi16h(u32 w) { return h2f((u16)(w >> 16)); }
__device__ __forceinline__ float lo16b(u32 w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float hi16b(u32 w) { return __uint_as_float(w & 0xffff0000u); }

__device__ __forceinline__ int dp4a(int a, int b, int c)
{
    int r;
    asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float block_sum(float v, float* partial)
{
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32)
    {
        float u = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : 0.f;
        u = warp_sum(u);
        if (threadIdx.x == 0) partial[0] = u;
    }
    __syncthreads();
    return partial[0];
}

// RMSNorm's arithmetic, shared by rmsnorm and the kernels that fuse it (blocks of 256 threads): thread j sums the
// squares of its row's elements j, j + 256, … in that order, block_sum adds the threads' sums (warps, then the 8
// warps' sums), and scale = 1 / sqrt(sum / n + eps); a normed element is (x · scale) · w. The same bits wherever it runs.
__device__ __forceinline__ float row_squares(const float* xr, int n)
{
    float ss = 0.f;
#pragma unroll 8
    for (int c = threadIdx.x; c < n; c += 256)
    {
        float v = xr[c];
        ss = fmaf(v, v, ss);
    }
    return ss;
}
__device__ __forceinline__ float norm_scale(float sum, int n, float eps) { return 1.f / sqrtf(sum / n + eps); }

// Programmatic dependent launch (sm_90+, where the host launches with it; no-ops elsewhere): every kernel lets the
// next one be scheduled as soon as all its blocks run (launch_next), and waits for its predecessor's results and
// memory (pdl_wait) before it reads or writes anything the kernels before it touch. The tensor-core matmuls first
// ask L2 for their weights, which no kernel writes, so those reads overlap the previous kernel's tail.
__device__ __forceinline__ void launch_next()
{
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_wait()
{
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_entry() { launch_next(); pdl_wait(); }
__device__ __forceinline__ void prefetch_l2(const void* p) { asm volatile("prefetch.global.L2 [%0];" :: "l"(p)); }


// ---------------------------------------------------------------------------------------------------------
// Matmul Y[T × N] = X[T × K] · W[N × K]ᵀ, one warp per output column n, R rows of X per block (blockIdx.x picks
// the group). Each lane walks 16-byte pieces of W's row n: piece p covers elements [p·E, p·E + E). The sums of a
// row are formed in the same order for every R, so a row's result does not depend on the batch around it.

#define WARPS 4

// Weight pieces dequantized to E floats. Layouts (padded row stride ld elements, a multiple of 32):
//   F32: ld floats a row. F16/BF16: ld halves a row. (Q8_0 has its own kernel, matmul_q8.)
struct PieceF32 { enum { E = 4 };
    static __device__ __forceinline__ void load(const void* w, const u16*, long row, int ld, int p, float* out)
    {
        float4 v = __ldg((const float4*)((const float*)w + row * ld) + p);
        out[0] = v.x; out[1] = v.y; out[2] = v.z; out[3] = v.w;
    }
};
struct PieceF16 { enum { E = 8 };
    static __device__ __forceinline__ void load(const void* w, const u16*, long row, int ld, int p, float* out)
    {
        uint4 v = __ldg((const uint4*)((const u16*)w + row * ld) + p);
        out[0] = lo16h(v.x); out[1] = hi16h(v.x); out[2] = lo16h(v.y); out[3] = hi16h(v.y);
        out[4] = lo16h(v.z); out[5] = hi16h(v.z); out[6] = lo16h(v.w); out[7] = hi16h(v.w);
    }
};
struct PieceBF16 { enum { E = 8 };
    static __device__ __forceinline__ void load(const void* w, const u16*, long row, int ld, int p, float* out)
    {
        uint4 v = __ldg((const uint4*)((const u16*)w + row * ld) + p);
        out[0] = lo16b(v.x); out[1] = hi16b(v.x); out[2] = lo16b(v.y); out[3] = hi16b(v.y);
        out[4] = lo16b(v.z); out[5] = hi16b(v.z); out[6] = lo16b(v.w); out[7] = hi16b(v.w);
    }
};
template <class P, int R>
__device__ __forceinline__ void accumulate(const float* __restrict__ x, int ldx, int rows, const float* wf, int p, float* acc)
{
#pragma unroll
    for (int r = 0; r < R; r++)
    {
        if (r >= rows) break;
        const float4* xr = (const float4*)(x + (long)r * ldx) + p * (P::E / 4);
        float a = acc[r];
#pragma unroll
        for (int i = 0; i < P::E / 4; i++)
        {
            float4 xv = __ldg(xr + i);
            a = fmaf(wf[4 * i], xv.x, a);
            a = fmaf(wf[4 * i + 1], xv.y, a);
            a = fmaf(wf[4 * i + 2], xv.z, a);
            a = fmaf(wf[4 * i + 3], xv.w, a);
        }
        acc[r] = a;
    }
}

// mode 0: Y = XWᵀ; mode 1: Y += XWᵀ (the residual add). With W2 (glu): Y = silu(XWᵀ) · (XW2ᵀ), SwiGLU fused.
template <class P, int R, bool GLU>
__device__ __forceinline__ void matmul(const float* __restrict__ x, int ldx, int T, const void* w, const u16* ws,
    const void* w2, const u16* ws2, int ldw, float* y, int ldy, int N, int mode)
{
    pdl_entry();
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    // Row groups are blockIdx.x, so the blocks that read one weight row run together and share it through L2.
    int n = blockIdx.y * WARPS + warp;
    int t0 = blockIdx.x * R;
    if (n >= N) return;
    int rows = min(R, T - t0);
    x += (long)t0 * ldx;
    float acc[R], acc2[R];
#pragma unroll
    for (int r = 0; r < R; r++) { acc[r] = 0.f; acc2[r] = 0.f; }
    int pieces = ldw / P::E;
    float wf[P::E], wf2[P::E];
#pragma unroll 4
    for (int p = lane; p < pieces; p += 32)
    {
        P::load(w, ws, n, ldw, p, wf);
        if (GLU) P::load(w2, ws2, n, ldw, p, wf2);
        accumulate<P, R>(x, ldx, rows, wf, p, acc);
        if (GLU) accumulate<P, R>(x, ldx, rows, wf2, p, acc2);
    }
#pragma unroll
    for (int r = 0; r < R; r++)
    {
        if (r >= rows) break;
        float s = warp_sum(acc[r]);
        if (GLU) s = s / (1.f + expf(-s)) * warp_sum(acc2[r]);
        if (lane == 0)
        {
            float* o = y + (long)(t0 + r) * ldy + n;
            *o = mode == 1 ? *o + s : s;
        }
    }
}

#define MATMUL(name, P, R) \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) mm_##name##_r##R(const float* x, int ldx, int T, \
        const void* w, const u16* ws, int ldw, float* y, int ldy, int N, int mode) \
    { matmul<P, R, false>(x, ldx, T, w, ws, 0, 0, ldw, y, ldy, N, mode); } \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) glu_##name##_r##R(const float* x, int ldx, int T, \
        const void* w, const u16* ws, const void* w2, const u16* ws2, int ldw, float* y, int ldy, int N) \
    { matmul<P, R, true>(x, ldx, T, w, ws, w2, ws2, ldw, y, ldy, N, 0); }
#define MATMULS(name, P) MATMUL(name, P, 1) MATMUL(name, P, 2) MATMUL(name, P, 4) MATMUL(name, P, 8)

MATMULS(f32, PieceF32)
MATMULS(f16, PieceF16)
MATMULS(bf16, PieceBF16)

// ---------------------------------------------------------------------------------------------------------
// Q8_0 matrices read int8 activations, rounded exactly as the CPU rounds them (Kernels/Quant/ActivationQ8): per
// block of 32, d = max|x| / 127 and q = x · (1/d) rounded to nearest even, so both backends multiply the same
// integers. A lane takes a whole block: 32 weights and 32 activations by dp4a, then one float multiply-add.

// One block of 32 activations v rounded to int8 quants q and the scale d.
__device__ __forceinline__ void quantize_block(const float* v, signed char* q, float* d)
{
    float amax = 0.f;
#pragma unroll
    for (int i = 0; i < 32; i += 4)
        amax = fmaxf(amax, fmaxf(fmaxf(fabsf(v[i]), fabsf(v[i + 1])), fmaxf(fabsf(v[i + 2]), fabsf(v[i + 3]))));
    float scale = amax / 127.f;
    float inv = scale != 0.f ? 1.f / scale : 0.f;
    int packed[8];
#pragma unroll
    for (int i = 0; i < 8; i++)
    {
        int word = 0;
#pragma unroll
        for (int j = 0; j < 4; j++) word |= (__float2int_rn(v[4 * i + j] * inv) & 0xff) << (8 * j);
        packed[i] = word;
    }
    int4* out = (int4*)q;
    int4 lo, hi;
    lo.x = packed[0]; lo.y = packed[1]; lo.z = packed[2]; lo.w = packed[3];
    hi.x = packed[4]; hi.y = packed[5]; hi.z = packed[6]; hi.w = packed[7];
    out[0] = lo;
    out[1] = hi;
    *d = scale;
}

extern "C" __global__ void quantize_q8(const float* x, int ld, signed char* q, float* d, int k)
{
    pdl_entry();
    int row = blockIdx.y, b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= k / 32) return;
    const float4* xb = (const float4*)(x + (long)row * ld + b * 32);
    float v[32];
#pragma unroll
    for (int i = 0; i < 8; i++)
    {
        float4 f = xb[i];
        v[4 * i] = f.x; v[4 * i + 1] = f.y; v[4 * i + 2] = f.z; v[4 * i + 3] = f.w;
    }
    quantize_block(v, q + (long)row * ld + b * 32, d + (long)row * (ld / 32) + b);
}

template <int R, bool GLU>
__device__ __forceinline__ void matmul_q8(const signed char* __restrict__ xq, const float* __restrict__ xd, int ldx, int T,
    const signed char* w, const u16* ws, const signed char* w2, const u16* ws2, float* y, int ldy, int N, int mode)
{
    pdl_entry();
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int n = blockIdx.y * WARPS + warp;
    int t0 = blockIdx.x * R;
    if (n >= N) return;
    int rows = min(R, T - t0);
    int blocks = ldx / 32;
    xq += (long)t0 * ldx;
    xd += (long)t0 * blocks;
    float acc[R], acc2[R];
#pragma unroll
    for (int r = 0; r < R; r++) { acc[r] = 0.f; acc2[r] = 0.f; }
#pragma unroll 2
    for (int b = lane; b < blocks; b += 32)
    {
        const int4* wp = (const int4*)(w + (long)n * ldx) + 2 * b;
        int4 wa = __ldg(wp), wb = __ldg(wp + 1);
        float dw = h2f(__ldg(ws + (long)n * blocks + b));
        int4 va, vb;
        float dw2 = 0.f;
        if (GLU)
        {
            const int4* wp2 = (const int4*)(w2 + (long)n * ldx) + 2 * b;
            va = __ldg(wp2); vb = __ldg(wp2 + 1);
            dw2 = h2f(__ldg(ws2 + (long)n * blocks + b));
        }
#pragma unroll
        for (int r = 0; r < R; r++)
        {
            if (r >= rows) break;
            const int4* xp = (const int4*)(xq + (long)r * ldx) + 2 * b;
            int4 xa = __ldg(xp), xb = __ldg(xp + 1);
            float dx = __ldg(xd + (long)r * blocks + b);
            int sum = dp4a(wa.x, xa.x, 0);
            sum = dp4a(wa.y, xa.y, sum); sum = dp4a(wa.z, xa.z, sum); sum = dp4a(wa.w, xa.w, sum);
            sum = dp4a(wb.x, xb.x, sum); sum = dp4a(wb.y, xb.y, sum); sum = dp4a(wb.z, xb.z, sum); sum = dp4a(wb.w, xb.w, sum);
            acc[r] = fmaf((float)sum, dw * dx, acc[r]);
            if (GLU)
            {
                int sum2 = dp4a(va.x, xa.x, 0);
                sum2 = dp4a(va.y, xa.y, sum2); sum2 = dp4a(va.z, xa.z, sum2); sum2 = dp4a(va.w, xa.w, sum2);
                sum2 = dp4a(vb.x, xb.x, sum2); sum2 = dp4a(vb.y, xb.y, sum2); sum2 = dp4a(vb.z, xb.z, sum2); sum2 = dp4a(vb.w, xb.w, sum2);
                acc2[r] = fmaf((float)sum2, dw2 * dx, acc2[r]);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++)
    {
        if (r >= rows) break;
        float s = warp_sum(acc[r]);
        if (GLU) s = s / (1.f + expf(-s)) * warp_sum(acc2[r]);
        if (lane == 0)
        {
            float* o = y + (long)(t0 + r) * ldy + n;
            *o = mode == 1 ? *o + s : s;
        }
    }
}

#define MATMUL_Q8(R) \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) mmq_q8_0_r##R(const signed char* xq, const float* xd, int ldx, int T, \
        const signed char* w, const u16* ws, float* y, int ldy, int N, int mode) \
    { matmul_q8<R, false>(xq, xd, ldx, T, w, ws, 0, 0, y, ldy, N, mode); } \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) gluq_q8_0_r##R(const signed char* xq, const float* xd, int ldx, int T, \
        const signed char* w, const u16* ws, const signed char* w2, const u16* ws2, float* y, int ldy, int N) \
    { matmul_q8<R, true>(xq, xd, ldx, T, w, ws, w2, ws2, y, ldy, N, 0); }
MATMUL_Q8(1) MATMUL_Q8(2) MATMUL_Q8(4) MATMUL_Q8(8)

// ---------------------------------------------------------------------------------------------------------
// Tensor-core matmuls (sm_80+: mma.sync), BF16 and Q8_0, for every row count from decode's 1 to a chunk's 64.
// The arithmetic of an output element is fixed by the matrix alone: K is cut into TCW · groups ranges (groups, the
// launch's gridDim.y, is chosen by the host from the matrix's shape), each range's products are chained through
// mmas in k order, the TCW ranges of a group are added in warp order inside a block, and when groups > 1 the
// groups' sums are added in group order by the block of a tile that finishes last (an atomic counter, as the
// attention's segments). An mma forms each output element from its own row and column only, so a row's result is
// the same bits whatever T and the other rows are: a tree row gets its path's bits, as with the kernels above.
// How the work is spread is free: a block of TCW warps takes MT tiles of 16 weight rows (several when the batch is
// wide, so each activation fragment serves MT mmas) and one group of ranges, and reads each weight once for all
// T ≤ 8·NT activation rows (NT tiles of 8); more groups make more, shorter blocks for the narrow matrices.
// Fragments: lane (g = lane/4, t = lane%4) loads 8 consecutive k of weight rows g and g+8 and of activation row g
// in one piece each; the mma sees them as its k positions (2t, 2t+1, 2t+8, 2t+9) (bf16) or (4t…, 16+4t…) (s8).
// A dot product does not depend on the order of its k, so W and X only need the same permutation.
// Below sm_80 (NVRTC on Turing) these compile to nothing and the backend uses the kernels above.

#define TCW 8

__device__ __forceinline__ void mma_bf16(float* d, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1)
{
#if __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]) : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#endif
}

__device__ __forceinline__ void mma_s8(int* d, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1)
{
#if __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]) : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#endif
}

__device__ __forceinline__ u16 f2bf(float f)
{
    u16 h = 0;
#if __CUDA_ARCH__ >= 800
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
#endif
    return h;
}

// An f32 activation as three bf16 terms, hi + mid + lo = x (each difference is exact, and 3 × 8 bits cover f32's
// 24), so a bf16 mma over the terms multiplies bf16 weights by the f32 activations, as the other kernels do.
__device__ __forceinline__ void split3(float v, u32& hi, u32& mid, u32& lo)
{
    u16 h = f2bf(v);
    float r = v - bf2f(h);
    u16 m = f2bf(r);
    hi = h;
    mid = m;
    lo = f2bf(r - bf2f(m));
}

// Eight consecutive activations (a, then b) as the three terms' bf16 pairs, in split_bf16's layout.
__device__ __forceinline__ void split8(float4 a, float4 b, uint4* terms)
{
    float v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
    u32 p[3][8];
#pragma unroll
    for (int i = 0; i < 8; i++) split3(v[i], p[0][i], p[1][i], p[2][i]);
#pragma unroll
    for (int j = 0; j < 3; j++)
        terms[j] = make_uint4(p[j][0] | p[j][1] << 16, p[j][2] | p[j][3] << 16, p[j][4] | p[j][5] << 16, p[j][6] | p[j][7] << 16);
}

// The terms of [rows × k] activations written once for the wide batches. xs: three planes `plane` elements apart,
// each [rows × ld].
extern "C" __global__ void split_bf16(const float* x, int ld, u16* xs, long long plane, int k)
{
    pdl_entry();
    int row = blockIdx.y, c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= k) return;
    long o = (long)row * ld + c;
    u32 hi, mid, lo;
    split3(x[o], hi, mid, lo);
    xs[o] = (u16)hi;
    xs[plane + o] = (u16)mid;
    xs[2 * plane + o] = (u16)lo;
}

// The TCW warps' partial sums [TCW][NT tiles · 8 columns · 16 rows] added in warp order; thread j keeps outputs
// j, j + 256, … (o = column · 16 + row) in out.
template <int NT>
__device__ __forceinline__ void tc_reduce(float (*red)[NT * 128], float (*acc)[4], float* out)
{
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
    {
        float* r = red[warp] + (nt * 8 + 2 * t) * 16 + g;
        r[0] = acc[nt][0]; r[16] = acc[nt][1]; r[8] = acc[nt][2]; r[24] = acc[nt][3];
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < (NT * 128 + TCW * 32 - 1) / (TCW * 32); i++)
    {
        int o = threadIdx.x + i * TCW * 32;
        float s = 0.f;
        if (o < NT * 128)
            for (int w = 0; w < TCW; w++) s += red[w][o];
        out[i] = s;
    }
    __syncthreads();
}

// Writes the block's MT tiles: within a tile, column c is activation row c and output n0 + row. With several groups,
// each block leaves its sums in part ([tile blocks][groups][MT][1 or 2 for GLU][NT · 128]) and the last of a tile
// block's groups (count: [tile blocks] ints, zero between launches) adds them in group order and writes. mode 1 adds
// to y (the residual).
template <int NT, int MT, bool GLU>
__device__ __forceinline__ void tc_store(float (*red)[NT * 128], float (*acc)[NT][4], float (*acc2)[NT][4], float* y, int ldy,
    int T, int N, int mode, float* part, int* count)
{
    constexpr int PER = (NT * 128 + TCW * 32 - 1) / (TCW * 32), PARTS = GLU ? 2 : 1, SIZE = NT * 128;
    __shared__ int last;
    float out[MT][PER], up[MT][PER];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
    {
        tc_reduce<NT>(red, acc[mt], out[mt]);
        if (GLU) tc_reduce<NT>(red, acc2[mt], up[mt]);
    }
    int groups = gridDim.y;
    if (groups > 1)
    {
        float* all = part + (long)blockIdx.x * groups * MT * PARTS * SIZE;
        float* mine = all + (long)blockIdx.y * MT * PARTS * SIZE;
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int i = 0; i < PER; i++)
            {
                int o = threadIdx.x + i * TCW * 32;
                if (o >= SIZE) continue;
                mine[mt * PARTS * SIZE + o] = out[mt][i];
                if (GLU) mine[(mt * PARTS + 1) * SIZE + o] = up[mt][i];
            }
        __threadfence();
        __syncthreads();
        if (threadIdx.x == 0) last = atomicAdd(count + blockIdx.x, 1) == groups - 1;
        __syncthreads();
        if (!last) return;
        // The partials are read from L2 (__ldcg), where the other blocks' fenced stores are.
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int i = 0; i < PER; i++)
            {
                int o = threadIdx.x + i * TCW * 32;
                if (o >= SIZE) continue;
                float s = 0.f, u = 0.f;
                for (int j = 0; j < groups; j++)
                {
                    s += __ldcg(all + ((long)j * MT + mt) * PARTS * SIZE + o);
                    if (GLU) u += __ldcg(all + (((long)j * MT + mt) * PARTS + 1) * SIZE + o);
                }
                out[mt][i] = s;
                up[mt][i] = u;
            }
        if (threadIdx.x == 0) count[blockIdx.x] = 0;
    }
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
    {
        int n0 = (blockIdx.x * MT + mt) * 16;
#pragma unroll
        for (int i = 0; i < PER; i++)
        {
            int o = threadIdx.x + i * TCW * 32, row = o % 16, c = o / 16;
            float v = out[mt][i];
            if (GLU) v = v / (1.f + expf(-v)) * up[mt][i];
            if (o < SIZE && c < T && n0 + row < N)
            {
                float* p = y + (long)c * ldy + n0 + row;
                *p = mode == 1 ? *p + v : v;
            }
        }
    }
}

// This warp's range of the K steps (of 32 k): range blockIdx.y · TCW + warp of TCW · groups.
__device__ __forceinline__ void tc_range(int steps, int& s0, int& s1)
{
    int ranges = TCW * gridDim.y, r = blockIdx.y * TCW + threadIdx.x / 32;
    s0 = steps * r / ranges;
    s1 = steps * (r + 1) / ranges;
}

// BF16: W [N × ldx] bf16. Up to 16 rows (NT ≤ 2) split the f32 activations x here, with their weights' loads
// (no split_bf16 launch for decode); wider batches read split_bf16's terms xs. The terms are the same bits either
// way. Each step takes 32 k: two k16 mmas per term and tile.
template <int NT, int MT, bool GLU>
__device__ __forceinline__ void tc_bf16(const float* __restrict__ x, const u16* __restrict__ xs, long long plane, int ldx, int T,
    const u16* __restrict__ w, const u16* __restrict__ w2, float* y, int ldy, int N, int mode, float* part, int* count)
{
    constexpr bool LIVE = NT <= 2;
    constexpr int U = NT <= 2 ? 4 : 2; // steps whose loads are issued before any is used
    __shared__ float red[TCW][NT * 128];
    int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    long ra[MT], rb[MT];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
    {
        int n0 = (blockIdx.x * MT + mt) * 16;
        ra[mt] = (long)min(n0 + g, N - 1) * ldx + 8 * t;
        rb[mt] = (long)min(n0 + g + 8, N - 1) * ldx + 8 * t;
    }
    int s0, s1;
    tc_range(ldx / 32, s0, s1);
    launch_next();
    for (int s = s0; s < s1; s++)
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
        {
            prefetch_l2(w + ra[mt] + s * 32);
            prefetch_l2(w + rb[mt] + s * 32);
            if (GLU) { prefetch_l2(w2 + ra[mt] + s * 32); prefetch_l2(w2 + rb[mt] + s * 32); }
        }
    pdl_wait();
    float acc[MT][NT][4], acc2[MT][NT][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int j = 0; j < 4; j++) { acc[mt][nt][j] = 0.f; acc2[mt][nt][j] = 0.f; }
    for (int s = s0; s < s1; s += U)
    {
        uint4 wa[U][MT], wb[U][MT], va[U], vb[U];
        float4 xa[U][LIVE ? NT : 1], xb[U][LIVE ? NT : 1];
#pragma unroll
        for (int u = 0; u < U; u++)
            if (s + u < s1)
            {
                long k = (long)(s + u) * 32;
#pragma unroll
                for (int mt = 0; mt < MT; mt++)
                {
                    wa[u][mt] = __ldg((const uint4*)(w + ra[mt] + k));
                    wb[u][mt] = __ldg((const uint4*)(w + rb[mt] + k));
                }
                if (GLU) { va[u] = __ldg((const uint4*)(w2 + ra[0] + k)); vb[u] = __ldg((const uint4*)(w2 + rb[0] + k)); }
                if (LIVE)
#pragma unroll
                    for (int nt = 0; nt < (LIVE ? NT : 1); nt++)
                    {
                        int c = nt * 8 + g;
                        xa[u][nt] = make_float4(0.f, 0.f, 0.f, 0.f);
                        xb[u][nt] = xa[u][nt];
                        if (c < T)
                        {
                            const float4* p = (const float4*)(x + (long)c * ldx + k + 8 * t);
                            xa[u][nt] = __ldg(p);
                            xb[u][nt] = __ldg(p + 1);
                        }
                    }
            }
#pragma unroll
        for (int u = 0; u < U; u++)
            if (s + u < s1)
            {
                long k = (long)(s + u) * 32 + 8 * t;
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
                {
                    int c = nt * 8 + g;
                    uint4 terms[3];
                    if (LIVE) split8(xa[u][LIVE ? nt : 0], xb[u][LIVE ? nt : 0], terms);
                    else
#pragma unroll
                        for (int term = 0; term < 3; term++)
                            terms[term] = c < T ? __ldg((const uint4*)(xs + term * plane + (long)c * ldx + k)) : make_uint4(0, 0, 0, 0);
#pragma unroll
                    for (int term = 2; term >= 0; term--)
                    {
                        uint4 xv = terms[term];
#pragma unroll
                        for (int mt = 0; mt < MT; mt++)
                        {
                            mma_bf16(acc[mt][nt], wa[u][mt].x, wb[u][mt].x, wa[u][mt].y, wb[u][mt].y, xv.x, xv.y);
                            mma_bf16(acc[mt][nt], wa[u][mt].z, wb[u][mt].z, wa[u][mt].w, wb[u][mt].w, xv.z, xv.w);
                        }
                        if (GLU)
                        {
                            mma_bf16(acc2[0][nt], va[u].x, vb[u].x, va[u].y, vb[u].y, xv.x, xv.y);
                            mma_bf16(acc2[0][nt], va[u].z, vb[u].z, va[u].w, vb[u].w, xv.z, xv.w);
                        }
                    }
                }
            }
    }
    tc_store<NT, MT, GLU>(red, acc, acc2, y, ldy, T, N, mode, part, count);
}

// Q8_0: one m16n8k32 s8 mma is one block of 32: the same exact integer sums as dp4a, then per block
// acc = fma(sum, d_w · d_x, acc) as matmul_q8 forms it.
template <int NT, int MT, bool GLU>
__device__ __forceinline__ void tc_q8(const signed char* __restrict__ xq, const float* __restrict__ xd, int ldx, int T,
    const signed char* __restrict__ w, const u16* __restrict__ ws, const signed char* __restrict__ w2, const u16* __restrict__ ws2,
    float* y, int ldy, int N, int mode, float* part, int* count)
{
    constexpr int U = NT <= 2 && !GLU ? 8 : 4; // blocks whose weights are loaded before any is used
    __shared__ float red[TCW][NT * 128];
    int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    int blocks = ldx / 32;
    int na[MT], nb[MT];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
    {
        int n0 = (blockIdx.x * MT + mt) * 16;
        na[mt] = min(n0 + g, N - 1);
        nb[mt] = min(n0 + g + 8, N - 1);
    }
    int b0, b1;
    tc_range(blocks, b0, b1);
    launch_next();
    for (int b = b0; b < b1; b++)
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
        {
            if (b == b0) { prefetch_l2(ws + (long)na[mt] * blocks + b); prefetch_l2(ws + (long)nb[mt] * blocks + b); }
            prefetch_l2(w + (long)na[mt] * ldx + b * 32);
            prefetch_l2(w + (long)nb[mt] * ldx + b * 32);
            if (GLU) { prefetch_l2(w2 + (long)na[mt] * ldx + b * 32); prefetch_l2(w2 + (long)nb[mt] * ldx + b * 32); }
        }
    pdl_wait();
    float acc[MT][NT][4], acc2[MT][NT][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int j = 0; j < 4; j++) { acc[mt][nt][j] = 0.f; acc2[mt][nt][j] = 0.f; }
    for (int b = b0; b < b1; b += U)
    {
        uint2 wa[U][MT], wb[U][MT], va[U], vb[U];
        float sa[U][MT], sb[U][MT], ta[U], tb[U];
#pragma unroll
        for (int u = 0; u < U; u++)
            if (b + u < b1)
            {
#pragma unroll
                for (int mt = 0; mt < MT; mt++)
                {
                    wa[u][mt] = __ldg((const uint2*)(w + (long)na[mt] * ldx + (b + u) * 32) + t);
                    wb[u][mt] = __ldg((const uint2*)(w + (long)nb[mt] * ldx + (b + u) * 32) + t);
                    sa[u][mt] = h2f(__ldg(ws + (long)na[mt] * blocks + b + u));
                    sb[u][mt] = h2f(__ldg(ws + (long)nb[mt] * blocks + b + u));
                }
                if (GLU)
                {
                    va[u] = __ldg((const uint2*)(w2 + (long)na[0] * ldx + (b + u) * 32) + t);
                    vb[u] = __ldg((const uint2*)(w2 + (long)nb[0] * ldx + (b + u) * 32) + t);
                    ta[u] = h2f(__ldg(ws2 + (long)na[0] * blocks + b + u));
                    tb[u] = h2f(__ldg(ws2 + (long)nb[0] * blocks + b + u));
                }
            }
#pragma unroll
        for (int u = 0; u < U; u++)
            if (b + u < b1)
            {
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
                {
                    int c = nt * 8 + g, c0 = nt * 8 + 2 * t;
                    uint2 x = make_uint2(0, 0);
                    if (c < T) x = __ldg((const uint2*)(xq + (long)c * ldx + (b + u) * 32) + t);
                    float d0 = c0 < T ? __ldg(xd + (long)c0 * blocks + b + u) : 0.f;
                    float d1 = c0 + 1 < T ? __ldg(xd + (long)(c0 + 1) * blocks + b + u) : 0.f;
#pragma unroll
                    for (int mt = 0; mt < MT; mt++)
                    {
                        int p[4] = {0, 0, 0, 0};
                        mma_s8(p, wa[u][mt].x, wb[u][mt].x, wa[u][mt].y, wb[u][mt].y, x.x, x.y);
                        acc[mt][nt][0] = fmaf((float)p[0], sa[u][mt] * d0, acc[mt][nt][0]);
                        acc[mt][nt][1] = fmaf((float)p[1], sa[u][mt] * d1, acc[mt][nt][1]);
                        acc[mt][nt][2] = fmaf((float)p[2], sb[u][mt] * d0, acc[mt][nt][2]);
                        acc[mt][nt][3] = fmaf((float)p[3], sb[u][mt] * d1, acc[mt][nt][3]);
                    }
                    if (GLU)
                    {
                        int q[4] = {0, 0, 0, 0};
                        mma_s8(q, va[u].x, vb[u].x, va[u].y, vb[u].y, x.x, x.y);
                        acc2[0][nt][0] = fmaf((float)q[0], ta[u] * d0, acc2[0][nt][0]);
                        acc2[0][nt][1] = fmaf((float)q[1], ta[u] * d1, acc2[0][nt][1]);
                        acc2[0][nt][2] = fmaf((float)q[2], tb[u] * d0, acc2[0][nt][2]);
                        acc2[0][nt][3] = fmaf((float)q[3], tb[u] * d1, acc2[0][nt][3]);
                    }
                }
            }
    }
    tc_store<NT, MT, GLU>(red, acc, acc2, y, ldy, T, N, mode, part, count);
}

// B: blocks an SM must hold at once (decode's NT = 1 asks for 2, so one block's reduction overlaps another's loads).
// MT: weight tiles per block, 2 for the wide batches without GLU (GLU's two matrices already share each fragment).
// The host's TensorCoreTiles mirrors MT.
#define TC_MT(NT) ((NT) >= 4 ? 2 : 1)
#define MATMUL_TC(NT, B) \
    extern "C" __global__ void __launch_bounds__(TCW * 32, B) mmt_bf16_n##NT(const float* x, const u16* xs, long long plane, int ldx, \
        int T, const u16* w, float* y, int ldy, int N, int mode, float* part, int* count) \
    { tc_bf16<NT, TC_MT(NT), false>(x, xs, plane, ldx, T, w, 0, y, ldy, N, mode, part, count); } \
    extern "C" __global__ void __launch_bounds__(TCW * 32, B) glut_bf16_n##NT(const float* x, const u16* xs, long long plane, int ldx, \
        int T, const u16* w, const u16* w2, float* y, int ldy, int N, float* part, int* count) \
    { tc_bf16<NT, 1, true>(x, xs, plane, ldx, T, w, w2, y, ldy, N, 0, part, count); } \
    extern "C" __global__ void __launch_bounds__(TCW * 32, B) mmt_q8_0_n##NT(const signed char* xq, const float* xd, int ldx, int T, \
        const signed char* w, const u16* ws, float* y, int ldy, int N, int mode, float* part, int* count) \
    { tc_q8<NT, TC_MT(NT), false>(xq, xd, ldx, T, w, ws, 0, 0, y, ldy, N, mode, part, count); } \
    extern "C" __global__ void __launch_bounds__(TCW * 32, B) glut_q8_0_n##NT(const signed char* xq, const float* xd, int ldx, int T, \
        const signed char* w, const u16* ws, const signed char* w2, const u16* ws2, float* y, int ldy, int N, float* part, int* count) \
    { tc_q8<NT, 1, true>(xq, xd, ldx, T, w, ws, w2, ws2, y, ldy, N, 0, part, count); }
MATMUL_TC(1, 2) MATMUL_TC(2, 1) MATMUL_TC(4, 1) MATMUL_TC(8, 1)

// ---------------------------------------------------------------------------------------------------------
// Streaming BF16 tensor-core matmul for up to 8 rows (decode, small trees): tc_bf16's arithmetic with NT = 1 (each
// range's mmas chained in k order, a group's TCW ranges added in warp order from zero, the groups' sums in group order
// from zero), so it gives that kernel's bits, with the work laid out for streaming. A block stays for tiles blockIdx.x,
// blockIdx.x + gridDim.x, … and takes every group of its tiles (the groups' sums meet in shared memory: no partials in
// global memory, no counters, no second pass). Each lane streams its wa, wb (and GLU's va, vb) pieces, in the order its
// warp consumes them across ranges and tiles, through a private ring of `stages` slots of shared memory with cp.async,
// stages - 1 steps ahead; the first are issued before pdl_wait (no kernel writes weights), so they load while the
// previous kernel finishes, and a block's next tile loads during the reduction of the one before. A lane reads back only
// what it copied, so the ring needs no barrier. x is read one step ahead. Dynamic shared memory: ring [stages][TCW
// warps][pieces: 2, GLU 4][32 lanes] uint4, then red [2 tiles in turn][groups][TCW][parts: 1, GLU 2][128] floats.

__device__ __forceinline__ u32 shared_address(const void* p)
{
    u32 a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// 16 bytes global → shared, bypassing L1 (sm_80+).
__device__ __forceinline__ void cp_async16(void* dst, const void* src)
{
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(shared_address(dst)), "l"(src) : "memory");
#endif
}
__device__ __forceinline__ void cp_commit()
{
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
// Waits until at most stages - 2 of this thread's copy groups are pending (stages: 4, 8 or 16).
__device__ __forceinline__ void cp_wait_ring(int stages)
{
#if __CUDA_ARCH__ >= 800
    if (stages == 4) asm volatile("cp.async.wait_group 2;" ::: "memory");
    else if (stages == 8) asm volatile("cp.async.wait_group 6;" ::: "memory");
    else asm volatile("cp.async.wait_group 14;" ::: "memory");
#endif
}

// A warp's place in its stream of steps (of 32 k): its range of group g of a tile, step s of [s, e); empty ranges
// (short K) are skipped; tile ≥ tiles once the stream is done.
struct StreamCursor { int tile, g, s, e; };

__device__ __forceinline__ void stream_range(int steps, int groups, int g, int& s0, int& s1)
{
    int ranges = TCW * groups, r = g * TCW + threadIdx.x / 32;
    s0 = steps * r / ranges;
    s1 = steps * (r + 1) / ranges;
}
__device__ __forceinline__ void stream_settle(StreamCursor& c, int steps, int groups, int tiles)
{
    while (c.tile < tiles && c.s >= c.e)
    {
        if (++c.g == groups) { c.g = 0; c.tile += gridDim.x; }
        stream_range(steps, groups, c.g, c.s, c.e);
    }
}
__device__ __forceinline__ StreamCursor stream_start(int steps, int groups, int tiles)
{
    StreamCursor c;
    c.tile = blockIdx.x;
    c.g = 0;
    stream_range(steps, groups, 0, c.s, c.e);
    stream_settle(c, steps, groups, tiles);
    return c;
}
__device__ __forceinline__ void stream_next(StreamCursor& c, int steps, int groups, int tiles)
{
    c.s++;
    stream_settle(c, steps, groups, tiles);
}

template <bool GLU>
__device__ __forceinline__ void tc_stream(const float* __restrict__ x, int ldx, int T, const u16* __restrict__ w,
    const u16* __restrict__ w2, float* y, int ldy, int N, int mode, int groups, int stages)
{
    constexpr int PIECES = GLU ? 4 : 2, PARTS = GLU ? 2 : 1;
    extern __shared__ uint4 smem[];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    int tiles = (N + 15) / 16, steps = ldx / 32;
    uint4* ring = smem + warp * PIECES * 32 + lane; // slot i: ring + i * TCW * PIECES * 32, piece p at + p * 32
    float* red = (float*)(smem + stages * TCW * PIECES * 32);
    StreamCursor in = stream_start(steps, groups, tiles);
    auto issue = [&](int slot)
    {
        if (in.tile < tiles)
        {
            int n0 = in.tile * 16;
            long ra = (long)min(n0 + g, N - 1) * ldx + in.s * 32 + 8 * t, rb = (long)min(n0 + g + 8, N - 1) * ldx + in.s * 32 + 8 * t;
            uint4* d = ring + slot * TCW * PIECES * 32;
            cp_async16(d, w + ra);
            cp_async16(d + 32, w + rb);
            if (GLU) { cp_async16(d + 64, w2 + ra); cp_async16(d + 96, w2 + rb); }
            stream_next(in, steps, groups, tiles);
        }
        cp_commit();
    };
    auto load_x = [&](const StreamCursor& c, float4& a, float4& b)
    {
        a = make_float4(0.f, 0.f, 0.f, 0.f);
        b = a;
        if (c.tile < tiles && g < T)
        {
            const float4* p = (const float4*)(x + (long)g * ldx + c.s * 32 + 8 * t);
            a = __ldg(p);
            b = __ldg(p + 1);
        }
    };
    launch_next();
    for (int i = 0; i < stages - 1; i++) issue(i);
    pdl_wait();
    StreamCursor xc = stream_start(steps, groups, tiles);
    float4 xa, xb;
    load_x(xc, xa, xb);
    int slot = 0, buf = 0;
    for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x, buf ^= 1)
    {
        for (int gr = 0; gr < groups; gr++)
        {
            int s0, s1;
            stream_range(steps, groups, gr, s0, s1);
            float acc[4] = {0.f, 0.f, 0.f, 0.f}, acc2[4] = {0.f, 0.f, 0.f, 0.f};
            for (int s = s0; s < s1; s++)
            {
                cp_wait_ring(stages);
                uint4 terms[3];
                split8(xa, xb, terms);
                stream_next(xc, steps, groups, tiles);
                load_x(xc, xa, xb);
                issue(slot == 0 ? stages - 1 : slot - 1);
                const uint4* d = ring + slot * TCW * PIECES * 32;
                uint4 wa = d[0], wb = d[32], va, vb;
                if (GLU) { va = d[64]; vb = d[96]; }
#pragma unroll
                for (int term = 2; term >= 0; term--)
                {
                    uint4 xv = terms[term];
                    mma_bf16(acc, wa.x, wb.x, wa.y, wb.y, xv.x, xv.y);
                    mma_bf16(acc, wa.z, wb.z, wa.w, wb.w, xv.z, xv.w);
                    if (GLU)
                    {
                        mma_bf16(acc2, va.x, vb.x, va.y, vb.y, xv.x, xv.y);
                        mma_bf16(acc2, va.z, vb.z, va.w, vb.w, xv.z, xv.w);
                    }
                }
                slot = slot + 1 == stages ? 0 : slot + 1;
            }
            // As tc_reduce lays a warp's partial sums out: o = column · 16 + row.
            float* r = red + (((long)(buf * groups + gr) * TCW + warp) * PARTS) * 128 + 2 * t * 16 + g;
            r[0] = acc[0]; r[16] = acc[1]; r[8] = acc[2]; r[24] = acc[3];
            if (GLU) { r[128] = acc2[0]; r[144] = acc2[1]; r[136] = acc2[2]; r[152] = acc2[3]; }
        }
        __syncthreads();
        // tc_store's sums: each group's in warp order from zero, then the groups' in group order from zero.
        int o = threadIdx.x;
        if (o < 16 * T)
        {
            float v = 0.f, u = 0.f;
            for (int gr = 0; gr < groups; gr++)
            {
                const float* r = red + (long)(buf * groups + gr) * TCW * PARTS * 128 + o;
                float s = 0.f, su = 0.f;
                for (int w = 0; w < TCW; w++)
                {
                    s += r[w * PARTS * 128];
                    if (GLU) su += r[w * PARTS * 128 + 128];
                }
                v += s;
                u += su;
            }
            if (GLU) v = v / (1.f + expf(-v)) * u;
            int n = tile * 16 + o % 16;
            if (n < N)
            {
                float* p = y + (long)(o / 16) * ldy + n;
                *p = mode == 1 ? *p + v : v;
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(TCW * 32, 2) mms_bf16(const float* x, int ldx, int T, const u16* w, float* y, int ldy,
    int N, int mode, int groups, int stages)
{ tc_stream<false>(x, ldx, T, w, 0, y, ldy, N, mode, groups, stages); }
extern "C" __global__ void __launch_bounds__(TCW * 32, 2) glus_bf16(const float* x, int ldx, int T, const u16* w, const u16* w2,
    float* y, int ldy, int N, int groups, int stages)
{ tc_stream<true>(x, ldx, T, w, w2, y, ldy, N, 0, groups, stages); }

// ---------------------------------------------------------------------------------------------------------
// Y[i] = X[src(i)] / sqrt(mean(X[src(i)]²) + eps) · w, one block of 256 threads per output row; src(i) = rows[i]
// when rows is given (the rows whose logits are wanted), else i. Thread j sums the squares of elements j, j + 256, …
// in that order. Rows of up to NORM_ELEMENTS · 256 elements are read once into registers, every load issued before
// the first is used: a decode step's norm is one row, so its time is the latency of its loads.

#define NORM_ELEMENTS 32

extern "C" __global__ void rmsnorm(const float* x, int ldx, const float* w, float* y, int ldy, int n, float eps, const int* rows)
{
    pdl_entry();
    __shared__ float partial[8];
    int i = blockIdx.x;
    const float* xr = x + (long)(rows ? rows[i] : i) * ldx;
    float* yr = y + (long)i * ldy;
    if (n <= NORM_ELEMENTS * (int)blockDim.x)
    {
        float v[NORM_ELEMENTS], wv[NORM_ELEMENTS];
#pragma unroll
        for (int j = 0; j < NORM_ELEMENTS; j++)
        {
            int c = threadIdx.x + j * blockDim.x;
            if (c < n) { v[j] = xr[c]; wv[j] = __ldg(w + c); }
        }
        float ss = 0.f;
#pragma unroll
        for (int j = 0; j < NORM_ELEMENTS; j++)
            if (threadIdx.x + j * blockDim.x < n) ss = fmaf(v[j], v[j], ss);
        float scale = norm_scale(block_sum(ss, partial), n, eps);
#pragma unroll
        for (int j = 0; j < NORM_ELEMENTS; j++)
        {
            int c = threadIdx.x + j * blockDim.x;
            if (c < n) yr[c] = v[j] * scale * wv[j];
        }
        return;
    }
    float ss = 0.f;
    for (int c = threadIdx.x; c < n; c += blockDim.x) ss = fmaf(xr[c], xr[c], ss);
    float scale = norm_scale(block_sum(ss, partial), n, eps);
    for (int c = threadIdx.x; c < n; c += blockDim.x) yr[c] = xr[c] * scale * w[c];
}

// RMSNorm fused into what reads its output: the row's scale as rmsnorm forms it, then the normed elements
// (x · scale) · w (zero in the padding up to ld) rounded to Q8_0 blocks (norm_quantize_q8) or split into the three
// bf16 terms (norm_split_bf16), the same bits as rmsnorm followed by quantize_q8 or split_bf16. One block of 256
// threads per row.
__device__ __forceinline__ float normed(const float* xr, const float* w, float scale, int c, int n)
{
    return c < n ? xr[c] * scale * __ldg(w + c) : 0.f;
}

extern "C" __global__ void __launch_bounds__(256) norm_quantize_q8(const float* x, int ld, const float* w, int n, float eps,
    signed char* q, float* d)
{
    pdl_entry();
    __shared__ float partial[8];
    int row = blockIdx.x;
    const float* xr = x + (long)row * ld;
    float scale = norm_scale(block_sum(row_squares(xr, n), partial), n, eps);
    for (int b = threadIdx.x; b < ld / 32; b += blockDim.x)
    {
        float v[32];
#pragma unroll
        for (int i = 0; i < 32; i++) v[i] = normed(xr, w, scale, b * 32 + i, n);
        quantize_block(v, q + (long)row * ld + b * 32, d + (long)row * (ld / 32) + b);
    }
}

extern "C" __global__ void __launch_bounds__(256) norm_split_bf16(const float* x, int ld, const float* w, int n, float eps,
    u16* xs, long long plane)
{
    pdl_entry();
    __shared__ float partial[8];
    int row = blockIdx.x;
    const float* xr = x + (long)row * ld;
    float scale = norm_scale(block_sum(row_squares(xr, n), partial), n, eps);
    for (int c = threadIdx.x; c < ld; c += blockDim.x)
    {
        long o = (long)row * ld + c;
        u32 hi, mid, lo;
        split3(normed(xr, w, scale, c, n), hi, mid, lo);
        xs[o] = (u16)hi;
        xs[plane + o] = (u16)mid;
        xs[2 * plane + o] = (u16)lo;
    }
}

// up = silu(gate) · up: where gate and up are different weight types and cannot share one glu launch.
extern "C" __global__ void swiglu(const float* gate, float* up, int ld, int n)
{
    pdl_entry();
    int i = blockIdx.y;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < n; c += gridDim.x * blockDim.x)
    {
        float g = gate[(long)i * ld + c];
        up[(long)i * ld + c] = g / (1.f + expf(-g)) * up[(long)i * ld + c];
    }
}

// ---------------------------------------------------------------------------------------------------------
// The new rows' Q and K (and V): biases (Qwen2), per-head RMSNorm (Qwen3), RoPE at each row's position; K and V
// stored into the cache at cache row start + i, start = *cached (the cache's length, in device memory so that a
// captured CUDA graph replays with each step's value). One warp per (row, head); heads [0, H) are queries, [H, H + G)
// keys (which also store their values). style 0: pairs (2j, 2j+1) (GGUF llama); 1: (j, j + d/2) (Neox).

template <typename C> __device__ __forceinline__ C to_cache(float v);
template <> __device__ __forceinline__ float to_cache<float>(float v) { return v; }
template <> __device__ __forceinline__ u16 to_cache<u16>(float v) { return f2h(fminf(fmaxf(v, -65504.f), 65504.f)); }
__device__ __forceinline__ float from_cache(float v) { return v; }
__device__ __forceinline__ float from_cache(u16 v) { return h2f(v); }

template <typename C>
__device__ void rope_store(float* q, int ldq, float* k, const float* v, int ldk, const float* qb, const float* kb,
    const float* vb, const float* qn, const float* kn, float eps, const float* inv_freq, const int* pos, int H, int G,
    int d, int style, C* kc, C* vc, long long head_stride, const int* cached)
{
    pdl_entry();
    __shared__ float buf[WARPS][256];
    int start = *cached;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int i = blockIdx.y, h = blockIdx.x * WARPS + warp;
    if (h >= H + G) return;
    bool isq = h < H;
    int hh = isq ? h : h - H;
    float* vec = isq ? q + (long)i * ldq + hh * d : k + (long)i * ldk + hh * d;
    const float* bias = isq ? qb : kb;
    const float* norm = isq ? qn : kn;
    float* s = buf[warp];
    float ss = 0.f;
    for (int c = lane; c < d; c += 32)
    {
        float e = vec[c] + (bias ? bias[hh * d + c] : 0.f);
        s[c] = e;
        ss = fmaf(e, e, ss);
    }
    if (norm)
    {
        float scale = 1.f / sqrtf(warp_sum(ss) / d + eps);
        for (int c = lane; c < d; c += 32) s[c] = s[c] * scale * norm[c];
    }
    __syncwarp();
    int half = d / 2;
    float p = (float)pos[i];
    for (int j = lane; j < half; j += 32)
    {
        float angle = p * inv_freq[j];
        float sn, cs;
        sincosf(angle, &sn, &cs);
        int a = style ? j : 2 * j, b = style ? j + half : 2 * j + 1;
        float xa = s[a], xb = s[b];
        // As the CPU's tables: out_a = x_a·cos − x_b·sin, out_b = x_b·cos + x_a·sin.
        float oa = xa * cs + xb * -sn, ob = xb * cs + xa * sn;
        if (isq) { vec[a] = oa; vec[b] = ob; }
        else
        {
            C* kr = kc + hh * head_stride + (long)(start + i) * d;
            kr[a] = to_cache<C>(oa);
            kr[b] = to_cache<C>(ob);
        }
    }
    if (!isq)
    {
        const float* vr = v + (long)i * ldk + hh * d;
        C* out = vc + hh * head_stride + (long)(start + i) * d;
        for (int c = lane; c < d; c += 32) out[c] = to_cache<C>(vr[c] + (vb ? vb[hh * d + c] : 0.f));
    }
}

#define ROPE(name, C) \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) rope_store_##name(float* q, int ldq, float* k, const float* v, int ldk, \
        const float* qb, const float* kb, const float* vb, const float* qn, const float* kn, float eps, const float* inv_freq, \
        const int* pos, int H, int G, int d, int style, C* kc, C* vc, long long head_stride, const int* cached) \
    { rope_store<C>(q, ldq, k, v, ldk, qb, kb, vb, qn, kn, eps, inv_freq, pos, H, G, d, style, kc, vc, head_stride, cached); }
ROPE(f32, float)
ROPE(f16, u16)

// ---------------------------------------------------------------------------------------------------------
// Attention of new row i, query head h over the cache: the keys it sees are the cached rows [0, past = *cached) and the
// batch rows set in visible[i], taken in that order as one sequence of L keys (the path a tree's row would
// have run causally). Split-K (flash-decoding): the L keys are cut into segments of attention_segment(L) keys, a
// block per (head, row, segment); in a block warp w scores tiles w, w + WARPS, … of 32 keys with an online
// softmax and the warps are merged in warp order; the segments' partials (max, sum, weighted values) go to
// `part`, and the block that finishes a (row, head) last merges them in segment order. Segment sizes and every
// order depend only on L and the keys, so a tree's row gets its path's bits.

#define MAXSPLIT 16

// Keys per segment: 128 (one tile per warp) while that makes at most MAXSPLIT segments, else the multiple of 128
// that does. The host sizes the grid's z by the same rule.
__device__ __forceinline__ int attention_segment(int L)
{
    int tiles = (L + 127) / 128;
    return 128 * ((tiles + MAXSPLIT - 1) / MAXSPLIT);
}

// Four cache elements as floats (d is a multiple of 4, rows 16-byte (f32) or 8-byte (f16) aligned).
__device__ __forceinline__ float4 load4(const float* p) { return *(const float4*)p; }
__device__ __forceinline__ float4 load4(const u16* p)
{
    uint2 v = *(const uint2*)p;
    float4 f;
    f.x = lo16h(v.x); f.y = hi16h(v.x); f.z = lo16h(v.y); f.w = hi16h(v.y);
    return f;
}

// part: [rows][H][MAXSPLIT][d + 2] (max, sum, then d weighted values); count: [rows][H] ints, zero between launches.
// A block takes nh ≤ NH query heads of one KV group (h0 = blockIdx.x · nh), so each key and value it loads serves
// them all; each head's arithmetic is what it would be alone. D (64, 128 or 256) bounds the head dimension d, so a
// lane's key row (in pieces of 64 elements) and KEYS value rows are loaded before any is used.
#define NH 4
template <typename C, int D>
__device__ void attention(const float* q, int ldq, const C* kc, const C* vc, long long head_stride, const int* cached,
    const u64* visible, int H, int G, int d, int nh, float scale, float* out, int ldo, float* part, int* count)
{
    pdl_entry();
    __shared__ float qs[NH][D];
    __shared__ int batch_rows[64];
    __shared__ float wm[NH][WARPS], wl[NH][WARPS];
    __shared__ float wacc[WARPS][D];
    __shared__ int last;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int h0 = blockIdx.x * nh, i = blockIdx.y, split = blockIdx.z;
    int g = h0 / (H / G), past = *cached;
    u64 bits = visible[i];
    int seen = __popcll(bits);
    int L = past + seen, segment = attention_segment(L), splits = (L + segment - 1) / segment;
    if (split >= splits) return;
    if (threadIdx.x == 0)
        for (int k = 0; k < seen; k++) { batch_rows[k] = past + __ffsll((long long)bits) - 1; bits &= bits - 1; }
    for (int j = 0; j < nh; j++)
        for (int c = threadIdx.x; c < d; c += blockDim.x) qs[j][c] = q[(long)i * ldq + (h0 + j) * d + c];
    __syncthreads();
    int first = split * segment, end = min(L, first + segment);
    const C* keys = kc + g * head_stride;
    const C* values = vc + g * head_stride;
    float m[NH], l[NH], acc[NH][D / 32];
#pragma unroll
    for (int j = 0; j < NH; j++)
    {
        m[j] = NEG_INF;
        l[j] = 0.f;
#pragma unroll
        for (int c = 0; c < D / 32; c++) acc[j][c] = 0.f;
    }
    for (int t0 = first + warp * 32; t0 < end; t0 += WARPS * 32)
    {
        int t = t0 + lane;
        int row = t < past ? t : (t < end ? batch_rows[t - past] : 0);
        float s[NH], p[NH];
#pragma unroll
        for (int j = 0; j < NH; j++) s[j] = NEG_INF;
        if (t < end)
        {
            const C* kr = keys + (long)row * d;
            float dot[NH];
#pragma unroll
            for (int j = 0; j < NH; j++) dot[j] = 0.f;
#pragma unroll
            for (int c0 = 0; c0 < D; c0 += 64)
            {
                float4 kv[16];
#pragma unroll
                for (int e = 0; e < 16; e++)
                    if (c0 + 4 * e < d) kv[e] = load4(kr + c0 + 4 * e);
#pragma unroll
                for (int e = 0; e < 16; e++)
                {
                    int c = c0 + 4 * e;
                    if (c >= d) break;
#pragma unroll
                    for (int j = 0; j < NH; j++)
                        if (j < nh)
                        {
                            dot[j] = fmaf(qs[j][c], kv[e].x, dot[j]);
                            dot[j] = fmaf(qs[j][c + 1], kv[e].y, dot[j]);
                            dot[j] = fmaf(qs[j][c + 2], kv[e].z, dot[j]);
                            dot[j] = fmaf(qs[j][c + 3], kv[e].w, dot[j]);
                        }
                }
            }
#pragma unroll
            for (int j = 0; j < NH; j++) s[j] = dot[j] * scale;
        }
#pragma unroll
        for (int j = 0; j < NH; j++)
            if (j < nh)
            {
                float tile_max = warp_max(s[j]);
                float new_m = fmaxf(m[j], tile_max);
                float correction = expf(m[j] - new_m);
                p[j] = t < end ? expf(s[j] - new_m) : 0.f;
                l[j] = l[j] * correction + warp_sum(p[j]);
#pragma unroll
                for (int c = 0; c < D / 32; c++) acc[j][c] *= correction;
                m[j] = new_m;
            }
        // Values of KEYS keys are loaded before any is used, so their reads overlap; summed in key order.
        int n = min(32, end - t0);
        constexpr int KEYS = 1024 / D; // value rows in flight: 32 registers of them whatever D is
        for (int j0 = 0; j0 < n; j0 += KEYS)
        {
            float vj[KEYS][D / 32];
#pragma unroll
            for (int k = 0; k < KEYS; k++)
            {
                int rk = __shfl_sync(0xffffffffu, row, j0 + k);
                const C* vr = values + (long)rk * d;
#pragma unroll
                for (int c = 0; c < D / 32; c++)
                    vj[k][c] = j0 + k < n && lane + 32 * c < d ? from_cache(vr[lane + 32 * c]) : 0.f;
            }
#pragma unroll
            for (int j = 0; j < NH; j++)
                if (j < nh)
                {
                    float pk[KEYS];
#pragma unroll
                    for (int k = 0; k < KEYS; k++) pk[k] = __shfl_sync(0xffffffffu, p[j], j0 + k);
#pragma unroll
                    for (int k = 0; k < KEYS; k++)
#pragma unroll
                        for (int c = 0; c < D / 32; c++)
                            if (j0 + k < n) acc[j][c] = fmaf(pk[k], vj[k][c], acc[j][c]);
                }
        }
    }
    // Each head's segment partial: its max M, the sum of exp(s − M) and the values weighted by it (alone when the
    // row has one segment).
#pragma unroll
    for (int j = 0; j < NH; j++)
    {
        if (j >= nh) break;
        int h = h0 + j;
        if (lane == 0) { wm[j][warp] = m[j]; wl[j][warp] = l[j]; }
#pragma unroll
        for (int c = 0; c < D / 32; c++)
            if (lane + 32 * c < d) wacc[warp][lane + 32 * c] = acc[j][c];
        __syncthreads();
        float M = NEG_INF;
        for (int w = 0; w < WARPS; w++) M = fmaxf(M, wm[j][w]);
        float total = 0.f;
        for (int w = 0; w < WARPS; w++) total += wm[j][w] == NEG_INF ? 0.f : wl[j][w] * expf(wm[j][w] - M);
        float* mine = part + (((long)i * H + h) * MAXSPLIT + split) * (d + 2);
        for (int c = threadIdx.x; c < d; c += blockDim.x)
        {
            float o = 0.f;
            for (int w = 0; w < WARPS; w++) o += wm[j][w] == NEG_INF ? 0.f : wacc[w][c] * expf(wm[j][w] - M);
            if (splits == 1) out[(long)i * ldo + h * d + c] = o / total;
            else mine[2 + c] = o;
        }
        if (splits > 1 && threadIdx.x == 0) { mine[0] = M; mine[1] = total; }
        __syncthreads();
    }
    if (splits == 1) return;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(count + i * H + h0, 1) == splits - 1;
    __syncthreads();
    if (!last) return;
    // Last of the row's segments: merge each head's in segment order (the partials are read from L2, not L1).
    for (int j = 0; j < nh; j++)
    {
        int h = h0 + j;
        const float* all = part + ((long)i * H + h) * MAXSPLIT * (d + 2);
        float MM = NEG_INF;
        for (int sp = 0; sp < splits; sp++) MM = fmaxf(MM, __ldcg(all + sp * (d + 2)));
        float sum = 0.f;
        for (int sp = 0; sp < splits; sp++)
        {
            float ms = __ldcg(all + sp * (d + 2));
            sum += ms == NEG_INF ? 0.f : __ldcg(all + sp * (d + 2) + 1) * expf(ms - MM);
        }
        for (int c = threadIdx.x; c < d; c += blockDim.x)
        {
            float o = 0.f;
            for (int sp = 0; sp < splits; sp++)
            {
                float ms = __ldcg(all + sp * (d + 2));
                o += ms == NEG_INF ? 0.f : __ldcg(all + sp * (d + 2) + 2 + c) * expf(ms - MM);
            }
            out[(long)i * ldo + h * d + c] = o / sum;
        }
    }
    if (threadIdx.x == 0) count[i * H + h0] = 0;
}

#define ATTENTION_D(name, C, D) \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) attention_##name##_d##D(const float* q, int ldq, const C* kc, const C* vc, \
        long long head_stride, const int* cached, const u64* visible, int H, int G, int d, int nh, float scale, float* out, int ldo, \
        float* part, int* count) \
    { attention<C, D>(q, ldq, kc, vc, head_stride, cached, visible, H, G, d, nh, scale, out, ldo, part, count); }
#define ATTENTION(name, C) ATTENTION_D(name, C, 64) ATTENTION_D(name, C, 128) ATTENTION_D(name, C, 256)
ATTENTION(f32, float)
ATTENTION(f16, u16)

// ---------------------------------------------------------------------------------------------------------
// KeepRows: cache row src[j] moves to dst[j] for j = 0, 1, … in order, in every (layer, head) of keys and values.
// Each thread owns one element column of one head, so the in-order moves never race. heads = layers × KV heads.

template <typename C>
__device__ void keep_rows(C* k, C* v, long long head_stride, int heads, int d, const int* src, const int* dst, int count)
{
    pdl_entry();
    long e = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long)heads * d) return;
    long head = e / d * head_stride;
    int c = (int)(e % d);
    for (int j = 0; j < count; j++)
    {
        k[head + (long)dst[j] * d + c] = k[head + (long)src[j] * d + c];
        v[head + (long)dst[j] * d + c] = v[head + (long)src[j] * d + c];
    }
}

extern "C" __global__ void keep_rows_f32(float* k, float* v, long long head_stride, int heads, int d, const int* src, const int* dst, int count)
{ keep_rows<float>(k, v, head_stride, heads, d, src, dst, count); }
extern "C" __global__ void keep_rows_f16(u16* k, u16* v, long long head_stride, int heads, int d, const int* src, const int* dst, int count)
{ keep_rows<u16>(k, v, head_stride, heads, d, src, dst, count); }
