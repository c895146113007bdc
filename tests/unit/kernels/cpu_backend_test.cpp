// The registered CPU backend end to end: registry, device, worker, search.
#include "tensority/kernels/cpu/backend.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "kernel_test_util.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/tensority.hpp"
#include "tensority/hwdetect/cpu.hpp"
#include "tensority/kernels/cpu/variant.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::kernels {
namespace {

using core::Hash;
using hal::StatusCode;
using test::hash_of;
using test::kTestnetGenesisBits;
using test::testnet_like_header;

std::shared_ptr<hal::Device> cpu_device() {
  auto selected = hal::builtin_registry().select("cpu:0");
  EXPECT_TRUE(selected) << selected.error();
  if (!selected || selected->empty()) return nullptr;
  return selected->front();
}

std::unique_ptr<hal::Worker> make_worker(unsigned threads, std::string kernel = "") {
  auto device = cpu_device();
  if (!device) return nullptr;
  hal::WorkerOptions options;
  options.threads = threads;
  options.kernel = std::move(kernel);
  std::unique_ptr<hal::Worker> worker;
  const hal::Status st = device->create_worker(options, worker);
  EXPECT_TRUE(st.ok()) << st.message;
  return worker;
}

TEST(CpuBackend, RegisteredWithDeviceCpu0) {
  auto& registry = hal::builtin_registry();
  const auto names = registry.backend_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "cpu"), names.end());
  hal::Backend* backend = registry.backend("cpu");
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->name(), "cpu");
  EXPECT_EQ(backend->api_version(), hal::kApiVersion);
  const auto devices = backend->devices();
  ASSERT_EQ(devices.size(), 1u);
  const hal::DeviceInfo& info = devices[0]->info();
  EXPECT_EQ(info.backend, "cpu");
  EXPECT_EQ(info.id, "cpu:0");
  EXPECT_FALSE(info.name.empty());
  EXPECT_GE(info.compute_units, 1u);
  EXPECT_EQ(info.kernel, cpu::best_variant(hwdetect::detect_cpu_features()).name);
  for (const auto& note : info.notes) std::cout << "[ note     ] " << note << std::endl;
}

TEST(CpuBackend, SelectByBackendIdAndAll) {
  auto& registry = hal::builtin_registry();
  for (const char* selector : {"cpu", "cpu:0", "all"}) {
    auto selected = registry.select(selector);
    ASSERT_TRUE(selected) << selector << ": " << selected.error();
    const auto& list = *selected;
    EXPECT_TRUE(std::any_of(list.begin(), list.end(), [](const auto& d) { return d->info().id == "cpu:0"; }))
        << selector;
  }
  EXPECT_EQ(registry.select("cpu:0")->size(), 1u);
  auto bad = registry.select("gpu7");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("gpu7"), std::string::npos) << bad.error();
  for (const auto& name : registry.backend_names()) {
    EXPECT_NE(bad.error().find(name), std::string::npos) << "message does not list backend " << name << ": "
                                                         << bad.error();
  }
}

TEST(CpuBackend, DefaultKernelIsTheBestVariant) {
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  const auto features = hwdetect::detect_cpu_features();
  const cpu::Variant* first_supported = nullptr;
  for (const cpu::Variant* v : cpu::all_variants()) {
    if (v->supported(features)) {
      first_supported = v;
      break;
    }
  }
  ASSERT_NE(first_supported, nullptr);
  EXPECT_EQ(worker->kernel_name(), first_supported->name);
  EXPECT_EQ(worker->device().kernel, first_supported->name);
  EXPECT_EQ(worker->device().id, "cpu:0");
  EXPECT_EQ(worker->parallelism(), 2u);
  EXPECT_EQ(worker->hashes_total(), 0u);
}

TEST(CpuBackend, NamedKernelsAndUnknownKernel) {
  const auto features = hwdetect::detect_cpu_features();
  auto device = cpu_device();
  ASSERT_NE(device, nullptr);
  for (const cpu::Variant* v : cpu::all_variants()) {
    hal::WorkerOptions options;
    options.threads = 1;
    options.kernel = std::string(v->name);
    std::unique_ptr<hal::Worker> worker;
    const hal::Status st = device->create_worker(options, worker);
    if (v->supported(features)) {
      ASSERT_TRUE(st.ok()) << v->name << ": " << st.message;
      ASSERT_NE(worker, nullptr);
      EXPECT_EQ(worker->kernel_name(), v->name);
    } else {
      EXPECT_EQ(st.code, StatusCode::unsupported) << v->name;
    }
  }
  hal::WorkerOptions options;
  options.threads = 1;
  options.kernel = "no_such_kernel";
  std::unique_ptr<hal::Worker> worker;
  const hal::Status st = device->create_worker(options, worker);
  EXPECT_EQ(st.code, StatusCode::unsupported) << st.message;
  EXPECT_NE(st.message.find("no_such_kernel"), std::string::npos) << st.message;
}

TEST(CpuBackend, SearchAndHashBeforePrepareAreNotPrepared) {
  test::TestRng rng(0x4E505245ULL);
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), core::initial_seed());
  hal::SearchResult out;
  const auto target = core::Target256::from_bits(kTestnetGenesisBits);
  EXPECT_EQ(worker->search(job, 0, 4, target, out).code, StatusCode::not_prepared);
  EXPECT_EQ(out.hashes_done, 0u);
  EXPECT_TRUE(out.found.empty());
  Hash result{};
  EXPECT_EQ(worker->hash(job.block_id(0), result).code, StatusCode::not_prepared);
  // Prepared for another seed: a job for InitialSeed is still not prepared.
  const auto& v = test::vectors()["tensority_vectors"][0];
  ASSERT_TRUE(worker->prepare(hash_of(v["seed"])).ok());
  EXPECT_EQ(worker->search(job, 0, 4, target, out).code, StatusCode::not_prepared);
  EXPECT_EQ(worker->hashes_total(), 0u);
}

TEST(CpuBackend, SelfTestPasses) {
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  std::string report;
  const hal::Status st = worker->self_test(report);
  EXPECT_TRUE(st.ok()) << hal::to_string(st.code) << ": " << st.message;
  EXPECT_NE(report.find(worker->kernel_name()), std::string::npos) << report;
  std::cout << "[ selftest ] " << report << std::endl;
}

TEST(CpuBackend, HashMatchesKnownAnswersAfterPrepare) {
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  const auto& vectors = test::vectors()["tensority_vectors"];
  for (const std::size_t i : {std::size_t{0}, std::size_t{2}, std::size_t{1}}) {  // change seed each time
    const auto& v = vectors[i];
    ASSERT_TRUE(worker->prepare(hash_of(v["seed"])).ok()) << v["id"];
    ASSERT_TRUE(worker->prepare(hash_of(v["seed"])).ok()) << v["id"] << " (again)";
    Hash result{};
    ASSERT_TRUE(worker->hash(hash_of(v["block_hash"]), result).ok()) << v["id"];
    EXPECT_EQ(core::to_hex(result), v["result"].get<std::string>()) << v["id"];
  }
}

// Searches 40 nonces at testnet-genesis difficulty (about 2 finds) and checks the report
// against every nonce recomputed one by one.
TEST(CpuBackend, SearchReportsExactlyTheNoncesMeetingTheTarget) {
  test::TestRng rng(0x53524348ULL);
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto target = core::Target256::from_bits(kTestnetGenesisBits);
  const std::uint64_t start = rng.next();
  constexpr std::uint64_t kCount = 40;

  const std::uint64_t total_before = worker->hashes_total();
  hal::SearchResult out;
  ASSERT_TRUE(worker->search(job, start, kCount, target, out).ok());
  EXPECT_EQ(out.hashes_done, kCount);
  EXPECT_EQ(worker->hashes_total(), total_before + kCount);

  test::expect_search_report_exact(out, job, start, kCount, kTestnetGenesisBits, *worker);
}

TEST(CpuBackend, SearchWrapsAt2To64) {
  test::TestRng rng(0x57524150ULL);
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  // A target every result meets, so every nonce hashed is reported.
  const auto target = core::Target256::from_big(core::BigInt(1) << 256);
  hal::SearchResult out;
  ASSERT_TRUE(worker->search(job, UINT64_MAX - 1, 3, target, out).ok());
  EXPECT_EQ(out.hashes_done, 3u);
  std::set<std::uint64_t> nonces;
  for (const hal::Found& f : out.found) {
    nonces.insert(f.nonce);
    EXPECT_EQ(f.block_id, job.block_id(f.nonce)) << f.nonce;
    Hash result{};
    ASSERT_TRUE(worker->hash(f.block_id, result).ok());
    EXPECT_EQ(f.result, result) << f.nonce;
  }
  EXPECT_EQ(nonces, (std::set<std::uint64_t>{UINT64_MAX - 1, UINT64_MAX, 0}));
  EXPECT_EQ(out.found.size(), 3u);
  // An empty range hashes nothing.
  hal::SearchResult none;
  ASSERT_TRUE(worker->search(job, 5, 0, target, none).ok());
  EXPECT_EQ(none.hashes_done, 0u);
  EXPECT_TRUE(none.found.empty());
}

TEST(CpuBackend, StopFlagSetBeforeSearchReturnsAtOnce) {
  test::TestRng rng(0x53544F50ULL);
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto target = core::Target256::from_big(core::BigInt(1) << 256);
  const std::atomic<bool> stop{true};
  hal::SearchResult out;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(worker->search(job, 0, 1000, target, out, &stop).ok());
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(out.hashes_done, 1000u);
  EXPECT_LT(out.hashes_done, 2u * worker->parallelism()) << "at most one hash per thread after stop";
  EXPECT_EQ(out.found.size(), out.hashes_done);  // every hashed nonce qualifies with this target
  EXPECT_EQ(worker->hashes_total(), out.hashes_done);
  EXPECT_LT(std::chrono::duration<double>(elapsed).count(), 5.0);
}

TEST(CpuBackend, StopFlagSetDuringSearchStopsIt) {
  test::TestRng rng(0x53545032ULL);
  auto worker = make_worker(2);
  ASSERT_NE(worker, nullptr);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto target = core::Target256::from_bits(kTestnetGenesisBits);
  constexpr std::uint64_t kCount = 400;  // far more than can be done before stop
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.store(true);
  });
  hal::SearchResult out;
  const hal::Status st = worker->search(job, 0, kCount, target, out, &stop);
  stopper.join();
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_LT(out.hashes_done, kCount);
  EXPECT_EQ(worker->hashes_total(), out.hashes_done);
  for (const hal::Found& f : out.found) {
    EXPECT_EQ(f.block_id, job.block_id(f.nonce));
    EXPECT_TRUE(target.met_by(f.result));
  }
  // The worker is still usable afterwards.
  hal::SearchResult again;
  ASSERT_TRUE(worker->search(job, 0, 2, target, again).ok());
  EXPECT_EQ(again.hashes_done, 2u);
}

// Nice values of this process's threads, from /proc (field 19 of each task's stat line).
std::multiset<int> thread_nice_values() {
  std::multiset<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string line;
    std::getline(in, line);
    // The command name may hold spaces; the fields after it are space-separated.
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string f;
    for (int i = 3; i <= 19 && fields >> f; ++i) {
      if (i == 19) out.insert(std::stoi(f));
    }
  }
  return out;
}

TEST(CpuBackend, NiceLowersTheHashingThreadsOnly) {
  auto device = cpu_device();
  ASSERT_NE(device, nullptr);
  const auto before = thread_nice_values();
  hal::WorkerOptions options;
  options.threads = 3;
  options.pin_threads = false;
  options.nice = 7;
  std::unique_ptr<hal::Worker> worker;
  ASSERT_TRUE(device->create_worker(options, worker).ok());
  const auto during = thread_nice_values();
  EXPECT_EQ(during.count(7), before.count(7) + 3);
  EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 0) << "the calling thread kept its priority";
  const auto& notes = worker->device().notes;
  EXPECT_NE(std::find(notes.begin(), notes.end(), "threads at nice 7"), notes.end());
  // Still hashes right.
  ASSERT_TRUE(worker->prepare(core::initial_seed()).ok());
  std::string report;
  EXPECT_TRUE(worker->self_test(report).ok()) << report;
}

}  // namespace
}  // namespace tensority::kernels
