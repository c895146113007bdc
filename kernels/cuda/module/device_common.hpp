#pragma once
// Pieces of the CUDA kernels that are plain integer arithmetic: SHA3-256, the byte
// reduction, the shared-memory swizzle, the mma.sync fragment coordinates and the target
// comparison. They compile for the host too, so the unit tests check them against core
// on machines without a GPU (tests/unit/kernels/cuda_device_code_test.cpp).
#include <cstdint>

#if defined(__CUDACC__)
#define TENSORITY_HD __host__ __device__ __forceinline__
#else
#define TENSORITY_HD inline
#endif

namespace tensority::kernels::cuda::dev {

inline constexpr std::uint32_t kFnvPrime = 0x01000193u;
inline constexpr int kSha3Rate = 136;

TENSORITY_HD std::uint64_t rotl64(std::uint64_t v, int n) {
  return n == 0 ? v : (v << n) | (v >> (64 - n));
}

// Keccak-f[1600] as FIPS 202 defines it: 24 rounds of theta, rho, pi, chi, iota.
TENSORITY_HD void keccak_f1600(std::uint64_t a[25]) {
  constexpr std::uint64_t kRoundConstants[24] = {
      0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
      0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
      0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
      0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
      0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
      0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
  // Rotation of lane x + 5y.
  constexpr int kRho[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14};
  for (int round = 0; round < 24; ++round) {
    std::uint64_t c[5];
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int x = 0; x < 5; ++x) {
      const std::uint64_t d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[x + y] ^= d;
    }
    std::uint64_t b[25];
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int x = 0; x < 5; ++x) {
      for (int y = 0; y < 5; ++y) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y], kRho[x + 5 * y]);
    }
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int y = 0; y < 25; y += 5) {
      for (int x = 0; x < 5; ++x) a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
    }
    a[0] ^= kRoundConstants[round];
  }
}

// SHA3-256 (padding byte 0x06) of len bytes; out gets the 32-byte digest.
TENSORITY_HD void sha3_256(const std::uint8_t* in, std::uint32_t len, std::uint8_t* out) {
  std::uint64_t st[25];
  for (int i = 0; i < 25; ++i) st[i] = 0;
  std::uint32_t off = 0;
  for (;;) {
    const std::uint32_t take = len - off < kSha3Rate ? len - off : kSha3Rate;
    for (std::uint32_t i = 0; i < take; ++i) st[i / 8] ^= std::uint64_t{in[off + i]} << (8 * (i % 8));
    off += take;
    if (take < kSha3Rate) {
      st[take / 8] ^= std::uint64_t{0x06} << (8 * (take % 8));
      st[(kSha3Rate - 1) / 8] ^= std::uint64_t{0x80} << (8 * ((kSha3Rate - 1) % 8));
      keccak_f1600(st);
      break;
    }
    keccak_f1600(st);
    if (off == len) {
      // A message that ends on a block boundary gets one block of padding alone.
      st[0] ^= 0x06;
      st[(kSha3Rate - 1) / 8] ^= std::uint64_t{0x80} << (8 * ((kSha3Rate - 1) % 8));
      keccak_f1600(st);
      break;
    }
  }
  for (int i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(st[i / 8] >> (8 * (i % 8)));
}

// Block ID of a 136-byte ID body whose last 8 bytes are the nonce (docs/spec/tensority.md section 5).
TENSORITY_HD void block_id(const std::uint8_t body[136], std::uint8_t id[32]) {
  std::uint8_t outer[52] = {'e', 'n', 't', 'r', 'y', 'i', 'd', ':', 'b', 'l', 'o', 'c', 'k',
                            'h', 'e', 'a', 'd', 'e', 'r', ':'};
  sha3_256(body, 136, outer + 20);
  sha3_256(outer, 52, id);
}

// Red(x) = (low byte + second byte) mod 256: only x mod 2^16 matters.
TENSORITY_HD std::uint32_t reduce(std::int32_t x) {
  return static_cast<std::uint32_t>(x + (x >> 8)) & 0xFFu;
}

// Byte offset of (row, byte) in a 256-byte-row tile in shared memory. The 16-byte chunk
// index is XORed with row mod 8, so the 8 rows one fragment load touches fall in 8
// different bank groups instead of one.
TENSORITY_HD std::uint32_t swizzle(std::uint32_t row, std::uint32_t byte) {
  return row * 256u + ((((byte >> 4) ^ (row & 7u)) << 4) | (byte & 15u));
}

// mma.sync.m16n8k32 .s8 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k32"), for
// lane = 4 * group + tig (thread in group):
//   A (16x32, row-major), reg r in 0..3: row = group + 8 * (r & 1), k = 4 * tig + 16 * (r >> 1) .. +3
//   B (32x8, "col"), reg r in 0..1:      n = group, k = 4 * tig + 16 * r .. +3
//   C (16x8 s32), reg r in 0..3:         row = group + 8 * (r >> 1), n = 2 * tig + (r & 1)
// With B's column n read from row n of a cache matrix, one mma adds A x B^T directly.
TENSORITY_HD std::uint32_t frag_a_row(std::uint32_t lane, std::uint32_t r) { return (lane >> 2) + 8u * (r & 1u); }
TENSORITY_HD std::uint32_t frag_a_k(std::uint32_t lane, std::uint32_t r) { return 4u * (lane & 3u) + 16u * (r >> 1); }
TENSORITY_HD std::uint32_t frag_b_n(std::uint32_t lane) { return lane >> 2; }
TENSORITY_HD std::uint32_t frag_b_k(std::uint32_t lane, std::uint32_t r) { return 4u * (lane & 3u) + 16u * r; }
TENSORITY_HD std::uint32_t frag_c_row(std::uint32_t lane, std::uint32_t r) { return (lane >> 2) + 8u * (r >> 1); }
TENSORITY_HD std::uint32_t frag_c_n(std::uint32_t lane, std::uint32_t r) { return 2u * (lane & 3u) + (r & 1u); }

// The imma kernel's per-lane steps, shared with the host emulation in the tests: the warp
// owning state rows [wrow, wrow + 32) loads them as A fragments (2 m-tiles x 8 k-steps),
// reads B fragments at b_offset, and writes reduced accumulators back as the next state.
TENSORITY_HD std::uint32_t load_word(const std::uint8_t* p) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const std::uint32_t*>(p);
#else
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
#endif
}

TENSORITY_HD void imma_load_a(const std::uint8_t* as, std::uint32_t wrow, std::uint32_t lane,
                              std::uint32_t (&a)[2][8][4]) {
  for (std::uint32_t mt = 0; mt < 2; ++mt) {
    for (std::uint32_t kk = 0; kk < 8; ++kk) {
      for (std::uint32_t r = 0; r < 4; ++r) {
        a[mt][kk][r] = load_word(as + swizzle(wrow + mt * 16 + frag_a_row(lane, r), kk * 32 + frag_a_k(lane, r)));
      }
    }
  }
}

// Byte offset in the swizzled B tile of B-fragment register r for n-tile nt of column
// chunk nc (32 columns) at k-step kk.
TENSORITY_HD std::uint32_t imma_b_offset(std::uint32_t nc, std::uint32_t nt, std::uint32_t kk, std::uint32_t lane,
                                         std::uint32_t r) {
  return swizzle(nc * 32 + nt * 8 + frag_b_n(lane), kk * 32 + frag_b_k(lane, r));
}

TENSORITY_HD void imma_store_c(std::uint8_t* as, std::uint32_t wrow, std::uint32_t nc, std::uint32_t lane,
                               const int (&acc)[2][4][4]) {
  for (std::uint32_t mt = 0; mt < 2; ++mt) {
    for (std::uint32_t nt = 0; nt < 4; ++nt) {
      for (std::uint32_t h = 0; h < 2; ++h) {
        const std::uint32_t row = wrow + mt * 16 + frag_c_row(lane, 2 * h);
        const std::uint32_t col = nc * 32 + nt * 8 + frag_c_n(lane, 2 * h);
        const std::uint32_t off = swizzle(row, col);  // col is even: both bytes in one chunk
        as[off] = static_cast<std::uint8_t>(reduce(acc[mt][nt][2 * h]));
        as[off + 1] = static_cast<std::uint8_t>(reduce(acc[mt][nt][2 * h + 1]));
      }
    }
  }
}

// LE_uint256(result) <= target, limbs[0] least significant.
TENSORITY_HD bool target_met(const std::uint8_t result[32], const std::uint64_t limbs[4], bool never) {
  if (never) return false;
  for (int i = 3; i >= 0; --i) {
    std::uint64_t r = 0;
    for (int b = 7; b >= 0; --b) r = (r << 8) | result[8 * i + b];
    if (r != limbs[i]) return r < limbs[i];
  }
  return true;
}

// Byte-wise addition mod 256 of four packed bytes (no carry between bytes).
TENSORITY_HD std::uint32_t add_bytes(std::uint32_t x, std::uint32_t y) {
  return ((x & 0x7F7F7F7Fu) + (y & 0x7F7F7F7Fu)) ^ ((x ^ y) & 0x80808080u);
}

// The strided packing of docs/spec/tensority.md section 4: given the summed bytes of columns j..j+3 (q0),
// j+64.. (q1), j+128.. (q2) and j+192.. (q3), word i is W[r][j + i].
TENSORITY_HD void pack_words(std::uint32_t q0, std::uint32_t q1, std::uint32_t q2, std::uint32_t q3,
                             std::uint32_t out[4]) {
  for (int i = 0; i < 4; ++i) {
    const int s = 8 * i;
    out[i] = ((q0 >> s) & 0xFFu) | (((q1 >> s) & 0xFFu) << 8) | (((q2 >> s) & 0xFFu) << 16) |
             (((q3 >> s) & 0xFFu) << 24);
  }
}

// The lane sum, the packing and the first FNV level (n = 256) fused: words j..j+3 of
// row r (< 128) after W[r] = W[r] * prime ^ W[r + 128], read from the four final lane
// states (row-major 256 x 256 bytes each). j is a multiple of 4.
TENSORITY_HD void fold_pack_first(const std::uint8_t* const lanes[4], std::uint32_t r, std::uint32_t j,
                                  std::uint32_t out[4]) {
  std::uint32_t packed[2][4];
  for (std::uint32_t half = 0; half < 2; ++half) {
    const std::uint32_t row = r + 128u * half;
    std::uint32_t q[4] = {0, 0, 0, 0};
    for (int l = 0; l < 4; ++l) {
      for (std::uint32_t s = 0; s < 4; ++s) q[s] = add_bytes(q[s], load_word(lanes[l] + row * 256u + j + 64u * s));
    }
    pack_words(q[0], q[1], q[2], q[3], packed[half]);
  }
  for (int i = 0; i < 4; ++i) out[i] = (packed[0][i] * kFnvPrime) ^ packed[1][i];
}

// FNV fold of the 256x64 word matrix W (row-major) down to row 0, in place.
TENSORITY_HD void fnv_fold_rows(std::uint32_t* w, std::uint32_t rows_from, std::uint32_t rows_to) {
  for (std::uint32_t n = rows_from; n > rows_to; n /= 2) {
    for (std::uint32_t r = 0; r < n / 2; ++r) {
      for (std::uint32_t j = 0; j < 64; ++j) w[r * 64 + j] = (w[r * 64 + j] * kFnvPrime) ^ w[(r + n / 2) * 64 + j];
    }
  }
}

}  // namespace tensority::kernels::cuda::dev
