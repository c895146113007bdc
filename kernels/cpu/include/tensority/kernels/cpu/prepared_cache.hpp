#pragma once
// What every CPU kernel variant reads for one seed: the plain 16 MiB cache (row-major int8
// matrices, 64-byte aligned) and, per matrix and column, -128 * (sum of that matrix row).
// The second table lets the VNNI kernel feed the state as unsigned bytes (A + 128) and
// start its accumulators at the exact correction, so no per-product fix-up pass is needed.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/types.hpp"

namespace tensority::kernels::cpu {

class PreparedCache {
 public:
  // Builds the cache for seed on the calling thread (the smix chain is sequential).
  static std::shared_ptr<const PreparedCache> build(const core::Hash& seed);

  const core::Hash& seed() const { return seed_; }
  const std::int8_t* matrix(std::size_t k) const { return matrices_.get() + k * core::kMatrixBytes; }
  // 256 int32 entries for matrix k: -128 * sum_t M[k][c][t].
  const std::int32_t* bias_correction(std::size_t k) const { return correction_.get() + k * core::kDim; }
  std::size_t memory_bytes() const;

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  PreparedCache() = default;
  core::Hash seed_{};
  std::unique_ptr<std::int8_t[], FreeDeleter> matrices_;
  std::unique_ptr<std::int32_t[], FreeDeleter> correction_;
};

}  // namespace tensority::kernels::cpu
