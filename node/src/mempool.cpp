#include "tensority/node/mempool.hpp"

#include <algorithm>

#include "tensority/core/hex.hpp"

namespace tensority::node {

using chain::Block;
using chain::CoinbaseInput;
using chain::Hash;
using chain::SpendInput;
using chain::Transaction;
using chain::TxEntries;
using chain::TxInput;
using chain::TxValidation;
using chain::kBtmAssetId;
using chain::kCoinbaseMaturity;
using chain::map_transaction;
using chain::validate_transaction;

namespace {

using core::Hash;
using R = core::Result<Hash>;
__extension__ using u128 = unsigned __int128;  // fee * gas needs 128 bits

std::string short_id(const Hash& id) { return core::to_hex(id).substr(0, 16); }

}  // namespace

bool MempoolEntry::pays_more_than(const MempoolEntry& other) const {
  const u128 mine = static_cast<u128>(validation.fee) * other.gas();
  const u128 theirs = static_cast<u128>(other.validation.fee) * gas();
  if (mine != theirs) return mine > theirs;
  return sequence < other.sequence;
}

Mempool::Mempool(const Chain& chain, MempoolOptions options) : chain_(chain), options_(options) {}

core::Result<Hash> Mempool::add(const Transaction& tx) {
  std::lock_guard lock(mutex_);
  return add_locked(tx);
}

core::Result<Hash> Mempool::add_locked(const Transaction& tx) {
  TxEntries entries = map_transaction(tx);
  const Hash id = entries.tx_id;
  if (txs_.contains(id)) return R::failure("transaction " + core::to_hex(id) + " is already in the mempool");

  // Relay policy (docs/spec/node.md 1.8): gas is paid in BTM, so a transaction must spend some; no
  // zero-amount outputs; coinbases only come in blocks.
  bool spends_btm = false;
  for (const TxInput& in : tx.inputs) {
    if (std::holds_alternative<CoinbaseInput>(in.kind)) return R::failure("a coinbase transaction cannot be relayed");
    if (const auto* s = std::get_if<SpendInput>(&in.kind); s != nullptr && s->output.asset_id == kBtmAssetId) spends_btm = true;
  }
  if (!spends_btm) return R::failure("no BTM input: a transaction must spend BTM to pay for its gas");
  for (std::size_t k = 0; k < tx.outputs.size(); ++k) {
    if (tx.outputs[k].amount == 0) return R::failure("output " + std::to_string(k) + " has a zero amount");
  }

  const Chain::NextBlock next = chain_.next_block();
  TxValidation v = validate_transaction(tx, entries, next.height, false);
  if (!v.gas_valid) return R::failure("invalid transaction: " + v.error);

  for (std::size_t j = 0; j < tx.inputs.size(); ++j) {
    if (!std::holds_alternative<SpendInput>(tx.inputs[j].kind)) continue;
    const Hash& out = entries.spent_output_ids[j];
    if (auto it = spent_by_.find(out); it != spent_by_.end()) {
      return R::failure("double spend: input " + std::to_string(j) + " spends output " + short_id(out) +
                        ", already spent by mempool transaction " + short_id(it->second));
    }
    auto utxo = chain_.utxo(out);
    if (!utxo) return R::failure("input " + std::to_string(j) + " spends output " + short_id(out) + ", which is missing or spent");
    if (utxo->is_coinbase && next.height < utxo->block_height + kCoinbaseMaturity) {
      return R::failure("input " + std::to_string(j) + " spends a coinbase output of height " +
                        std::to_string(utxo->block_height) + " that matures at height " +
                        std::to_string(utxo->block_height + kCoinbaseMaturity));
    }
  }

  MempoolEntry entry{tx, std::move(entries), std::move(v), next_sequence_++, chain_.now()};
  if (txs_.size() >= options_.max_transactions) {
    // Full: the new one must pay more per gas than the cheapest, which then leaves.
    const MempoolEntry* worst = nullptr;
    for (const auto& [tid, e] : txs_) {
      if (worst == nullptr || worst->pays_more_than(e)) worst = &e;
    }
    if (worst == nullptr || !entry.pays_more_than(*worst)) {
      return R::failure("mempool full (" + std::to_string(options_.max_transactions) +
                        " transactions) and this one pays no more per gas than the cheapest");
    }
    const Hash evicted = worst->entries.tx_id;
    remove_locked(evicted);
  }
  for (std::size_t j = 0; j < tx.inputs.size(); ++j) {
    if (std::holds_alternative<SpendInput>(tx.inputs[j].kind)) spent_by_[entry.entries.spent_output_ids[j]] = id;
  }
  txs_.emplace(id, std::move(entry));
  ++revision_;
  return id;
}

void Mempool::remove_locked(const Hash& tx_id) {
  auto it = txs_.find(tx_id);
  if (it == txs_.end()) return;
  const MempoolEntry& e = it->second;
  for (std::size_t j = 0; j < e.tx.inputs.size(); ++j) {
    if (!std::holds_alternative<SpendInput>(e.tx.inputs[j].kind)) continue;
    auto s = spent_by_.find(e.entries.spent_output_ids[j]);
    if (s != spent_by_.end() && s->second == tx_id) spent_by_.erase(s);
  }
  txs_.erase(it);
  ++revision_;
}

void Mempool::on_chain_update(const ChainUpdate& update) {
  std::lock_guard lock(mutex_);
  for (const Block& block : update.attached) {
    for (const Transaction& tx : block.transactions) {
      const TxEntries e = map_transaction(tx);
      remove_locked(e.tx_id);
      for (std::size_t j = 0; j < tx.inputs.size(); ++j) {
        if (!std::holds_alternative<SpendInput>(tx.inputs[j].kind)) continue;
        if (auto s = spent_by_.find(e.spent_output_ids[j]); s != spent_by_.end()) {
          const Hash conflicting = s->second;  // remove_locked erases the map entry
          remove_locked(conflicting);
        }
      }
    }
  }
  // What the new chain no longer offers (outputs of detached blocks, expired time ranges,
  // immature coinbases after a shorter reorg) drops out; detached transactions come back.
  const Chain::NextBlock next = chain_.next_block();
  std::vector<Hash> stale;
  for (const auto& [id, e] : txs_) {
    bool ok = e.tx.time_range == 0 || e.tx.time_range >= next.height;
    for (std::size_t j = 0; ok && j < e.tx.inputs.size(); ++j) {
      if (!std::holds_alternative<SpendInput>(e.tx.inputs[j].kind)) continue;
      auto utxo = chain_.utxo(e.entries.spent_output_ids[j]);
      ok = utxo && !(utxo->is_coinbase && next.height < utxo->block_height + kCoinbaseMaturity);
    }
    if (!ok) stale.push_back(id);
  }
  for (const Hash& id : stale) remove_locked(id);
  for (const Block& block : update.detached) {
    for (std::size_t i = 1; i < block.transactions.size(); ++i) (void)add_locked(block.transactions[i]);
  }
}

std::vector<const MempoolEntry*> Mempool::ordered_locked() const {
  std::vector<const MempoolEntry*> out;
  out.reserve(txs_.size());
  for (const auto& [id, e] : txs_) out.push_back(&e);
  std::sort(out.begin(), out.end(), [](const MempoolEntry* a, const MempoolEntry* b) { return a->pays_more_than(*b); });
  return out;
}

std::vector<MempoolEntry> Mempool::select(std::uint64_t gas_limit) const {
  std::lock_guard lock(mutex_);
  std::vector<MempoolEntry> out;
  std::uint64_t gas = 0;
  for (const MempoolEntry* e : ordered_locked()) {
    if (gas + e->validation.gas_used > gas_limit) continue;  // a smaller one may still fit
    gas += e->validation.gas_used;
    out.push_back(*e);
  }
  return out;
}

std::vector<MempoolEntry> Mempool::entries() const {
  std::lock_guard lock(mutex_);
  std::vector<MempoolEntry> out;
  for (const MempoolEntry* e : ordered_locked()) out.push_back(*e);
  return out;
}

std::optional<MempoolEntry> Mempool::get(const Hash& tx_id) const {
  std::lock_guard lock(mutex_);
  auto it = txs_.find(tx_id);
  if (it == txs_.end()) return std::nullopt;
  return it->second;
}

bool Mempool::spends(const Hash& output_id) const {
  std::lock_guard lock(mutex_);
  return spent_by_.contains(output_id);
}

std::size_t Mempool::size() const {
  std::lock_guard lock(mutex_);
  return txs_.size();
}

std::uint64_t Mempool::revision() const {
  std::lock_guard lock(mutex_);
  return revision_;
}

}  // namespace tensority::node
