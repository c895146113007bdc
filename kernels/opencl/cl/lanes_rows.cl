// Lanes variant "rows": made for GPUs. One work-group of 256 per (item, lane), one
// work-item per row. The row lives in 64 registers as packed int8x4 (every index into it is
// a compile-time constant after unrolling). B is staged through local memory CHUNK rows at a
// time with coalesced loads, and every work-item reads the same 16 B of it at the same time
// (a broadcast, no bank conflicts), one read per 4 dot products. Each step's new row goes to
// a global scratch buffer laid out [lane][c/4][r] so that writes and the reload are
// coalesced; only the row's own work-item ever touches it, so no barrier is needed around it.
//
// The cache is the plain row-major one, read as uint: cache[k][c][t/4].

#ifndef CHUNK
#define CHUNK 16
#endif

// KHR_DOT (variant rows_dot16, offered only where the device lists cl_khr_integer_dot_product):
// the extension's dot() compiles to the hardware's 4-way int8 dot product (dp4a on NVIDIA).
#if defined(KHR_DOT) && defined(cl_khr_integer_dot_product)
#pragma OPENCL EXTENSION cl_khr_integer_dot_product : enable
// Non-saturating 4-way int8 dot product (the _sat variants would be wrong here).
#define DOT4(a, b) dot(as_char4(a), as_char4(b))
#else
inline int dot4_plain(uint a, uint b) {
  const char4 x = as_char4(a);
  const char4 y = as_char4(b);
  return (int)x.s0 * (int)y.s0 + (int)x.s1 * (int)y.s1 + (int)x.s2 * (int)y.s2 + (int)x.s3 * (int)y.s3;
}
#define DOT4(a, b) dot4_plain((a), (b))
#endif

inline uint red_byte(int x) { return (uint)(x + (x >> 8)) & 0xFFu; }

__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void tensority_lanes(__global const uint* restrict cache, __global const uchar* restrict q,
                     __global uint* restrict scratch, __global uint* restrict final_state, uint lanes) {
  // CHUNK rows of B staged in local memory, 16 uint4 (256 bytes) per row.
  __local uint4 bs[CHUNK * 16];
  const uint g = (uint)get_group_id(0);
  const uint r = (uint)get_local_id(0);
  // The host launches exactly lanes groups; no early exit, every work-item reaches the barriers.
  __global const uchar* qq = q + 32u * g;
  __global uint* sc = scratch + (ulong)g * 16384u;

  uint a[64];
  {
    // Product 1: A = Red(B^T); row r of the result is column r of B.
    __global const char* b0 = (__global const char*)(cache + (ulong)qq[0] * 16384u);
#pragma unroll
    for (int c4 = 0; c4 < 64; ++c4) {
      a[c4] = red_byte(b0[(4 * c4 + 0) * 256 + r]) | (red_byte(b0[(4 * c4 + 1) * 256 + r]) << 8) |
              (red_byte(b0[(4 * c4 + 2) * 256 + r]) << 16) | (red_byte(b0[(4 * c4 + 3) * 256 + r]) << 24);
    }
  }
  for (uint step = 1; step < 64u; ++step) {
    __global const uint4* b = (__global const uint4*)(cache + (ulong)qq[step & 31u] * 16384u);
    for (uint cc = 0; cc < 256u; cc += CHUNK) {
      barrier(CLK_LOCAL_MEM_FENCE);
      for (uint k = r; k < CHUNK * 16u; k += 256u) bs[k] = b[cc * 16u + k];
      barrier(CLK_LOCAL_MEM_FENCE);
      for (uint j4 = 0; j4 < CHUNK / 4u; ++j4) {
        // Four B rows (output columns 4*j4 .. 4*j4+3 of this chunk); every work-item reads
        // the same uint4 at the same time.
        __local const uint4* b4 = bs + j4 * 64u;
        int acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
#pragma unroll
        for (int t = 0; t < 16; ++t) {
          const uint4 w0 = b4[t];
          const uint4 w1 = b4[16 + t];
          const uint4 w2 = b4[32 + t];
          const uint4 w3 = b4[48 + t];
          const uint a0 = a[4 * t], a1 = a[4 * t + 1], a2 = a[4 * t + 2], a3 = a[4 * t + 3];
          acc0 += DOT4(a0, w0.x) + DOT4(a1, w0.y) + DOT4(a2, w0.z) + DOT4(a3, w0.w);
          acc1 += DOT4(a0, w1.x) + DOT4(a1, w1.y) + DOT4(a2, w1.z) + DOT4(a3, w1.w);
          acc2 += DOT4(a0, w2.x) + DOT4(a1, w2.y) + DOT4(a2, w2.z) + DOT4(a3, w2.w);
          acc3 += DOT4(a0, w3.x) + DOT4(a1, w3.y) + DOT4(a2, w3.z) + DOT4(a3, w3.w);
        }
        const uint nv = red_byte(acc0) | (red_byte(acc1) << 8) | (red_byte(acc2) << 16) | (red_byte(acc3) << 24);
        const uint c4 = cc / 4u + j4;
        if (step == 63u) {
          final_state[((ulong)g * 256u + r) * 64u + c4] = nv;
        } else {
          sc[c4 * 256u + r] = nv;
        }
      }
    }
    if (step != 63u) {
#pragma unroll
      for (int t4 = 0; t4 < 64; ++t4) a[t4] = sc[t4 * 256 + r];
    }
  }
}
