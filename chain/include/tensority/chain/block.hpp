#pragma once
// A full block on the wire (docs/spec/node.md 1.2): the header with serflag 0x03, a varint31
// transaction count and the transactions. Parse and serialise are byte-exact.
#include <span>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/chain/transaction.hpp"

namespace tensority::chain {

struct Block {
  core::BlockHeader header;
  std::vector<Transaction> transactions;
  bool operator==(const Block&) const = default;
};

// Parser of outside bytes: a clear one-line error, never an exception or a crash.
core::Result<Block> parse_block(std::span<const std::uint8_t> bytes);
Bytes serialize_block(const Block& block);

// The roots a header must commit to, from the block's transactions and their status bits.
core::Hash compute_transactions_root(const Block& block);

}  // namespace tensority::chain
