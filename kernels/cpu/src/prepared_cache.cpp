#include "tensority/kernels/cpu/prepared_cache.hpp"

#include <cstdlib>
#include <new>
#include <span>

namespace tensority::kernels::cpu {
namespace {

template <typename T>
T* aligned_array(std::size_t count) {
  void* p = std::aligned_alloc(64, count * sizeof(T));
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<T*>(p);
}

}  // namespace

void PreparedCache::FreeDeleter::operator()(void* p) const { std::free(p); }

std::shared_ptr<const PreparedCache> PreparedCache::build(const core::Hash& seed) {
  std::shared_ptr<PreparedCache> cache(new PreparedCache());
  cache->seed_ = seed;
  cache->matrices_.reset(aligned_array<std::int8_t>(core::kCacheBytes));
  cache->correction_.reset(aligned_array<std::int32_t>(core::kMatrixCount * core::kDim));
  std::int8_t* m = cache->matrices_.get();
  std::int32_t* corr = cache->correction_.get();
  // Row sums of each finished pair of matrices while the next smix chunk is computed
  // would need a second thread; they cost ~1 ms in all, so they run inline per chunk.
  core::build_cache(seed, std::span(m, core::kCacheBytes), [m, corr](std::size_t chunk) {
    for (std::size_t k = 2 * chunk; k < 2 * chunk + 2; ++k) {
      for (std::size_t c = 0; c < core::kDim; ++c) {
        const std::int8_t* row = m + k * core::kMatrixBytes + c * core::kDim;
        std::int32_t s = 0;
        for (std::size_t t = 0; t < core::kDim; ++t) s += row[t];
        corr[k * core::kDim + c] = -128 * s;
      }
    }
  });
  return cache;
}

std::size_t PreparedCache::memory_bytes() const {
  return core::kCacheBytes + core::kMatrixCount * core::kDim * sizeof(std::int32_t);
}

}  // namespace tensority::kernels::cpu
