#pragma once
// Block templates for miners (docs/spec/node.md 1.10): the coinbase paying the configured program
// (subsidy + fees), mempool transactions by fee per gas up to the gas limit, rebuilt on a
// new tip or new transactions; and the CPU mining behind regtest's `generate`.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "tensority/node/chain.hpp"
#include "tensority/node/mempool.hpp"

namespace tensority::node {

struct BlockTemplate {
  chain::Block block;  // header nonce 0; timestamp as built
  core::Hash seed{};
  std::uint64_t fees = 0;
  std::uint64_t gas_used = 0;
  std::vector<bool> status_fail;
};

// The coinbase of a block at height: arbitrary data 0x00 || decimal height, so every
// coinbase has its own ID.
chain::Transaction make_coinbase(std::uint64_t height, std::uint64_t amount, std::span<const std::uint8_t> program);

BlockTemplate build_block_template(const Chain::NextBlock& next, const std::vector<MempoolEntry>& txs,
                                   std::span<const std::uint8_t> coinbase_program, std::uint64_t now);

class TemplateManager {
 public:
  TemplateManager(const Chain& chain, const Mempool& mempool, core::wire::Bytes coinbase_program);

  // The template for the current tip and mempool, rebuilt when either changed; its
  // timestamp is refreshed to now on every call (as bytomd's get-work does).
  BlockTemplate current();
  // The recent template this header was built from (same parent and merkle roots), with
  // the header's nonce and timestamp put in: what submit-work mines.
  std::optional<chain::Block> complete(const core::BlockHeader& submitted) const;
  bool has_coinbase_program() const { return !program_.empty(); }

 private:
  const Chain& chain_;
  const Mempool& mempool_;
  core::wire::Bytes program_;
  mutable std::mutex mutex_;
  std::shared_ptr<const BlockTemplate> cached_;
  core::Hash cached_tip_{};
  std::uint64_t cached_revision_ = ~std::uint64_t{0};
  std::deque<std::shared_ptr<const BlockTemplate>> recent_;  // the last few, for submit-work
};

// Mines a template on the CPU engine: searches nonces until one meets the bits, with the
// timestamp bumped when the nonce space of a second runs out. Stops (nullopt) when *stop.
std::optional<chain::Block> mine_block_cpu(BlockTemplate tmpl, unsigned threads, const std::atomic<bool>* stop);

}  // namespace tensority::node
