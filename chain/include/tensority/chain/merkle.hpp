#pragma once
// Bytom's merkle trees (docs/spec/node.md 1.5): leaf SHA3(0x00 || leaf), node SHA3(0x01 || l || r),
// split at the largest power of two below n, and SHA3("") for no leaves.
#include <span>
#include <vector>

#include "tensority/core/types.hpp"

namespace tensority::chain {

core::Hash merkle_root(const std::vector<std::span<const std::uint8_t>>& leaves);

// Leaves: the transaction IDs.
core::Hash transactions_merkle_root(const std::vector<core::Hash>& tx_ids);

// Leaves: the JSON text of each verify result, "{}" or {"status_fail":true}.
core::Hash status_merkle_root(const std::vector<bool>& status_fail);

}  // namespace tensority::chain
