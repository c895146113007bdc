// Microbenchmarks of the Tensority building blocks (docs/spec/tensority.md section 4): the per-seed cache build,
// one 256x256x256 product + reduction per CPU kernel variant, a full hash per variant, the
// reference hash and the block ID. Single-threaded and unpinned; inputs are made once from a
// fixed-seed generator and every cache is built once, outside the timed loops.
//
//   tensority-microbench [--benchmark_filter=REGEX] [--benchmark_repetitions=N] ...
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/tensority.hpp"
#include "tensority/core/types.hpp"
#include "tensority/hwdetect/cpu.hpp"
#include "tensority/kernels/cpu/prepared_cache.hpp"
#include "tensority/kernels/cpu/variant.hpp"

namespace {

namespace core = tensority::core;
namespace cpu = tensority::kernels::cpu;
namespace hwdetect = tensority::hwdetect;

// 2^24 multiply-accumulates in one 256x256x256 product.
constexpr double kMacsPerProduct = static_cast<double>(core::kDim * core::kDim * core::kDim);

// Fixed-seed inputs, so runs are comparable; the values are arbitrary but not special.
struct Inputs {
  core::Hash seed{};
  core::Hash block_id{};
  std::array<std::uint8_t, core::kIdBodyBytes> body{};
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs r;
    std::mt19937_64 rng(0x7e50'0517'c0de'2024ULL);
    auto fill = [&rng](std::span<std::uint8_t> bytes) {
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng() >> 56);
    };
    fill(r.seed);
    fill(r.block_id);
    fill(r.body);
    return r;
  }();
  return in;
}

// Built on first use (outside any timed loop) and kept for the whole run.
const cpu::PreparedCache& prepared_cache() {
  static const std::shared_ptr<const cpu::PreparedCache> cache = cpu::PreparedCache::build(inputs().seed);
  return *cache;
}

const core::MatrixCache& matrix_cache() {
  static const core::MatrixCache cache(inputs().seed);
  return cache;
}

// Adds an iteration-invariant counter to the block ID so every hash sees a new input, as a
// miner's nonce loop does. Touches the first 8 bytes (lane 0's input) only.
void bump(core::Hash& id, std::uint64_t n) {
  for (std::size_t i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>(id[i] ^ (n >> (8 * i)));
}

void BM_CacheBuild(benchmark::State& state) {
  std::vector<std::int8_t> out(core::kCacheBytes);
  const core::Hash seed = inputs().seed;
  for (auto _ : state) {
    core::build_cache(seed, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(core::kCacheBytes));
}

void BM_PreparedCacheBuild(benchmark::State& state) {
  const core::Hash seed = inputs().seed;
  for (auto _ : state) {
    auto cache = cpu::PreparedCache::build(seed);
    benchmark::DoNotOptimize(cache.get());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(core::kCacheBytes));
}

void BM_Product(benchmark::State& state, const cpu::Variant* variant) {
  const cpu::PreparedCache& cache = prepared_cache();
  auto scratch = std::make_unique<cpu::Scratch>();
  // Run one real lane first so the state holds genuine contents in the variant's layout;
  // then cycle through that lane's 32 matrix indices as a lane would.
  const core::Hash indices = core::lane_indices(inputs().block_id, 0);
  variant->lane(cache, indices, *scratch);
  std::size_t k = 0;
  for (auto _ : state) {
    variant->product(cache, indices[k % indices.size()], *scratch);
    ++k;
    benchmark::DoNotOptimize(scratch.get());
    benchmark::ClobberMemory();
  }
  state.counters["GMAC/s"] =
      benchmark::Counter(kMacsPerProduct * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Hash(benchmark::State& state, const cpu::Variant* variant) {
  const cpu::PreparedCache& cache = prepared_cache();
  auto scratch = std::make_unique<cpu::Scratch>();
  core::Hash id = inputs().block_id;
  std::uint64_t n = 0;
  for (auto _ : state) {
    bump(id, ++n);
    core::Hash result = cpu::hash(*variant, cache, id, *scratch);
    benchmark::DoNotOptimize(result);
  }
  state.counters["H/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Reference(benchmark::State& state) {
  const core::MatrixCache& cache = matrix_cache();
  core::Hash id = inputs().block_id;
  std::uint64_t n = 0;
  for (auto _ : state) {
    bump(id, ++n);
    core::Hash result = core::tensority_reference(id, cache);
    benchmark::DoNotOptimize(result);
  }
  state.counters["H/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_BlockId(benchmark::State& state) {
  std::array<std::uint8_t, core::kIdBodyBytes> body = inputs().body;
  std::uint64_t nonce = 0;
  for (auto _ : state) {
    // New nonce each time (little-endian at its offset), as in a mining loop.
    ++nonce;
    for (std::size_t i = 0; i < 8; ++i)
      body[core::kIdBodyNonceOffset + i] = static_cast<std::uint8_t>(nonce >> (8 * i));
    benchmark::DoNotOptimize(body);
    core::Hash id = core::block_id_from_body(body);
    benchmark::DoNotOptimize(id);
  }
}

// A slow variant (portable) runs a fixed number of iterations so the whole run stays short.
bool is_slow(const cpu::Variant& v) { return v.name.starts_with("portable"); }

void register_benchmarks(const hwdetect::CpuFeatures& features) {
  // Google Benchmark's default minimum time (0.5 s) for the quick ones; fixed iteration
  // counts for the slow portable and reference hashes, so a default run stays well under 60 s.
  benchmark::RegisterBenchmark("BM_CacheBuild", BM_CacheBuild)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_PreparedCacheBuild", BM_PreparedCacheBuild)->Unit(benchmark::kMillisecond);

  std::vector<const cpu::Variant*> usable;
  std::string skipped;
  for (const cpu::Variant* v : cpu::all_variants()) {
    if (v->supported(features)) {
      usable.push_back(v);
      continue;
    }
    std::fprintf(stderr, "tensority-microbench: skipping %.*s (needs %.*s, not on this CPU)\n",
                 static_cast<int>(v->name.size()), v->name.data(), static_cast<int>(v->isa.size()),
                 v->isa.data());
    if (!skipped.empty()) skipped += ",";
    skipped += v->name;
  }
  if (!skipped.empty()) benchmark::AddCustomContext("skipped_variants", skipped);

  for (const cpu::Variant* v : usable) {
    benchmark::RegisterBenchmark(("BM_Product/" + std::string(v->name)).c_str(), BM_Product, v)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const cpu::Variant* v : usable) {
    auto* b = benchmark::RegisterBenchmark(("BM_Hash/" + std::string(v->name)).c_str(), BM_Hash, v)
                  ->Unit(benchmark::kMillisecond);
    if (is_slow(*v)) b->Iterations(3);
  }
  benchmark::RegisterBenchmark("BM_Reference", BM_Reference)->Unit(benchmark::kMillisecond)->Iterations(2);
  benchmark::RegisterBenchmark("BM_BlockId", BM_BlockId)->Unit(benchmark::kNanosecond);
}

}  // namespace

int main(int argc, char** argv) {
  const hwdetect::CpuFeatures features = hwdetect::detect_cpu_features();
  const hwdetect::CpuIdentity identity = hwdetect::detect_cpu_identity();
  benchmark::AddCustomContext("cpu_brand", identity.brand.empty() ? "unknown" : identity.brand);
  benchmark::AddCustomContext("best_variant", std::string(cpu::best_variant(features).name));
  std::string names;
  for (std::string_view n : features.names()) {
    if (!names.empty()) names += ' ';
    names += n;
  }
  benchmark::AddCustomContext("cpu_features", names);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_benchmarks(features);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
