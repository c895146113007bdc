#include "tensority/kernels/cpu/cache_store.hpp"

#include <algorithm>
#include <thread>
#include <vector>

namespace tensority::kernels::cpu {

CacheStore::CacheStore(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

std::shared_ptr<const PreparedCache> CacheStore::get(const core::Hash& seed) {
  std::promise<std::shared_ptr<const PreparedCache>> promise;
  std::shared_future<std::shared_ptr<const PreparedCache>> future;
  bool build = false;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.seed == seed; });
    if (it != entries_.end()) {
      entries_.splice(entries_.begin(), entries_, it);
      future = it->cache;
    } else {
      build = true;
      future = promise.get_future().share();
      entries_.push_front(Entry{seed, future});
      ++builds_;
      // Evicting drops only the store's reference: a worker still hashing an old epoch
      // keeps that cache alive through its own shared_ptr.
      while (entries_.size() > capacity_) entries_.pop_back();
    }
  }
  if (build) {
    try {
      promise.set_value(PreparedCache::build(seed));
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        entries_.remove_if([&](const Entry& e) { return e.seed == seed; });
      }
      promise.set_exception(std::current_exception());
    }
  }
  return future.get();
}

void CacheStore::warm(std::span<const core::Hash> seeds) {
  const std::size_t workers = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < seeds.size(); i += workers) {
    for (std::size_t j = i; j < std::min(seeds.size(), i + workers); ++j) {
      pool.emplace_back([this, seed = seeds[j]] { get(seed); });
    }
    for (auto& t : pool) t.join();
    pool.clear();
  }
}

std::size_t CacheStore::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t CacheStore::builds() const {
  std::lock_guard lock(mutex_);
  return builds_;
}

bool CacheStore::contains(const core::Hash& seed) const {
  std::lock_guard lock(mutex_);
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.seed == seed; });
}

}  // namespace tensority::kernels::cpu
