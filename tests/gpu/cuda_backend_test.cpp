// The CUDA backend on a real GPU: every known-answer vector with every kernel the device
// supports, a differential run against the CPU reference on fresh random inputs, a search
// whose hits must equal the CPU's over the same nonces, and a long search where every
// reported nonce is re-verified on the host. Skipped (not failed) without a CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kernel_test_util.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/tensority.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/checked_worker.hpp"
#include "tensority/kernels/hal/registry.hpp"
#include "vectors.hpp"

namespace tensority::kernels {
namespace {

std::shared_ptr<hal::Device> first_cuda_device() {
  auto* backend = hal::builtin_registry().backend("cuda");
  if (backend == nullptr) return nullptr;
  auto devices = backend->devices();
  if (devices.empty()) {
    for (const auto& n : backend->notes()) std::cout << "[ cuda     ] " << n << std::endl;
    return nullptr;
  }
  return devices.front();
}

const std::vector<std::string>& kernel_names() {
  static const std::vector<std::string> names{"imma_m16n8k32_w8_db", "imma_m16n8k32_w4_db", "imma_m16n8k32_w8",
                                              "imma_m16n8k32_w4", "dp4a_row256"};
  return names;
}

class CudaBackend : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    device_ = first_cuda_device();
    if (!device_) GTEST_SKIP() << "no CUDA device";
    hal::WorkerOptions o;
    o.kernel = GetParam();
    o.autotune = false;
    const auto st = device_->create_worker(o, worker_);
    if (st.code == hal::StatusCode::unsupported) GTEST_SKIP() << st.message;
    ASSERT_TRUE(st.ok()) << st.message;
  }
  std::shared_ptr<hal::Device> device_;
  std::unique_ptr<hal::Worker> worker_;
};

TEST_P(CudaBackend, SelfTestPasses) {
  std::string report;
  const auto st = worker_->self_test(report);
  EXPECT_TRUE(st.ok()) << st.message;
  std::cout << "[ self-test] " << report << std::endl;
}

TEST_P(CudaBackend, EveryVectorMatches) {
  const auto& vectors = test::vectors()["tensority_vectors"];
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    ASSERT_TRUE(worker_->prepare(test::hash_of(v["seed"])).ok());
    core::Hash got{};
    const auto st = worker_->hash(test::hash_of(v["block_hash"]), got);
    ASSERT_TRUE(st.ok()) << st.message;
    EXPECT_EQ(core::to_hex(got), v["result"].get<std::string>()) << v["id"] << " with " << GetParam();
  }
}

TEST_P(CudaBackend, MatchesTheReferenceOnRandomInputs) {
  test::TestRng rng(0xC0DA);
  for (int s = 0; s < 2; ++s) {
    const core::Hash seed = rng.hash();
    const core::MatrixCache cache(seed);
    ASSERT_TRUE(worker_->prepare(seed).ok());
    for (int i = 0; i < 3; ++i) {
      const core::Hash id = rng.hash();
      core::Hash got{};
      ASSERT_TRUE(worker_->hash(id, got).ok());
      EXPECT_EQ(got, core::tensority_reference(id, cache)) << GetParam() << "; " << test::seed_note();
    }
  }
}

TEST_P(CudaBackend, SearchFindsExactlyWhatTheCpuFinds) {
  test::TestRng rng(0x5EA4C);
  const hal::SearchJob job = hal::SearchJob::from_header(test::testnet_like_header(rng), rng.hash());
  const auto target = core::Target256::from_bits(test::kTestnetGenesisBits);
  const std::uint64_t start = rng.next();
  const std::uint64_t count = 300;
  hal::SearchResult gpu;
  ASSERT_TRUE(worker_->search(job, start, count, target, gpu).ok());
  EXPECT_EQ(gpu.hashes_done, count);
  auto cpu = hal::builtin_registry().select("cpu:0");
  ASSERT_TRUE(cpu.ok()) << cpu.error();
  std::unique_ptr<hal::Worker> verifier;
  ASSERT_TRUE(cpu->front()->create_worker({}, verifier).ok());
  ASSERT_TRUE(verifier->prepare(job.seed).ok());
  test::expect_search_report_exact(gpu, job, start, count, test::kTestnetGenesisBits, *verifier);
}

INSTANTIATE_TEST_SUITE_P(Kernels, CudaBackend, ::testing::ValuesIn(kernel_names()),
                         [](const auto& param_info) { return param_info.param; });

// Long run with the default kernel and an autotuned batch: every hit is re-verified on
// the host; zero hardware errors allowed. TENSORITY_GPU_LONG_SECONDS sets the length.
TEST(CudaLongSearch, EveryReportedNonceVerifiesOnTheHost) {
  auto device = first_cuda_device();
  if (!device) GTEST_SKIP() << "no CUDA device";
  const char* env = std::getenv("TENSORITY_GPU_LONG_SECONDS");
  const double seconds = env != nullptr ? std::atof(env) : 20.0;
  std::unique_ptr<hal::Worker> inner;
  ASSERT_TRUE(device->create_worker({}, inner).ok());
  hal::CheckedWorker worker(std::move(inner), cpu::make_host_hasher(cpu::shared_cache_store()));
  test::TestRng rng(0x104C);
  core::BlockHeader header;
  header.version = 1;
  header.bits = 0x1e00000000011b68;
  const hal::SearchJob job = hal::SearchJob::from_header(header, rng.hash());
  core::Target256 target;  // about 1 hash in 4096 qualifies
  target.limbs = {~0ULL, ~0ULL, ~0ULL, ~0ULL >> 12};
  std::atomic<bool> stop{false};
  hal::SearchResult out;
  std::thread timer([&] {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  const auto st = worker.search(job, rng.next(), ~0ULL, target, out, &stop);
  timer.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(st.ok()) << st.message;
  std::cout << "[ long     ] " << out.hashes_done << " hashes in " << s << " s = " << static_cast<double>(out.hashes_done) / s
            << " H/s, " << worker.counters().found << " found, " << worker.counters().verified << " verified, "
            << worker.counters().hardware_errors << " hardware errors (" << worker.kernel_name() << ")" << std::endl;
  EXPECT_EQ(worker.counters().hardware_errors.load(), 0u);
  EXPECT_GT(worker.counters().verified.load(), 0u);
}

}  // namespace
}  // namespace tensority::kernels
