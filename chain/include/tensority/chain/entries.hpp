#pragma once
// Entry-ID hashing (docs/spec/node.md 1.3, 1.4): each consensus object is an entry whose ID is
// SHA3("entryid:" || type || ":" || SHA3(body)). A wire transaction maps to an entry graph
// (inputs, one mux, outputs or retirements, the txheader) whose txheader ID is the
// transaction ID. Witness data (arguments, sizes) is outside every ID.
#include <span>
#include <string_view>
#include <vector>

#include "tensority/chain/transaction.hpp"

namespace tensority::chain {

Hash entry_id(std::string_view type, std::span<const std::uint8_t> body);

// The ID of the output entry a spend re-supplies: how a UTXO is named.
Hash spent_output_id(const SpendCommitment& output);

// SHA3(LE64(vm_version) || varstr(issuance_program) || SHA3(definition)): no entry prefix.
Hash asset_id(std::uint64_t vm_version, std::span<const std::uint8_t> issuance_program,
              std::span<const std::uint8_t> definition);

// What a signature signs for an input: SHA3(input entry ID || tx ID).
Hash signature_hash(const Hash& input_id, const Hash& tx_id);

inline constexpr std::uint8_t kOpFail = 0x6a;
inline constexpr std::uint8_t kOpTrue = 0x51;

struct TxEntries {
  Hash tx_id{};
  Hash mux_id{};
  std::vector<Hash> input_ids;         // spend1 / issuance1 / coinbase1 IDs; zero for an opaque input
  std::vector<Hash> spent_output_ids;  // per input: the spent output's ID for a spend, else zero
  std::vector<Hash> result_ids;        // per output: output1 or retirement1 ID
  std::vector<bool> retired;           // per output: its program starts with OP_FAIL
};

TxEntries map_transaction(const Transaction& tx);

}  // namespace tensority::chain
