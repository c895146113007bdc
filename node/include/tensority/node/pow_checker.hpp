#pragma once
// Proof-of-work checks for the node (docs/spec/node.md 1.7, 1.13 item 11): Tensority results for
// many headers at once, spread over the cores, with an LRU of prepared matrix caches (one
// per seed) so headers across epochs do not rebuild them each time.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/kernels/hal/checked_worker.hpp"

namespace tensority::kernels::cpu {
class CacheStore;
}

namespace tensority::node {

struct PowItem {
  core::Hash block_id{};
  core::Hash seed{};
};

class PowChecker {
 public:
  // threads 0 = one per allowed core; cache_capacity = seeds kept prepared.
  explicit PowChecker(unsigned threads = 0, std::size_t cache_capacity = 8);
  ~PowChecker();

  // Tensority(block_id, seed) for every item, in order.
  std::vector<core::Hash> results(const std::vector<PowItem>& items);
  // Whether each header meets its own bits with the given seed.
  std::vector<bool> check(const std::vector<std::pair<core::BlockHeader, core::Hash>>& headers_and_seeds);

  unsigned threads() const { return threads_; }

 private:
  unsigned threads_;
  std::shared_ptr<kernels::cpu::CacheStore> store_;
  kernels::hal::HostHasher hasher_;
};

}  // namespace tensority::node
