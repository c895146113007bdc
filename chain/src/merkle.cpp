#include "tensority/chain/merkle.hpp"

#include <string_view>

#include "tensority/core/sha3.hpp"
#include "tensority/core/wire.hpp"

namespace tensority::chain {
namespace {

core::Hash root_of(const std::vector<std::span<const std::uint8_t>>& leaves, std::size_t first, std::size_t n) {
  core::wire::Bytes b;
  if (n == 1) {
    b.push_back(0x00);
    core::wire::put_bytes(b, leaves[first]);
    return core::sha3_256(b);
  }
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;  // the largest power of two strictly below n
  const core::Hash left = root_of(leaves, first, k);
  const core::Hash right = root_of(leaves, first + k, n - k);
  b.push_back(0x01);
  core::wire::put_bytes(b, left);
  core::wire::put_bytes(b, right);
  return core::sha3_256(b);
}

}  // namespace

core::Hash merkle_root(const std::vector<std::span<const std::uint8_t>>& leaves) {
  if (leaves.empty()) return core::sha3_256(std::span<const std::uint8_t>{});
  return root_of(leaves, 0, leaves.size());
}

core::Hash transactions_merkle_root(const std::vector<core::Hash>& tx_ids) {
  std::vector<std::span<const std::uint8_t>> leaves(tx_ids.begin(), tx_ids.end());
  return merkle_root(leaves);
}

core::Hash status_merkle_root(const std::vector<bool>& status_fail) {
  static constexpr std::string_view kOk = "{}";
  static constexpr std::string_view kFail = "{\"status_fail\":true}";
  std::vector<std::span<const std::uint8_t>> leaves;
  leaves.reserve(status_fail.size());
  for (const bool failed : status_fail) {
    const std::string_view text = failed ? kFail : kOk;
    leaves.emplace_back(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  }
  return merkle_root(leaves);
}

}  // namespace tensority::chain
