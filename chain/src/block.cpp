#include "tensority/chain/block.hpp"

#include <string>

#include "tensority/chain/entries.hpp"
#include "tensority/chain/merkle.hpp"

namespace tensority::chain {

core::Result<Block> parse_block(std::span<const std::uint8_t> bytes) {
  using R = core::Result<Block>;
  auto header = core::parse_header(bytes);
  if (!header) return R::failure("block: " + header.error());
  if (header->serflag != core::kSerFlagBlock) {
    return R::failure("block: serialization flag 0x01 is a header alone; a block starts with 0x03");
  }
  Block block;
  block.header = std::move(header->header);
  core::wire::Reader r(bytes.subspan(header->consumed), "block", header->consumed);
  std::uint64_t count = 0;
  if (!r.varint31(count, "transaction count")) return R::failure(r.error());
  if (count > r.remaining()) {
    return R::failure("block: transaction count " + std::to_string(count) + " exceeds the " +
                      std::to_string(r.remaining()) + " bytes left");
  }
  block.transactions.resize(static_cast<std::size_t>(count));
  for (auto& tx : block.transactions) {
    if (!read_transaction(r, tx)) return R::failure(r.error());
  }
  if (r.remaining() != 0) {
    return R::failure("block: " + std::to_string(r.remaining()) + " trailing bytes from byte " +
                      std::to_string(r.absolute_pos()));
  }
  return block;
}

Bytes serialize_block(const Block& block) {
  Bytes out = core::serialize_header(block.header, core::kSerFlagBlock);
  core::wire::put_uvarint(out, block.transactions.size());
  for (const auto& tx : block.transactions) write_transaction(out, tx);
  return out;
}

core::Hash compute_transactions_root(const Block& block) {
  std::vector<core::Hash> ids;
  ids.reserve(block.transactions.size());
  for (const auto& tx : block.transactions) ids.push_back(map_transaction(tx).tx_id);
  return transactions_merkle_root(ids);
}

}  // namespace tensority::chain
