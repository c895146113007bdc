#pragma once
// Body rules of Bytom v1.1.1 (docs/spec/node.md 1.6): one transaction's gas, graph and program checks,
// and a block's coinbase, gas limit and commitments. Nothing here reads the UTXO set:
// whether a spent output exists, is unspent and is mature is the connect step's job.
#include <cstdint>
#include <string>
#include <vector>

#include "tensority/core/types.hpp"
#include "tensority/chain/block.hpp"
#include "tensority/chain/entries.hpp"

namespace tensority::chain {

inline constexpr std::uint64_t kMaxBlockGas = 10'000'000;
inline constexpr std::uint64_t kMaxTxGas = 200'000;
inline constexpr std::uint64_t kGasRate = 200;             // neu of BTM fee per unit of gas
inline constexpr std::uint64_t kDefaultGasCredit = 30'000;  // BTM-input programs run on this
inline constexpr std::uint64_t kCoinbaseMaturity = 100;
inline constexpr std::size_t kMaxCoinbaseArbitrary = 128;
inline constexpr std::uint64_t kStandardInputIdHeight = 142'500;  // every input maps to an entry

// Coinbase reward before fees: 412.5 BTM halved every 840,000 blocks; the genesis amount
// at height 0.
std::uint64_t block_subsidy(std::uint64_t height);

struct TxValidation {
  bool gas_valid = false;    // false: the transaction, and any block holding it, is invalid
  bool status_fail = false;  // failed after it became gas-valid: only BTM movements apply
  std::uint64_t gas_used = 0;
  std::uint64_t fee = 0;     // BTM surplus: sum of BTM in minus sum of BTM out
  std::string error;         // why it is invalid or status_fail; empty when fully valid
};

// Validates one transaction as it would be inside a block at block_height. The coinbase is
// only allowed at index 0 of a block, so the caller says whether this is that slot.
// entries must be map_transaction(tx).
// Upstream's order (docs/bvm.md): budget = BTM surplus / 200 (at most 200,000); the BTM inputs'
// programs run first and may use 30,000 of it; then the storage gas (serialized_size) is paid
// and the transaction is gas-valid; then issuances and other spends run, and a failure there
// is status_fail. Programs outside the BVM subset fail with "non-standard program: ...".
// Stricter than upstream in one place: an issuance of BTM is invalid outright.
TxValidation validate_transaction(const Transaction& tx, const TxEntries& entries,
                                  std::uint64_t block_height, bool coinbase_slot);

struct BlockValidation {
  std::vector<TxValidation> txs;  // per transaction, in block order
  std::vector<bool> status_fail;  // per transaction: what the status root commits to
  std::uint64_t gas_used = 0;
  std::uint64_t fees = 0;
};

// Every body rule of a block at its header's height: each transaction (any gas-invalid one
// fails the block), the block gas limit, the coinbase (index 0, one output, BTM, amount ==
// subsidy + fees, arbitrary data <= 128 bytes), and both roots against the header.
// entries[i] must be map_transaction(block.transactions[i]).
core::Result<BlockValidation> validate_block_body(const Block& block, const std::vector<TxEntries>& entries);

}  // namespace tensority::chain
