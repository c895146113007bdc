// CheckedWorker: host re-verification of every reported nonce, with a real CPU worker and
// with a test double that injects faults into a real worker's reports.
#include "tensority/kernels/hal/checked_worker.hpp"

#include <gtest/gtest.h>

#include <set>

#include "kernel_test_util.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/core/target.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::kernels::hal {
namespace {

using core::Hash;
using test::hash_of;

std::unique_ptr<Worker> real_cpu_worker() {
  auto selected = builtin_registry().select("cpu:0");
  EXPECT_TRUE(selected) << selected.error();
  if (!selected || selected->empty()) return nullptr;
  WorkerOptions options;
  options.threads = 2;
  std::unique_ptr<Worker> worker;
  const Status st = selected->front()->create_worker(options, worker);
  EXPECT_TRUE(st.ok()) << st.message;
  return worker;
}

SearchJob random_job(test::TestRng& rng, const Hash& seed) {
  core::BlockHeader h;
  h.version = 1;
  h.height = 5;
  h.previous_block_id = rng.hash();
  h.timestamp = 1528945000;
  h.transactions_merkle_root = rng.hash();
  h.transaction_status_hash = rng.hash();
  h.bits = 0x20000000000ccccc;
  return SearchJob::from_header(h, seed);
}

// About half of all results meet this target: many finds and many misses in a short range.
core::Target256 half_target() { return core::Target256::from_big(core::BigInt(1) << 255); }

// Delegates to a real worker but falsifies part of what it reports: the verifier under test
// must drop exactly the falsified entries.
class FaultyWorker final : public Worker {
 public:
  explicit FaultyWorker(std::unique_ptr<Worker> inner) : inner_(std::move(inner)) {}

  const DeviceInfo& device() const override { return inner_->device(); }
  std::string kernel_name() const override { return inner_->kernel_name(); }
  unsigned parallelism() const override { return inner_->parallelism(); }
  Status prepare(const Hash& seed) override { return inner_->prepare(seed); }
  Status hash(const Hash& block_id, Hash& result) override { return inner_->hash(block_id, result); }
  Status self_test(std::string& report) override { return inner_->self_test(report); }
  std::uint64_t hashes_total() const override { return inner_->hashes_total(); }

  Status search(const SearchJob& job, std::uint64_t nonce_start, std::uint64_t count,
                const core::Target256& target, SearchResult& out, const std::atomic<bool>* stop) override {
    SearchResult raw;
    Status st = inner_->search(job, nonce_start, count, target, raw, stop);
    if (!st) return st;
    out.hashes_done += raw.hashes_done;
    std::set<std::uint64_t> found_nonces;
    for (std::size_t i = 0; i < raw.found.size(); ++i) {
      Found f = raw.found[i];
      found_nonces.insert(f.nonce);
      switch (i % 3) {
        case 0:  // honest
          honest.insert(f.nonce);
          break;
        case 1:  // one flipped bit in the result
          f.result[i % 32] ^= 0x01;
          ++injected;
          break;
        default:  // the right result, reported for a different block ID
          f.block_id[0] ^= 0x80;
          ++injected;
          break;
      }
      out.found.push_back(f);
    }
    // A nonce of the range that does not meet the target, reported with its true ID and
    // true result: only the target check can reject it.
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t nonce = nonce_start + i;
      if (found_nonces.count(nonce)) continue;
      Found f{nonce, job.block_id(nonce), {}};
      st = inner_->hash(f.block_id, f.result);
      if (!st) return st;
      if (target.met_by(f.result)) continue;  // only if the inner worker missed it
      out.found.push_back(f);
      ++injected;
      break;
    }
    return Status::success();
  }

  std::set<std::uint64_t> honest;
  std::uint64_t injected = 0;

 private:
  std::unique_ptr<Worker> inner_;
};

TEST(CheckedWorker, HostHasherGivesKnownAnswers) {
  const HostHasher host = cpu::make_host_hasher(cpu::shared_cache_store());
  const auto& vectors = test::vectors()["tensority_vectors"];
  for (const std::size_t i : {std::size_t{0}, std::size_t{5}}) {
    const auto& v = vectors[i];
    EXPECT_EQ(core::to_hex(host(hash_of(v["seed"]), hash_of(v["block_hash"]))), v["result"].get<std::string>())
        << v["id"];
  }
}

TEST(CheckedWorker, RealWorkerFindsAreVerifiedAndPassed) {
  test::TestRng rng(0x43484B31ULL);
  auto inner = real_cpu_worker();
  ASSERT_NE(inner, nullptr);
  CheckedWorker checked(std::move(inner), cpu::make_host_hasher(cpu::shared_cache_store()));
  EXPECT_EQ(checked.device().id, "cpu:0");
  EXPECT_EQ(checked.parallelism(), 2u);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(checked.prepare(seed).ok());
  const SearchJob job = random_job(rng, seed);
  const auto target = half_target();
  constexpr std::uint64_t kCount = 16;
  const std::uint64_t start = rng.next();

  SearchResult out;
  const Status st = checked.search(job, start, kCount, target, out, nullptr);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(out.hashes_done, kCount);
  EXPECT_EQ(checked.hashes_total(), kCount);
  EXPECT_EQ(checked.counters().hardware_errors.load(), 0u);
  EXPECT_EQ(checked.counters().found.load(), out.found.size());
  EXPECT_EQ(checked.counters().verified.load(), out.found.size());
  // Each passed find is right (recomputed independently of the worker's search path).
  const HostHasher host = cpu::make_host_hasher(cpu::shared_cache_store());
  for (const Found& f : out.found) {
    EXPECT_EQ(f.block_id, job.block_id(f.nonce));
    EXPECT_EQ(f.result, host(seed, f.block_id));
    EXPECT_TRUE(target.met_by(f.result));
  }
  // With P = 1/2 per nonce, 16 nonces without a find has probability 2^-16.
  EXPECT_FALSE(out.found.empty()) << "no find in " << kCount << " nonces from " << start;
}

// return_on_find: the call ends right after a find, its hashes are a gap-free run from the
// start, and resuming from start + hashes_done misses nothing a full call would have found.
TEST(CheckedWorker, ReturnOnFindEndsTheCallEarlyWithoutGaps) {
  test::TestRng rng(0x524F4631ULL);
  auto worker = real_cpu_worker();
  ASSERT_NE(worker, nullptr);
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(worker->prepare(seed).ok());
  SearchJob job = random_job(rng, seed);
  const auto target = half_target();
  constexpr std::uint64_t kCount = 48;
  const std::uint64_t start = rng.next();
  SearchResult full;
  ASSERT_TRUE(worker->search(job, start, kCount, target, full, nullptr).ok());

  job.return_on_find = true;
  std::set<std::uint64_t> seen;
  std::uint64_t cursor = start, calls = 0;
  while (cursor - start < kCount) {
    SearchResult part;
    ASSERT_TRUE(worker->search(job, cursor, kCount - (cursor - start), target, part, nullptr).ok());
    ASSERT_GT(part.hashes_done, 0u);
    std::uint64_t last = 0;
    for (const Found& f : part.found) {
      EXPECT_LT(f.nonce - cursor, part.hashes_done);
      last = std::max(last, f.nonce - cursor);
      seen.insert(f.nonce);
    }
    // Two threads: past the find, the other thread's hash in flight and, when it finished
    // just before the finder raised the flag, one more.
    if (!part.found.empty()) {
      EXPECT_LE(part.hashes_done, last + 3);
    }
    cursor += part.hashes_done;
    ++calls;
  }
  std::set<std::uint64_t> expected;
  for (const Found& f : full.found) expected.insert(f.nonce);
  EXPECT_EQ(seen, expected);
  // With P = 1/2 per nonce there are about 24 finds; each call ends at one.
  EXPECT_GT(calls, 4u);
}

TEST(CheckedWorker, FalsifiedReportsAreDroppedAndCounted) {
  test::TestRng rng(0x43484B32ULL);
  auto real = real_cpu_worker();
  ASSERT_NE(real, nullptr);
  auto faulty = std::make_unique<FaultyWorker>(std::move(real));
  FaultyWorker* probe = faulty.get();
  CheckedWorker checked(std::move(faulty), cpu::make_host_hasher(cpu::shared_cache_store()));
  const Hash seed = core::initial_seed();
  ASSERT_TRUE(checked.prepare(seed).ok());
  const SearchJob job = random_job(rng, seed);
  const auto target = half_target();
  constexpr std::uint64_t kCount = 16;
  const std::uint64_t start = rng.next();

  SearchResult out;
  const Status st = checked.search(job, start, kCount, target, out, nullptr);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(out.hashes_done, kCount);
  ASSERT_GE(probe->injected, 1u);
  const std::uint64_t reported = probe->honest.size() + probe->injected;
  EXPECT_EQ(checked.counters().found.load(), reported);
  EXPECT_EQ(checked.counters().hardware_errors.load(), probe->injected);
  EXPECT_EQ(checked.counters().verified.load(), probe->honest.size());
  std::set<std::uint64_t> passed;
  for (const Found& f : out.found) {
    passed.insert(f.nonce);
    EXPECT_EQ(f.block_id, job.block_id(f.nonce));
    EXPECT_TRUE(target.met_by(f.result));
  }
  EXPECT_EQ(passed, probe->honest);
  EXPECT_EQ(out.found.size(), probe->honest.size());

  // Counters accumulate over searches.
  SearchResult second;
  ASSERT_TRUE(checked.search(job, start + kCount, kCount, target, second, nullptr).ok());
  EXPECT_EQ(checked.counters().found.load(), checked.counters().verified.load() +
                                                 checked.counters().hardware_errors.load());
  EXPECT_EQ(checked.counters().hardware_errors.load(), probe->injected);
  EXPECT_EQ(checked.counters().verified.load(), probe->honest.size());
}

}  // namespace
}  // namespace tensority::kernels::hal
