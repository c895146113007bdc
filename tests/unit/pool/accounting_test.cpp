// Accounting arithmetic: every split is exact, the fee is what nobody is credited, and the
// network difficulty is the node's CalcWork.
#include "tensority/pool/accounting.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace tensority::pool {
namespace {

std::uint64_t sum(const std::vector<Credit>& credits) {
  return std::accumulate(credits.begin(), credits.end(), std::uint64_t{0},
                         [](std::uint64_t a, const Credit& c) { return a + c.amount; });
}

TEST(Accounting, PplnsSplitsExactlyByDifficulty) {
  const std::vector<AddressDifficulty> window = {{"a", 3}, {"b", 1}};
  auto credits = pplns_credits(41'250'000'000, window, 100);  // 412.5 BTM, 1% fee
  ASSERT_EQ(credits.size(), 2u);
  EXPECT_EQ(sum(credits), 41'250'000'000 - 412'500'000);
  EXPECT_EQ(credits[0].address, "a");
  EXPECT_EQ(credits[0].amount, 30'628'125'000u);
  EXPECT_EQ(credits[1].amount, 10'209'375'000u);
}

TEST(Accounting, PplnsRemaindersGoOneNeuEachAndNothingIsLost) {
  const std::vector<AddressDifficulty> window = {{"x", 1}, {"y", 1}, {"z", 1}};
  auto credits = pplns_credits(100, window, 0);
  EXPECT_EQ(sum(credits), 100u);  // 33 + 33 + 33 and one neu more to one of them
  for (const auto& c : credits) EXPECT_TRUE(c.amount == 33 || c.amount == 34);
  EXPECT_TRUE(pplns_credits(100, {}, 0).empty());
  // Huge difficulties and rewards: 128-bit intermediate products.
  const std::vector<AddressDifficulty> big = {{"p", 9'000'000'000'000'000'000ull}, {"q", 1}};
  auto b = pplns_credits(9'000'000'000'000'000'000ull, big, 50);
  EXPECT_EQ(sum(b), 9'000'000'000'000'000'000ull - fee_of(9'000'000'000'000'000'000ull, 50));
}

TEST(Accounting, SoloAndPpsAndFee) {
  auto solo = solo_credits(1000, "finder", 250);
  ASSERT_EQ(solo.size(), 1u);
  EXPECT_EQ(solo[0].amount, 975u);
  EXPECT_EQ(fee_of(999, 100), 9u);        // rounded down: miners never lose a neu to rounding
  EXPECT_EQ(fee_of(1000, 20000), 1000u);  // at most 100%
  // A share of difficulty D is worth D / network difficulty of a block, less the fee.
  EXPECT_EQ(pps_share_value(1000, 1'000'000, 41'250'000'000, 0), 41'250'000u);
  EXPECT_EQ(pps_share_value(1000, 1'000'000, 41'250'000'000, 100), 40'837'500u);
  EXPECT_EQ(pps_share_value(5'000'000, 1'000'000, 100, 0), 100u);  // never more than a block
  EXPECT_EQ(pps_share_value(1, 0, 100, 0), 0u);
}

TEST(Accounting, NetworkDifficultyIsCalcWork) {
  // bits 0x1d00000000047a1d (mainnet height 17548): 2^256 / (0x047a1d * 2^208 + 1).
  const std::uint64_t d = network_difficulty(0x1d00000000047a1dull);
  const long double expect = std::ldexp(1.0L, 48) / 0x047a1d;
  EXPECT_NEAR(static_cast<long double>(d), expect, 1.0L);
  EXPECT_GE(network_difficulty(0x2100000000ffffffull), 1u);  // an easy target: at least 1
  EXPECT_EQ(pplns_window(1000, 2.0), 2000u);
  EXPECT_EQ(pplns_window(0, 2.0), 1u);
  EXPECT_EQ(*parse_scheme("pps"), Scheme::pps);
  EXPECT_FALSE(parse_scheme("prop").has_value());
}

}  // namespace
}  // namespace tensority::pool
