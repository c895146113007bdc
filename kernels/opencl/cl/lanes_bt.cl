// Lanes variant "bt": made for CPU OpenCL devices (PoCL), explicitly vectorised inside each
// work-item. Row r of the next state depends only on row r of the state and on B, so a
// work-item owns RB rows of one lane and runs all 64 products for them with the rows in
// private memory (no barriers, no sharing).
//
// The cache is uploaded transposed per matrix, cache_t[k][t][c] = M[k][c][t], so
//   C[r][c..c+VW-1] = sum_t A[r][t] * cache_t[k][t][c..c+VW-1]
// is a scalar broadcast of A[r][t] times a contiguous vector of VW columns. A tile of RB rows
// by VW*CV columns keeps RB*CV accumulators. Only C mod 2^16 matters (Red reads bits 0..15),
// so 16-bit wrapping arithmetic on sign-extended values is exact; it is done on unsigned
// types so that no signed overflow is ever involved.
//
// Options: RB (rows per work-item), CV (vectors per tile row), VW (16, or 32 with clang's
// ext_vector_type: one AVX-512 register of 16-bit lanes). A variant that widened the cache to
// int16 on the host (no sign extension in the loop) measured slower: twice the cache traffic.
// Work size: global = lanes * (256 / RB), one work-item per (lane, row block).

#ifndef RB
#define RB 4
#endif
#ifndef CV
#define CV 4
#endif
#ifndef VW
#define VW 16
#endif
#define TILE_COLS (VW * CV)

#if VW == 16
typedef ushort16 accv;
typedef char16 bytev;
inline accv widen(bytev x) { return as_ushort16(convert_short16(x)); }
#else
#if !defined(__clang__)
#error "VW other than 16 needs clang's ext_vector_type; use a VW=16 variant"
#endif
typedef ushort accv __attribute__((ext_vector_type(VW)));
typedef char bytev __attribute__((ext_vector_type(VW)));
typedef short shortv __attribute__((ext_vector_type(VW)));
inline accv widen(bytev x) { return __builtin_astype(__builtin_convertvector(x, shortv), accv); }
#endif

typedef char cache_elem;
inline accv load_b(__global const cache_elem* p) { return widen(*(__global const bytev*)p); }

// Red of a 16-bit accumulator, returned sign-extended to 16 bits.
inline accv red(accv x) {
  const accv y = (x + (x >> (ushort)8)) & (ushort)0xFF;
  return (y ^ (ushort)0x80) - (ushort)0x80;
}

__kernel void tensority_lanes(__global const cache_elem* restrict cache_t, __global const uchar* restrict q,
                              __global uchar* restrict final_state, uint lanes) {
  const uint per_lane = 256u / RB;
  const uint gid = (uint)get_global_id(0);
  const uint g = gid / per_lane;
  const uint r0 = (gid % per_lane) * RB;
  if (g >= lanes) return;
  __global const uchar* qq = q + 32u * g;

  ushort st[2][RB][256] __attribute__((aligned(64)));
  // Product 1 multiplies the identity: A = Red(B^T), row r of B^T is row r of cache_t.
  {
    __global const cache_elem* bt = cache_t + (ulong)qq[0] * 65536u;
#pragma unroll
    for (int i = 0; i < RB; ++i) {
      for (uint c = 0; c < 256u; c += VW) *(accv*)&st[0][i][c] = red(load_b(bt + (r0 + i) * 256u + c));
    }
  }
  for (uint step = 1; step < 64u; ++step) {
    const uint cur = (step - 1u) & 1u;
    const uint nxt = step & 1u;
    __global const cache_elem* bt = cache_t + (ulong)qq[step & 31u] * 65536u;
    for (uint cb = 0; cb < 256u; cb += TILE_COLS) {
      accv acc[RB][CV];
#pragma unroll
      for (int i = 0; i < RB; ++i) {
#pragma unroll
        for (int j = 0; j < CV; ++j) acc[i][j] = (accv)0;
      }
      __global const cache_elem* col = bt + cb;
      for (uint t = 0; t < 256u; ++t) {
        accv b[CV];
#pragma unroll
        for (int j = 0; j < CV; ++j) b[j] = load_b(col + t * 256u + VW * j);
#pragma unroll
        for (int i = 0; i < RB; ++i) {
          const ushort a = st[cur][i][t];
#pragma unroll
          for (int j = 0; j < CV; ++j) acc[i][j] += a * b[j];
        }
      }
#pragma unroll
      for (int i = 0; i < RB; ++i) {
#pragma unroll
        for (int j = 0; j < CV; ++j) *(accv*)&st[nxt][i][cb + VW * j] = red(acc[i][j]);
      }
    }
  }
  // 64 products: the last one wrote st[1].
  __global uchar* out = final_state + ((ulong)g * 256u + r0) * 256u;
#pragma unroll
  for (int i = 0; i < RB; ++i) {
    for (uint c = 0; c < 256u; c += 16u) vstore16(convert_uchar16(vload16(0, &st[1][i][c]) & (ushort)0xFF), 0, out + i * 256u + c);
  }
}
