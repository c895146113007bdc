// The pool's per-session pieces: nonce ranges, vardiff, and the share check against the share
// vectors of examples.json (computed with bytom's reference code) and the mainnet genesis.
#include <gtest/gtest.h>


#include <nlohmann/json.hpp>

#include "vectors.hpp"

#include "tensority/core/hex.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/pool/check_hasher.hpp"
#include "tensority/pool/nonce_space.hpp"
#include "tensority/pool/session_jobs.hpp"
#include "tensority/pool/share_check.hpp"
#include "tensority/pool/vardiff.hpp"
#include "tensority/stratum/codec.hpp"

namespace tensority::pool {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const json& examples() { return test::stratum_examples(); }

TEST(NonceSpace, RangesAreDisjointAndBelow2To63) {
  EXPECT_EQ(*session_nonce_start(0, 0), 0u);
  EXPECT_EQ(*session_nonce_start(0, 1), std::uint64_t{1} << 32);
  EXPECT_EQ(*session_nonce_start(1, 0), std::uint64_t{1} << 56);
  const std::uint64_t top = *session_nonce_start(kMaxInstance, kMaxSession);
  EXPECT_LT(top + (kSessionRange - 1), std::uint64_t{1} << 63);
  EXPECT_FALSE(session_nonce_start(kMaxInstance + 1, 0).ok());
  EXPECT_FALSE(session_nonce_start(0, kMaxSession + 1).ok());
  const std::uint64_t a = *session_nonce_start(3, 7), b = *session_nonce_start(3, 8);
  EXPECT_TRUE(in_session_range(a, a + kSessionRange - 1));
  EXPECT_FALSE(in_session_range(a, b));
  EXPECT_FALSE(in_session_range(b, a));
}

TEST(Vardiff, RaisesForFastSharesAndWaitsForTheRetargetInterval) {
  const auto t0 = Vardiff::Clock::now();
  VardiffOptions o;
  o.start = 1000;
  o.target_interval = 10s;
  o.retarget_interval = 60s;
  Vardiff v(o, t0);
  // One share a second: ten times too fast.
  std::optional<std::uint64_t> changed;
  for (int s = 1; s <= 59; ++s) {
    changed = v.on_share(t0 + std::chrono::seconds(s));
    EXPECT_FALSE(changed) << "changed before the retarget interval, at " << s << " s";
  }
  changed = v.on_share(t0 + 60s);
  ASSERT_TRUE(changed);
  EXPECT_EQ(*changed, 4000u);  // a factor of 10 wanted, at most 4 per step
  EXPECT_EQ(v.difficulty(), 4000u);
}

TEST(Vardiff, HoldsInsideTheVarianceAndStepsDownWhenQuiet) {
  const auto t0 = Vardiff::Clock::now();
  VardiffOptions o;
  o.start = 1000;
  o.min = 300;
  o.target_interval = 10s;
  o.retarget_interval = 30s;
  Vardiff v(o, t0);
  for (int i = 1; i <= 10; ++i) EXPECT_FALSE(v.on_share(t0 + std::chrono::seconds(11 * i)));  // 11 s: within 30%
  EXPECT_EQ(v.difficulty(), 1000u);
  // Then nothing for 50 s: at most one share per 50 s is 5x too slow; one step of at most 4.
  const auto quiet = t0 + 110s + 50s;
  const auto down = v.on_idle(quiet);
  ASSERT_TRUE(down);
  EXPECT_EQ(*down, 300u);  // 1000 / 4 = 250, clamped to the minimum
  EXPECT_FALSE(v.on_idle(quiet + 1s));  // not again before the retarget interval
}

// The share vectors' job: height 17548 on mainnet, target field 00000001 (difficulty 256).
ShareJob vector_job(std::uint64_t template_id) {
  const json ex = examples()["share_vectors"];
  const auto job = stratum::decode_job(ex["job"]);
  EXPECT_TRUE(job.ok()) << job.error();
  ShareJob s;
  s.template_id = template_id;
  s.header = job->header;
  s.seed = job->seed;
  s.nonce_start = job->nonce_start;
  s.difficulty = 256;
  s.share_target = job->share_target;
  return s;
}

TEST(ShareCheck, VerdictsOfTheShareVectors) {
  const json cases = examples()["share_vectors"]["cases"];
  const auto hasher = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
  DuplicateFilter dups;
  const ShareJob job = vector_job(1);
  for (const auto& c : cases) {
    const std::uint64_t nonce = c["nonce_u64"].get<std::uint64_t>();
    const ShareCheck r = check_share(job, nonce, std::nullopt, hasher, dups);
    EXPECT_EQ(core::to_hex(r.block_id), c["header_hash"].get<std::string>());
    EXPECT_EQ(core::to_hex(r.result), c["tensority_result"].get<std::string>());
    const std::string verdict = c["verdict"].get<std::string>();
    EXPECT_EQ(r.verdict, verdict.rfind("accept", 0) == 0 ? ShareVerdict::share : ShareVerdict::low_difficulty) << verdict;
    EXPECT_TRUE(r.in_range);
  }
  // The same nonce again, anywhere in the pool: a duplicate, found before any hashing.
  const std::uint64_t b9 = cases[1]["nonce_u64"].get<std::uint64_t>();
  EXPECT_EQ(check_share(job, b9, std::nullopt, hasher, dups).verdict, ShareVerdict::duplicate);
  // The same nonce on the next template is new work.
  EXPECT_EQ(check_share(vector_job(2), b9, std::nullopt, hasher, dups).verdict, ShareVerdict::share);
  dups.forget_before(2);
  EXPECT_EQ(dups.size(), 1u);
}

TEST(ShareCheck, AClaimedResultMustBeTheRecomputedOne) {
  const json c = examples()["share_vectors"]["cases"][2];
  const auto hasher = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
  DuplicateFilter dups;
  auto claimed = *core::hash_from_hex(c["tensority_result"].get<std::string>());
  const std::uint64_t nonce = c["nonce_u64"].get<std::uint64_t>();
  EXPECT_EQ(check_share(vector_job(1), nonce, claimed, hasher, dups).verdict, ShareVerdict::share);
  claimed[0] ^= 1;
  EXPECT_EQ(check_share(vector_job(2), nonce, claimed, hasher, dups).verdict, ShareVerdict::wrong_result);
}

TEST(ShareCheck, TheMainnetGenesisIsABlock) {
  const json g = examples()["header_hash_vectors"][1];
  ShareJob job;
  job.template_id = 1;
  job.header.version = 1;
  job.header.height = 0;
  job.header.timestamp = g["fields"]["timestamp"].get<std::uint64_t>();
  job.header.transactions_merkle_root = *core::hash_from_hex(g["fields"]["transactions_merkle_root"].get<std::string>());
  job.header.transaction_status_hash = *core::hash_from_hex(g["fields"]["transaction_status_hash"].get<std::string>());
  job.header.bits = g["fields"]["bits"].get<std::uint64_t>();
  job.seed = *core::hash_from_hex(g["seed"].get<std::string>());
  job.share_target = core::Target256::from_bits(job.header.bits);
  DuplicateFilter dups;
  const auto hasher = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
  const ShareCheck r = check_share(job, g["fields"]["nonce"].get<std::uint64_t>(), std::nullopt, hasher, dups);
  EXPECT_EQ(core::to_hex(r.block_id), g["header_hash"].get<std::string>());
  EXPECT_EQ(core::to_hex(r.result), g["tensority_result"].get<std::string>());
  EXPECT_EQ(r.verdict, ShareVerdict::block);
  EXPECT_FALSE(r.in_range);  // nonce_start 0: the genesis nonce is far outside a session range
}

}  // namespace
}  // namespace tensority::pool

namespace tensority::pool {
namespace {

ShareJob job_of_template(std::uint64_t template_id) {
  ShareJob j;
  j.template_id = template_id;
  j.difficulty = 1000 + template_id;
  return j;
}

TEST(SessionJobs, KeepsTheLastJobsAndTellsStaleFromUnknown) {
  SessionJobs jobs(3);
  jobs.add("10", job_of_template(1));
  jobs.add("11", job_of_template(1));
  jobs.add("12", job_of_template(2));  // a new block starts at template 2
  auto live = jobs.find("12", 2);
  EXPECT_EQ(live.status, SessionJobs::Status::live);
  ASSERT_NE(live.job, nullptr);
  EXPECT_EQ(live.job->difficulty, 1002u);
  EXPECT_EQ(jobs.find("11", 2).status, SessionJobs::Status::stale);  // job of the replaced block
  EXPECT_EQ(jobs.find("11", 1).status, SessionJobs::Status::live);   // same block: still good
  EXPECT_EQ(jobs.find("99", 1).status, SessionJobs::Status::unknown);
  jobs.add("13", job_of_template(2));  // "10" falls out
  EXPECT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs.find("10", 1).status, SessionJobs::Status::unknown);
  // A repeated push of a job id replaces its entry instead of taking a second slot.
  jobs.add("13", job_of_template(3));
  EXPECT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs.find("13", 3).job->template_id, 3u);
  EXPECT_EQ(jobs.find("11", 1).status, SessionJobs::Status::live);
}

TEST(JobIds, DecimalUniqueAndBelow2To63) {
  JobIds ids;
  const std::string a = ids.next(), b = ids.next();
  EXPECT_NE(a, b);
  EXPECT_EQ(std::stoull(b), std::stoull(a) + 1);
  EXPECT_LT(std::stoull(a), std::uint64_t{1} << 63);
  for (char c : a) EXPECT_TRUE(c >= '0' && c <= '9');
  // Another pool instance (or a restart) starts elsewhere.
  EXPECT_NE(JobIds().next(), a);
}

// --check-device: a device of the device layer gives the share vectors' results, and an
// unknown one is a clear error. OpenCL runs on PoCL in CI; skipped where no device is built in.
TEST(CheckHasher, ADeviceHashesTheShareVectorsLikeTheCpu) {
  const auto cpu = make_check_hasher("cpu", {});
  ASSERT_TRUE(cpu.ok());
  EXPECT_FALSE(cpu->serial);
  const auto missing = make_check_hasher("cuda:99", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("--check-device"), std::string::npos) << missing.error();

  const auto device = make_check_hasher("opencl:0:0", [](const std::string& w) { ADD_FAILURE() << w; });
  if (!device) GTEST_SKIP() << "no OpenCL device: " << device.error();
  EXPECT_TRUE(device->serial);
  const json ex = examples()["share_vectors"];
  const auto job = stratum::decode_job(ex["job"]);
  ASSERT_TRUE(job.ok());
  for (const auto& c : ex["cases"]) {
    core::BlockHeader h = job->header;
    h.nonce = c["nonce_u64"].get<std::uint64_t>();
    const core::Hash id = core::block_id(h);
    EXPECT_EQ(core::to_hex(device->hash(job->seed, id)), c["tensority_result"].get<std::string>());
    EXPECT_EQ(device->hash(job->seed, id), cpu->hash(job->seed, id));
  }
}

}  // namespace
}  // namespace tensority::pool
