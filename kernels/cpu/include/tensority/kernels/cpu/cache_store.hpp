#pragma once
// Prepared caches keyed by seed, shared by every thread and worker of the CPU backend, with
// least-recently-used eviction so a validator that sees several epochs keeps the hot ones.
// A seed requested by several threads at once is built once; the others wait for it.
#include <cstddef>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <span>

#include "tensority/core/types.hpp"
#include "tensority/kernels/cpu/prepared_cache.hpp"

namespace tensority::kernels::cpu {

class CacheStore {
 public:
  explicit CacheStore(std::size_t capacity = 4);

  // The cache for seed, built on the calling thread on a miss.
  std::shared_ptr<const PreparedCache> get(const core::Hash& seed);
  // Builds every missing seed at once, one thread per seed up to the core count: each
  // smix chain is sequential, so parallelism comes from several epochs at a time.
  void warm(std::span<const core::Hash> seeds);

  std::size_t capacity() const { return capacity_; }
  std::size_t size() const;
  std::size_t builds() const;
  bool contains(const core::Hash& seed) const;

 private:
  struct Entry {
    core::Hash seed;
    std::shared_future<std::shared_ptr<const PreparedCache>> cache;
  };
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
  std::size_t builds_ = 0;
};

}  // namespace tensority::kernels::cpu
