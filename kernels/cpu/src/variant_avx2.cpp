// AVX2 variant (no VNNI). State: the lane matrix as int16, pair-packed:
// a[p][r][k] = A[r][2p+k]. B is widened to row-major int16 once per product (64 KiB ->
// 128 KiB, amortised over 256 rows). One vpmaddwd multiplies 8 rows x 2 consecutive t of A
// by the broadcast pair B[c][t..t+1] into 8 int32 lanes; products fit int16 and sums fit
// int32 exactly. Tile: 16 rows (2 ymm) x 4 columns, 8 accumulators (16 ymm registers).
// GCC 12 reports its own intrinsic headers' _mm*_undefined_* helpers as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "variant_common.hpp"
#include "variants_internal.hpp"

#define TS_AVX2 __attribute__((target("avx2,fma,bmi2")))
#define TS_AVX2_INLINE TS_AVX2 __attribute__((always_inline)) inline

namespace tensority::kernels::cpu::detail {
namespace {

constexpr std::size_t kPairs = kDim / 2;
constexpr std::size_t kPairStride = kDim * 2;  // int16 elements per p in the state
constexpr int kTileRowVectors = 2;             // 2 x 8 = 16 rows
constexpr int kTileRows = 8 * kTileRowVectors;
constexpr int kTileCols = 4;

TS_AVX2 void first_product(const std::int8_t* b, std::int16_t* a_out) {
  for (std::size_t p = 0; p < kPairs; ++p) {
    const std::int8_t* b0 = b + (2 * p) * kDim;
    const std::int8_t* b1 = b0 + kDim;
    std::int16_t* out = a_out + p * kPairStride;
    for (std::size_t r = 0; r < kDim; ++r) {
      out[2 * r] = core::reduce(b0[r]);
      out[2 * r + 1] = core::reduce(b1[r]);
    }
  }
}

TS_AVX2 void widen(const std::int8_t* b, std::int16_t* b16) {
  for (std::size_t i = 0; i < core::kMatrixBytes; i += 16) {
    const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(b + i));
    _mm256_store_si256(reinterpret_cast<__m256i*>(b16 + i), _mm256_cvtepi8_epi16(v));
  }
}

// Red(x) sign-extended to int32: the low byte of x + (x >> 8).
TS_AVX2_INLINE __m256i reduce32(__m256i x) {
  x = _mm256_add_epi32(x, _mm256_srai_epi32(x, 8));
  return _mm256_srai_epi32(_mm256_slli_epi32(x, 24), 24);
}

TS_AVX2_INLINE void tile(const std::int16_t* a, const std::int16_t* b16, std::int16_t* out,
                         std::size_t r0, std::size_t c0) {
  __m256i acc[kTileRowVectors][kTileCols];
#pragma GCC unroll 4
  for (int c = 0; c < kTileCols; ++c) {
#pragma GCC unroll 4
    for (int i = 0; i < kTileRowVectors; ++i) acc[i][c] = _mm256_setzero_si256();
  }
  const std::int16_t* pa = a + r0 * 2;
  const std::int16_t* pb = b16 + c0 * kDim;
  for (std::size_t p = 0; p < kPairs; ++p) {
    __m256i av[kTileRowVectors];
#pragma GCC unroll 4
    for (int i = 0; i < kTileRowVectors; ++i) {
      av[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(pa + p * kPairStride + 16 * i));
    }
#pragma GCC unroll 4
    for (int c = 0; c < kTileCols; ++c) {
      std::int32_t pair;
      std::memcpy(&pair, pb + c * kDim + 2 * p, 4);
      const __m256i bv = _mm256_set1_epi32(pair);
#pragma GCC unroll 4
      for (int i = 0; i < kTileRowVectors; ++i) {
        acc[i][c] = _mm256_add_epi32(acc[i][c], _mm256_madd_epi16(av[i], bv));
      }
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < kTileCols; h += 2) {
    std::int16_t* po = out + ((c0 + h) / 2) * kPairStride + r0 * 2;
#pragma GCC unroll 4
    for (int i = 0; i < kTileRowVectors; ++i) {
      const __m256i even = reduce32(acc[i][h]);
      const __m256i odd = reduce32(acc[i][h + 1]);
      const __m256i packed = _mm256_blend_epi16(even, _mm256_slli_epi32(odd, 16), 0xAA);
      _mm256_store_si256(reinterpret_cast<__m256i*>(po + 16 * i), packed);
    }
  }
}

TS_AVX2 void product(const std::int16_t* a, const std::int8_t* b, std::int16_t* b16,
                     std::int16_t* out) {
  widen(b, b16);
  for (std::size_t r0 = 0; r0 < kDim; r0 += kTileRows) {
    for (std::size_t c0 = 0; c0 < kDim; c0 += kTileCols) tile(a, b16, out, r0, c0);
  }
}

// sum[g][r][j] += A[r][4g+j], reading the pair-packed int16 state.
TS_AVX2 void add_lane(const std::int16_t* a, std::uint8_t* sum) {
  for (std::size_t g = 0; g < kQuads; ++g) {
    const std::int16_t* lo = a + (2 * g) * kPairStride;
    const std::int16_t* hi = lo + kPairStride;
    std::uint8_t* s = sum + g * kDim * 4;
    for (std::size_t r = 0; r < kDim; ++r) {
      s[4 * r + 0] = static_cast<std::uint8_t>(s[4 * r + 0] + lo[2 * r]);
      s[4 * r + 1] = static_cast<std::uint8_t>(s[4 * r + 1] + lo[2 * r + 1]);
      s[4 * r + 2] = static_cast<std::uint8_t>(s[4 * r + 2] + hi[2 * r]);
      s[4 * r + 3] = static_cast<std::uint8_t>(s[4 * r + 3] + hi[2 * r + 1]);
    }
  }
}

std::int16_t* as_i16(std::uint8_t* p) { return reinterpret_cast<std::int16_t*>(p); }

void lane_avx2(const PreparedCache& cache, const core::Hash& q, Scratch& s) {
  std::int16_t* a = as_i16(s.state[0]);
  std::int16_t* next = as_i16(s.state[1]);
  first_product(cache.matrix(q[0]), a);
  for (std::size_t step = 1; step < core::kProductsPerLane; ++step) {
    product(a, cache.matrix(q[step % 32]), as_i16(s.widened), next);
    std::swap(a, next);
  }
  add_lane(a, s.sum);
}

void product_bench_avx2(const PreparedCache& cache, std::size_t k, Scratch& s) {
  product(as_i16(s.state[0]), cache.matrix(k), as_i16(s.widened), as_i16(s.state[1]));
}

bool supported(const hwdetect::CpuFeatures& f) { return f.avx2 && f.fma && f.bmi2; }

}  // namespace

const Variant kAvx2Variant{"avx2_madd_16x4", "AVX2", &supported, &lane_avx2, &product_bench_avx2};

}  // namespace tensority::kernels::cpu::detail
