// Transaction and block body rules of Bytom v1.1.1 (docs/spec/node.md 1.6): the gas order and its
// exact numbers, the gas-invalid / status_fail split, standardness as consensus, balances,
// issuance, the coinbase and the block checks. Known answers come from upstream's
// protocol/validation tests (TestCoinbase, TestRuleAA's raw transaction, TestTimeRange,
// TestOverflow); the rest is derived by hand in the comments.
#include <sodium.h>

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensority/core/hex.hpp"
#include "tensority/chain/block.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/chain/genesis.hpp"
#include "tensority/chain/merkle.hpp"
#include "tensority/chain/programs.hpp"
#include "tensority/chain/validation.hpp"
#include "test_key.hpp"

namespace tensority::chain {
namespace {

using core::Hash;

using test_support::Key;

Hash filled(std::uint8_t n) {
  Hash h{};
  h.fill(n);
  return h;
}

const Hash kGold = filled(0x60);  // an asset that is not BTM, for plain transfers

SpendCommitment utxo(const Bytes& program, std::uint64_t amount, std::uint8_t tag, const Hash& asset = kBtmAssetId) {
  SpendCommitment c;
  c.source_id = filled(tag);
  c.asset_id = asset;
  c.amount = amount;
  c.control_program = program;
  return c;
}

TxInput spend_of(SpendCommitment c, std::vector<Bytes> args = {}) {
  TxInput in;
  in.kind = SpendInput{std::move(c), std::move(args)};
  return in;
}

TxOutput output(const Hash& asset, std::uint64_t amount, Bytes program) {
  TxOutput o;
  o.asset_id = asset;
  o.amount = amount;
  o.control_program = std::move(program);
  return o;
}

Hash sighash(const Transaction& tx, std::size_t i) {
  const TxEntries e = map_transaction(tx);
  return signature_hash(e.input_ids[i], e.tx_id);
}

std::vector<Bytes>& args_of(Transaction& tx, std::size_t i) {
  if (auto* s = std::get_if<SpendInput>(&tx.inputs[i].kind)) return s->arguments;
  return std::get<IssuanceInput>(tx.inputs[i].kind).arguments;
}

// Witness data is outside every ID, so signing after the transaction is laid out is safe.
void sign_p2wpkh(Transaction& tx, std::size_t i, const Key& k) { args_of(tx, i) = {k.sign(sighash(tx, i)), k.pub()}; }

void finalize(Transaction& tx) { tx.serialized_size = serialize_transaction(tx).size(); }

TxValidation check(const Transaction& tx, std::uint64_t height = 1000, bool coinbase_slot = false) {
  return validate_transaction(tx, map_transaction(tx), height, coinbase_slot);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One P2WPKH input of 1 BTM (amount 100,000,000: a 4-byte varint) paying 0.6 BTM and the
// change minus `fee` to P2WPKH programs (both 4-byte varints for the fees used here).
Transaction one_in_two_out(const Key& k, std::uint64_t fee) {
  Transaction tx;
  tx.inputs.push_back(spend_of(utxo(k.program(), 100'000'000, 1)));
  tx.outputs.push_back(output(kBtmAssetId, 60'000'000, Key(50).program()));
  tx.outputs.push_back(output(kBtmAssetId, 40'000'000 - fee, k.program()));
  sign_p2wpkh(tx, 0, k);
  finalize(tx);
  return tx;
}

TEST(Subsidy, Schedule) {
  EXPECT_EQ(block_subsidy(0), 140'700'041'250'000'000u);
  EXPECT_EQ(block_subsidy(1), 41'250'000'000u);
  EXPECT_EQ(block_subsidy(839'999), 41'250'000'000u);
  EXPECT_EQ(block_subsidy(840'000), 20'625'000'000u);
  EXPECT_EQ(block_subsidy(35 * 840'000), 1u);  // 41,250,000,000 >> 35
  EXPECT_EQ(block_subsidy(36 * 840'000), 0u);
  EXPECT_EQ(block_subsidy(64 * 840'000), 0u);
  EXPECT_EQ(block_subsidy(~std::uint64_t{0}), 0u);
}

// The transaction's bytes, by hand (docs/spec/node.md 1.4):
//   0x07, version 1, time_range 0, 1 input                                        4
//   input: asset version 1; commitment extstr 1 + [type 1 + nested extstr 1 + (source 32,
//     asset 32, amount 4, position 1, VM version 1, program 1+22 = 93)] = 96; witness extstr
//     1 + [count 1, sig 1+64, pubkey 1+32 = 99] = 100                             197
//   1 output count; 2 outputs of 1 + extstr 1 + (asset 32, amount 4, VM 1, program 1+22)
//     + empty witness 1 = 63                                                       127
//                                                                          size  328
// Gas: the P2WPKH program 1409 (vm_test derives it) + storage 328 = 1737. The fee is
// 10,000,000 neu: a budget of 50,000 gas, far above both.
TEST(TxGas, OneInTwoOutP2wpkhExact) {
  const Key k(1);
  const Transaction tx = one_in_two_out(k, 10'000'000);
  ASSERT_EQ(tx.serialized_size, 328u);
  const TxValidation v = check(tx);
  EXPECT_TRUE(v.gas_valid);
  EXPECT_FALSE(v.status_fail);
  EXPECT_EQ(v.error, "");
  EXPECT_EQ(v.gas_used, 1737u);
  EXPECT_EQ(v.fee, 10'000'000u);
}

// The budget is fee / 200. It must cover the program's peak (1552) and then 1409 + 328.
TEST(TxGas, FeeBoundaries) {
  const Key k(1);
  const Transaction exact = one_in_two_out(k, 1737 * 200);
  ASSERT_EQ(exact.serialized_size, 328u);
  const TxValidation ok = check(exact);
  EXPECT_TRUE(ok.gas_valid && !ok.status_fail) << ok.error;
  EXPECT_EQ(ok.gas_used, 1737u);

  const Transaction one_short = one_in_two_out(k, 1736 * 200);
  ASSERT_EQ(one_short.serialized_size, 328u);
  const TxValidation storage = check(one_short);
  EXPECT_FALSE(storage.gas_valid);
  EXPECT_TRUE(has(storage.error, "storage gas")) << storage.error;

  const TxValidation vm = check(one_in_two_out(k, 1000 * 200));
  EXPECT_FALSE(vm.gas_valid);
  EXPECT_TRUE(has(vm.error, "run limit exceeded")) << vm.error;

  // 199.5 gas of fee rounds down like upstream's integer division.
  const TxValidation round = check(one_in_two_out(k, 1737 * 200 - 1));
  EXPECT_FALSE(round.gas_valid);
}

TEST(TxP2wpkh, BadSignatureOrWrongKeyIsInvalid) {
  const Key k(1), thief(2);
  Transaction tx = one_in_two_out(k, 10'000'000);
  args_of(tx, 0)[0][3] ^= 0x40;
  const TxValidation bad = check(tx);
  EXPECT_FALSE(bad.gas_valid);  // a BTM input fails before the storage gas is paid
  EXPECT_TRUE(has(bad.error, "input 0 control program")) << bad.error;

  sign_p2wpkh(tx, 0, thief);
  const TxValidation wrong = check(tx);
  EXPECT_FALSE(wrong.gas_valid);
  EXPECT_TRUE(has(wrong.error, "EQUALVERIFY")) << wrong.error;
}

// A P2WSH 2-of-3 spend: the multisig program costs 3547 (vm_test derives it).
TEST(TxP2wsh, TwoOfThreeMultisig) {
  const Key a(1), b(2), c(3);
  const Bytes script = multisig_script({a.pk, b.pk, c.pk}, 2);
  auto build = [&](const std::vector<const Key*>& signers) {
    Transaction tx;
    tx.inputs.push_back(spend_of(utxo(p2wsh_program_for_script(script), 100'000'000, 1)));
    tx.outputs.push_back(output(kBtmAssetId, 90'000'000, a.program()));
    const Hash h = sighash(tx, 0);
    auto& args = args_of(tx, 0);
    for (const Key* k : signers) args.push_back(k->sign(h));
    args.push_back(script);
    finalize(tx);
    return tx;
  };
  const Transaction ok = build({&a, &c});
  const TxValidation v = check(ok);
  EXPECT_TRUE(v.gas_valid && !v.status_fail) << v.error;
  EXPECT_EQ(v.gas_used, 3547 + ok.serialized_size);

  EXPECT_FALSE(check(build({&c, &a})).gas_valid);  // signatures out of key order
  EXPECT_FALSE(check(build({&b})).gas_valid);      // below the quorum
}

TEST(TxP2wsh, HeightLimitedMultisig) {
  const Key a(1), b(2);
  const Bytes script = multisig_script_with_height({a.pk, b.pk}, 2, 5000);
  Transaction tx;
  tx.inputs.push_back(spend_of(utxo(p2wsh_program_for_script(script), 100'000'000, 1)));
  tx.outputs.push_back(output(kBtmAssetId, 90'000'000, a.program()));
  const Hash h = sighash(tx, 0);
  args_of(tx, 0) = {a.sign(h), b.sign(h), script};
  finalize(tx);
  EXPECT_TRUE(check(tx, 4999).gas_valid);
  const TxValidation late = check(tx, 5000);
  EXPECT_FALSE(late.gas_valid);
  EXPECT_TRUE(has(late.error, "VERIFY")) << late.error;
}

struct Issuance {
  Transaction tx;
  Hash asset{};
};

// A BTM input pays the fee; input 1 issues 1,000 units under `program`, signed by `issuer`
// (a P2WPKH-style program, as the wallet uses) or by `cosigners` (a bare multisig program).
Issuance issue(const Key& payer, const Bytes& program, const std::vector<const Key*>& signers, bool p2wpkh_style,
               std::optional<Hash> claimed = std::nullopt) {
  const std::string def = R"({"decimals":8,"name":"GOLD","symbol":"GLD"})";
  IssuanceInput is;
  is.nonce = {1, 2, 3, 4, 5, 6, 7, 8};
  is.asset_definition = Bytes(def.begin(), def.end());
  is.issuance_program = program;
  is.asset_id = claimed.value_or(asset_id(1, program, is.asset_definition));
  is.amount = 1000;
  Issuance out;
  out.asset = is.asset_id;
  Transaction& tx = out.tx;
  tx.inputs.push_back(spend_of(utxo(payer.program(), 100'000'000, 1)));
  TxInput in;
  in.kind = std::move(is);
  tx.inputs.push_back(std::move(in));
  tx.outputs.push_back(output(kBtmAssetId, 90'000'000, payer.program()));
  tx.outputs.push_back(output(out.asset, 1000, payer.program()));
  sign_p2wpkh(tx, 0, payer);
  const Hash h = sighash(tx, 1);
  if (p2wpkh_style) {
    args_of(tx, 1) = {signers[0]->sign(h), signers[0]->pub()};
  } else {
    for (const Key* k : signers) args_of(tx, 1).push_back(k->sign(h));
  }
  finalize(tx);
  return out;
}

TEST(TxIssuance, NewAssetP2wpkhStyle) {
  const Key payer(1), issuer(9);
  const Issuance ok = issue(payer, issuer.program(), {&issuer}, true);
  const TxValidation v = check(ok.tx);
  EXPECT_TRUE(v.gas_valid && !v.status_fail) << v.error;
  EXPECT_EQ(v.gas_used, 1409 + 1409 + ok.tx.serialized_size);  // the issuance program is rewritten too
  EXPECT_EQ(v.fee, 10'000'000u);
}

// A bare 2-of-2 issuance program (upstream's wallet default): arguments 2*72, TXSIGHASH 296,
// keys 2*41, 2 and 2 at 10 each, CHECKMULTISIG 2048 - 9 - 9 - 80 - 40 - 144 + 9 = 1775: 2317.
TEST(TxIssuance, MultisigIssuanceProgram) {
  const Key payer(1), x(11), y(12);
  const Bytes program = multisig_script({x.pk, y.pk}, 2);
  const Issuance ok = issue(payer, program, {&x, &y}, false);
  const TxValidation v = check(ok.tx);
  EXPECT_TRUE(v.gas_valid && !v.status_fail) << v.error;
  EXPECT_EQ(v.gas_used, 1409 + 2317 + ok.tx.serialized_size);
  const TxValidation one = check(issue(payer, program, {&x}, false).tx);
  EXPECT_TRUE(one.gas_valid && one.status_fail);
}

// After the storage gas is paid, a failing issuance only marks the transaction status_fail:
// it stays in the block, its fee counts, and the failed program's gas is not booked.
TEST(TxIssuance, FailuresAfterGasValidAreStatusFail) {
  const Key payer(1), issuer(9), other(10);
  const Issuance mismatch = issue(payer, issuer.program(), {&issuer}, true, filled(0x77));
  const TxValidation m = check(mismatch.tx);
  EXPECT_TRUE(m.gas_valid);
  EXPECT_TRUE(m.status_fail);
  EXPECT_TRUE(has(m.error, "asset ID mismatch")) << m.error;
  EXPECT_EQ(m.gas_used, 1409 + mismatch.tx.serialized_size);
  EXPECT_EQ(m.fee, 10'000'000u);

  // The right public key, but signed by someone else.
  Issuance forged = issue(payer, issuer.program(), {&issuer}, true);
  args_of(forged.tx, 1)[0] = other.sign(sighash(forged.tx, 1));
  const TxValidation f = check(forged.tx);
  EXPECT_TRUE(f.gas_valid && f.status_fail);
  EXPECT_TRUE(has(f.error, "input 1 issuance program")) << f.error;
  EXPECT_EQ(f.gas_used, 1409 + forged.tx.serialized_size);
}

TEST(TxIssuance, BtmIsNeverIssued) {
  const Key payer(1), issuer(9);
  const Issuance btm = issue(payer, issuer.program(), {&issuer}, true, kBtmAssetId);
  const TxValidation v = check(btm.tx);
  EXPECT_FALSE(v.gas_valid);
  EXPECT_TRUE(has(v.error, "issues BTM")) << v.error;
}

TEST(TxRetirement, OpFailOutputsBurn) {
  const Key k(1);
  Transaction tx;
  tx.inputs.push_back(spend_of(utxo(k.program(), 100'000'000, 1)));
  tx.outputs.push_back(output(kBtmAssetId, 50'000'000, k.program()));
  tx.outputs.push_back(output(kBtmAssetId, 40'000'000, retirement_program(Bytes{'h', 'i'})));
  sign_p2wpkh(tx, 0, k);
  finalize(tx);
  EXPECT_TRUE(map_transaction(tx).retired[1]);
  const TxValidation v = check(tx);
  EXPECT_TRUE(v.gas_valid && !v.status_fail) << v.error;
  EXPECT_EQ(v.fee, 10'000'000u);

  // Retired value can never be spent again: a spend of an OP_FAIL program fails.
  Transaction burn;
  burn.inputs.push_back(spend_of(utxo(Bytes{0x6a}, 100'000'000, 2)));
  burn.outputs.push_back(output(kBtmAssetId, 90'000'000, k.program()));
  finalize(burn);
  const TxValidation b = check(burn);
  EXPECT_FALSE(b.gas_valid);
  EXPECT_TRUE(has(b.error, "FAIL")) << b.error;
}

TEST(TxStandardness, BtmProgramsAndNonStandardRejection) {
  const Key k(1);
  Transaction tx = one_in_two_out(k, 10'000'000);
  tx.outputs[1].control_program = multisig_script({k.pk}, 1);  // a bare script may not hold BTM
  finalize(tx);
  const TxValidation out = check(tx);
  EXPECT_FALSE(out.gas_valid);
  EXPECT_TRUE(has(out.error, "output 1 sends BTM to a non-standard program")) << out.error;

  Transaction bare;
  bare.inputs.push_back(spend_of(utxo(multisig_script({k.pk}, 1), 100'000'000, 1)));
  bare.outputs.push_back(output(kBtmAssetId, 90'000'000, k.program()));
  finalize(bare);
  const TxValidation in = check(bare);
  EXPECT_FALSE(in.gas_valid);
  EXPECT_TRUE(has(in.error, "input 0 spends BTM from a non-standard program")) << in.error;

  // A non-BTM output may use any program; spending one with an opcode outside the subset is
  // refused with the reason, after the fee is secured (so status_fail, not invalid).
  const Bytes cat = {0x51, 0x51, 0x7e};
  Transaction gold;
  gold.inputs.push_back(spend_of(utxo(k.program(), 100'000'000, 1)));
  gold.inputs.push_back(spend_of(utxo(cat, 5, 2, kGold)));
  gold.outputs.push_back(output(kBtmAssetId, 90'000'000, k.program()));
  gold.outputs.push_back(output(kGold, 5, cat));
  sign_p2wpkh(gold, 0, k);
  finalize(gold);
  const TxValidation g = check(gold);
  EXPECT_TRUE(g.gas_valid);
  EXPECT_TRUE(g.status_fail);
  EXPECT_TRUE(has(g.error, "input 1 control program: non-standard program: ")) << g.error;
}

// Upstream's updateUsage: before the storage gas is paid, BTM input programs get 30,000 gas in
// total. 21 P2WPKH inputs use 29,589; 22 use 30,998.
TEST(TxGas, BtmInputsRunOnThirtyThousandCredit) {
  const Key k(1);
  auto build = [&](int n) {
    Transaction tx;
    for (int i = 0; i < n; ++i) tx.inputs.push_back(spend_of(utxo(k.program(), 100'000'000, static_cast<std::uint8_t>(i + 1))));
    tx.outputs.push_back(output(kBtmAssetId, 100'000'000ull * static_cast<std::uint64_t>(n) - 10'000'000, k.program()));
    for (int i = 0; i < n; ++i) sign_p2wpkh(tx, static_cast<std::size_t>(i), k);
    finalize(tx);
    return tx;
  };
  const Transaction t21 = build(21);
  const TxValidation ok = check(t21);
  EXPECT_TRUE(ok.gas_valid && !ok.status_fail) << ok.error;
  EXPECT_EQ(ok.gas_used, 21 * 1409 + t21.serialized_size);
  const TxValidation over = check(build(22));
  EXPECT_FALSE(over.gas_valid);
  EXPECT_TRUE(has(over.error, "30000 credit")) << over.error;
}

// Upstream TestCoinbase: a coinbase plus an OP_TRUE BTM spend in transaction 0 is gas-valid
// with no storage gas (the coinbase waives it): 10 gas, the OP_TRUE program (1 + 8 + 1).
TEST(TxCoinbase, UpstreamCases) {
  auto build = [](const Bytes& spent_program) {
    Transaction tx;
    TxInput cb;
    cb.kind = CoinbaseInput{};
    tx.inputs.push_back(cb);
    tx.inputs.push_back(spend_of(utxo(spent_program, 100'000'000, 8)));
    tx.outputs.push_back(output(kBtmAssetId, 888, Bytes{0x51}));
    tx.outputs.push_back(output(kBtmAssetId, 90'000'000, Bytes{0x51}));
    tx.serialized_size = 1;
    return tx;
  };
  const TxValidation slot0 = check(build(Bytes{0x51}), 666, true);
  EXPECT_TRUE(slot0.gas_valid && !slot0.status_fail) << slot0.error;
  EXPECT_EQ(slot0.gas_used, 10u);
  EXPECT_EQ(slot0.fee, 10'000'000u);

  const TxValidation slot1 = check(build(Bytes{0x51}), 666, false);
  EXPECT_FALSE(slot1.gas_valid);
  EXPECT_TRUE(has(slot1.error, "coinbase")) << slot1.error;

  const TxValidation retire = check(build(Bytes{0x6a}), 666, true);
  EXPECT_FALSE(retire.gas_valid);

  Transaction big = genesis_coinbase();
  std::get<CoinbaseInput>(big.inputs[0].kind).arbitrary.assign(129, 'x');
  finalize(big);
  const TxValidation oversize = check(big, 1, true);
  EXPECT_FALSE(oversize.gas_valid);
  EXPECT_TRUE(has(oversize.error, "128")) << oversize.error;

  Transaction gold = genesis_coinbase();
  gold.outputs[0].asset_id = kGold;
  EXPECT_FALSE(check(gold, 1, true).gas_valid);
}

// Upstream TestRuleAA's raw transaction spends two outputs twice each (inputs 2 and 3 repeat
// inputs 0 and 1 with other signatures). Upstream keeps the last input per entry, so the
// program of each distinct spend runs once with the later input's arguments, and the mux
// counts every input: 2*500,611,052,000 + 2*8,600,000,000 - 1,018,421,104,000 = 1,000,000 neu
// of fee. Below height 142,500 that is gas-valid (2*1409 + 929 bytes = 3747 gas) and then
// status_fail on input 0's source position; from 142,500 inputs 0 and 1 have no ID: invalid.
TEST(TxRuleAA, UpstreamRepeatedInputs) {
  const auto raw = core::from_hex(
      "070100040161015f9bc47dda88eee18c7433340c16e054cabee4318a8d638e873be19e979df81dc7ffffffffffffffffffffffffffffffff"
      "ffffffffffffffffffffffffffffffffe0e3f9f5c80e01011600147c7662d92bd5e77454736f94731c60a6e9cbc69f6302404a17a5995b81"
      "63ee448719b462a5694b22a35522dd9883333fd462cc3d0aabf049445c5cbb911a40e1906a5bea99b23b1a79e215eeb1a818d8b1dd27e06f"
      "3004200530c4bc9dd3cbf679fec6d824ce5c37b0c8dab88b67bcae3b000924b7dce9940160015ee334d4fe18398f0232d2aca7050388ce4e"
      "e5ae82c8148d7f0cea748438b65135ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80ace6842001011600"
      "147c7662d92bd5e77454736f94731c60a6e9cbc69f6302404a17a5995b8163ee448719b462a5694b22a35522dd9883333fd462cc3d0aabf0"
      "49445c5cbb911a40e1906a5bea99b23b1a79e215eeb1a818d8b1dd27e06f3004200530c4bc9dd3cbf679fec6d824ce5c37b0c8dab88b67bc"
      "ae3b000924b7dce9940161015f9bc47dda88eee18c7433340c16e054cabee4318a8d638e873be19e979df81dc7ffffffffffffffffffffff"
      "ffffffffffffffffffffffffffffffffffffffffffe0e3f9f5c80e01011600147c7662d92bd5e77454736f94731c60a6e9cbc69f63024062"
      "c29b20941e7f762c3afae232f61d8dac1c544825931e391408c6715c408ef69f494a1b3b61ce380ddee0c8b18ecac2b46ef96a62eebb6ec4"
      "0f9f545410870a200530c4bc9dd3cbf679fec6d824ce5c37b0c8dab88b67bcae3b000924b7dce9940160015ee334d4fe18398f0232d2aca7"
      "050388ce4ee5ae82c8148d7f0cea748438b65135ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80ace684"
      "2001011600147c7662d92bd5e77454736f94731c60a6e9cbc69f630240e443d66c75b4d5fa71676d60b0b067e6941f06349f31e5f73a7d51"
      "a73f5797632b2e01e8584cd1c8730dc16df075866b0c796bd7870182e2da4b37188208fe02200530c4bc9dd3cbf679fec6d824ce5c37b0c8"
      "dab88b67bcae3b000924b7dce99402013effffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa08ba3fae80e01"
      "160014aac0345165045e612b3d7363f39a372bead80ce700013effffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
      "ffffe08fe0fae80e01160014aac0345165045e612b3d7363f39a372bead80ce700");
  ASSERT_TRUE(raw) << raw.error();
  const auto tx = parse_transaction(*raw);
  ASSERT_TRUE(tx) << tx.error();
  ASSERT_EQ(tx->serialized_size, 929u);

  const TxValidation before = check(*tx, kStandardInputIdHeight - 1);
  EXPECT_TRUE(before.gas_valid) << before.error;
  EXPECT_TRUE(before.status_fail);
  EXPECT_TRUE(has(before.error, "input 0 repeats input 2")) << before.error;
  EXPECT_EQ(before.gas_used, 2 * 1409 + 929u);
  EXPECT_EQ(before.fee, 1'000'000u);

  const TxValidation from = check(*tx, kStandardInputIdHeight);
  EXPECT_FALSE(from.gas_valid);
  EXPECT_TRUE(has(from.error, "input 0 maps to no entry")) << from.error;
}

// Upstream TestTimeRange at block height 333.
TEST(TxRules, TimeRangeVersionSizeAndBalance) {
  const Key k(1);
  Transaction tx;
  tx.inputs.push_back(spend_of(utxo(Bytes{0x51}, 100'000'000, 8)));
  tx.outputs.push_back(output(kBtmAssetId, 1, Bytes{0x6a}));
  tx.serialized_size = 1;
  for (const auto& [range, valid] : std::vector<std::pair<std::uint64_t, bool>>{
           {0, true}, {334, true}, {333, true}, {332, false}, {1521625824, true}}) {
    tx.time_range = range;
    EXPECT_EQ(check(tx, 333).gas_valid, valid) << range;
  }
  tx.time_range = 0;

  Transaction v2 = tx;
  v2.version = 2;
  EXPECT_FALSE(check(v2, 333).gas_valid);
  Transaction empty = tx;
  empty.serialized_size = 0;
  EXPECT_FALSE(check(empty, 333).gas_valid);
  Transaction no_outputs = tx;
  no_outputs.outputs.clear();
  EXPECT_FALSE(check(no_outputs, 333).gas_valid);

  // Upstream TestOverflow: int64 sums, and BTM out beyond BTM in.
  auto amounts = [&](std::vector<std::uint64_t> ins, std::vector<std::uint64_t> outs) {
    Transaction t;
    std::uint8_t tag = 1;
    for (auto a : ins) t.inputs.push_back(spend_of(utxo(Bytes{0x51}, a, tag++)));
    for (auto a : outs) t.outputs.push_back(output(kBtmAssetId, a, Bytes{0x51}));
    t.serialized_size = 100;
    return check(t, 333);
  };
  const std::uint64_t max63 = 0x7fffffffffffffffull;
  EXPECT_TRUE(has(amounts({max63, 1}, {0}).error, "overflows"));
  EXPECT_TRUE(has(amounts({~0ull, 1}, {0}).error, "exceeds 2^63-1"));
  EXPECT_TRUE(has(amounts({0}, {max63}).error, "BTM outputs exceed BTM inputs"));
  EXPECT_FALSE(amounts({max63 - 1}, {max63}).gas_valid);
  EXPECT_TRUE(amounts({100'000'000}, {99'000'000}).gas_valid);

  Transaction unbalanced;
  unbalanced.inputs.push_back(spend_of(utxo(Bytes{0x51}, 100'000'000, 1)));
  unbalanced.inputs.push_back(spend_of(utxo(Bytes{0x51}, 10, 2, kGold)));
  unbalanced.outputs.push_back(output(kBtmAssetId, 90'000'000, Bytes{0x51}));
  unbalanced.outputs.push_back(output(kGold, 11, Bytes{0x51}));
  unbalanced.serialized_size = 100;
  const TxValidation u = check(unbalanced, 333);
  EXPECT_FALSE(u.gas_valid);
  EXPECT_TRUE(has(u.error, "does not balance")) << u.error;
}

// ---- blocks -------------------------------------------------------------------------------

Transaction coinbase_paying(std::uint64_t amount, const Bytes& program) {
  Transaction tx;
  TxInput in;
  in.kind = CoinbaseInput{Bytes{'t', 'e', 's', 't'}};
  tx.inputs.push_back(std::move(in));
  tx.outputs.push_back(output(kBtmAssetId, amount, program));
  finalize(tx);
  return tx;
}

std::vector<TxEntries> entries_of(const Block& b) {
  std::vector<TxEntries> e;
  for (const Transaction& tx : b.transactions) e.push_back(map_transaction(tx));
  return e;
}

// A block at `height` whose coinbase claims subsidy + fees + `extra`, with roots that match.
Block block_of(std::uint64_t height, std::vector<Transaction> txs, std::int64_t extra = 0) {
  std::uint64_t fees = 0;
  std::vector<bool> status = {false};
  for (const Transaction& tx : txs) {
    const TxValidation v = check(tx, height);
    fees += v.fee;
    status.push_back(v.status_fail);
  }
  Block b;
  b.header.height = height;
  b.transactions.push_back(coinbase_paying(block_subsidy(height) + fees + static_cast<std::uint64_t>(extra), Key(99).program()));
  for (auto& tx : txs) b.transactions.push_back(std::move(tx));
  b.header.transactions_merkle_root = compute_transactions_root(b);
  b.header.transaction_status_hash = status_merkle_root(status);
  return b;
}

TEST(BlockBody, MainnetGenesisPasses) {
  const Block g = mainnet_genesis();
  const auto v = validate_block_body(g, entries_of(g));
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(v->gas_used, 0u);
  EXPECT_EQ(v->fees, 0u);
  EXPECT_EQ(v->status_fail, std::vector<bool>{false});
}

// Fees of status_fail transactions go to the miner as well.
TEST(BlockBody, CoinbaseClaimsSubsidyPlusAllFees) {
  const Key payer(1), issuer(9);
  std::vector<Transaction> txs = {one_in_two_out(payer, 10'000'000),
                                  issue(payer, issuer.program(), {&issuer}, true, filled(0x77)).tx};
  const Block ok = block_of(2000, txs);
  const auto v = validate_block_body(ok, entries_of(ok));
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(v->fees, 20'000'000u);
  EXPECT_EQ(v->status_fail, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(v->gas_used, v->txs[1].gas_used + v->txs[2].gas_used);

  for (std::int64_t extra : {1, -1, -10'000'000}) {  // the last leaves out the status_fail fee
    const Block bad = block_of(2000, txs, extra);
    const auto r = validate_block_body(bad, entries_of(bad));
    EXPECT_FALSE(r) << extra;
    if (!r) {
      EXPECT_TRUE(has(r.error(), "coinbase pays")) << r.error();
    }
  }
}

TEST(BlockBody, CoinbaseShapeAndPlacement) {
  const Key payer(1);
  Block two = block_of(5, {});
  two.transactions[0].outputs.push_back(output(kBtmAssetId, 1, payer.program()));
  finalize(two.transactions[0]);
  two.header.transactions_merkle_root = compute_transactions_root(two);
  EXPECT_FALSE(validate_block_body(two, entries_of(two)));

  Block late = block_of(5, {});
  late.transactions.push_back(coinbase_paying(1, payer.program()));
  late.header.transactions_merkle_root = compute_transactions_root(late);
  late.header.transaction_status_hash = status_merkle_root({false, false});
  const auto r = validate_block_body(late, entries_of(late));
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error(), "transaction 1 is invalid")) << r.error();

  Block none;
  EXPECT_FALSE(validate_block_body(none, {}));
}

TEST(BlockBody, GasInvalidTransactionFailsTheBlock) {
  const Key payer(1);
  Transaction bad = one_in_two_out(payer, 10'000'000);
  args_of(bad, 0)[0][0] ^= 1;
  const Block b = block_of(7, {bad});
  const auto r = validate_block_body(b, entries_of(b));
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error(), "transaction 1 is invalid: input 0")) << r.error();
}

// Each copy declares 198,000 serialized bytes and pays 40,000,000 neu (the 200,000 cap):
// 1409 + 198,000 = 199,409 gas. 50 copies make 9,970,450 gas; a 51st passes 10,000,000.
// (Copies are fine here: double spends are the connect step's business.)
TEST(BlockBody, BlockGasLimit) {
  const Key payer(1);
  Transaction heavy = one_in_two_out(payer, 20'000'000);
  heavy.outputs[0].amount = 40'000'000;
  heavy.outputs[1].amount = 20'000'000;
  sign_p2wpkh(heavy, 0, payer);
  heavy.serialized_size = 198'000;
  ASSERT_EQ(check(heavy, 9).gas_used, 199'409u);

  const Block fifty = block_of(9, std::vector<Transaction>(50, heavy));
  const auto ok = validate_block_body(fifty, entries_of(fifty));
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->gas_used, 9'970'450u);

  const Block over = block_of(9, std::vector<Transaction>(51, heavy));
  const auto r = validate_block_body(over, entries_of(over));
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error(), "exceeds the 10000000 limit at transaction 51")) << r.error();
}

TEST(BlockBody, RootsMustMatch) {
  const Key payer(1), issuer(9);
  const Block good = block_of(3, {issue(payer, issuer.program(), {&issuer}, true, filled(0x77)).tx});
  ASSERT_TRUE(validate_block_body(good, entries_of(good)));

  Block tx_root = good;
  tx_root.header.transactions_merkle_root[0] ^= 1;
  const auto a = validate_block_body(tx_root, entries_of(tx_root));
  ASSERT_FALSE(a);
  EXPECT_TRUE(has(a.error(), "transaction merkle root")) << a.error();

  Block status = good;  // commits to "all succeeded" while transaction 1 is status_fail
  status.header.transaction_status_hash = status_merkle_root({false, false});
  const auto s = validate_block_body(status, entries_of(status));
  ASSERT_FALSE(s);
  EXPECT_TRUE(has(s.error(), "status merkle root")) << s.error();
}

}  // namespace
}  // namespace tensority::chain
