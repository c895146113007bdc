#include "tensority/miner/benchmark_session.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace tensority::miner {
namespace {

using Clock = std::chrono::steady_clock;

void fill_random(core::Hash& h, std::mt19937_64& rng) {
  for (auto& b : h) b = static_cast<std::uint8_t>(rng());
}

}  // namespace

core::Target256 target_for_difficulty(double difficulty) {
  const double d = std::max(1.0, std::floor(difficulty));
  if (d <= 1.0) return core::Target256::from_big((core::BigInt(1) << 256) - 1);
  return core::Target256::from_big((core::BigInt(1) << 256) / core::BigInt(static_cast<std::uint64_t>(std::min(d, 1.8e19))));
}

BenchmarkSession::BenchmarkSession(BenchmarkOptions options, kernels::hal::HostHasher host)
    : options_(std::move(options)), host_(std::move(host)), difficulty_(options_.start_difficulty) {}

void BenchmarkSession::publish(bool new_block) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  if (new_block) {
    ++height_;
    fill_random(parent_, rng);
    // A fresh seed per run (the first block): the cache build is part of what is measured.
    if (jobs_ == 0) fill_random(seed_, rng);
  }
  auto w = std::make_shared<Work>();
  w->upstream = "benchmark";
  w->job_id = std::to_string(++jobs_);
  w->header.version = 1;
  w->header.height = height_;
  w->header.previous_block_id = parent_;
  w->header.timestamp = static_cast<std::uint64_t>(std::time(nullptr));
  fill_random(w->header.transactions_merkle_root, rng);
  w->header.transaction_status_hash = w->header.transactions_merkle_root;
  w->header.bits = 0x1d00000000047a1dULL;  // mainnet-like: no synthetic share is ever a block
  w->seed = seed_;
  w->nonce_start = rng() >> 1;  // below 2^63, as a real header's varint63 nonce must be
  w->nonce_span = 0;
  w->share_difficulty = difficulty_;
  w->share_target = target_for_difficulty(difficulty_);
  w->block_target = core::Target256::from_bits(w->header.bits);
  w->new_block = new_block;
  w->received = Clock::now();
  if (events_.on_work) events_.on_work(std::move(w));
}

core::Result<bool> BenchmarkSession::open(const SessionEvents& events) {
  events_ = events;
  publish(true);
  return true;
}

std::string BenchmarkSession::run() {
  auto next_retarget = Clock::now() + options_.retarget_interval;
  auto next_block = Clock::now() + options_.block_interval;
  std::unique_lock lock(mutex_);
  while (!closing_) {
    cv_.wait_until(lock, std::min(next_retarget, next_block), [&] { return closing_; });
    if (closing_) break;
    const auto now = Clock::now();
    bool retarget = false;
    if (now >= next_retarget) {
      next_retarget = now + options_.retarget_interval;
      if (auto rate = options_.hashrate ? options_.hashrate() : std::nullopt; rate && *rate > 0) {
        const double want = std::max(2.0, std::round(*rate * static_cast<double>(options_.share_interval.count())));
        retarget = std::abs(want - difficulty_) > 0.2 * difficulty_;
        if (retarget) difficulty_ = want;
      }
    }
    const bool block = now >= next_block;
    if (block) next_block = now + options_.block_interval;
    if (block || retarget) {
      lock.unlock();
      publish(block);
      lock.lock();
    }
  }
  return "closed";
}

void BenchmarkSession::submit(const Solution& solution, SubmitHandler handler) {
  const auto t0 = Clock::now();
  core::BlockHeader header = solution.work->header;
  header.nonce = solution.nonce;
  const core::Hash id = core::block_id(header);
  const core::Hash result = host_(solution.work->seed, id);
  SubmitReply reply;
  reply.latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  if (id == solution.block_id && result == solution.result && solution.work->share_target.met_by(result)) {
    reply.status = SubmitStatus::accepted;
  } else {
    reply.status = SubmitStatus::rejected;
    reply.message = "the host's result differs or misses the share target";
  }
  handler(reply);
}

void BenchmarkSession::close() {
  std::lock_guard lock(mutex_);
  closing_ = true;
  cv_.notify_all();
}

}  // namespace tensority::miner
