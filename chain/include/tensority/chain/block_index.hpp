#pragma once
// The block index (docs/spec/node.md 1.8): every known header as a node with its parent, height,
// cumulative work and epoch seed, and the header rules checked against a parent (docs/spec/node.md 1.6,
// docs/spec/tensority.md 8). Proof of work is checked apart (PowChecker, core::check_pow) so a caller
// can run it for many headers in parallel.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/core/target.hpp"

namespace tensority::chain {

struct HashHasher {
  std::size_t operator()(const core::Hash& h) const noexcept {
    std::size_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | h[static_cast<std::size_t>(i)];
    return v;
  }
};

struct BlockNode {
  core::Hash id{};
  core::BlockHeader header;
  const BlockNode* parent = nullptr;
  core::BigInt chain_work;  // sum of work from genesis to this block
  core::Hash seed{};        // the seed this block's own PoW uses
  bool invalid = false;     // failed validation (or descends from a block that did): never retried
  bool body_valid = false;  // its body is stored and passed every body rule

  std::uint64_t height() const { return header.height; }
};

class BlockIndex {
 public:
  // retarget false: every block keeps the genesis bits (regtest).
  explicit BlockIndex(const core::BlockHeader& genesis, bool retarget = true);

  const BlockNode& genesis() const { return *genesis_; }
  const BlockNode* find(const core::Hash& id) const;
  std::size_t size() const { return nodes_.size(); }
  std::vector<const BlockNode*> nodes() const;  // every node, in no particular order

  // Adds a header whose parent is in the index; returns the existing node for a known ID.
  const BlockNode& add(const core::BlockHeader& header);
  void mark_invalid(const core::Hash& id);
  void set_body_valid(const core::Hash& id);
  bool retarget() const { return retarget_; }
  // The bits the child of parent must carry on this chain.
  std::uint64_t expected_bits(const BlockNode& parent) const { return retarget_ ? next_bits(parent) : parent.header.bits; }

  // The ancestor of n at `height` (n itself at its own height), or nullptr above n.
  static const BlockNode* ancestor(const BlockNode& n, std::uint64_t height);
  // Median of the timestamps of n and its 10 ancestors (fewer near genesis): sorted[len/2].
  static std::uint64_t median_time_past(const BlockNode& n);
  // What bits the child of parent must carry.
  static std::uint64_t next_bits(const BlockNode& parent);
  // The seed the child of parent uses: InitialSeed after genesis, the parent's ID on an
  // epoch boundary (height % 256 == 0), else the parent's own seed.
  static core::Hash seed_for_child(const BlockNode& parent);

 private:
  std::unordered_map<core::Hash, std::unique_ptr<BlockNode>, HashHasher> nodes_;
  BlockNode* genesis_ = nullptr;
  bool retarget_ = true;
};

// Every header rule except proof of work; the message names the rule that failed.
// now: the caller's clock in Unix seconds (the future limit is now + 3600).
// retarget false: the bits must equal the parent's (regtest).
core::Result<bool> check_header(const BlockNode& parent, const core::BlockHeader& header, std::uint64_t now,
                                bool retarget = true);

}  // namespace tensority::chain
