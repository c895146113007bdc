#include "tensority/node/chain.hpp"

#include <algorithm>
#include <unordered_map>

#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/core/target.hpp"
#include "tensority/chain/validation.hpp"

namespace tensority::node {

using chain::Block;
using chain::BlockIndex;
using chain::BlockNode;
using chain::ChainParams;
using chain::Hash;
using chain::HashHasher;
using chain::SpendInput;
using chain::Transaction;
using chain::TxEntries;
using chain::TxOutput;
using chain::check_header;
using chain::kBtmAssetId;
using chain::kCoinbaseMaturity;
using chain::map_transaction;
using chain::parse_block;
using chain::serialize_block;
using chain::validate_block_body;

namespace {

using core::Hash;
using core::to_hex;

std::string short_id(const Hash& id) { return to_hex(id).substr(0, 16); }

// The UTXO set as a block sees it while a reorg is assembled: changes over the store.
class UtxoView {
 public:
  explicit UtxoView(const ChainStore* store) : store_(store) {}  // null: an empty base

  std::optional<UtxoEntry> get(const Hash& id) const {
    if (auto it = changes_.find(id); it != changes_.end()) return it->second;
    return store_ != nullptr ? store_->utxo(id) : std::nullopt;
  }
  const auto& changes() const { return changes_; }
  void put(const Hash& id, UtxoEntry entry) { changes_[id] = std::move(entry); }
  void erase(const Hash& id) { changes_[id] = std::nullopt; }

  // Writes the net change against what is stored: an output erased and re-created by a
  // reorg (the same transaction on both branches) is written once, or not at all.
  void commit_to(ChainStore::Batch& batch) const {
    for (const auto& [id, value] : changes_) {
      const std::optional<UtxoEntry> base = store_->utxo(id);
      if (value && base && *value == *base) continue;
      if (base) batch.erase_utxo(id, *base);
      if (value) batch.put_utxo(id, *value);
    }
  }

 private:
  const ChainStore* store_;
  std::unordered_map<Hash, std::optional<UtxoEntry>, HashHasher> changes_;
};

UtxoEntry entry_for_output(const TxOutput& out, const Hash& mux_id, std::uint64_t position, bool coinbase,
                           std::uint64_t height) {
  UtxoEntry e;
  e.is_coinbase = coinbase;
  e.block_height = height;
  e.source_id = mux_id;
  e.source_position = position;
  e.asset_id = out.asset_id;
  e.amount = out.amount;
  e.vm_version = out.vm_version;
  e.control_program = out.control_program;
  return e;
}

// Connects one block to the view: spends must find unspent, mature outputs; outputs must
// be new. A status_fail transaction moves only BTM (docs/spec/node.md 1.6). Fills undo as it goes.
core::Result<bool> apply_block(UtxoView& view, const Block& block, const std::vector<bool>& status_fail,
                               std::uint64_t height, BlockUndo& undo) {
  using R = core::Result<bool>;
  for (std::size_t i = 0; i < block.transactions.size(); ++i) {
    const Transaction& tx = block.transactions[i];
    const TxEntries entries = map_transaction(tx);
    const bool failed = i < status_fail.size() && status_fail[i];
    for (std::size_t j = 0; j < tx.inputs.size(); ++j) {
      const auto* spend = std::get_if<SpendInput>(&tx.inputs[j].kind);
      if (spend == nullptr) continue;
      if (failed && spend->output.asset_id != kBtmAssetId) continue;
      const Hash& out_id = entries.spent_output_ids[j];
      std::optional<UtxoEntry> entry = view.get(out_id);
      const std::string where = "tx " + short_id(entries.tx_id) + " input " + std::to_string(j);
      if (!entry) return R::failure(where + " spends " + short_id(out_id) + ", which is missing or already spent");
      if (entry->is_coinbase && height < entry->block_height + kCoinbaseMaturity) {
        return R::failure(where + " spends a coinbase output of height " + std::to_string(entry->block_height) +
                          " before maturity (" + std::to_string(kCoinbaseMaturity) + " blocks)");
      }
      view.erase(out_id);
      undo.spent.emplace_back(out_id, std::move(*entry));
    }
    for (std::size_t k = 0; k < tx.outputs.size(); ++k) {
      if (entries.retired[k]) continue;
      const TxOutput& out = tx.outputs[k];
      if (failed && out.asset_id != kBtmAssetId) continue;
      const Hash& out_id = entries.result_ids[k];
      if (view.get(out_id)) {
        return R::failure("tx " + short_id(entries.tx_id) + " output " + std::to_string(k) + " already exists");
      }
      view.put(out_id, entry_for_output(out, entries.mux_id, k, i == 0, height));
      undo.created.push_back(out_id);
    }
  }
  return true;
}

void detach_block(UtxoView& view, const BlockUndo& undo) {
  for (const Hash& id : undo.created) view.erase(id);
  for (const auto& [id, entry] : undo.spent) view.put(id, entry);
}

core::Result<Block> load_block(const ChainStore& store, const Hash& id) {
  auto raw = store.raw_block(id);
  if (!raw) return core::Result<Block>::failure("block " + to_hex(id) + " is missing from the store");
  return parse_block(*raw);
}

}  // namespace

std::string_view to_string(BlockOutcome outcome) {
  switch (outcome) {
    case BlockOutcome::connected: return "connected";
    case BlockOutcome::side_chain: return "side chain";
    case BlockOutcome::orphan: return "orphan";
    case BlockOutcome::duplicate: return "duplicate";
    case BlockOutcome::invalid: return "invalid";
  }
  return "?";
}

Chain::Chain(const ChainParams& params, ChainOptions options, std::unique_ptr<ChainStore> store)
    : params_(params),
      options_(std::move(options)),
      store_(std::move(store)),
      pow_(std::make_unique<PowChecker>(options_.pow_threads)),
      index_(params.genesis.header, params.retarget) {}

Chain::~Chain() = default;

core::Result<std::unique_ptr<Chain>> Chain::open(const ChainParams& params, ChainOptions options) {
  using R = core::Result<std::unique_ptr<Chain>>;
  auto store = ChainStore::open(options.data_dir / "chain");
  if (!store) return R::failure(store.error());
  std::unique_ptr<Chain> chain(new Chain(params, std::move(options), std::move(store).value()));
  if (auto loaded = chain->load(); !loaded) return R::failure(loaded.error());
  // A store written under the old rule (most work only) can hold a side chain that the rule
  // in force now prefers, such as zero-work blocks after a testnet retarget: move to it.
  std::vector<ChainUpdate> ignored;  // nobody listens yet
  chain->select_best(chain->best_in_index(), ignored);
  return chain;
}

core::Result<bool> Chain::init_genesis() {
  const Block& g = params_.genesis;
  const Hash id = params_.genesis_id;
  ChainStore::Batch batch;
  batch.put_block(id, serialize_block(g), g.header);
  BlockMeta meta;
  meta.status_fail.assign(g.transactions.size(), false);
  meta.body_valid = true;
  batch.put_meta(id, g.header, meta);
  UtxoView view(store_.get());
  BlockUndo undo;
  if (auto applied = apply_block(view, g, meta.status_fail, 0, undo); !applied) return applied;
  view.commit_to(batch);
  batch.put_undo(id, undo);
  batch.set_tip(id);
  return store_->write(batch);
}

core::Result<bool> Chain::load() {
  using R = core::Result<bool>;
  if (!store_->tip()) {
    if (auto made = init_genesis(); !made) return made;
  }
  if (!store_->raw_block(params_.genesis_id)) {
    return R::failure("the data directory holds a chain of another network (no " + std::string(params_.name) +
                      " genesis block " + to_hex(params_.genesis_id) + ")");
  }
  std::string problem;
  store_->for_each_header([&](const core::BlockHeader& header, const BlockMeta& meta) {
    if (header.height == 0) return;
    if (index_.find(header.previous_block_id) == nullptr) {
      if (problem.empty()) problem = "stored header at height " + std::to_string(header.height) + " has no parent";
      return;
    }
    const BlockNode& node = index_.add(header);
    if (meta.invalid) index_.mark_invalid(node.id);
    if (meta.body_valid) index_.set_body_valid(node.id);
  });
  if (!problem.empty()) return R::failure("damaged block index: " + problem);
  const Hash tip_id = *store_->tip();
  const BlockNode* tip = index_.find(tip_id);
  if (tip == nullptr) return R::failure("damaged store: the tip " + to_hex(tip_id) + " has no stored header");
  main_.assign(tip->height() + 1, nullptr);
  for (const BlockNode* n = tip; n != nullptr; n = n->parent) main_[n->height()] = n;
  if (main_[0] == nullptr || main_[0]->id != params_.genesis_id) return R::failure("damaged store: tip does not reach genesis");
  return true;
}

core::Result<std::string> Chain::verify() const {
  using R = core::Result<std::string>;
  std::vector<const BlockNode*> main;
  {
    std::shared_lock read(mutex_);
    main = main_;
  }
  UtxoView replay(nullptr);
  for (const BlockNode* n : main) {
    auto block = load_block(*store_, n->id);
    if (!block) return R::failure("height " + std::to_string(n->height()) + ": " + block.error());
    auto meta = store_->block_meta(n->id);
    if (!meta || !meta->body_valid || meta->invalid) {
      return R::failure("height " + std::to_string(n->height()) + ": main-chain block not marked valid");
    }
    if (!store_->undo(n->id)) return R::failure("height " + std::to_string(n->height()) + ": undo data missing");
    BlockUndo undo;
    if (auto applied = apply_block(replay, *block, meta->status_fail, n->height(), undo); !applied) {
      return R::failure("height " + std::to_string(n->height()) + ": replay fails: " + applied.error());
    }
  }
  std::uint64_t expected = 0;
  for (const auto& [id, value] : replay.changes()) expected += value ? 1 : 0;
  std::uint64_t stored = 0;
  std::string problem;
  store_->for_each_utxo([&](const Hash& id, const UtxoEntry& entry) {
    ++stored;
    auto want = replay.get(id);
    if (problem.empty() && (!want || !(*want == entry))) problem = "stored output " + to_hex(id) + " differs from the replay";
  });
  if (!problem.empty()) return R::failure(problem);
  if (stored != expected) {
    return R::failure("the store holds " + std::to_string(stored) + " outputs, the replay " + std::to_string(expected));
  }
  if (store_->utxo_count() != stored) {
    return R::failure("the UTXO count says " + std::to_string(store_->utxo_count()) + " but the set holds " +
                      std::to_string(stored));
  }
  return "chain consistent: " + std::to_string(main.size() - 1) + " blocks above genesis, " + std::to_string(stored) +
         " unspent outputs, tip " + to_hex(main.back()->id);
}

void Chain::close() {
  std::lock_guard lock(process_mutex_);
  closed_ = true;
}

ProcessResult Chain::process_block(const Block& block) { return process_one(block, false); }

std::vector<ProcessResult> Chain::process_blocks(const std::vector<Block>& blocks) {
  // Seeds follow from the parents: from the index, or from earlier blocks of this batch.
  struct Known {
    std::uint64_t height;
    Hash seed;
  };
  std::unordered_map<Hash, Known, HashHasher> batch;
  std::vector<PowItem> items;
  std::vector<std::size_t> item_block;
  {
    std::shared_lock read(mutex_);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const core::BlockHeader& h = blocks[i].header;
      const Hash id = core::block_id(h);
      std::optional<Known> parent;
      if (const BlockNode* p = index_.find(h.previous_block_id)) {
        parent = Known{p->height(), p->seed};
      } else if (auto it = batch.find(h.previous_block_id); it != batch.end()) {
        parent = it->second;
      }
      if (!parent) continue;
      Hash seed = parent->seed;
      if (parent->height == 0) {
        seed = core::initial_seed();
      } else if (parent->height % core::kSeedPerRetarget == 0) {
        seed = h.previous_block_id;
      }
      batch[id] = Known{parent->height + 1, seed};
      items.push_back(PowItem{id, seed});
      item_block.push_back(i);
    }
  }
  std::vector<bool> verified(blocks.size(), false);
  if (options_.check_pow && !items.empty()) {
    const auto results = pow_->results(items);
    for (std::size_t k = 0; k < items.size(); ++k) {
      // A failed check is simply not marked: process_one checks again and says why.
      verified[item_block[k]] = core::check_pow(results[k], blocks[item_block[k]].header.bits);
    }
  }
  std::vector<ProcessResult> out;
  out.reserve(blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) out.push_back(process_one(blocks[i], verified[i]));
  return out;
}

ProcessResult Chain::process_one(const Block& block, bool pow_verified) {
  std::vector<ChainUpdate> updates;
  ProcessResult result;
  {
    std::lock_guard lock(process_mutex_);
    result.id = core::block_id(block.header);
    if (closed_) {
      result.outcome = BlockOutcome::invalid;
      result.error = "the node is shutting down";
      return result;
    }
    expire_orphans();
    result = accept(block, result.id, pow_verified);
    if (result.outcome != BlockOutcome::side_chain) return result;

    // Orphans waiting on this block (and on their adopted children) are processed now; the
    // highest block among them is the one candidate for the tip, as upstream picks it.
    select_best(adopt_orphans(*index_.find(result.id)), updates);

    const BlockNode* node = index_.find(result.id);
    if (node != nullptr && node->invalid) {
      result.outcome = BlockOutcome::invalid;
      auto meta = store_->block_meta(result.id);
      result.error = meta ? meta->invalid_reason : "invalid";
    } else if (node != nullptr && on_main(*node)) {
      result.outcome = BlockOutcome::connected;
    }
  }
  notify(updates);
  return result;
}

ProcessResult Chain::accept(const Block& block, const Hash& id, bool pow_verified) {
  ProcessResult r;
  r.id = id;
  if (const BlockNode* known = index_.find(id)) {
    r.outcome = known->invalid ? BlockOutcome::invalid : BlockOutcome::duplicate;
    if (known->invalid) r.error = "block " + to_hex(id) + " is known to be invalid";
    return r;
  }
  const BlockNode* parent = index_.find(block.header.previous_block_id);
  if (parent == nullptr) {
    std::unique_lock write(mutex_);
    if (orphans_.size() >= options_.max_orphans) {
      auto oldest = std::min_element(orphans_.begin(), orphans_.end(),
                                     [](const auto& a, const auto& b) { return a.second.added < b.second.added; });
      orphans_.erase(oldest);
    }
    bool already = false;
    auto [lo, hi] = orphans_.equal_range(block.header.previous_block_id);
    for (auto it = lo; it != hi; ++it) already = already || core::block_id(it->second.block.header) == id;
    if (!already) orphans_.emplace(block.header.previous_block_id, Orphan{block, std::chrono::steady_clock::now()});
    r.outcome = already ? BlockOutcome::duplicate : BlockOutcome::orphan;
    return r;
  }
  r.outcome = BlockOutcome::invalid;
  if (auto ok = check_header(*parent, block.header, now(), params_.retarget); !ok) {
    r.error = "header: " + ok.error();
    return r;
  }
  if (options_.check_pow && !pow_verified) {
    const Hash seed = BlockIndex::seed_for_child(*parent);
    const Hash result = pow_->results({PowItem{id, seed}})[0];
    if (!core::check_pow(result, block.header.bits)) {
      r.error = "proof of work: Tensority result " + to_hex(result) + " does not meet bits " +
                std::to_string(block.header.bits);
      return r;
    }
  }
  // The header is sound and paid for with work: index it, so a bad body is remembered.
  const BlockNode* node = nullptr;
  {
    std::unique_lock write(mutex_);
    node = &index_.add(block.header);
  }
  std::vector<TxEntries> entries;
  entries.reserve(block.transactions.size());
  for (const Transaction& tx : block.transactions) entries.push_back(map_transaction(tx));
  auto body = validate_block_body(block, entries);
  if (!body) {
    r.error = "body: " + body.error();
    mark_invalid(id, r.error);
    return r;
  }
  ChainStore::Batch batch;
  batch.put_block(id, serialize_block(block), block.header);
  BlockMeta meta;
  meta.status_fail = body->status_fail;
  meta.body_valid = true;
  batch.put_meta(id, block.header, meta);
  if (auto written = store_->write(batch); !written) {
    r.error = "storage: " + written.error();
    return r;
  }
  {
    std::unique_lock write(mutex_);
    index_.set_body_valid(node->id);
  }
  r.outcome = BlockOutcome::side_chain;
  return r;
}

const BlockNode* Chain::adopt_orphans(const BlockNode& parent) {
  // Depth first, children in arrival order, a later subtree winning only when strictly higher:
  // upstream's saveSubBlock, so that ties between orphan branches fall the same way.
  const BlockNode* highest = &parent;
  std::vector<Block> children;
  {
    std::unique_lock write(mutex_);
    auto [lo, hi] = orphans_.equal_range(parent.id);
    for (auto it = lo; it != hi; ++it) children.push_back(std::move(it->second.block));
    orphans_.erase(lo, hi);
  }
  for (const Block& child : children) {
    const Hash child_id = core::block_id(child.header);
    if (accept(child, child_id, false).outcome != BlockOutcome::side_chain) continue;
    const BlockNode* sub = adopt_orphans(*index_.find(child_id));
    if (sub->height() > highest->height()) highest = sub;
  }
  return highest;
}

bool Chain::replaces_tip(const BlockNode& candidate, const BlockNode& tip) {
  return candidate.height() > tip.height() && candidate.chain_work >= tip.chain_work;
}

bool Chain::connectable(const BlockNode& candidate) const {
  for (const BlockNode* p = &candidate; p != nullptr && !on_main(*p); p = p->parent) {
    if (!p->body_valid || p->invalid) return false;
  }
  return true;
}

bool Chain::on_main(const BlockNode& n) const { return n.height() < main_.size() && main_[n.height()] == &n; }

const BlockNode* Chain::best_in_index() const {
  const BlockNode* tip = main_.back();
  const BlockNode* best = tip;
  for (const BlockNode* n : index_.nodes()) {
    if (n->invalid || !replaces_tip(*n, *tip) || !connectable(*n)) continue;
    const bool better = best == tip || n->height() > best->height() ||
                        (n->height() == best->height() &&
                         (n->chain_work > best->chain_work || (n->chain_work == best->chain_work && n->id < best->id)));
    if (better) best = n;
  }
  return best;
}

void Chain::select_best(const BlockNode* candidate, std::vector<ChainUpdate>& updates) {
  // Normally only the candidate from the block just processed can replace the tip: a block
  // that does not qualify now never will, since each change of tip raises its height and
  // keeps or raises its work. A failure at connect marks that block invalid; the search then
  // runs over the whole index, since the best remaining chain may be any branch.
  for (int attempt = 0; attempt < 64 && candidate != nullptr; ++attempt) {
    const BlockNode* tip = main_.back();
    if (candidate == tip || candidate->invalid || !replaces_tip(*candidate, *tip) || !connectable(*candidate)) return;
    ChainUpdate update;
    const BlockNode* failed = nullptr;
    auto moved = reorganize_to(*candidate, update, failed);
    if (moved) {
      updates.push_back(std::move(update));
      return;
    }
    if (failed == nullptr) return;  // storage trouble: stay where we are
    mark_invalid(failed->id, "connect: " + moved.error());
    candidate = best_in_index();
  }
}

core::Result<bool> Chain::reorganize_to(const BlockNode& target, ChainUpdate& update, const BlockNode*& failed) {
  using R = core::Result<bool>;
  std::vector<const BlockNode*> attach;
  const BlockNode* fork = &target;
  while (!on_main(*fork)) {
    attach.push_back(fork);
    fork = fork->parent;
  }
  std::reverse(attach.begin(), attach.end());

  UtxoView view(store_.get());
  ChainStore::Batch batch;
  for (std::uint64_t h = main_.size() - 1; h > fork->height(); --h) {
    const BlockNode* n = main_[h];
    auto undo = store_->undo(n->id);
    if (!undo) return R::failure("undo data of block " + to_hex(n->id) + " is missing");
    auto block = load_block(*store_, n->id);
    if (!block) return R::failure(block.error());
    detach_block(view, *undo);
    batch.erase_undo(n->id);
    update.detached.push_back(std::move(block).value());
  }
  for (const BlockNode* n : attach) {
    auto block = load_block(*store_, n->id);
    if (!block) return R::failure(block.error());
    auto meta = store_->block_meta(n->id);
    if (!meta) return R::failure("meta of block " + to_hex(n->id) + " is missing");
    BlockUndo undo;
    if (auto applied = apply_block(view, *block, meta->status_fail, n->height(), undo); !applied) {
      failed = n;
      return applied;
    }
    batch.put_undo(n->id, undo);
    update.attached.push_back(std::move(block).value());
  }
  view.commit_to(batch);
  batch.set_tip(target.id);
  if (auto written = store_->write(batch); !written) return R::failure("storage: " + written.error());
  {
    std::unique_lock write(mutex_);
    main_.resize(fork->height() + 1);
    for (const BlockNode* n : attach) main_.push_back(n);
  }
  update.tip = tip_locked();
  return true;
}

void Chain::mark_invalid(const Hash& id, const std::string& reason) {
  const BlockNode* node = index_.find(id);
  if (node == nullptr) return;
  BlockMeta meta;
  meta.invalid = true;
  meta.invalid_reason = reason;
  ChainStore::Batch batch;
  batch.put_meta(id, node->header, meta);
  (void)store_->write(batch);  // if this write is lost the block is only re-validated, never accepted
  std::unique_lock write(mutex_);
  index_.mark_invalid(id);
}

void Chain::expire_orphans() {
  const auto cutoff = std::chrono::steady_clock::now() - options_.orphan_ttl;
  std::unique_lock write(mutex_);
  std::erase_if(orphans_, [&](const auto& kv) { return kv.second.added < cutoff; });
}

void Chain::notify(const std::vector<ChainUpdate>& updates) {
  if (updates.empty()) return;
  std::vector<std::function<void(const ChainUpdate&)>> listeners;
  {
    std::shared_lock read(mutex_);
    listeners = listeners_;
  }
  for (const ChainUpdate& u : updates) {
    for (const auto& fn : listeners) fn(u);
  }
  std::lock_guard lock(tip_wait_mutex_);
  tip_changed_.notify_all();
}

void Chain::on_update(std::function<void(const ChainUpdate&)> listener) {
  std::unique_lock write(mutex_);
  listeners_.push_back(std::move(listener));
}

TipInfo Chain::tip_locked() const {
  const BlockNode* n = main_.back();
  return TipInfo{n->id, n->height(), n->header, n->chain_work};
}

TipInfo Chain::tip() const {
  std::shared_lock read(mutex_);
  return tip_locked();
}

TipInfo Chain::wait_for_tip_change(const Hash& known, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(tip_wait_mutex_);
  for (;;) {
    TipInfo t = tip();
    if (t.id != known) return t;
    if (tip_changed_.wait_until(lock, deadline) == std::cv_status::timeout) return tip();
  }
}

std::optional<Hash> Chain::hash_at(std::uint64_t height) const {
  std::shared_lock read(mutex_);
  if (height >= main_.size()) return std::nullopt;
  return main_[height]->id;
}

std::optional<core::BlockHeader> Chain::header(const Hash& id) const {
  std::shared_lock read(mutex_);
  const BlockNode* n = index_.find(id);
  if (n == nullptr) return std::nullopt;
  return n->header;
}

std::optional<std::uint64_t> Chain::main_height(const Hash& id) const {
  std::shared_lock read(mutex_);
  const BlockNode* n = index_.find(id);
  if (n == nullptr || n->height() >= main_.size() || main_[n->height()] != n) return std::nullopt;
  return n->height();
}

std::optional<Block> Chain::block(const Hash& id) const {
  auto b = load_block(*store_, id);
  if (!b) return std::nullopt;
  return std::move(b).value();
}

std::optional<core::wire::Bytes> Chain::raw_block(const Hash& id) const { return store_->raw_block(id); }
std::optional<BlockMeta> Chain::meta(const Hash& id) const { return store_->block_meta(id); }
std::optional<UtxoEntry> Chain::utxo(const Hash& output_id) const { return store_->utxo(output_id); }

std::vector<std::pair<Hash, UtxoEntry>> Chain::utxos_by_program(std::span<const std::uint8_t> program,
                                                                 std::size_t limit) const {
  return store_->utxos_by_program(program, limit);
}

std::uint64_t Chain::utxo_count() const { return store_->utxo_count(); }

std::size_t Chain::orphan_count() const {
  std::shared_lock read(mutex_);
  return orphans_.size();
}

std::size_t Chain::index_size() const {
  std::shared_lock read(mutex_);
  return index_.size();
}

Chain::NextBlock Chain::next_block() const {
  std::shared_lock read(mutex_);
  const BlockNode& tip = *main_.back();
  NextBlock n;
  n.parent = tip.id;
  n.height = tip.height() + 1;
  n.bits = index_.expected_bits(tip);
  n.seed = BlockIndex::seed_for_child(tip);
  n.min_timestamp = BlockIndex::median_time_past(tip) + 1;
  return n;
}

std::uint64_t Chain::now() const {
  if (options_.clock) return options_.clock();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace tensority::node
