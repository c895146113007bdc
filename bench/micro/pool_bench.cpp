// tensority-pool-bench: share checks per second (issue 7's figure). Each check rebuilds the
// header, takes its block ID and one Tensority hash on the CPU engine and compares the
// targets, with the pool-wide duplicate filter in the path; every nonce is new.
#include <atomic>

#include <benchmark/benchmark.h>

#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/pool/share_check.hpp"

namespace {

using namespace tensority;

pool::ShareJob bench_job() {
  pool::ShareJob job;
  job.template_id = 1;
  job.header.version = 1;
  job.header.height = 17548;
  job.header.timestamp = 1526348364;
  job.header.bits = 0x1d00000000047a1dULL;
  for (std::size_t i = 0; i < 32; ++i) {
    job.header.previous_block_id[i] = static_cast<std::uint8_t>(i);
    job.header.transactions_merkle_root[i] = static_cast<std::uint8_t>(3 * i);
    job.seed[i] = static_cast<std::uint8_t>(7 * i + 1);
  }
  job.difficulty = 65536;
  job.share_target = core::Target256::from_big((core::BigInt(1) << 256) / 65536);
  return job;
}

void BM_ShareCheck(benchmark::State& state) {
  static const pool::ShareJob job = bench_job();
  static const auto hasher = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
  static pool::DuplicateFilter duplicates;
  static std::atomic<std::uint64_t> next_nonce{0};
  (void)hasher(job.seed, core::Hash{});  // the seed's cache is built before timing
  for (auto _ : state) {
    const auto check = pool::check_share(job, next_nonce.fetch_add(1), std::nullopt, hasher, duplicates);
    benchmark::DoNotOptimize(check.result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ShareCheck)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
