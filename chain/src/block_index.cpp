#include "tensority/chain/block_index.hpp"

#include <algorithm>

#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"

namespace tensority::chain {

BlockIndex::BlockIndex(const core::BlockHeader& genesis, bool retarget) : retarget_(retarget) {
  auto node = std::make_unique<BlockNode>();
  node->id = core::block_id(genesis);
  node->header = genesis;
  node->chain_work = core::calc_work(genesis.bits);
  node->seed = core::initial_seed();
  node->body_valid = true;
  genesis_ = node.get();
  nodes_.emplace(node->id, std::move(node));
}

const BlockNode* BlockIndex::find(const core::Hash& id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

const BlockNode& BlockIndex::add(const core::BlockHeader& header) {
  const core::Hash id = core::block_id(header);
  if (const BlockNode* known = find(id)) return *known;
  const BlockNode* parent = find(header.previous_block_id);
  auto node = std::make_unique<BlockNode>();
  node->id = id;
  node->header = header;
  node->parent = parent;
  node->chain_work = (parent != nullptr ? parent->chain_work : core::BigInt(0)) + core::calc_work(header.bits);
  node->seed = parent != nullptr ? seed_for_child(*parent) : core::initial_seed();
  node->invalid = parent != nullptr && parent->invalid;
  const BlockNode& out = *node;
  nodes_.emplace(id, std::move(node));
  return out;
}

void BlockIndex::mark_invalid(const core::Hash& id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  it->second->invalid = true;
  // Descendants inherit it; the index is small enough that one pass per mark is fine.
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto& [key, node] : nodes_) {
      if (!node->invalid && node->parent != nullptr && node->parent->invalid) {
        node->invalid = true;
        changed = true;
      }
    }
  }
}

std::vector<const BlockNode*> BlockIndex::nodes() const {
  std::vector<const BlockNode*> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) out.push_back(node.get());
  return out;
}

void BlockIndex::set_body_valid(const core::Hash& id) {
  if (auto it = nodes_.find(id); it != nodes_.end()) it->second->body_valid = true;
}

const BlockNode* BlockIndex::ancestor(const BlockNode& n, std::uint64_t height) {
  if (height > n.height()) return nullptr;
  const BlockNode* p = &n;
  while (p != nullptr && p->height() > height) p = p->parent;
  return p;
}

std::uint64_t BlockIndex::median_time_past(const BlockNode& n) {
  std::vector<std::uint64_t> times;
  const BlockNode* p = &n;
  for (std::uint64_t i = 0; i < core::kMedianTimeBlocks && p != nullptr; ++i, p = p->parent) {
    times.push_back(p->header.timestamp);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::uint64_t BlockIndex::next_bits(const BlockNode& parent) {
  const std::uint64_t h = parent.height();
  std::uint64_t compare_timestamp = 0;
  if (h != 0 && h % core::kBlocksPerRetarget == 0) {
    const BlockNode* q = ancestor(parent, h - core::kBlocksPerRetarget);
    compare_timestamp = q != nullptr ? q->header.timestamp : 0;
  }
  return core::next_bits(h, parent.header.timestamp, parent.header.bits, compare_timestamp);
}

core::Hash BlockIndex::seed_for_child(const BlockNode& parent) {
  if (parent.height() == 0) return core::initial_seed();
  if (parent.height() % core::kSeedPerRetarget == 0) return parent.id;
  return parent.seed;
}

core::Result<bool> check_header(const BlockNode& parent, const core::BlockHeader& h, std::uint64_t now, bool retarget) {
  using R = core::Result<bool>;
  if (parent.invalid) return R::failure("parent " + core::to_hex(parent.id) + " is invalid");
  if (h.version != 1) return R::failure("version " + std::to_string(h.version) + " (must be 1)");
  if (h.height != parent.height() + 1) {
    return R::failure("height " + std::to_string(h.height) + " after parent height " + std::to_string(parent.height()));
  }
  if (h.previous_block_id != parent.id) return R::failure("previous block id is not the parent's");
  const std::uint64_t want = retarget ? BlockIndex::next_bits(parent) : parent.header.bits;
  if (h.bits != want) {
    return R::failure("bits " + std::to_string(h.bits) + " but the chain requires " + std::to_string(want));
  }
  const std::uint64_t mtp = BlockIndex::median_time_past(parent);
  if (h.timestamp <= mtp) {
    return R::failure("timestamp " + std::to_string(h.timestamp) + " not after the median time past " +
                      std::to_string(mtp));
  }
  if (h.timestamp > now + core::kMaxTimeOffsetSeconds) {
    return R::failure("timestamp " + std::to_string(h.timestamp) + " more than " +
                      std::to_string(core::kMaxTimeOffsetSeconds) + " s in the future");
  }
  return true;
}

}  // namespace tensority::chain
