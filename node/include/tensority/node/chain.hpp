#pragma once
// The chain state (docs/spec/node.md 1.8): the block index, the stored blocks and the UTXO set, with
// block processing, orphans, chain selection, reorgs with undo data, and invalid blocks
// marked for good. Thread-safe: one writer at a time, readers alongside.
//
// Chain selection is upstream v1.1.1's: after a block is processed (with the orphans it
// adopts), the highest block among them replaces the tip when it is higher than the tip and
// has at least as much cumulative work. Zero-work blocks (a testnet retarget can give a target
// above 2^256) therefore extend the chain. See docs/node.md.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "tensority/chain/block.hpp"
#include "tensority/chain/block_index.hpp"
#include "tensority/chain/chain_params.hpp"
#include "tensority/node/chain_store.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/node/pow_checker.hpp"

namespace tensority::node {

struct ChainOptions {
  std::filesystem::path data_dir;
  bool check_pow = true;                 // false: trust proof of work (import benchmarks)
  unsigned pow_threads = 0;              // 0: one per core
  std::size_t max_orphans = 256;
  std::chrono::seconds orphan_ttl{3600};
  std::function<std::uint64_t()> clock;  // Unix seconds; empty: the system clock
};

enum class BlockOutcome {
  connected,   // extended or reorganised the main chain; the block is on it
  side_chain,  // valid and stored, but not on the main chain (yet)
  orphan,      // parent unknown; kept in the orphan pool
  duplicate,   // already known
  invalid,     // broke a rule; never retried
};
std::string_view to_string(BlockOutcome outcome);

struct ProcessResult {
  BlockOutcome outcome = BlockOutcome::invalid;
  core::Hash id{};
  std::string error;  // why, for invalid
};

struct TipInfo {
  core::Hash id{};
  std::uint64_t height = 0;
  core::BlockHeader header;
  core::BigInt chain_work;
};

// What changed on the main chain in one step, in order: blocks detached (tip first), then
// blocks attached (lowest first). The mempool follows the chain from this.
struct ChainUpdate {
  std::vector<chain::Block> detached;
  std::vector<chain::Block> attached;
  TipInfo tip;
};

class Chain {
 public:
  // Opens or creates the chain in options.data_dir; a new one starts with the genesis block.
  static core::Result<std::unique_ptr<Chain>> open(const chain::ChainParams& params, ChainOptions options);
  ~Chain();

  const chain::ChainParams& params() const { return params_; }

  ProcessResult process_block(const chain::Block& block);
  // Many blocks, parents first (import, sync): proof of work for the whole batch is checked
  // in parallel over the cores first, then each block is processed in order.
  std::vector<ProcessResult> process_blocks(const std::vector<chain::Block>& blocks);
  // Replays the main chain from genesis in memory and compares the result with the stored
  // UTXO set and its count; the summary names the first difference.
  core::Result<std::string> verify() const;
  // Stops processing (orphan adoption, reorgs) cleanly; later calls are refused.
  void close();

  TipInfo tip() const;
  std::optional<core::Hash> hash_at(std::uint64_t height) const;  // main chain
  std::optional<core::BlockHeader> header(const core::Hash& id) const;
  std::optional<std::uint64_t> main_height(const core::Hash& id) const;  // nullopt: not on the main chain
  std::optional<chain::Block> block(const core::Hash& id) const;
  std::optional<core::wire::Bytes> raw_block(const core::Hash& id) const;
  std::optional<BlockMeta> meta(const core::Hash& id) const;
  std::optional<UtxoEntry> utxo(const core::Hash& output_id) const;
  std::vector<std::pair<core::Hash, UtxoEntry>> utxos_by_program(std::span<const std::uint8_t> program,
                                                                 std::size_t limit) const;
  std::uint64_t utxo_count() const;
  std::size_t orphan_count() const;
  std::size_t index_size() const;

  // What the child of the tip must carry: bits, seed, and the earliest timestamp allowed.
  struct NextBlock {
    core::Hash parent{};
    std::uint64_t height = 0;
    std::uint64_t bits = 0;
    core::Hash seed{};
    std::uint64_t min_timestamp = 0;
  };
  NextBlock next_block() const;
  std::uint64_t now() const;

  // Called (outside the chain's lock, on the thread that processed the block) after each
  // change of the main chain.
  void on_update(std::function<void(const ChainUpdate&)> listener);

  // Blocks until the tip differs from `known` or the timeout passes; returns the tip.
  TipInfo wait_for_tip_change(const core::Hash& known, std::chrono::milliseconds timeout) const;

 private:
  struct Orphan {
    chain::Block block;
    std::chrono::steady_clock::time_point added;
  };
  Chain(const chain::ChainParams& params, ChainOptions options, std::unique_ptr<ChainStore> store);
  core::Result<bool> load();
  core::Result<bool> init_genesis();
  ProcessResult process_one(const chain::Block& block, bool pow_verified);
  ProcessResult accept(const chain::Block& block, const core::Hash& id, bool pow_verified);
  core::Result<bool> check_body_and_store(const chain::Block& block, const chain::BlockNode& node);
  // Accepts the orphans waiting on parent, and theirs, depth first; returns the highest block
  // of that tree (parent itself when none is higher), the first found winning ties.
  const chain::BlockNode* adopt_orphans(const chain::BlockNode& parent);
  static bool replaces_tip(const chain::BlockNode& candidate, const chain::BlockNode& tip);
  bool connectable(const chain::BlockNode& candidate) const;  // its whole branch has valid bodies
  bool on_main(const chain::BlockNode& n) const;
  // After a connect failure: the highest qualifying block, then the most work, then the
  // lowest ID (upstream has no such step; docs/node.md).
  const chain::BlockNode* best_in_index() const;
  void select_best(const chain::BlockNode* candidate, std::vector<ChainUpdate>& updates);
  core::Result<bool> reorganize_to(const chain::BlockNode& target, ChainUpdate& update, const chain::BlockNode*& failed);
  void mark_invalid(const core::Hash& id, const std::string& reason);
  void expire_orphans();
  TipInfo tip_locked() const;
  void notify(const std::vector<ChainUpdate>& updates);

  const chain::ChainParams& params_;
  ChainOptions options_;
  std::unique_ptr<ChainStore> store_;
  std::unique_ptr<PowChecker> pow_;
  mutable std::shared_mutex mutex_;  // index, main chain, orphans
  std::mutex process_mutex_;         // one block processed at a time
  chain::BlockIndex index_;
  std::vector<const chain::BlockNode*> main_;  // main chain by height
  std::multimap<core::Hash, Orphan> orphans_;  // by previous block id
  std::vector<std::function<void(const ChainUpdate&)>> listeners_;
  mutable std::mutex tip_wait_mutex_;
  mutable std::condition_variable tip_changed_;
  bool closed_ = false;
};

}  // namespace tensority::node
