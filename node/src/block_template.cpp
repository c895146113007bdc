#include "tensority/node/block_template.hpp"

#include <algorithm>
#include <string>

#include "tensority/core/target.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/cpu/cache_store.hpp"
#include "tensority/kernels/hal/device.hpp"
#include "tensority/chain/merkle.hpp"
#include "tensority/chain/validation.hpp"

namespace tensority::node {

using chain::Block;
using chain::Bytes;
using chain::CoinbaseInput;
using chain::Transaction;
using chain::TxEntries;
using chain::TxInput;
using chain::TxOutput;
using chain::block_subsidy;
using chain::kBtmAssetId;
using chain::kMaxBlockGas;
using chain::map_transaction;
using chain::serialize_transaction;
using chain::status_merkle_root;
using chain::transactions_merkle_root;
using chain::validate_block_body;

Transaction make_coinbase(std::uint64_t height, std::uint64_t amount, std::span<const std::uint8_t> program) {
  Transaction tx;
  TxInput in;
  Bytes arbitrary{0x00};
  const std::string digits = std::to_string(height);
  arbitrary.insert(arbitrary.end(), digits.begin(), digits.end());
  in.kind = CoinbaseInput{std::move(arbitrary)};
  tx.inputs.push_back(std::move(in));
  TxOutput out;
  out.asset_id = kBtmAssetId;
  out.amount = amount;
  out.control_program.assign(program.begin(), program.end());
  tx.outputs.push_back(std::move(out));
  tx.serialized_size = serialize_transaction(tx).size();
  return tx;
}

BlockTemplate build_block_template(const Chain::NextBlock& next, const std::vector<MempoolEntry>& txs,
                                   std::span<const std::uint8_t> coinbase_program, std::uint64_t now) {
  BlockTemplate t;
  t.seed = next.seed;
  std::vector<const MempoolEntry*> chosen;
  for (const MempoolEntry& e : txs) {
    if (t.gas_used + e.validation.gas_used > kMaxBlockGas) continue;
    t.gas_used += e.validation.gas_used;
    t.fees += e.validation.fee;
    chosen.push_back(&e);
  }
  Block& b = t.block;
  b.transactions.push_back(make_coinbase(next.height, block_subsidy(next.height) + t.fees, coinbase_program));
  t.status_fail.push_back(false);
  for (const MempoolEntry* e : chosen) {
    b.transactions.push_back(e->tx);
    t.status_fail.push_back(e->validation.status_fail);
  }
  std::vector<core::Hash> ids;
  ids.reserve(b.transactions.size());
  for (const Transaction& tx : b.transactions) ids.push_back(map_transaction(tx).tx_id);
  b.header.version = 1;
  b.header.height = next.height;
  b.header.previous_block_id = next.parent;
  b.header.timestamp = std::max(now, next.min_timestamp);
  b.header.bits = next.bits;
  b.header.nonce = 0;
  b.header.transactions_merkle_root = transactions_merkle_root(ids);
  b.header.transaction_status_hash = status_merkle_root(t.status_fail);
  return t;
}

TemplateManager::TemplateManager(const Chain& chain, const Mempool& mempool, core::wire::Bytes coinbase_program)
    : chain_(chain), mempool_(mempool), program_(std::move(coinbase_program)) {}

BlockTemplate TemplateManager::current() {
  const Chain::NextBlock next = chain_.next_block();
  const std::uint64_t revision = mempool_.revision();
  std::lock_guard lock(mutex_);
  if (!cached_ || cached_tip_ != next.parent || cached_revision_ != revision) {
    auto built = std::make_shared<BlockTemplate>(
        build_block_template(next, mempool_.select(kMaxBlockGas), program_, chain_.now()));
    // Never hand out work the chain would refuse: a template whose body fails (a mempool
    // transaction that no longer fits the rules) falls back to the coinbase alone.
    std::vector<TxEntries> entries;
    for (const Transaction& tx : built->block.transactions) entries.push_back(map_transaction(tx));
    if (!validate_block_body(built->block, entries)) {
      built = std::make_shared<BlockTemplate>(build_block_template(next, {}, program_, chain_.now()));
    }
    cached_ = built;
    cached_tip_ = next.parent;
    cached_revision_ = revision;
    recent_.push_back(cached_);
    while (recent_.size() > 16) recent_.pop_front();
  }
  BlockTemplate out = *cached_;
  out.block.header.timestamp = std::max(chain_.now(), next.min_timestamp);
  return out;
}

std::optional<Block> TemplateManager::complete(const core::BlockHeader& submitted) const {
  std::lock_guard lock(mutex_);
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
    const core::BlockHeader& h = (*it)->block.header;
    if (h.previous_block_id != submitted.previous_block_id ||
        h.transactions_merkle_root != submitted.transactions_merkle_root ||
        h.transaction_status_hash != submitted.transaction_status_hash) {
      continue;
    }
    Block b = (*it)->block;
    b.header.nonce = submitted.nonce;
    b.header.timestamp = submitted.timestamp;
    return b;
  }
  return std::nullopt;
}

std::optional<Block> mine_block_cpu(BlockTemplate tmpl, unsigned threads, const std::atomic<bool>* stop) {
  namespace hal = kernels::hal;
  // One worker for the process, made on first use: its threads and prepared seed carry over
  // from block to block, which matters at regtest's 20 hashes a block.
  static std::mutex mutex;
  static std::unique_ptr<hal::Backend> backend;
  static std::unique_ptr<hal::Worker> worker;
  static unsigned worker_threads = 0;
  std::lock_guard lock(mutex);
  if (!worker || worker_threads != threads) {
    if (!backend) backend = kernels::cpu::make_backend(kernels::cpu::shared_cache_store());
    auto devices = backend->devices();
    if (devices.empty()) return std::nullopt;
    hal::WorkerOptions options;
    options.threads = threads;
    options.pin_threads = false;  // the node's other threads share these cores
    worker.reset();
    if (!devices[0]->create_worker(options, worker)) return std::nullopt;
    worker_threads = threads;
  }
  if (!worker->prepare(tmpl.seed)) return std::nullopt;
  const core::Target256 target = core::Target256::from_bits(tmpl.block.header.bits);
  // Small steps: at regtest bits a block takes about 20 hashes, and a search call only
  // returns once its whole range is hashed.
  const std::uint64_t chunk = std::max(1u, worker->parallelism()) * 2ULL;
  for (;;) {
    const hal::SearchJob job = hal::SearchJob::from_header(tmpl.block.header, tmpl.seed);
    for (std::uint64_t start = 0; start < (1ULL << 32); start += chunk) {
      if (stop != nullptr && stop->load()) return std::nullopt;
      hal::SearchResult result;
      if (!worker->search(job, start, chunk, target, result, stop)) return std::nullopt;
      if (!result.found.empty()) {
        tmpl.block.header.nonce = result.found.front().nonce;
        return tmpl.block;
      }
    }
    ++tmpl.block.header.timestamp;  // a fresh header once 2^32 nonces are spent
  }
}

}  // namespace tensority::node
