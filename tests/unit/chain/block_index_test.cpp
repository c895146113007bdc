// The block index and the header rules: a chain built header by header passes, each rule
// has a header that breaks it and is named in the refusal, seeds follow the epoch rule,
// the retarget follows core, and an invalid block taints its descendants.
#include <gtest/gtest.h>

#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/chain/block_index.hpp"
#include "tensority/chain/genesis.hpp"

namespace tensority::chain {
namespace {

core::BlockHeader child_of(const BlockNode& parent, std::uint64_t spacing) {
  core::BlockHeader h;
  h.version = 1;
  h.height = parent.height() + 1;
  h.previous_block_id = parent.id;
  h.timestamp = parent.header.timestamp + spacing;
  h.bits = BlockIndex::next_bits(parent);
  h.nonce = parent.height();
  return h;
}

const BlockNode& extend(BlockIndex& index, const BlockNode& tip, std::uint64_t n, std::uint64_t spacing,
                        std::uint64_t now) {
  const BlockNode* p = &tip;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto h = child_of(*p, spacing);
    const auto ok = check_header(*p, h, now);
    EXPECT_TRUE(ok.ok()) << "height " << h.height << ": " << ok.error();
    p = &index.add(h);
  }
  return *p;
}

constexpr std::uint64_t kNow = 2000000000;

TEST(BlockIndex, ChainOfHeadersPassesAndSeedsFollowTheEpochs) {
  BlockIndex index(testnet_genesis().header);
  const BlockNode& tip = extend(index, index.genesis(), 300, 150, kNow);
  EXPECT_EQ(tip.height(), 300u);
  EXPECT_EQ(index.size(), 301u);
  EXPECT_EQ(BlockIndex::ancestor(tip, 1)->seed, core::initial_seed());
  EXPECT_EQ(BlockIndex::ancestor(tip, 256)->seed, core::initial_seed());
  EXPECT_EQ(BlockIndex::ancestor(tip, 257)->seed, BlockIndex::ancestor(tip, 256)->id);
  EXPECT_EQ(tip.seed, BlockIndex::ancestor(tip, 256)->id);
  EXPECT_EQ(tip.chain_work, core::calc_work(tip.header.bits) * 301);
  EXPECT_EQ(BlockIndex::ancestor(tip, 0), &index.genesis());
  EXPECT_EQ(BlockIndex::ancestor(tip, 301), nullptr);
}

TEST(BlockIndex, EveryHeaderRuleIsEnforcedAndNamed) {
  BlockIndex index(testnet_genesis().header);
  const BlockNode& tip = extend(index, index.genesis(), 12, 150, kNow);
  const auto good = child_of(tip, 150);
  ASSERT_TRUE(check_header(tip, good, kNow).ok());
  auto expect_refused = [&](core::BlockHeader h, const std::string& why) {
    const auto r = check_header(tip, h, kNow);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_NE(r.error().find(why), std::string::npos) << r.error();
  };
  auto h = good;
  h.version = 2;
  expect_refused(h, "version 2");
  h = good;
  h.height += 1;
  expect_refused(h, "height");
  h = good;
  h.previous_block_id[0] ^= 1;
  expect_refused(h, "previous block id");
  h = good;
  h.bits += 1;
  expect_refused(h, "bits");
  h = good;
  h.timestamp = BlockIndex::median_time_past(tip);
  expect_refused(h, "median time past");
  h = good;
  h.timestamp = kNow + 3601;
  expect_refused(h, "future");
  h.timestamp = kNow + 3600;
  EXPECT_TRUE(check_header(tip, h, kNow).ok());
}

TEST(BlockIndex, MedianTimePastUsesUpToElevenBlocks) {
  BlockIndex index(testnet_genesis().header);
  EXPECT_EQ(BlockIndex::median_time_past(index.genesis()), index.genesis().header.timestamp);
  const BlockNode& tip = extend(index, index.genesis(), 20, 100, kNow);
  // Timestamps of the last 11 are tip-1000 .. tip in steps of 100; the median is the 6th.
  EXPECT_EQ(BlockIndex::median_time_past(tip), tip.header.timestamp - 500);
}

TEST(BlockIndex, RetargetFollowsCoreAtTheBoundary) {
  BlockIndex index(mainnet_genesis().header);
  // Blocks twice as fast as the 150 s target: the target halves (difficulty doubles).
  const BlockNode& b2016 = extend(index, index.genesis(), 2016, 75, kNow);
  const std::uint64_t want = core::next_bits(2016, b2016.header.timestamp, b2016.header.bits,
                                             index.genesis().header.timestamp);
  EXPECT_EQ(BlockIndex::next_bits(b2016), want);
  EXPECT_NE(want, b2016.header.bits);
  EXPECT_LT(core::compact_to_big(want), core::compact_to_big(b2016.header.bits));
  EXPECT_EQ(BlockIndex::next_bits(*b2016.parent), b2016.header.bits);  // no retarget at 2015
}

TEST(BlockIndex, InvalidBlocksTaintTheirDescendants) {
  BlockIndex index(testnet_genesis().header);
  const BlockNode& a = extend(index, index.genesis(), 3, 150, kNow);
  const BlockNode& b = extend(index, a, 2, 150, kNow);
  index.mark_invalid(a.id);
  EXPECT_TRUE(a.invalid);
  EXPECT_TRUE(b.invalid);
  EXPECT_FALSE(a.parent->invalid);
  const auto r = check_header(b, child_of(b, 150), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("invalid"), std::string::npos);
  EXPECT_TRUE(index.add(child_of(b, 150)).invalid);
}

TEST(BlockIndex, GenesisPowIsValidOnMainnetOnly) {
  // Mainnet genesis meets its target with InitialSeed; the result is the spec's value.
  const auto result = *core::hash_from_hex("3a9d805453ab6d5304b933764d29066e8cf963abf04718cc81fecd6278000000");
  EXPECT_TRUE(core::check_pow(result, mainnet_genesis().header.bits));
  auto harder = mainnet_genesis().header;
  harder.bits = 0x1d00000000011b68;  // 256 times harder
  EXPECT_FALSE(core::check_pow(result, harder.bits));
}

}  // namespace
}  // namespace tensority::chain
