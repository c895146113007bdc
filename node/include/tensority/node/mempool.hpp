#pragma once
// Transactions waiting for a block (docs/spec/node.md 1.8): validated against the next height and
// the confirmed UTXO set, double spends refused, ordered by fee per gas for templates, and
// kept in step with the chain (confirmed ones leave, conflicting ones are dropped, those of
// detached blocks come back).
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tensority/node/chain.hpp"
#include "tensority/chain/validation.hpp"

namespace tensority::node {

struct MempoolEntry {
  chain::Transaction tx;
  chain::TxEntries entries;
  chain::TxValidation validation;
  std::uint64_t sequence = 0;  // arrival order
  std::uint64_t added_unix = 0;

  std::uint64_t gas() const { return validation.gas_used == 0 ? 1 : validation.gas_used; }
  // fee per gas compared without division: a.fee * b.gas vs b.fee * a.gas.
  bool pays_more_than(const MempoolEntry& other) const;
};

struct MempoolOptions {
  std::size_t max_transactions = 10'000;
};

class Mempool {
 public:
  explicit Mempool(const Chain& chain, MempoolOptions options = {});

  // Relay policy and validation; the error says which rule refused it.
  core::Result<core::Hash> add(const chain::Transaction& tx);
  void on_chain_update(const ChainUpdate& update);

  // Best fee per gas first (arrival breaks ties), as many as fit in gas_limit.
  std::vector<MempoolEntry> select(std::uint64_t gas_limit) const;
  std::vector<MempoolEntry> entries() const;  // the same order, all of them
  std::optional<MempoolEntry> get(const core::Hash& tx_id) const;
  bool spends(const core::Hash& output_id) const;
  std::size_t size() const;
  // Bumped by every change, so a template knows when to rebuild.
  std::uint64_t revision() const;

 private:
  core::Result<core::Hash> add_locked(const chain::Transaction& tx);
  void remove_locked(const core::Hash& tx_id);
  std::vector<const MempoolEntry*> ordered_locked() const;

  const Chain& chain_;
  MempoolOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<core::Hash, MempoolEntry, chain::HashHasher> txs_;
  std::unordered_map<core::Hash, core::Hash, chain::HashHasher> spent_by_;  // output id -> tx id
  std::uint64_t next_sequence_ = 0;
  std::uint64_t revision_ = 0;
};

}  // namespace tensority::node
