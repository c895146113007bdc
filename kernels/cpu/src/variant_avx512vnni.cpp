// AVX-512 VNNI variant. The state is the lane matrix A stored quad-packed and biased:
// a[g][r][j] = A[r][4g+j] + 128 as an unsigned byte. One vpdpbusd then multiplies 16 rows
// x 4 consecutive t of A (unsigned operand) by B[c][t..t+3] broadcast (signed operand) into
// 16 int32 lanes. Because A carries +128, each sum is C[r][c] + 128 * sum_t B[c][t]; the
// accumulators start at -128 * that row sum of B (precomputed per seed), so they end at
// exactly C[r][c] and Red needs no fix-up. Tile: 64 rows (4 zmm) x 4 columns, 16 accumulators.
// GCC 12 reports its own intrinsic headers' _mm*_undefined_* helpers as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "variant_common.hpp"
#include "variants_internal.hpp"

#define TS_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define TS_VNNI_INLINE TS_VNNI __attribute__((always_inline)) inline

namespace tensority::kernels::cpu::detail {
namespace {

constexpr int kTileRowVectors = 4;                    // 4 x 16 = 64 rows
constexpr int kTileRows = 16 * kTileRowVectors;
constexpr int kTileCols = 4;                          // one quad of output columns
constexpr std::size_t kQuadStride = kDim * 4;         // bytes per g in the packed state

// a_out[g][r][j] = Red(B[4g+j][r]) + 128: the identity product, with B^T read along rows.
TS_VNNI void first_product(const std::int8_t* b, std::uint8_t* a_out) {
  const __m512i one = _mm512_set1_epi8(1);
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  for (std::size_t g = 0; g < kQuads; ++g) {
    for (std::size_t m = 0; m < 4; ++m) {  // 64-row slices of A (64 columns of B)
      __m512i row[4];
      for (int j = 0; j < 4; ++j) {
        __m512i v = _mm512_loadu_si512(b + (4 * g + j) * kDim + 64 * m);
        // Red(v) for one int8 v is v - 1 when v < 0, else v.
        v = _mm512_mask_sub_epi8(v, _mm512_movepi8_mask(v), v, one);
        row[j] = _mm512_xor_si512(v, bias);
      }
      // Byte-interleave the four rows: within each 128-bit lane k, q[n] holds
      // r = 16k + 4n .. 16k + 4n + 3, four bytes (j = 0..3) each.
      const __m512i lo01 = _mm512_unpacklo_epi8(row[0], row[1]);
      const __m512i hi01 = _mm512_unpackhi_epi8(row[0], row[1]);
      const __m512i lo23 = _mm512_unpacklo_epi8(row[2], row[3]);
      const __m512i hi23 = _mm512_unpackhi_epi8(row[2], row[3]);
      const __m512i q0 = _mm512_unpacklo_epi16(lo01, lo23);
      const __m512i q1 = _mm512_unpackhi_epi16(lo01, lo23);
      const __m512i q2 = _mm512_unpacklo_epi16(hi01, hi23);
      const __m512i q3 = _mm512_unpackhi_epi16(hi01, hi23);
      // 4x4 transpose of 128-bit lanes puts rows in order.
      const __m512i t0 = _mm512_shuffle_i64x2(q0, q1, 0x44);
      const __m512i t1 = _mm512_shuffle_i64x2(q0, q1, 0xEE);
      const __m512i t2 = _mm512_shuffle_i64x2(q2, q3, 0x44);
      const __m512i t3 = _mm512_shuffle_i64x2(q2, q3, 0xEE);
      std::uint8_t* out = a_out + g * kQuadStride + 64 * m * 4;
      _mm512_store_si512(out + 0, _mm512_shuffle_i64x2(t0, t2, 0x88));
      _mm512_store_si512(out + 64, _mm512_shuffle_i64x2(t0, t2, 0xDD));
      _mm512_store_si512(out + 128, _mm512_shuffle_i64x2(t1, t3, 0x88));
      _mm512_store_si512(out + 192, _mm512_shuffle_i64x2(t1, t3, 0xDD));
    }
  }
}

// Red of four column accumulators (16 rows each), packed as [r][j] bytes with the +128 bias.
TS_VNNI_INLINE __m512i reduce_pack(__m512i c0, __m512i c1, __m512i c2, __m512i c3) {
  // Red(x) is the low byte of x + (x >> 8).
  c0 = _mm512_add_epi32(c0, _mm512_srai_epi32(c0, 8));
  c1 = _mm512_add_epi32(c1, _mm512_srai_epi32(c1, 8));
  c2 = _mm512_add_epi32(c2, _mm512_srai_epi32(c2, 8));
  c3 = _mm512_add_epi32(c3, _mm512_srai_epi32(c3, 8));
  __m512i v = _mm512_mask_blend_epi8(0x2222222222222222ULL, c0, _mm512_slli_epi32(c1, 8));
  v = _mm512_mask_blend_epi8(0x4444444444444444ULL, v, _mm512_slli_epi32(c2, 16));
  v = _mm512_mask_blend_epi8(0x8888888888888888ULL, v, _mm512_slli_epi32(c3, 24));
  return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
}

TS_VNNI_INLINE void tile(const std::uint8_t* a, const std::int8_t* b, const std::int32_t* corr,
                         std::uint8_t* out, std::size_t r0, std::size_t c0) {
  __m512i acc[kTileRowVectors][kTileCols];
#pragma GCC unroll 4
  for (int c = 0; c < kTileCols; ++c) {
    const __m512i init = _mm512_set1_epi32(corr[c0 + c]);
#pragma GCC unroll 4
    for (int i = 0; i < kTileRowVectors; ++i) acc[i][c] = init;
  }
  const std::uint8_t* pa = a + r0 * 4;
  const std::int8_t* pb = b + c0 * kDim;
  for (std::size_t g = 0; g < kQuads; ++g) {
    __m512i av[kTileRowVectors];
#pragma GCC unroll 4
    for (int i = 0; i < kTileRowVectors; ++i) {
      av[i] = _mm512_load_si512(pa + g * kQuadStride + 64 * i);
    }
#pragma GCC unroll 4
    for (int c = 0; c < kTileCols; ++c) {
      std::int32_t quad;
      std::memcpy(&quad, pb + c * kDim + 4 * g, 4);
      const __m512i bv = _mm512_set1_epi32(quad);
#pragma GCC unroll 4
      for (int i = 0; i < kTileRowVectors; ++i) acc[i][c] = _mm512_dpbusd_epi32(acc[i][c], av[i], bv);
    }
  }
  std::uint8_t* po = out + (c0 / 4) * kQuadStride + r0 * 4;
#pragma GCC unroll 4
  for (int i = 0; i < kTileRowVectors; ++i) {
    _mm512_store_si512(po + 64 * i, reduce_pack(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
  }
}

TS_VNNI void product(const std::uint8_t* a, const std::int8_t* b, const std::int32_t* corr,
                     std::uint8_t* out) {
  for (std::size_t r0 = 0; r0 < kDim; r0 += kTileRows) {
    for (std::size_t c0 = 0; c0 < kDim; c0 += kTileCols) tile(a, b, corr, out, r0, c0);
  }
}

TS_VNNI void add_lane(const std::uint8_t* a, std::uint8_t* sum) {
  for (std::size_t i = 0; i < core::kMatrixBytes; i += 64) {
    const __m512i s = _mm512_add_epi8(_mm512_load_si512(sum + i), _mm512_load_si512(a + i));
    _mm512_store_si512(sum + i, s);
  }
}

void lane_vnni(const PreparedCache& cache, const core::Hash& q, Scratch& s) {
  std::uint8_t* a = s.state[0];
  std::uint8_t* next = s.state[1];
  first_product(cache.matrix(q[0]), a);
  for (std::size_t step = 1; step < core::kProductsPerLane; ++step) {
    const std::size_t k = q[step % 32];
    product(a, cache.matrix(k), cache.bias_correction(k), next);
    std::swap(a, next);
  }
  add_lane(a, s.sum);  // the +128 per lane cancels over four lanes
}

void product_bench_vnni(const PreparedCache& cache, std::size_t k, Scratch& s) {
  product(s.state[0], cache.matrix(k), cache.bias_correction(k), s.state[1]);
}

bool supported(const hwdetect::CpuFeatures& f) {
  return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512_vnni;
}

}  // namespace

const Variant kAvx512VnniVariant{"avx512vnni_64x4", "AVX-512 F/BW/VL/DQ + VNNI", &supported,
                                 &lane_vnni, &product_bench_vnni};

}  // namespace tensority::kernels::cpu::detail
