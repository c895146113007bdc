// Wire codecs, entry IDs and merkle roots against node spec Appendix A (the mainnet genesis
// block reproduced byte for byte), round trips of every input kind with suffixes, and bad
// input refused with a message.
#include <gtest/gtest.h>

#include <string>

#include "tensority/core/hex.hpp"
#include "tensority/core/sha3.hpp"
#include "tensority/chain/block.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/chain/genesis.hpp"
#include "tensority/chain/merkle.hpp"
#include "test_hex.hpp"

namespace tensority::chain {
namespace {

using test::hash_of;

TEST(Genesis, MainnetMatchesAppendixA) {
  const Block g = mainnet_genesis();
  const TxEntries e = map_transaction(g.transactions[0]);
  EXPECT_EQ(core::to_hex(e.tx_id), "158d7d7c6a8d2464725d508fafca76f0838d998eacaacb42ccc58cfb0c155352");
  EXPECT_EQ(core::to_hex(g.header.transactions_merkle_root),
            "58e45ceb675a0b3d7ad3ab9d4288048789de8194e9766b26d8f42fdb624d4390");
  EXPECT_EQ(core::to_hex(g.header.transaction_status_hash),
            "c9c377e5192668bc0a367e4a4764f11e7c725ecced1d7b6a492974fab1b6d5bc");
  EXPECT_EQ(core::to_hex(core::block_id(g.header)), "a75483474799ea1aa6bb910a1a5025b4372bf20bef20f246a2c2dc5e12e8a053");
  const Bytes raw = serialize_block(g);
  EXPECT_EQ(raw.size(), 273u);
  // The header part is the spec's wire example with the block flag.
  EXPECT_EQ(core::to_hex(std::span(raw).first(8)), "0301000000000000");
  auto parsed = parse_block(raw);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(*parsed, g);
  EXPECT_EQ(serialize_block(*parsed), raw);
  EXPECT_EQ(parsed->transactions[0].serialized_size, serialize_transaction(g.transactions[0]).size());
}

TEST(Genesis, TestnetIdMatchesTheSpec) {
  EXPECT_EQ(core::to_hex(core::block_id(testnet_genesis().header)),
            "ce4fe9431cd0225b3a811f8f8ec922f2b07a921bb12a8dddae9a85540072c770");
}

TEST(Entries, SpendingAnOutputNamesItByItsOutputId) {
  const Transaction cb = genesis_coinbase();
  const TxEntries e = map_transaction(cb);
  SpendCommitment spent;
  spent.source_id = e.mux_id;
  spent.asset_id = cb.outputs[0].asset_id;
  spent.amount = cb.outputs[0].amount;
  spent.source_position = 0;
  spent.vm_version = 1;
  spent.control_program = cb.outputs[0].control_program;
  EXPECT_EQ(spent_output_id(spent), e.result_ids[0]);
}

TEST(Entries, OpFailOutputsAreRetirements) {
  Transaction tx = genesis_coinbase();
  tx.outputs[0].control_program = {kOpFail, 'h', 'i'};
  const TxEntries e = map_transaction(tx);
  EXPECT_TRUE(e.retired[0]);
  EXPECT_NE(e.result_ids[0], map_transaction(genesis_coinbase()).result_ids[0]);
}

TEST(Entries, AssetIdIsThePlainStructHash) {
  const Bytes program = {0xae, 0x20};
  const std::string def = R"({"name":"GOLD","symbol":"GLD","decimals":8})";
  const Bytes definition(def.begin(), def.end());
  Bytes expect_body = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0xae, 0x20};
  const auto dh = core::sha3_256(definition);
  expect_body.insert(expect_body.end(), dh.begin(), dh.end());
  EXPECT_EQ(asset_id(1, program, definition), core::sha3_256(expect_body));
  EXPECT_EQ(entry_id("x", Bytes{}), core::sha3_256(Bytes{'e', 'n', 't', 'r', 'y', 'i', 'd', ':', 'x', ':',
      0xa7, 0xff, 0xc6, 0xf8, 0xbf, 0x1e, 0xd7, 0x66, 0x51, 0xc1, 0x47, 0x56, 0xa0, 0x61, 0xd6, 0x62,
      0xf5, 0x80, 0xff, 0x4d, 0xe4, 0x3b, 0x49, 0xfa, 0x82, 0xd8, 0x0a, 0x4b, 0x80, 0xf8, 0x43, 0x4a}));
}

TEST(Merkle, ShapeSplitsAtThePowerOfTwoBelowN) {
  EXPECT_EQ(transactions_merkle_root({}), core::sha3_256(Bytes{}));
  const core::Hash a = hash_of("01" + std::string(62, '0'));
  const core::Hash b = hash_of("02" + std::string(62, '0'));
  const core::Hash c = hash_of("03" + std::string(62, '0'));
  auto leaf = [](const core::Hash& h) {
    Bytes x{0x00};
    x.insert(x.end(), h.begin(), h.end());
    return core::sha3_256(x);
  };
  auto node = [](const core::Hash& l, const core::Hash& r) {
    Bytes x{0x01};
    x.insert(x.end(), l.begin(), l.end());
    x.insert(x.end(), r.begin(), r.end());
    return core::sha3_256(x);
  };
  EXPECT_EQ(transactions_merkle_root({a}), leaf(a));
  // Three leaves: ((a b) c), not Bitcoin's duplicated last leaf.
  EXPECT_EQ(transactions_merkle_root({a, b, c}), node(node(leaf(a), leaf(b)), leaf(c)));
  EXPECT_NE(status_merkle_root({false, true}), status_merkle_root({false, false}));
}

Transaction every_kind_of_input() {
  Transaction tx;
  tx.version = 1;
  tx.time_range = 123456;
  TxInput spend;
  SpendInput sp;
  sp.output.source_id = hash_of(std::string(64, 'a'));
  sp.output.asset_id = kBtmAssetId;
  sp.output.amount = 5000000000;
  sp.output.source_position = 2;
  sp.output.control_program = {0x00, 0x14, 1, 2, 3};
  sp.output.suffix = {0xde, 0xad};
  sp.arguments = {{1, 2, 3}, {}};
  spend.kind = sp;
  spend.commitment_suffix = {0x77};
  spend.witness_suffix = {0x88, 0x99};
  TxInput issue;
  IssuanceInput is;
  is.nonce = {1, 2, 3, 4, 5, 6, 7, 8};
  is.asset_id = hash_of(std::string(64, 'b'));
  is.amount = 100;
  is.asset_definition = {'{', '}'};
  is.issuance_program = {0x51};
  is.arguments = {{9}};
  issue.kind = is;
  TxInput opaque;
  opaque.asset_version = 2;
  opaque.kind = OpaqueInput{};
  opaque.commitment_suffix = {5, 4, 3};
  opaque.witness_suffix = {2, 1};
  tx.inputs = {spend, issue, opaque};
  TxOutput o1;
  o1.asset_id = kBtmAssetId;
  o1.amount = 4000000000;
  o1.control_program = {0x00, 0x20, 9};
  TxOutput o2;
  o2.asset_version = 3;
  o2.commitment_suffix = {1, 2, 3, 4};
  o2.witness = {7};
  tx.outputs = {o1, o2};
  tx.serialized_size = serialize_transaction(tx).size();
  return tx;
}

TEST(TransactionCodec, EveryInputKindAndSuffixRoundTrips) {
  const Transaction tx = every_kind_of_input();
  const Bytes raw = serialize_transaction(tx);
  auto back = parse_transaction(raw);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, tx);
  EXPECT_EQ(serialize_transaction(*back), raw);
  // Witness data is outside the ID: new arguments, same transaction ID.
  Transaction resigned = tx;
  std::get<SpendInput>(resigned.inputs[0].kind).arguments = {{42}};
  EXPECT_EQ(map_transaction(resigned).tx_id, map_transaction(tx).tx_id);
}

TEST(TransactionCodec, BadInputIsRefusedWithAMessage) {
  const Bytes raw = serialize_transaction(every_kind_of_input());
  for (std::size_t n = 0; n < raw.size(); ++n) {
    auto r = parse_transaction(std::span(raw).first(n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
    EXPECT_EQ(r.error().rfind("transaction: ", 0), 0u) << r.error();
  }
  Bytes trailing = raw;
  trailing.push_back(0);
  EXPECT_NE(parse_transaction(trailing).error().find("1 trailing bytes"), std::string::npos);
  Bytes bad_flag = raw;
  bad_flag[0] = 0x05;
  EXPECT_NE(parse_transaction(bad_flag).error().find("serialization flag"), std::string::npos);
  // Input type 9 inside the first input's commitment (flag, version, time range, count,
  // asset version, commitment length, then the type byte).
  Bytes bad_type = raw;
  const std::size_t type_at = 1 + 1 + 3 + 1 + 1 + 1;
  ASSERT_EQ(bad_type[type_at], 1);
  bad_type[type_at] = 9;
  EXPECT_NE(parse_transaction(bad_type).error().find("unknown input type 9"), std::string::npos)
      << parse_transaction(bad_type).error();
  const Bytes huge_count = {0x07, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x07};
  EXPECT_NE(parse_transaction(huge_count).error().find("input count"), std::string::npos);
}

TEST(BlockCodec, BadBlocksAreRefused) {
  const Bytes raw = serialize_block(mainnet_genesis());
  for (std::size_t n = 0; n < raw.size(); ++n) {
    ASSERT_FALSE(parse_block(std::span(raw).first(n)).ok()) << n;
  }
  Bytes header_only = core::serialize_header(mainnet_genesis().header);
  EXPECT_NE(parse_block(header_only).error().find("header alone"), std::string::npos);
}

}  // namespace
}  // namespace tensority::chain
