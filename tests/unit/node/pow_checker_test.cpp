// PowChecker: Tensority results for many headers across seeds, in parallel, as the known answers.
#include <gtest/gtest.h>

#include "tensority/chain/genesis.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/node/pow_checker.hpp"
#include "vectors.hpp"
#include "test_hex.hpp"

namespace tensority::node {
namespace {

TEST(PowChecker, ManyHeadersAcrossSeedsInParallel) {
  PowChecker checker(2);
  std::vector<PowItem> items;
  std::vector<std::string> want;
  for (const auto& v : test::vectors()["tensority_vectors"]) {
    items.push_back({test::hash_of(v["block_hash"]), test::hash_of(v["seed"])});
    want.push_back(v["result"]);
    if (items.size() == 6) break;
  }
  const auto got = checker.results(items);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(core::to_hex(got[i]), want[i]) << i;

  const auto ok = checker.check({{chain::mainnet_genesis().header, core::initial_seed()},
                                 {chain::testnet_genesis().header, core::initial_seed()}});
  EXPECT_EQ(ok, (std::vector<bool>{true, false}));  // testnet genesis does not meet its target
}

}  // namespace
}  // namespace tensority::node
