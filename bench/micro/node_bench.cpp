// Node benchmarks (issue 5): transaction validation (BVM + gas + ed25519), blocks and
// transactions imported into a fresh RocksDB chain with proof-of-work checks off and on,
// and what a million unspent outputs cost on disk and in memory.
//
//   tensority-node-bench [--benchmark_filter=REGEX] [--benchmark_repetitions=N] ...
//
// The import chain (regtest: 101 coinbase blocks, a fan-out, then 20 blocks of 50 signed
// P2WPKH spends) is mined once on the CPU engine before the first import benchmark.
#include <sodium.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tensority/core/retarget.hpp"
#include "tensority/node/block_template.hpp"
#include "tensority/node/chain.hpp"
#include "tensority/node/chain_store.hpp"
#include "tensority/chain/merkle.hpp"
#include "tensority/chain/programs.hpp"
#include "tensority/chain/validation.hpp"

namespace {

using namespace tensority;
using namespace tensority::chain;
using namespace tensority::node;
namespace fs = std::filesystem;

struct Key {
  PubKey pk{};
  std::array<unsigned char, 64> sk{};
  Key() {
    if (sodium_init() < 0) std::abort();
    crypto_sign_keypair(pk.data(), sk.data());
  }
  Bytes program() const { return p2wpkh_program_for_key(pk); }
};

fs::path scratch(const std::string& tag) {
  static int n = 0;
  auto p = fs::temp_directory_path() / ("tensority-node-bench-" + tag + "-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(n++));
  fs::remove_all(p);
  return p;
}

// Spends outputs paying key into `outs` equal outputs to key (minus the fee).
Transaction sign_spend(const Key& key, const std::vector<std::pair<core::Hash, UtxoEntry>>& ins, std::size_t outs,
                       std::uint64_t fee) {
  Transaction tx;
  std::uint64_t total = 0;
  for (const auto& [id, u] : ins) {
    SpendInput s;
    s.output = SpendCommitment{u.source_id, u.asset_id, u.amount, u.source_position, u.vm_version, u.control_program, {}};
    TxInput in;
    in.kind = s;
    tx.inputs.push_back(std::move(in));
    total += u.amount;
  }
  for (std::size_t k = 0; k < outs; ++k) {
    TxOutput o;
    o.asset_id = kBtmAssetId;
    o.amount = (total - fee) / outs + (k == 0 ? (total - fee) % outs : 0);
    o.control_program = key.program();
    tx.outputs.push_back(std::move(o));
  }
  const TxEntries e = map_transaction(tx);
  for (std::size_t j = 0; j < tx.inputs.size(); ++j) {
    const core::Hash msg = signature_hash(e.input_ids[j], e.tx_id);
    Bytes sig(crypto_sign_BYTES);
    crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), key.sk.data());
    std::get<SpendInput>(tx.inputs[j].kind).arguments = {sig, Bytes(key.pk.begin(), key.pk.end())};
  }
  tx.serialized_size = serialize_transaction(tx).size();
  return tx;
}

std::uint64_t fee_for(const Transaction& tx, std::uint64_t height) {
  const TxValidation v = validate_transaction(tx, map_transaction(tx), height, false);
  return (v.gas_used + 1000) * kGasRate;
}

struct ImportChain {
  std::vector<Block> blocks;
  std::size_t spends = 0;
};

// Mines the import chain once (real proof of work, so both variants can replay it).
const ImportChain& import_chain() {
  static const ImportChain chain = [] {
    ImportChain out;
    Key key;
    const fs::path dir = scratch("src");
    ChainOptions o;
    o.data_dir = dir;
    o.check_pow = false;
    auto c = std::move(Chain::open(chain_params(Network::regtest), o)).value();
    auto mine = [&](std::vector<Transaction> txs) {
      Chain::NextBlock next = c->next_block();
      std::vector<MempoolEntry> entries;
      for (auto& tx : txs) {
        MempoolEntry e;
        e.entries = map_transaction(tx);
        e.validation = validate_transaction(tx, e.entries, next.height, false);
        e.tx = std::move(tx);
        entries.push_back(std::move(e));
      }
      BlockTemplate t = build_block_template(next, entries, key.program(), next.min_timestamp);
      auto block = mine_block_cpu(std::move(t), 0, nullptr);
      if (!block) std::abort();
      const ProcessResult r = c->process_block(*block);
      if (r.outcome != BlockOutcome::connected) {
        std::fprintf(stderr, "node bench: the import chain's block %llu was refused: %s\n",
                     static_cast<unsigned long long>(block->header.height), r.error.c_str());
        std::abort();
      }
      out.blocks.push_back(*block);
    };
    for (std::uint64_t i = 0; i < kCoinbaseMaturity + 1; ++i) mine({});
    // Fan one mature coinbase out into 1000 outputs, then spend them 50 to a block.
    auto coinbase = c->utxos_by_program(key.program(), 1000);
    std::pair<core::Hash, UtxoEntry> first;
    for (auto& u : coinbase) {
      if (u.second.block_height == 1) first = u;
    }
    // Priced in two passes: with the largest budget a transaction can use, the validator
    // reports the gas it really needs; the fee then pays that (plus a margin).
    Transaction fan = sign_spend(key, {first}, 1000, kMaxTxGas * kGasRate);
    fan = sign_spend(key, {first}, 1000, fee_for(fan, c->next_block().height));
    mine({fan});
    auto outs = c->utxos_by_program(key.program(), 5000);
    std::erase_if(outs, [](const auto& u) { return u.second.is_coinbase; });
    for (std::size_t b = 0; b < 20; ++b) {
      std::vector<Transaction> txs;
      for (std::size_t i = 0; i < 50; ++i) {
        const auto& u = outs[b * 50 + i];
        Transaction tx = sign_spend(key, {u}, 2, kMaxTxGas * kGasRate);
        txs.push_back(sign_spend(key, {u}, 2, fee_for(tx, c->next_block().height)));
      }
      out.spends += txs.size();
      mine(std::move(txs));
    }
    c.reset();
    fs::remove_all(dir);
    return out;
  }();
  return chain;
}

void BM_ValidateTransactionP2wpkh(benchmark::State& state) {
  const ImportChain& chain = import_chain();
  const Transaction& tx = chain.blocks.back().transactions[1];
  const TxEntries e = map_transaction(tx);
  for (auto _ : state) {
    TxValidation v = validate_transaction(tx, e, chain.blocks.back().header.height, false);
    benchmark::DoNotOptimize(v);
  }
  state.counters["tx/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ValidateTransactionP2wpkh)->Unit(benchmark::kMicrosecond);

// Every block of the import chain into a fresh store: header rules, (PoW), body rules with
// every signature, UTXO connection and the atomic RocksDB write per block.
void BM_ImportBlocks(benchmark::State& state) {
  const ImportChain& chain = import_chain();
  const bool pow = state.range(0) != 0;
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = scratch("dst");
    ChainOptions o;
    o.data_dir = dir;
    o.check_pow = pow;
    auto c = std::move(Chain::open(chain_params(Network::regtest), o)).value();
    state.ResumeTiming();
    for (std::size_t i = 0; i < chain.blocks.size(); i += 64) {
      const std::vector<Block> batch(chain.blocks.begin() + static_cast<std::ptrdiff_t>(i),
                                     chain.blocks.begin() + static_cast<std::ptrdiff_t>(std::min(i + 64, chain.blocks.size())));
      for (const auto& r : c->process_blocks(batch)) {
        if (r.outcome != BlockOutcome::connected) state.SkipWithError(("import refused a block: " + r.error).c_str());
      }
    }
    state.PauseTiming();
    c.reset();
    fs::remove_all(dir);
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["blocks/s"] = benchmark::Counter(n * static_cast<double>(chain.blocks.size()), benchmark::Counter::kIsRate);
  state.counters["spend_tx/s"] = benchmark::Counter(n * static_cast<double>(chain.spends), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ImportBlocks)->Arg(0)->Arg(1)->ArgName("pow")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t dir_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    if (f.is_regular_file()) total += f.file_size();
  }
  return total;
}

// One million P2WPKH outputs written in blocks of 10,000 (as connects write them): bytes on
// disk and resident memory per million, and outputs written per second.
void BM_MillionUtxos(benchmark::State& state) {
  constexpr std::uint64_t kCount = 1'000'000;
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = scratch("utxo");
    auto store = std::move(ChainStore::open(dir)).value();
    const std::uint64_t rss0 = rss_bytes();
    Key key;
    UtxoEntry e;
    e.asset_id = kBtmAssetId;
    e.control_program = key.program();
    state.ResumeTiming();
    for (std::uint64_t i = 0; i < kCount;) {
      ChainStore::Batch batch;
      for (std::uint64_t k = 0; k < 10'000; ++k, ++i) {
        core::Hash id{};
        for (int b = 0; b < 8; ++b) id[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>((i * 0x9e3779b97f4a7c15ULL) >> (8 * b));
        id[8] = static_cast<std::uint8_t>(i);
        e.source_id = id;
        e.amount = i + 1;
        e.block_height = i / 10'000;
        batch.put_utxo(id, e);
      }
      if (!store->write(batch, false)) state.SkipWithError("write failed");
    }
    state.PauseTiming();
    state.counters["rss_MiB_per_M"] = static_cast<double>(rss_bytes() - std::min(rss_bytes(), rss0)) / (1 << 20);
    store.reset();
    state.counters["disk_MiB_per_M"] = static_cast<double>(dir_bytes(dir)) / (1 << 20);
    fs::remove_all(dir);
    state.ResumeTiming();
  }
  state.counters["utxo/s"] = benchmark::Counter(static_cast<double>(state.iterations() * kCount), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MillionUtxos)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
