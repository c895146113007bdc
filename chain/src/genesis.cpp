#include "tensority/chain/genesis.hpp"

#include <string_view>

#include "tensority/core/hex.hpp"
#include "tensority/chain/merkle.hpp"

namespace tensority::chain {
namespace {

Block genesis_with(std::uint64_t timestamp, std::uint64_t bits, std::uint64_t nonce) {
  Block b;
  b.transactions.push_back(genesis_coinbase());
  b.header.version = 1;
  b.header.height = 0;
  b.header.timestamp = timestamp;
  b.header.nonce = nonce;
  b.header.bits = bits;
  b.header.transactions_merkle_root = compute_transactions_root(b);
  b.header.transaction_status_hash = status_merkle_root({false});
  return b;
}

}  // namespace

Transaction genesis_coinbase() {
  static constexpr std::string_view kText =
      "Information is power. -- Jan/11/2013. Computing is power. -- Apr/24/2018.";
  Transaction tx;
  TxInput in;
  in.kind = CoinbaseInput{Bytes(kText.begin(), kText.end())};
  tx.inputs.push_back(std::move(in));
  TxOutput out;
  out.asset_id = kBtmAssetId;
  out.amount = 140700041250000000ULL;
  out.control_program = *core::from_hex("00148c9d063ff74ee6d9ffa88d83aeb038068366c4c4");
  tx.outputs.push_back(std::move(out));
  tx.serialized_size = serialize_transaction(tx).size();
  return tx;
}

Block mainnet_genesis() { return genesis_with(1524549600, 0x1e00000000011b68ULL, 9253507043297ULL); }
Block testnet_genesis() { return genesis_with(1528945000, 0x20000000000ccccc, 9253507043297ULL); }
// Its own timestamp gives regtest its own genesis ID; the nonce was searched so that even the
// genesis meets its bits (not required by any rule, but a chain that checks cleanly end to end).
Block regtest_genesis() { return genesis_with(kRegtestGenesisTimestamp, 0x20000000000ccccc, kRegtestGenesisNonce); }

}  // namespace tensority::chain
