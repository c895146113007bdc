// The chain on a real RocksDB store: blocks connect, forks reorganise by work with undo,
// orphans wait for their parents, invalid blocks are remembered across restarts, spends
// need unspent and mature outputs, and the mempool and templates follow the chain.
#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/core/target.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/node/block_template.hpp"
#include "tensority/node/chain.hpp"
#include "tensority/chain/genesis.hpp"
#include "tensority/node/mempool.hpp"
#include "tensority/chain/merkle.hpp"
#include "tensority/chain/programs.hpp"
#include "tensority/chain/validation.hpp"
#include "test_key.hpp"

namespace tensority::node {

using chain::Block;
using chain::Bytes;
using chain::ChainParams;
using chain::Hash;
using chain::Network;
using chain::SpendInput;
using chain::Transaction;
using chain::TxEntries;
using chain::TxInput;
using chain::TxOutput;
using chain::TxValidation;
using chain::address_prefix;
using chain::address_to_program;
using chain::block_subsidy;
using chain::kCoinbaseMaturity;
using chain::map_transaction;
using chain::network_from_wire_name;
using chain::parse_network;
using chain::program_to_address;
using chain::regtest_genesis;
using chain::serialize_transaction;
using chain::signature_hash;
using chain::status_merkle_root;
using chain::testnet_genesis;
using chain::transactions_merkle_root;
using chain::validate_transaction;
namespace test_support = chain::test_support;

namespace {

using core::Hash;

using test_support::Key;

const ChainParams& regtest() { return chain_params(Network::regtest); }

std::unique_ptr<Chain> open_chain(const std::filesystem::path& dir, bool check_pow = false) {
  ChainOptions o;
  o.data_dir = dir;
  o.check_pow = check_pow;
  o.pow_threads = 2;
  auto c = Chain::open(regtest(), o);
  if (!c) throw std::runtime_error(c.error());
  return std::move(c).value();
}

// A block on top of parent_id paying the coinbase (subsidy + fees) to program. salt moves
// the timestamp so two branches at one height differ.
Block child(const Chain& chain, const Hash& parent_id, const Bytes& program, std::vector<Transaction> txs = {},
            std::uint64_t salt = 0) {
  const core::BlockHeader parent = *chain.header(parent_id);
  std::uint64_t fees = 0;
  std::vector<bool> status{false};
  for (const Transaction& tx : txs) {
    const TxValidation v = validate_transaction(tx, map_transaction(tx), parent.height + 1, false);
    fees += v.fee;
    status.push_back(v.status_fail);
  }
  Block b;
  b.transactions.push_back(make_coinbase(parent.height + 1, block_subsidy(parent.height + 1) + fees, program));
  for (auto& tx : txs) b.transactions.push_back(std::move(tx));
  std::vector<Hash> ids;
  for (const Transaction& tx : b.transactions) ids.push_back(map_transaction(tx).tx_id);
  b.header.version = 1;
  b.header.height = parent.height + 1;
  b.header.previous_block_id = parent_id;
  b.header.timestamp = parent.timestamp + 1 + salt;
  b.header.bits = parent.bits;
  b.header.transactions_merkle_root = transactions_merkle_root(ids);
  b.header.transaction_status_hash = status_merkle_root(status);
  return b;
}

Hash extend(Chain& chain, Hash from, int n, const Bytes& program, std::uint64_t salt = 0) {
  for (int i = 0; i < n; ++i) {
    const Block b = child(chain, from, program, {}, salt);
    const ProcessResult r = chain.process_block(b);
    EXPECT_NE(r.outcome, BlockOutcome::invalid) << r.error;
    from = r.id;
  }
  return from;
}

// Spends one output (a P2WPKH of key) to `to`, leaving `fee` as the BTM surplus.
Transaction spend(const Key& key, const Hash& out_id, const UtxoEntry& u, const Bytes& to, std::uint64_t fee) {
  Transaction tx;
  TxInput in;
  SpendInput s;
  s.output.source_id = u.source_id;
  s.output.asset_id = u.asset_id;
  s.output.amount = u.amount;
  s.output.source_position = u.source_position;
  s.output.vm_version = u.vm_version;
  s.output.control_program = u.control_program;
  in.kind = s;
  tx.inputs.push_back(std::move(in));
  TxOutput out;
  out.asset_id = u.asset_id;
  out.amount = u.amount - fee;
  out.control_program = to;
  tx.outputs.push_back(std::move(out));
  const TxEntries e = map_transaction(tx);
  EXPECT_EQ(e.spent_output_ids[0], out_id);
  std::get<SpendInput>(tx.inputs[0].kind).arguments = {key.sign(signature_hash(e.input_ids[0], e.tx_id)), key.pub()};
  tx.serialized_size = serialize_transaction(tx).size();
  return tx;
}

std::pair<Hash, UtxoEntry> coinbase_output(const Chain& chain, std::uint64_t height) {
  const Block b = *chain.block(*chain.hash_at(height));
  const Hash id = map_transaction(b.transactions[0]).result_ids[0];
  return {id, *chain.utxo(id)};
}

TEST(Chain, StartsAtGenesisAndReopensThere) {
  test::TempDir dir("chain");
  {
    auto chain = open_chain(dir.path);
    EXPECT_EQ(chain->tip().id, regtest().genesis_id);
    EXPECT_EQ(chain->tip().height, 0u);
    EXPECT_EQ(chain->utxo_count(), 1u);  // the genesis coinbase output
  }
  auto chain = open_chain(dir.path);
  EXPECT_EQ(chain->tip().id, regtest().genesis_id);
  EXPECT_EQ(chain->utxo_count(), 1u);
}

TEST(Chain, RefusesADataDirectoryOfAnotherNetwork) {
  test::TempDir dir("chain");
  { open_chain(dir.path); }
  ChainOptions o;
  o.data_dir = dir.path;
  auto other = Chain::open(chain_params(Network::testnet), o);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().find("another network"), std::string::npos) << other.error();
}

TEST(Chain, RegtestGenesisMeetsItsOwnBits) {
  PowChecker pow(2);
  const Block g = regtest_genesis();
  EXPECT_TRUE(pow.check({{g.header, core::initial_seed()}})[0]);
  EXPECT_NE(core::block_id(g.header), core::block_id(testnet_genesis().header));
}

TEST(Chain, BlocksConnectAndSurviveARestart) {
  test::TempDir dir("chain");
  Key miner(1);
  Hash tip;
  {
    auto chain = open_chain(dir.path);
    tip = extend(*chain, regtest().genesis_id, 5, miner.program());
    EXPECT_EQ(chain->tip().height, 5u);
    EXPECT_EQ(chain->utxo_count(), 6u);
    EXPECT_EQ(chain->utxos_by_program(miner.program(), 100).size(), 5u);
  }
  auto chain = open_chain(dir.path);
  EXPECT_EQ(chain->tip().id, tip);
  EXPECT_EQ(chain->tip().height, 5u);
  EXPECT_EQ(*chain->hash_at(5), tip);
  EXPECT_EQ(chain->process_block(*chain->block(tip)).outcome, BlockOutcome::duplicate);
}

TEST(Chain, HeavierBranchReorganisesAndUndoRestoresTheUtxoSet) {
  test::TempDir dir("chain");
  Key a(1), b(2);
  auto chain = open_chain(dir.path);
  const Hash fork = extend(*chain, regtest().genesis_id, 1, a.program());
  std::vector<ChainUpdate> seen;
  chain->on_update([&](const ChainUpdate& u) { seen.push_back(u); });
  const Hash tip_a = extend(*chain, fork, 3, a.program());
  ASSERT_EQ(chain->tip().id, tip_a);
  seen.clear();

  // Branch B: equal work first (the first seen keeps the tip), then one more block.
  Hash tip_b = fork;
  for (int i = 0; i < 3; ++i) {
    const ProcessResult r = chain->process_block(child(*chain, tip_b, b.program(), {}, 7));
    EXPECT_EQ(r.outcome, BlockOutcome::side_chain) << r.error;
    tip_b = r.id;
  }
  EXPECT_EQ(chain->tip().id, tip_a);
  const ProcessResult r = chain->process_block(child(*chain, tip_b, b.program(), {}, 7));
  ASSERT_EQ(r.outcome, BlockOutcome::connected) << r.error;
  EXPECT_EQ(chain->tip().height, 5u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].detached.size(), 3u);
  EXPECT_EQ(seen[0].attached.size(), 4u);
  EXPECT_EQ(chain->utxos_by_program(a.program(), 100).size(), 1u);  // only block 1's
  EXPECT_EQ(chain->utxos_by_program(b.program(), 100).size(), 4u);
  EXPECT_EQ(chain->utxo_count(), 6u);

  // And back: A grows heavier again.
  const Hash tip_a2 = extend(*chain, tip_a, 3, a.program());
  EXPECT_EQ(chain->tip().id, tip_a2);
  EXPECT_EQ(chain->utxos_by_program(b.program(), 100).size(), 0u);
  EXPECT_EQ(chain->utxos_by_program(a.program(), 100).size(), 7u);
  EXPECT_EQ(chain->utxo_count(), 8u);
}

TEST(Chain, OrphansAreAdoptedWhenTheirParentArrives) {
  test::TempDir dir("chain");
  Key k(1);
  auto chain = open_chain(dir.path);
  // Build three blocks in a scratch chain, then feed them to this one backwards.
  test::TempDir scratch_dir("chain");
  auto scratch = open_chain(scratch_dir.path);
  extend(*scratch, regtest().genesis_id, 3, k.program());
  std::vector<Block> blocks;
  for (std::uint64_t h = 1; h <= 3; ++h) blocks.push_back(*scratch->block(*scratch->hash_at(h)));
  EXPECT_EQ(chain->process_block(blocks[2]).outcome, BlockOutcome::orphan);
  EXPECT_EQ(chain->process_block(blocks[1]).outcome, BlockOutcome::orphan);
  EXPECT_EQ(chain->orphan_count(), 2u);
  EXPECT_EQ(chain->process_block(blocks[0]).outcome, BlockOutcome::connected);
  EXPECT_EQ(chain->tip().height, 3u);
  EXPECT_EQ(chain->orphan_count(), 0u);
}

TEST(Chain, InvalidBlocksAreRefusedAndRememberedAcrossRestarts) {
  test::TempDir dir("chain");
  Key k(1);
  Hash bad_id;
  {
    auto chain = open_chain(dir.path);
    Block bad = child(*chain, regtest().genesis_id, k.program());
    bad.transactions[0].outputs[0].amount += 1;  // coinbase pays more than subsidy + fees
    bad.transactions[0].serialized_size = serialize_transaction(bad.transactions[0]).size();
    bad.header.transactions_merkle_root = transactions_merkle_root({map_transaction(bad.transactions[0]).tx_id});
    const ProcessResult r = chain->process_block(bad);
    ASSERT_EQ(r.outcome, BlockOutcome::invalid);
    EXPECT_NE(r.error.find("body"), std::string::npos) << r.error;
    bad_id = r.id;
    // A child of the invalid block is refused too.
    Block grandchild = child(*chain, regtest().genesis_id, k.program());
    grandchild.header.previous_block_id = bad_id;
    grandchild.header.height = 2;
    EXPECT_EQ(chain->process_block(grandchild).outcome, BlockOutcome::invalid);
    EXPECT_EQ(chain->tip().height, 0u);
  }
  auto chain = open_chain(dir.path);
  const auto meta = chain->meta(bad_id);
  ASSERT_TRUE(meta.has_value());
  EXPECT_TRUE(meta->invalid);
  Block again = child(*chain, regtest().genesis_id, k.program());
  again.transactions[0].outputs[0].amount += 1;
  again.transactions[0].serialized_size = serialize_transaction(again.transactions[0]).size();
  again.header.transactions_merkle_root = transactions_merkle_root({map_transaction(again.transactions[0]).tx_id});
  const ProcessResult r = chain->process_block(again);
  EXPECT_EQ(r.outcome, BlockOutcome::invalid);
  EXPECT_NE(r.error.find("known to be invalid"), std::string::npos) << r.error;
}

TEST(Chain, HeaderRulesAndProofOfWorkAreChecked) {
  test::TempDir dir("chain");
  Key k(1);
  auto chain = open_chain(dir.path, /*check_pow=*/true);
  Block b = child(*chain, regtest().genesis_id, k.program());
  b.header.bits = 0x1d00ffffffffffffULL;  // not what the chain requires
  EXPECT_NE(chain->process_block(b).error.find("bits"), std::string::npos);
  b = child(*chain, regtest().genesis_id, k.program());
  // Find a nonce that fails the easy target (about 19 in 20 do), then one that meets it.
  PowChecker pow(2);
  for (b.header.nonce = 0; pow.check({{b.header, core::initial_seed()}})[0]; ++b.header.nonce) {
  }
  const ProcessResult weak = chain->process_block(b);
  EXPECT_EQ(weak.outcome, BlockOutcome::invalid);
  EXPECT_NE(weak.error.find("proof of work"), std::string::npos) << weak.error;
  BlockTemplate t;
  t.block = child(*chain, regtest().genesis_id, k.program());
  t.seed = core::initial_seed();
  auto mined = mine_block_cpu(t, 2, nullptr);
  ASSERT_TRUE(mined.has_value());
  EXPECT_EQ(chain->process_block(*mined).outcome, BlockOutcome::connected);
}

TEST(Chain, SpendsNeedMatureUnspentOutputsAndMoveThroughTheMempool) {
  test::TempDir dir("chain");
  Key miner(1), payee(2);
  auto chain = open_chain(dir.path);
  Mempool mempool(*chain);
  chain->on_update([&](const ChainUpdate& u) { mempool.on_chain_update(u); });
  extend(*chain, regtest().genesis_id, 1, miner.program());
  const auto [cb_id, cb] = coinbase_output(*chain, 1);
  const std::uint64_t fee = 20'000'000;  // 0.2 BTM: a budget of 100,000 gas
  const Transaction tx = spend(miner, cb_id, cb, payee.program(), fee);
  const TxValidation v = validate_transaction(tx, map_transaction(tx), 2, false);
  ASSERT_TRUE(v.gas_valid && !v.status_fail) << v.error;

  // Immature: refused by the mempool, and a block holding it fails at connect.
  auto early = mempool.add(tx);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().find("matures"), std::string::npos) << early.error();
  const ProcessResult premature = chain->process_block(child(*chain, chain->tip().id, miner.program(), {tx}));
  EXPECT_EQ(premature.outcome, BlockOutcome::invalid);
  EXPECT_NE(premature.error.find("maturity"), std::string::npos) << premature.error;

  extend(*chain, chain->tip().id, static_cast<int>(kCoinbaseMaturity) - 1, miner.program());
  ASSERT_EQ(chain->tip().height, kCoinbaseMaturity);
  auto added = mempool.add(tx);
  ASSERT_TRUE(added.ok()) << added.error();
  // A second spend of the same output is a double spend.
  const Transaction twin = spend(miner, cb_id, cb, miner.program(), fee + 1);
  auto dup = mempool.add(twin);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().find("double spend"), std::string::npos) << dup.error();

  TemplateManager templates(*chain, mempool, miner.program());
  const BlockTemplate t = templates.current();
  ASSERT_EQ(t.block.transactions.size(), 2u);
  EXPECT_EQ(t.fees, fee);
  EXPECT_EQ(t.block.transactions[0].outputs[0].amount, block_subsidy(kCoinbaseMaturity + 1) + fee);
  const ProcessResult r = chain->process_block(t.block);
  ASSERT_EQ(r.outcome, BlockOutcome::connected) << r.error;
  EXPECT_EQ(mempool.size(), 0u);
  EXPECT_FALSE(chain->utxo(cb_id).has_value());
  ASSERT_EQ(chain->utxos_by_program(payee.program(), 10).size(), 1u);
  EXPECT_EQ(chain->utxos_by_program(payee.program(), 10)[0].second.amount, cb.amount - fee);

  // Spending it again in a block: missing output at connect, the block marked invalid.
  const ProcessResult again = chain->process_block(child(*chain, chain->tip().id, miner.program(), {twin}));
  EXPECT_EQ(again.outcome, BlockOutcome::invalid);
  EXPECT_NE(again.error.find("missing or already spent"), std::string::npos) << again.error;
  EXPECT_EQ(chain->tip().id, r.id);
}

TEST(Chain, AReorgReturnsDetachedTransactionsToTheMempool) {
  test::TempDir dir("chain");
  Key miner(1), payee(2), other(3);
  auto chain = open_chain(dir.path);
  Mempool mempool(*chain);
  chain->on_update([&](const ChainUpdate& u) { mempool.on_chain_update(u); });
  const Hash base = extend(*chain, regtest().genesis_id, static_cast<int>(kCoinbaseMaturity) + 1, miner.program());
  const auto [cb_id, cb] = coinbase_output(*chain, 1);
  const Transaction tx = spend(miner, cb_id, cb, payee.program(), 20'000'000);
  const Hash in_a = extend(*chain, base, 0, miner.program());
  const ProcessResult a = chain->process_block(child(*chain, in_a, miner.program(), {tx}));
  ASSERT_EQ(a.outcome, BlockOutcome::connected) << a.error;
  EXPECT_EQ(chain->utxos_by_program(payee.program(), 10).size(), 1u);
  // A heavier branch without the transaction: it leaves the chain and returns to the pool.
  extend(*chain, base, 2, other.program(), 3);
  EXPECT_NE(chain->tip().id, a.id);
  EXPECT_EQ(chain->utxos_by_program(payee.program(), 10).size(), 0u);
  EXPECT_TRUE(chain->utxo(cb_id).has_value());
  EXPECT_EQ(mempool.size(), 1u);
  EXPECT_TRUE(mempool.get(map_transaction(tx).tx_id).has_value());
}

TEST(Chain, ImportChecksProofOfWorkForABatchInParallel) {
  test::TempDir src_dir("chain"), dst_dir("chain");
  Key k(1);
  auto src = open_chain(src_dir.path);
  std::vector<Block> blocks;
  Hash tip = regtest().genesis_id;
  for (int i = 0; i < 6; ++i) {
    BlockTemplate t;
    t.block = child(*src, tip, k.program());
    t.seed = core::initial_seed();
    auto mined = mine_block_cpu(t, 2, nullptr);
    ASSERT_TRUE(mined.has_value());
    ASSERT_EQ(src->process_block(*mined).outcome, BlockOutcome::connected);
    tip = core::block_id(mined->header);
    blocks.push_back(*mined);
  }
  blocks[4].header.nonce ^= 1;  // almost surely breaks its proof of work
  PowChecker pow(2);
  const bool still_ok = pow.check({{blocks[4].header, core::initial_seed()}})[0];
  auto dst = open_chain(dst_dir.path, /*check_pow=*/true);
  const auto results = dst->process_blocks(blocks);
  ASSERT_EQ(results.size(), 6u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(results[static_cast<std::size_t>(i)].outcome, BlockOutcome::connected);
  if (!still_ok) {
    EXPECT_EQ(results[4].outcome, BlockOutcome::invalid);
    EXPECT_NE(results[4].error.find("proof of work"), std::string::npos);
    EXPECT_EQ(results[5].outcome, BlockOutcome::orphan);
    EXPECT_EQ(dst->tip().height, 4u);
  }
}

// Solonet as bytomd v1.1.1 has it (vectors in ../shared/vectors/p2p.json: its genesis is
// wisdom's), and bytomd's chain_id names for the networks.
TEST(Networks, SolonetAndTheWireNamesAreBytomds) {
  const ChainParams& solo = chain_params(Network::solonet);
  EXPECT_EQ(core::to_hex(solo.genesis_id), "ce4fe9431cd0225b3a811f8f8ec922f2b07a921bb12a8dddae9a85540072c770");
  EXPECT_EQ(solo.genesis_id, chain_params(Network::testnet).genesis_id);
  EXPECT_EQ(solo.wire_name, "solonet");
  EXPECT_EQ(solo.rpc_port, 9888);
  EXPECT_EQ(solo.p2p_port, 46658);
  EXPECT_TRUE(solo.retarget);
  EXPECT_FALSE(solo.allow_generate);
  EXPECT_EQ(address_prefix(Network::solonet), "sm");
  EXPECT_EQ(chain_params(Network::testnet).wire_name, "wisdom");
  EXPECT_EQ(chain_params(Network::testnet).p2p_port, 46656);
  EXPECT_EQ(chain_params(Network::mainnet).p2p_port, 46657);
  EXPECT_EQ(*parse_network("solonet"), Network::solonet);
  EXPECT_EQ(*parse_network("wisdom"), Network::testnet);
  EXPECT_EQ(*network_from_wire_name("wisdom"), Network::testnet);
  EXPECT_EQ(*network_from_wire_name("solonet"), Network::solonet);
  EXPECT_EQ(*network_from_wire_name("mainnet"), Network::mainnet);
  EXPECT_FALSE(network_from_wire_name("testnet").ok());  // bytomd never says testnet
  const auto bad = parse_network("moon\nnet");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().find('\n'), std::string::npos);
  // A solonet address is an sm address, as on regtest.
  Key k(3);
  const auto addr = program_to_address(k.program(), Network::solonet);
  ASSERT_TRUE(addr.ok());
  EXPECT_TRUE(addr->starts_with("sm1"));
  EXPECT_TRUE(address_to_program(*addr, Network::solonet).ok());
}

// Testnet through its first retarget, where bytomd's rule and a most-work rule part ways. The
// blocks before the retarget come 150 s apart; branch B then takes 1.2e6 s per block, so the
// retarget after height 2016 gives it a target above 2^256 (zero work per block), while branch
// A keeps 150 s and its work. bytomd moves the tip only to a higher block with at least as much
// work: zero-work blocks extend the chain, and a heavier but lower branch does not win.
class TestnetRetarget : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kNow = 4'000'000'000;  // far past every timestamp used

  std::unique_ptr<Chain> open() {
    ChainOptions o;
    o.data_dir = dir_.path;
    o.check_pow = false;  // testnet bits would cost ~20 hashes a block
    o.clock = [] { return kNow; };
    auto c = Chain::open(chain_params(Network::testnet), o);
    if (!c) throw std::runtime_error(c.error());
    return std::move(c).value();
  }

  // The child of parent_id after `spacing` seconds, with the bits the rules ask for.
  Hash add(Chain& chain, const Hash& parent_id, std::uint64_t spacing, BlockOutcome want) {
    const core::BlockHeader parent = *chain.header(parent_id);
    std::uint64_t compare = 0;
    if (parent.height >= core::kBlocksPerRetarget) {
      Hash a = parent_id;
      for (std::uint64_t i = 0; i < core::kBlocksPerRetarget; ++i) a = chain.header(a)->previous_block_id;
      compare = chain.header(a)->timestamp;
    }
    Block b;
    b.transactions.push_back(make_coinbase(parent.height + 1, block_subsidy(parent.height + 1), key_.program()));
    b.header.version = 1;
    b.header.height = parent.height + 1;
    b.header.previous_block_id = parent_id;
    b.header.timestamp = parent.timestamp + spacing;
    b.header.bits = core::next_bits(parent.height, parent.timestamp, parent.bits, compare);
    b.header.transactions_merkle_root = transactions_merkle_root({map_transaction(b.transactions[0]).tx_id});
    b.header.transaction_status_hash = status_merkle_root({false});
    const ProcessResult r = chain.process_block(b);
    EXPECT_EQ(r.outcome, want) << "height " << b.header.height << ": " << r.error;
    return r.id;
  }

  test::TempDir dir_{"chain"};
  Key key_{1};
};

TEST_F(TestnetRetarget, ZeroWorkBlocksExtendTheChainAndALowerHeavierBranchWaits) {
  auto chain = open();
  Hash base = chain_params(Network::testnet).genesis_id;
  for (int h = 1; h <= 2010; ++h) base = add(*chain, base, 150, BlockOutcome::connected);

  Hash b = base;
  for (int h = 2011; h <= 2016; ++h) b = add(*chain, b, 1'200'000, BlockOutcome::connected);
  const core::BigInt work_2016 = chain->tip().chain_work;
  b = add(*chain, b, 1'200'000, BlockOutcome::connected);  // today's failure: a side chain at 2016
  EXPECT_EQ(core::calc_work(chain->header(b)->bits), 0);
  EXPECT_GT(core::compact_to_big(chain->header(b)->bits), core::BigInt(1) << 256);
  for (int h = 2018; h <= 2020; ++h) b = add(*chain, b, 150, BlockOutcome::connected);
  ASSERT_EQ(chain->tip().height, 2020u);
  EXPECT_EQ(chain->tip().chain_work, work_2016);

  // Branch A from 2010 keeps its difficulty after the retarget, so it has more work than B
  // from 2017 on; it takes the tip only once it is also higher.
  Hash a = base;
  for (int h = 2011; h <= 2016; ++h) a = add(*chain, a, 150, BlockOutcome::side_chain);
  for (int h = 2017; h <= 2020; ++h) {
    a = add(*chain, a, 150, BlockOutcome::side_chain);
    EXPECT_GT(core::calc_work(chain->header(a)->bits), 0);
  }
  EXPECT_EQ(chain->tip().id, b);  // equal height, more work: bytomd stays
  a = add(*chain, a, 150, BlockOutcome::connected);
  EXPECT_EQ(chain->tip().id, a);
  EXPECT_EQ(chain->tip().height, 2021u);

  // B grows higher but lighter: the tip stays on A.
  b = add(*chain, b, 150, BlockOutcome::side_chain);
  b = add(*chain, b, 150, BlockOutcome::side_chain);
  EXPECT_EQ(chain->tip().id, a);

  chain.reset();
  auto reopened = open();
  EXPECT_EQ(reopened->tip().id, a);
  EXPECT_TRUE(reopened->verify().ok());
}

}  // namespace
}  // namespace tensority::node
