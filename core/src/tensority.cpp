#include "tensority/core/tensority.hpp"

#include <cstring>

#include "tensority/core/sha3.hpp"

namespace tensority::core {

Hash lane_indices(const Hash& block_id, std::size_t lane) {
  return sha3_256(std::span<const std::uint8_t>(block_id.data() + 8 * lane, 8));
}

void reference_lane(const MatrixCache& cache, const Hash& indices, Matrix& out) {
  Matrix a{};
  for (std::size_t r = 0; r < kDim; ++r) a[r * kDim + r] = 1;
  Matrix next{};
  for (std::size_t step = 0; step < kProductsPerLane; ++step) {
    const std::int8_t* b = cache.matrix(indices[step % 32]);
    // C = A * B^T: row r of A against row c of B, both read along contiguous rows.
    for (std::size_t r = 0; r < kDim; ++r) {
      const std::int8_t* ar = a.data() + r * kDim;
      for (std::size_t c = 0; c < kDim; ++c) {
        const std::int8_t* bc = b + c * kDim;
        std::int32_t acc = 0;
        for (std::size_t t = 0; t < kDim; ++t) acc += std::int32_t{ar[t]} * std::int32_t{bc[t]};
        next[r * kDim + c] = reduce(acc);
      }
    }
    a = next;
  }
  out = a;
}

std::array<std::uint8_t, 256> fnv_fold(const SumMatrix& sum) {
  constexpr std::uint32_t kPrime = 0x01000193;
  std::uint32_t w[kDim][64];
  for (std::size_t r = 0; r < kDim; ++r) {
    const std::uint8_t* s = sum.data() + r * kDim;
    for (std::size_t j = 0; j < 64; ++j) {
      w[r][j] = std::uint32_t{s[j]} | std::uint32_t{s[j + 64]} << 8 |
                std::uint32_t{s[j + 128]} << 16 | std::uint32_t{s[j + 192]} << 24;
    }
  }
  for (std::size_t n = kDim; n > 1; n /= 2) {
    for (std::size_t r = 0; r < n / 2; ++r) {
      for (std::size_t j = 0; j < 64; ++j) w[r][j] = (w[r][j] * kPrime) ^ w[r + n / 2][j];
    }
  }
  std::array<std::uint8_t, 256> row{};
  std::memcpy(row.data(), w[0], row.size());  // little-endian words, see matrix_cache.cpp
  return row;
}

Hash finish(const SumMatrix& sum) {
  const auto row = fnv_fold(sum);
  return sha3_256(row);
}

Hash tensority_reference(const Hash& block_id, const MatrixCache& cache) {
  SumMatrix sum{};
  Matrix lane{};
  for (std::size_t l = 0; l < kLanes; ++l) {
    reference_lane(cache, lane_indices(block_id, l), lane);
    for (std::size_t i = 0; i < kMatrixBytes; ++i) {
      sum[i] = static_cast<std::uint8_t>(sum[i] + static_cast<std::uint8_t>(lane[i]));
    }
  }
  return finish(sum);
}

}  // namespace tensority::core
