// The OpenCL backend end to end on whatever OpenCL device the machine has (PoCL on CI).
// Every test skips, not fails, when there is no OpenCL device. The program cache and the
// tuning store go to a temporary directory made for this process.
#include "tensority/kernels/opencl/backend.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "kernel_test_util.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/core/matrix_cache.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/tensority.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/checked_worker.hpp"
#include "tensority/kernels/hal/registry.hpp"
#include "tensority/kernels/hal/tuning.hpp"

namespace tensority::kernels {
namespace {

namespace fs = std::filesystem;
using core::Hash;
using hal::StatusCode;
using test::hash_of;
using test::kTestnetGenesisBits;
using test::testnet_like_header;

// Points TENSORITY_CACHE_DIR and TENSORITY_STATE_DIR at a fresh temporary directory before
// main() runs (the tuning store reads its path once per process) and removes it at exit.
class TempDirs {
 public:
  TempDirs() {
    char pattern[] = "/tmp/tensority-opencl-test-XXXXXX";
    if (const char* made = ::mkdtemp(pattern); made != nullptr) {
      root_ = made;
      ::setenv("TENSORITY_CACHE_DIR", (root_ / "cache").c_str(), 1);
      ::setenv("TENSORITY_STATE_DIR", (root_ / "state").c_str(), 1);
    }
  }
  ~TempDirs() {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

const TempDirs& temp_dirs() {
  static const TempDirs dirs;
  return dirs;
}
[[maybe_unused]] const bool kTempDirsMade = !temp_dirs().root().empty();

hal::Backend* opencl_backend() { return hal::builtin_registry().backend("opencl"); }

// The device under test: TENSORITY_TEST_OPENCL_DEVICE (an id such as opencl:0:0) or the
// first OpenCL device.
std::shared_ptr<hal::Device> opencl_device() {
  hal::Backend* backend = opencl_backend();
  if (backend == nullptr) return nullptr;
  const auto devices = backend->devices();
  if (devices.empty()) return nullptr;
  if (const char* want = std::getenv("TENSORITY_TEST_OPENCL_DEVICE"); want != nullptr && *want != '\0') {
    for (const auto& d : devices) {
      if (d->info().id == want) return d;
    }
    ADD_FAILURE() << "TENSORITY_TEST_OPENCL_DEVICE=" << want << " is not an OpenCL device here";
    return nullptr;
  }
  return devices.front();
}

std::string backend_notes() {
  std::string out;
  if (hal::Backend* b = opencl_backend(); b != nullptr) {
    for (const auto& n : b->notes()) out += (out.empty() ? "" : "; ") + n;
  }
  return out.empty() ? "no OpenCL backend or device" : out;
}

#define REQUIRE_OPENCL_DEVICE(device)                                              \
  auto device = opencl_device();                                                    \
  if (!device) GTEST_SKIP() << "no OpenCL device: " << backend_notes()

// A worker with a fixed batch (no tuning) unless options say otherwise.
std::unique_ptr<hal::Worker> make_worker(hal::Device& device, std::string kernel = "", std::uint64_t batch = 4) {
  hal::WorkerOptions options;
  options.kernel = std::move(kernel);
  options.batch = batch;
  options.autotune = false;
  std::unique_ptr<hal::Worker> worker;
  const hal::Status st = device.create_worker(options, worker);
  EXPECT_TRUE(st.ok()) << hal::to_string(st.code) << ": " << st.message;
  return worker;
}

// A worker for a named variant, or nullptr (with a line saying so) where the device lacks an
// extension the variant needs; any other failure fails the test.
std::unique_ptr<hal::Worker> make_variant_worker(hal::Device& device, const std::string& name, std::uint64_t batch) {
  hal::WorkerOptions options;
  options.kernel = name;
  options.batch = batch;
  options.autotune = false;
  std::unique_ptr<hal::Worker> worker;
  const hal::Status st = device.create_worker(options, worker);
  if (st.code == StatusCode::unsupported && st.message.find("the device lacks") != std::string::npos) {
    std::cout << "[ variant  ] " << name << " not offered here: " << st.message << std::endl;
    return nullptr;
  }
  EXPECT_TRUE(st.ok()) << name << ": " << hal::to_string(st.code) << ": " << st.message;
  if (worker) {
    EXPECT_EQ(worker->kernel_name(), name);
  }
  return worker;
}

std::unique_ptr<hal::Worker> cpu_worker() {
  auto selected = hal::builtin_registry().select("cpu:0");
  EXPECT_TRUE(selected) << selected.error();
  if (!selected || selected->empty()) return nullptr;
  hal::WorkerOptions options;
  options.threads = 2;
  std::unique_ptr<hal::Worker> worker;
  EXPECT_TRUE(selected->front()->create_worker(options, worker).ok());
  return worker;
}

bool has_note(const hal::DeviceInfo& info, const std::string& part) {
  return std::any_of(info.notes.begin(), info.notes.end(),
                     [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

std::string all_notes(const hal::DeviceInfo& info) {
  std::string out;
  for (const auto& n : info.notes) out += "\n  " + n;
  return out;
}

TEST(OpenClBackend, RegisteredAndDescribesItsDevices) {
  hal::Backend* backend = opencl_backend();
  ASSERT_NE(backend, nullptr) << "the opencl backend is built but not registered";
  EXPECT_EQ(backend->name(), "opencl");
  EXPECT_EQ(backend->api_version(), hal::kApiVersion);
  for (const auto& n : backend->notes()) std::cout << "[ note     ] " << n << std::endl;
  const auto devices = backend->devices();
  if (devices.empty()) {
    EXPECT_FALSE(backend->notes().empty()) << "no devices and no note saying why";
    GTEST_SKIP() << "no OpenCL device: " << backend_notes();
  }
  const std::regex id_form("opencl:[0-9]+:[0-9]+");
  const std::regex pci_form("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
  std::set<std::string> ids;
  for (const auto& d : devices) {
    const hal::DeviceInfo& info = d->info();
    std::cout << "[ device   ] " << info.id << " " << info.name << " (" << info.stable_id << "), kernel "
              << info.kernel << all_notes(info) << std::endl;
    EXPECT_EQ(info.backend, "opencl");
    EXPECT_TRUE(std::regex_match(info.id, id_form)) << info.id;
    EXPECT_TRUE(ids.insert(info.id).second) << "duplicate id " << info.id;
    EXPECT_TRUE(std::regex_match(info.stable_id, pci_form) || info.stable_id.rfind("opencl:", 0) == 0)
        << info.stable_id;
    EXPECT_FALSE(info.name.empty());
    EXPECT_GT(info.memory_bytes, 0u);
    EXPECT_GE(info.compute_units, 1u);
    const auto names = opencl::variant_names();
    EXPECT_NE(std::find(names.begin(), names.end(), info.kernel), names.end()) << info.kernel;
    // A CPU device is reachable by id but left out of `--device all`.
    if (!info.in_all) {
      EXPECT_TRUE(has_note(info, "--device all")) << all_notes(info);
    }
    auto by_id = hal::builtin_registry().select(info.id);
    ASSERT_TRUE(by_id) << by_id.error();
    ASSERT_EQ(by_id->size(), 1u);
    EXPECT_EQ(by_id->front()->info().id, info.id);
    auto all = hal::builtin_registry().select("all");
    ASSERT_TRUE(all) << all.error();
    const bool listed = std::any_of(all->begin(), all->end(), [&](const auto& x) { return x->info().id == info.id; });
    if (!info.in_all) {
      EXPECT_FALSE(listed) << info.id;
    }
  }
}

TEST(OpenClBackend, EveryVectorThroughHash) {
  REQUIRE_OPENCL_DEVICE(device);
  auto worker = make_worker(*device);
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->device().id, device->info().id);
  EXPECT_EQ(worker->kernel_name(), device->info().kernel);
  const auto& vectors = test::vectors()["tensority_vectors"];
  ASSERT_GE(vectors.size(), 11u);
  for (const auto& v : vectors) {
    ASSERT_TRUE(worker->prepare(hash_of(v["seed"])).ok()) << v["id"];
    Hash result{};
    const hal::Status st = worker->hash(hash_of(v["block_hash"]), result);
    ASSERT_TRUE(st.ok()) << v["id"] << ": " << st.message;
    EXPECT_EQ(core::to_hex(result), v["result"].get<std::string>()) << v["id"];
  }
  // hash() is not a search: it counts no hashes.
  EXPECT_EQ(worker->hashes_total(), 0u);
}

TEST(OpenClBackend, EveryKernelVariantPassesTheSelfTest) {
  REQUIRE_OPENCL_DEVICE(device);
  std::size_t tested = 0;
  for (const std::string& name : opencl::variant_names()) {
    auto worker = make_variant_worker(*device, name, 2);
    if (!worker) continue;
    ++tested;
    EXPECT_EQ(worker->device().kernel, name);
    const std::size_t group = opencl::lanes_work_group_size(*worker);
    EXPECT_GT(group, 0u) << name;
    EXPECT_EQ(256 % group, 0u) << name << ": work-group size " << group;
    const auto t0 = std::chrono::steady_clock::now();
    std::string report;
    const hal::Status st = worker->self_test(report);
    EXPECT_TRUE(st.ok()) << name << ": " << hal::to_string(st.code) << ": " << st.message;
    EXPECT_NE(report.find(name), std::string::npos) << report;
    std::cout << "[ selftest ] " << report << " in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s" << std::endl;
  }
  EXPECT_GE(tested, 2u) << "every device runs the portable variants of its kind and the other kind's";
}

TEST(OpenClBackend, SelfTestRestoresThePreparedSeed) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x4F434C53ULL);
  auto worker = make_worker(*device);
  ASSERT_NE(worker, nullptr);
  const Hash seed = rng.hash();
  ASSERT_TRUE(worker->prepare(seed).ok());
  std::string report;
  ASSERT_TRUE(worker->self_test(report).ok()) << report;
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  hal::SearchResult out;
  const hal::Status st = worker->search(job, 0, 1, core::Target256::from_bits(kTestnetGenesisBits), out);
  EXPECT_TRUE(st.ok()) << hal::to_string(st.code) << ": " << st.message;
  EXPECT_EQ(out.hashes_done, 1u);
}

// Random (block ID, seed) pairs against the slow reference, through every variant's kernel
// for the first pair and the default kernel for the rest.
TEST(OpenClBackend, MatchesTheReferenceOnRandomInputs) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x4F434C44ULL);
  auto worker = make_worker(*device);
  ASSERT_NE(worker, nullptr);
  constexpr int kPairs = 4;
  for (int i = 0; i < kPairs; ++i) {
    const Hash seed = rng.hash();
    const Hash block_id = rng.hash();
    const core::MatrixCache cache(seed);
    const Hash expected = core::tensority_reference(block_id, cache);
    ASSERT_TRUE(worker->prepare(seed).ok());
    Hash got{};
    ASSERT_TRUE(worker->hash(block_id, got).ok());
    EXPECT_EQ(core::to_hex(got), core::to_hex(expected))
        << "pair " << i << ": seed " << core::to_hex(seed) << " block " << core::to_hex(block_id);
    if (i == 0) {
      for (const std::string& name : opencl::variant_names()) {
        if (name == worker->kernel_name()) continue;
        auto other = make_variant_worker(*device, name, 1);
        if (!other) continue;
        ASSERT_TRUE(other->prepare(seed).ok()) << name;
        Hash r{};
        ASSERT_TRUE(other->hash(block_id, r).ok()) << name;
        EXPECT_EQ(core::to_hex(r), core::to_hex(expected)) << name;
      }
    }
  }
}

// 40 nonces at testnet-genesis difficulty over several launches (batch 6, the last one
// trimmed): every report is re-checked on the host, and every nonce of the range that meets
// the target on the host (the CPU backend, spot-checked against the reference) is reported.
TEST(OpenClBackend, SearchReportsExactlyTheNoncesMeetingTheTarget) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x4F434C52ULL);
  auto worker = make_worker(*device, "", 6);
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->parallelism(), 6u);
  auto host = cpu_worker();
  ASSERT_NE(host, nullptr);
  const Hash seed = rng.hash();
  ASSERT_TRUE(worker->prepare(seed).ok());
  ASSERT_TRUE(host->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto target = core::Target256::from_bits(kTestnetGenesisBits);
  const std::uint64_t start = rng.next();
  constexpr std::uint64_t kCount = 40;

  hal::SearchResult out;
  const hal::Status st = worker->search(job, start, kCount, target, out);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(out.hashes_done, kCount);
  EXPECT_EQ(worker->hashes_total(), kCount);

  test::expect_search_report_exact(out, job, start, kCount, kTestnetGenesisBits, *host);
}

// return_on_find: each call ends with the launch that found something (batch 6), and calls
// resumed at start + hashes_done report together exactly what one full call reports.
TEST(OpenClBackend, ReturnOnFindEndsAtTheLaunchThatFound) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x524F4643ULL);
  auto worker = make_worker(*device, "", 6);
  ASSERT_NE(worker, nullptr);
  const Hash seed = rng.hash();
  ASSERT_TRUE(worker->prepare(seed).ok());
  hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto target = core::Target256::from_big(core::BigInt(1) << 255);  // about half the results
  const std::uint64_t start = rng.next();
  constexpr std::uint64_t kCount = 36;
  hal::SearchResult full;
  ASSERT_TRUE(worker->search(job, start, kCount, target, full).ok());

  job.return_on_find = true;
  std::vector<std::uint64_t> seen;
  std::uint64_t done = 0;
  while (done < kCount) {
    hal::SearchResult part;
    ASSERT_TRUE(worker->search(job, start + done, kCount - done, target, part).ok());
    ASSERT_GT(part.hashes_done, 0u);
    // Launches are whole batches of 6 (the last trimmed); the launch that found ends the call.
    std::uint64_t last = 0;
    for (const auto& f : part.found) {
      seen.push_back(f.nonce);
      last = std::max(last, f.nonce - (start + done));
    }
    if (!part.found.empty() && part.hashes_done < kCount - done) {
      EXPECT_EQ(part.hashes_done % 6, 0u);
      EXPECT_GE(last + 6, part.hashes_done);
    }
    done += part.hashes_done;
  }
  std::vector<std::uint64_t> expected;
  for (const auto& f : full.found) expected.push_back(f.nonce);
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen, expected);
}

// The same through CheckedWorker with the CPU backend as host verifier: no hardware errors,
// and with a target every result meets, every nonce comes back, including across 2^64.
TEST(OpenClBackend, SearchWrapsAt2To64AndPassesHostVerification) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x4F434C57ULL);
  auto inner = make_worker(*device, "", 2);
  ASSERT_NE(inner, nullptr);
  hal::CheckedWorker worker(std::move(inner), cpu::make_host_hasher(cpu::shared_cache_store()));
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker.prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto target = core::Target256::from_big(core::BigInt(1) << 256);
  hal::SearchResult out;
  ASSERT_TRUE(worker.search(job, UINT64_MAX - 2, 5, target, out, nullptr).ok());
  EXPECT_EQ(out.hashes_done, 5u);
  std::set<std::uint64_t> nonces;
  for (const hal::Found& f : out.found) nonces.insert(f.nonce);
  EXPECT_EQ(nonces, (std::set<std::uint64_t>{UINT64_MAX - 2, UINT64_MAX - 1, UINT64_MAX, 0, 1}));
  EXPECT_EQ(worker.counters().verified.load(), 5u);
  EXPECT_EQ(worker.counters().hardware_errors.load(), 0u);
  // An empty range hashes nothing.
  hal::SearchResult none;
  ASSERT_TRUE(worker.search(job, 5, 0, target, none, nullptr).ok());
  EXPECT_EQ(none.hashes_done, 0u);
  EXPECT_TRUE(none.found.empty());
}

TEST(OpenClBackend, StopFlagSetBeforeSearchReturnsAtOnce) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x4F435354ULL);
  auto worker = make_worker(*device, "", 2);
  ASSERT_NE(worker, nullptr);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const std::atomic<bool> stop{true};
  hal::SearchResult out;
  ASSERT_TRUE(worker->search(job, 0, 1000, core::Target256::from_big(core::BigInt(1) << 256), out, &stop).ok());
  EXPECT_EQ(out.hashes_done, 0u);
  EXPECT_TRUE(out.found.empty());
  EXPECT_EQ(worker->hashes_total(), 0u);
}

TEST(OpenClBackend, StopFlagSetDuringSearchStopsItBetweenLaunches) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x4F435332ULL);
  auto worker = make_worker(*device, "", 2);
  ASSERT_NE(worker, nullptr);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto target = core::Target256::from_bits(kTestnetGenesisBits);
  constexpr std::uint64_t kCount = 1000000;  // far more than can be done before stop
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.store(true);
  });
  hal::SearchResult out;
  const auto t0 = std::chrono::steady_clock::now();
  const hal::Status st = worker->search(job, 0, kCount, target, out, &stop);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stopper.join();
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_LT(out.hashes_done, kCount);
  EXPECT_EQ(out.hashes_done % 2, 0u) << "whole launches of batch 2";
  EXPECT_EQ(worker->hashes_total(), out.hashes_done);
  EXPECT_LT(elapsed, 30.0);
  for (const hal::Found& f : out.found) {
    EXPECT_EQ(f.block_id, job.block_id(f.nonce));
    EXPECT_TRUE(target.met_by(f.result));
  }
  // Still usable afterwards.
  hal::SearchResult again;
  ASSERT_TRUE(worker->search(job, 0, 3, target, again).ok());
  EXPECT_EQ(again.hashes_done, 3u);
}

TEST(OpenClBackend, SwitchingBetweenTwoSeedsKeepsBothCaches) {
  REQUIRE_OPENCL_DEVICE(device);
  auto worker = make_worker(*device);
  ASSERT_NE(worker, nullptr);
  const auto& vectors = test::vectors()["tensority_vectors"];
  const auto& a = vectors[0];
  const auto& b = vectors[2];
  ASSERT_NE(a["seed"], b["seed"]);
  for (int round = 0; round < 2; ++round) {
    for (const auto* v : {&a, &b}) {
      const auto t0 = std::chrono::steady_clock::now();
      ASSERT_TRUE(worker->prepare(hash_of((*v)["seed"])).ok());
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (round == 1) std::cout << "[ prepare  ] " << (*v)["id"] << " again: " << ms << " ms" << std::endl;
      Hash result{};
      ASSERT_TRUE(worker->hash(hash_of((*v)["block_hash"]), result).ok());
      EXPECT_EQ(core::to_hex(result), (*v)["result"].get<std::string>()) << (*v)["id"] << " round " << round;
    }
  }
}

// A fresh cache directory: the first worker compiles and saves, the second loads the saved
// program; a damaged file is detected, rebuilt and replaced.
TEST(OpenClBackend, CompiledProgramsAreCachedOnDisk) {
  REQUIRE_OPENCL_DEVICE(device);
  const fs::path dir = temp_dirs().root() / "program-cache-test";
  std::error_code ec;
  fs::remove_all(dir, ec);
  ::setenv("TENSORITY_CACHE_DIR", dir.c_str(), 1);
  struct Restore {
    ~Restore() { ::setenv("TENSORITY_CACHE_DIR", (temp_dirs().root() / "cache").c_str(), 1); }
  } restore;

  auto first = make_worker(*device);
  ASSERT_NE(first, nullptr);
  EXPECT_FALSE(opencl::program_loaded_from_cache(*first)) << all_notes(first->device());
  EXPECT_TRUE(has_note(first->device(), "built from source")) << all_notes(first->device());
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir / "opencl")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".bin");
  EXPECT_EQ(files[0].stem().string().size(), 64u) << "a SHA3 hex key";

  auto second = make_worker(*device);
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(opencl::program_loaded_from_cache(*second)) << all_notes(second->device());
  EXPECT_TRUE(has_note(second->device(), "loaded from cache")) << all_notes(second->device());
  std::string report;
  EXPECT_TRUE(second->self_test(report).ok()) << report;

  // Another kernel variant has other build options, so another key and file.
  for (const std::string& name : opencl::variant_names()) {
    if (name == second->kernel_name()) continue;
    auto other = make_variant_worker(*device, name, 4);
    if (!other) continue;
    EXPECT_FALSE(opencl::program_loaded_from_cache(*other)) << name;
    break;
  }
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "opencl")) ++count;
  EXPECT_EQ(count, std::min<std::size_t>(2, opencl::variant_names().size()));

  // Damage the first file: flip bytes in the middle.
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    f.seekp(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
    f.write("garbage!", 8);
  }
  auto third = make_worker(*device);
  ASSERT_NE(third, nullptr);
  EXPECT_FALSE(opencl::program_loaded_from_cache(*third));
  EXPECT_TRUE(has_note(third->device(), "checksum")) << all_notes(third->device());
  ASSERT_TRUE(third->self_test(report).ok()) << report;
  // Truncated to a few bytes.
  fs::resize_file(files[0], 10);
  auto fourth = make_worker(*device);
  ASSERT_NE(fourth, nullptr);
  EXPECT_FALSE(opencl::program_loaded_from_cache(*fourth));
  // Each rebuild replaced the file, so the next worker hits the cache again.
  auto fifth = make_worker(*device);
  ASSERT_NE(fifth, nullptr);
  EXPECT_TRUE(opencl::program_loaded_from_cache(*fifth)) << all_notes(fifth->device());
  ASSERT_TRUE(fifth->self_test(report).ok()) << report;
}

// batch 0 with autotune: the first search tunes with real launches (bounded in time), saves
// the result in the state directory, and the next worker reads it instead of tuning again.
TEST(OpenClBackend, AutotunesOnFirstUseAndRemembers) {
  REQUIRE_OPENCL_DEVICE(device);
  test::TestRng rng(0x4F435455ULL);
  hal::WorkerOptions options;  // batch 0, autotune on
  std::unique_ptr<hal::Worker> worker;
  ASSERT_TRUE(device->create_worker(options, worker).ok());
  const Hash seed = rng.hash();
  ASSERT_TRUE(worker->prepare(seed).ok());
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), seed);
  const auto t0 = std::chrono::steady_clock::now();
  hal::SearchResult out;
  ASSERT_TRUE(worker->search(job, 0, 1, core::Target256::from_bits(kTestnetGenesisBits), out).ok());
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(out.hashes_done, 1u);
  EXPECT_EQ(worker->hashes_total(), 1u) << "tuning launches are not counted";
  EXPECT_TRUE(has_note(worker->device(), "autotuned on first use")) << all_notes(worker->device());
  EXPECT_LT(elapsed, 15.0) << "tuning must stay bounded";
  std::cout << "[ autotune ] first search with tuning: " << elapsed << " s" << all_notes(worker->device()) << std::endl;

  auto& store = hal::TuningStore::process_default();
  EXPECT_EQ(store.file().parent_path(), temp_dirs().root() / "state");
  const auto saved = store.load(hal::tuning_key(worker->device(), worker->kernel_name()));
  ASSERT_TRUE(saved.has_value());
  const auto batch = (*saved)["batch"].get<std::uint64_t>();
  EXPECT_GE(batch, 1u);
  EXPECT_FALSE((*saved)["trials"].empty());
  EXPECT_EQ(worker->parallelism(), batch);

  std::unique_ptr<hal::Worker> again;
  ASSERT_TRUE(device->create_worker(options, again).ok());
  EXPECT_EQ(again->parallelism(), batch);
  EXPECT_TRUE(has_note(again->device(), "autotuned earlier")) << all_notes(again->device());

  // A damaged entry costs a re-tune on first use, never a failed worker.
  const std::string key = hal::tuning_key(worker->device(), worker->kernel_name());
  ASSERT_TRUE(store.save(key, nlohmann::json{{"batch", "not a number"}}).ok());
  std::unique_ptr<hal::Worker> damaged;
  ASSERT_TRUE(device->create_worker(options, damaged).ok());
  EXPECT_FALSE(has_note(damaged->device(), "autotuned earlier")) << all_notes(damaged->device());
  EXPECT_GE(damaged->parallelism(), 1u);

  // With autotune off and batch 0 a safe default is used, and said so.
  hal::WorkerOptions off;
  off.autotune = false;
  std::unique_ptr<hal::Worker> fixed;
  ASSERT_TRUE(device->create_worker(off, fixed).ok());
  EXPECT_GE(fixed->parallelism(), 1u);
  EXPECT_TRUE(has_note(fixed->device(), "autotune off")) << all_notes(fixed->device());
}

TEST(OpenClBackend, BadInputIsReportedNotThrown) {
  REQUIRE_OPENCL_DEVICE(device);
  hal::WorkerOptions options;
  options.kernel = "no_such_kernel";
  std::unique_ptr<hal::Worker> worker;
  hal::Status st = device->create_worker(options, worker);
  EXPECT_EQ(st.code, StatusCode::unsupported) << st.message;
  EXPECT_NE(st.message.find("no_such_kernel"), std::string::npos) << st.message;
  // The portable variants are offered everywhere and are listed.
  for (const char* name : {"rows_local16", "bt_r4c4"}) {
    EXPECT_NE(st.message.find(name), std::string::npos) << "message does not list " << name << ": " << st.message;
  }
  EXPECT_EQ(worker, nullptr);
  // A variant that needs an extension the device lacks is refused the same way.
  if (!device->info().notes.empty() &&
      !std::any_of(device->info().notes.begin(), device->info().notes.end(),
                   [](const std::string& n) { return n.find("cl_khr_integer_dot_product") != std::string::npos; })) {
    options.kernel = "rows_dot16";
    st = device->create_worker(options, worker);
    EXPECT_EQ(st.code, StatusCode::unsupported) << st.message;
    EXPECT_NE(st.message.find("cl_khr_integer_dot_product"), std::string::npos) << st.message;
  }

  options.kernel.clear();
  options.batch = std::uint64_t{1} << 40;
  st = device->create_worker(options, worker);
  EXPECT_EQ(st.code, StatusCode::invalid_argument) << st.message;

  test::TestRng rng(0x4F434249ULL);
  auto w = make_worker(*device);
  ASSERT_NE(w, nullptr);
  const hal::SearchJob job = hal::SearchJob::from_header(testnet_like_header(rng), core::initial_seed());
  hal::SearchResult out;
  const auto target = core::Target256::from_bits(kTestnetGenesisBits);
  EXPECT_EQ(w->search(job, 0, 4, target, out).code, StatusCode::not_prepared);
  Hash result{};
  EXPECT_EQ(w->hash(job.block_id(0), result).code, StatusCode::not_prepared);
  // Prepared for another seed: a job for InitialSeed is still not prepared.
  ASSERT_TRUE(w->prepare(rng.hash()).ok());
  EXPECT_EQ(w->search(job, 0, 4, target, out).code, StatusCode::not_prepared);
  EXPECT_EQ(out.hashes_done, 0u);
  EXPECT_EQ(w->hashes_total(), 0u);
}

}  // namespace
}  // namespace tensority::kernels
