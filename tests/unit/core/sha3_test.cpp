#include "tensority/core/sha3.hpp"

#include <gtest/gtest.h>

#include "tensority/core/hex.hpp"
#include "vectors.hpp"

namespace tensority::core {
namespace {

TEST(Sha3, SanityVectorsAreFips202NotKeccak) {
  int checked = 0;
  for (const auto& v : test::vectors()["sha3_256_sanity"]) {
    if (!v.contains("sha3_256")) continue;
    auto input = from_hex(v["input_hex"].get<std::string>());
    ASSERT_TRUE(input);
    const std::string got = to_hex(sha3_256(*input));
    EXPECT_EQ(got, v["sha3_256"].get<std::string>());
    EXPECT_NE(got, v["keccak256_would_be"].get<std::string>());
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(Sha3, MultiBlockInputAndRateBoundary) {
  // 136 bytes is exactly the rate: the block-ID body. Known answers from Python hashlib.
  std::vector<std::uint8_t> rate(136, 0x61);
  EXPECT_EQ(to_hex(sha3_256(rate)), "3fc5559f14db8e453a0a3091edbd2bc25e11528d81c66fa570a4efdcc2695ee1");
  std::vector<std::uint8_t> abc{'a', 'b', 'c'};
  EXPECT_EQ(to_hex(sha3_256(abc)), "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

}  // namespace
}  // namespace tensority::core
