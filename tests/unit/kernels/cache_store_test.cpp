// CacheStore: one build per seed, LRU eviction, sharing across threads. Each build is a
// 16 MiB cache (~35 ms), so the tests use few seeds.
#include "tensority/kernels/cpu/cache_store.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "kernel_test_util.hpp"
#include "tensority/core/matrix_cache.hpp"

namespace tensority::kernels::cpu {
namespace {

using core::Hash;

Hash seed_n(std::uint8_t n) {
  Hash h{};
  h[0] = n;
  h[31] = 0xA5;
  return h;
}

TEST(CacheStore, BuildsOncePerSeedAndReturnsTheSameCacheOnAHit) {
  CacheStore store(4);
  EXPECT_EQ(store.capacity(), 4u);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.builds(), 0u);
  const Hash a = seed_n(1);
  EXPECT_FALSE(store.contains(a));

  const auto first = store.get(a);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->seed(), a);
  EXPECT_EQ(store.builds(), 1u);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_TRUE(store.contains(a));

  const auto second = store.get(a);
  EXPECT_EQ(second.get(), first.get());
  EXPECT_EQ(store.builds(), 1u);
  EXPECT_EQ(store.size(), 1u);

  // The cache it built is the seed's cache (compared with the reference builder).
  const core::MatrixCache reference(a);
  EXPECT_EQ(std::memcmp(first->matrix(0), reference.matrix(0), core::kCacheBytes), 0);
}

TEST(CacheStore, EvictsLeastRecentlyUsedBeyondCapacity) {
  CacheStore store(2);
  const Hash a = seed_n(1);
  const Hash b = seed_n(2);
  const Hash c = seed_n(3);
  const auto pa = store.get(a);
  store.get(b);
  EXPECT_EQ(store.get(a).get(), pa.get());  // A is now the most recently used
  store.get(c);                             // evicts B, the least recently used
  EXPECT_EQ(store.builds(), 3u);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_TRUE(store.contains(a));
  EXPECT_FALSE(store.contains(b));
  EXPECT_TRUE(store.contains(c));
  // A was kept: a hit, same object, no build.
  EXPECT_EQ(store.get(a).get(), pa.get());
  EXPECT_EQ(store.builds(), 3u);
  // B was gone: built again, and now C (least recently used) goes.
  EXPECT_EQ(store.get(b)->seed(), b);
  EXPECT_EQ(store.builds(), 4u);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_TRUE(store.contains(a));
  EXPECT_TRUE(store.contains(b));
  EXPECT_FALSE(store.contains(c));
}

TEST(CacheStore, CacheHeldByACallerSurvivesEviction) {
  CacheStore store(1);
  const Hash a = seed_n(1);
  const Hash b = seed_n(2);
  const auto held = store.get(a);
  store.get(b);
  EXPECT_FALSE(store.contains(a));
  EXPECT_EQ(store.size(), 1u);
  // Still alive and intact: compare with the reference builder.
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->seed(), a);
  const core::MatrixCache reference(a);
  EXPECT_EQ(std::memcmp(held->matrix(0), reference.matrix(0), core::kCacheBytes), 0);
  // Asking again builds a new one; the held one is not handed out again.
  const auto again = store.get(a);
  EXPECT_EQ(store.builds(), 3u);
  EXPECT_NE(again.get(), held.get());
}

TEST(CacheStore, ConcurrentGetOfOneSeedBuildsOnce) {
  CacheStore store(2);
  const Hash a = seed_n(7);
  constexpr int kThreads = 4;
  std::array<std::shared_ptr<const PreparedCache>, kThreads> got{};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      got[static_cast<std::size_t>(i)] = store.get(a);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store.builds(), 1u);
  EXPECT_EQ(store.size(), 1u);
  for (const auto& p : got) {
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p.get(), got[0].get());
  }
  EXPECT_EQ(got[0]->seed(), a);
}

TEST(CacheStore, WarmBuildsEveryMissingSeed) {
  CacheStore store(4);
  const std::array<Hash, 3> seeds{seed_n(1), seed_n(2), seed_n(3)};
  store.warm(seeds);
  EXPECT_EQ(store.builds(), 3u);
  EXPECT_EQ(store.size(), 3u);
  for (const Hash& s : seeds) EXPECT_TRUE(store.contains(s)) << int{s[0]};
  // Warm seeds are hits afterwards.
  const auto p = store.get(seeds[1]);
  EXPECT_EQ(p->seed(), seeds[1]);
  EXPECT_EQ(store.builds(), 3u);
  // Already present seeds are not rebuilt; a duplicate in one call is built once.
  const std::array<Hash, 4> more{seeds[0], seed_n(4), seed_n(4), seeds[2]};
  store.warm(more);
  EXPECT_EQ(store.builds(), 4u);
  EXPECT_EQ(store.size(), 4u);
  EXPECT_TRUE(store.contains(seed_n(4)));
  // An empty list is a no-op.
  store.warm(std::span<const Hash>{});
  EXPECT_EQ(store.builds(), 4u);
}

TEST(CacheStore, WarmBeyondCapacityKeepsTheStoreBounded) {
  CacheStore store(2);
  const std::array<Hash, 3> seeds{seed_n(1), seed_n(2), seed_n(3)};
  store.warm(seeds);
  EXPECT_EQ(store.builds(), 3u);
  EXPECT_EQ(store.size(), 2u);
}

}  // namespace
}  // namespace tensority::kernels::cpu
