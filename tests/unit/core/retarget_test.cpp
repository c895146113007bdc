#include "tensority/core/retarget.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensority/core/hex.hpp"
#include "tensority/core/target.hpp"
#include "vectors.hpp"

namespace tensority::core {
namespace {

TEST(Retarget, Constants) {
  EXPECT_EQ(kBlocksPerRetarget, 2016U);
  EXPECT_EQ(kTargetTimespan, 302400U);
  EXPECT_EQ(kSeedPerRetarget, 256U);
}

TEST(Retarget, UpstreamVectors) {
  const auto& list = test::vectors().at("difficulty").at("retarget");
  ASSERT_GE(list.size(), 20U);
  for (const auto& v : list) {
    const auto last_height = v.at("last_height").get<std::uint64_t>();
    const auto last_ts = v.at("last_timestamp").get<std::uint64_t>();
    const auto last_bits = v.at("last_bits").get<std::uint64_t>();
    const auto compare_ts = v.at("compare_timestamp").get<std::uint64_t>();
    EXPECT_EQ(next_bits(last_height, last_ts, last_bits, compare_ts),
              v.at("want_bits").get<std::uint64_t>())
        << v.dump();
  }
}

TEST(Retarget, NegativeTimespanFloorsTowardMinusInfinity) {
  // Target 1000 (bits 0x020000000003e800), actual -1 s: 1000 * -1 / 302400 = -0.003..., floor
  // is -1, where truncation would give 0.
  const std::uint64_t bits = 0x020000000003e800ULL;
  ASSERT_EQ(compact_to_big(bits), BigInt(1000));
  EXPECT_EQ(compact_to_big(next_bits(2016, 100, bits, 101)), BigInt(-1));
  // Exactly divisible negative values are not bumped.
  EXPECT_EQ(compact_to_big(next_bits(2016, 0, bits, 302400)), BigInt(-1000));
  // Non-retarget heights keep the parent's bits whatever the timestamps say.
  EXPECT_EQ(next_bits(2017, 0, bits, 302400), bits);
  EXPECT_EQ(next_bits(0, 0, bits, 302400), bits);
}

TEST(Seed, InitialSeed) {
  EXPECT_EQ(to_hex(initial_seed()),
            "9e6291970cb44dd94008c79bcaf9d86f18b4b49ba5b2a04781db7199ed3b9e4e");
  EXPECT_EQ(&initial_seed(), &initial_seed());
}

TEST(Seed, Schedule) {
  const std::vector<std::pair<std::uint64_t, std::optional<std::uint64_t>>> cases = {
      {0, std::nullopt}, {1, std::nullopt}, {2, std::nullopt},   {255, std::nullopt},
      {256, std::nullopt}, {257, 256},      {300, 256},          {511, 256},
      {512, 256},        {513, 512},        {768, 512},          {769, 768},
      {1024, 768},       {1025, 1024},      {2016, 1792},        {2017, 1792},
      {UINT64_MAX, 0xFFFFFFFFFFFFFF00ULL},
  };
  for (const auto& [height, want] : cases) {
    EXPECT_EQ(seed_ancestor_height(height), want) << "height " << height;
  }
}

}  // namespace
}  // namespace tensority::core
