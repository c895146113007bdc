#include "tensority/node/pow_checker.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include "tensority/core/target.hpp"
#include "tensority/hwdetect/topology.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/cpu/cache_store.hpp"

namespace tensority::node {

PowChecker::PowChecker(unsigned threads, std::size_t cache_capacity)
    : threads_(threads == 0 ? std::max(1u, hwdetect::allowed_core_count()) : threads),
      store_(std::make_shared<kernels::cpu::CacheStore>(cache_capacity)),
      hasher_(kernels::cpu::make_host_hasher(store_)) {}

PowChecker::~PowChecker() = default;

std::vector<core::Hash> PowChecker::results(const std::vector<PowItem>& items) {
  std::vector<core::Hash> out(items.size());
  // Sorted by seed, so the threads work through one epoch's cache at a time.
  std::vector<std::size_t> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return items[a].seed < items[b].seed; });
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t k = next++; k < order.size(); k = next++) {
      const PowItem& item = items[order[k]];
      out[order[k]] = hasher_(item.seed, item.block_id);
    }
  };
  const unsigned n = static_cast<unsigned>(std::min<std::size_t>(threads_, items.size()));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

std::vector<bool> PowChecker::check(const std::vector<std::pair<core::BlockHeader, core::Hash>>& headers_and_seeds) {
  std::vector<PowItem> items;
  items.reserve(headers_and_seeds.size());
  for (const auto& [header, seed] : headers_and_seeds) items.push_back({core::block_id(header), seed});
  const auto res = results(items);
  std::vector<bool> ok(res.size());
  for (std::size_t i = 0; i < res.size(); ++i) ok[i] = core::check_pow(res[i], headers_and_seeds[i].first.bits);
  return ok;
}

}  // namespace tensority::node
