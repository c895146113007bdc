#pragma once
// Bytom v1.1.1 transactions on the wire (docs/spec/node.md 1.4): byte-exact parse and serialise.
// Every extensible string keeps its unparsed tail ("suffix") and re-emits it as it came, and
// inputs and outputs of an asset version other than 1 are kept opaque, so any transaction
// the parser accepts serialises back to the same bytes.
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"

namespace tensority::chain {

using Bytes = core::wire::Bytes;
using core::Hash;

// BTM: minted only by coinbase, never issued.
inline constexpr Hash kBtmAssetId = [] {
  Hash h{};
  for (auto& b : h) b = 0xff;
  return h;
}();

inline constexpr std::uint8_t kTxSerFlag = 0x07;

struct SpendCommitment {
  Hash source_id{};
  Hash asset_id{};
  std::uint64_t amount = 0;
  std::uint64_t source_position = 0;
  std::uint64_t vm_version = 1;
  Bytes control_program;
  Bytes suffix;  // tail of the nested extensible string
  bool operator==(const SpendCommitment&) const = default;
};

struct IssuanceInput {
  Bytes nonce;
  Hash asset_id{};
  std::uint64_t amount = 0;
  Bytes asset_definition;
  std::uint64_t vm_version = 1;
  Bytes issuance_program;
  std::vector<Bytes> arguments;
  bool operator==(const IssuanceInput&) const = default;
};

struct SpendInput {
  SpendCommitment output;  // the spent output, re-supplied in full
  std::vector<Bytes> arguments;
  bool operator==(const SpendInput&) const = default;
};

struct CoinbaseInput {
  Bytes arbitrary;
  bool operator==(const CoinbaseInput&) const = default;
};

// An input of an asset version other than 1: both bodies kept as they came.
struct OpaqueInput {
  bool operator==(const OpaqueInput&) const = default;
};

struct TxInput {
  std::uint64_t asset_version = 1;
  std::variant<IssuanceInput, SpendInput, CoinbaseInput, OpaqueInput> kind;
  Bytes commitment_suffix;  // commitment body after the parsed fields (all of it when opaque)
  Bytes witness_suffix;     // witness body after the parsed fields (all of it when opaque)
  bool operator==(const TxInput&) const = default;
};

struct TxOutput {
  std::uint64_t asset_version = 1;
  Hash asset_id{};
  std::uint64_t amount = 0;
  std::uint64_t vm_version = 1;
  Bytes control_program;
  Bytes commitment_suffix;  // all of the commitment body when asset_version != 1
  Bytes witness;            // the output witness body (empty in every known transaction)
  bool operator==(const TxOutput&) const = default;
};

struct Transaction {
  std::uint64_t version = 1;
  std::uint64_t time_range = 0;
  std::vector<TxInput> inputs;
  std::vector<TxOutput> outputs;
  std::uint64_t serialized_size = 0;  // bytes read (or written); storage gas is charged on it
  bool operator==(const Transaction&) const = default;
};

// Reads one transaction (serflag 0x07 first) from r, advancing it.
bool read_transaction(core::wire::Reader& r, Transaction& out);
// A whole buffer holding exactly one transaction.
core::Result<Transaction> parse_transaction(std::span<const std::uint8_t> bytes);

void write_transaction(Bytes& out, const Transaction& tx);
Bytes serialize_transaction(const Transaction& tx);

}  // namespace tensority::chain
