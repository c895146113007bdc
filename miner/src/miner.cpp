#include "tensority/miner/miner.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/core.h>

#include "tensority/core/hex.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/device.hpp"

namespace tensority::miner {
namespace {

using Clock = std::chrono::steady_clock;
__extension__ using u128 = unsigned __int128;

std::string short_hex(const core::Hash& h) { return core::to_hex(std::span<const std::uint8_t>(h.data(), 6)); }

Rates rates_of(const HashrateMeter& m) {
  const auto now = Clock::now();
  return Rates{m.rate(std::chrono::seconds(10), now), m.rate(std::chrono::seconds(60), now),
               m.rate(std::chrono::seconds(900), now)};
}

}  // namespace

NonceSlice nonce_slice(const Work& work, std::size_t index, std::size_t count) {
  const u128 span = work.nonce_span == 0 ? (u128{1} << 64) : u128{work.nonce_span};
  const u128 n = std::max<std::size_t>(count, 1);
  const u128 per = span / n;
  NonceSlice s;
  s.start = static_cast<std::uint64_t>(work.nonce_start + per * index);  // wraps at 2^64 by design
  s.length = index + 1 >= count ? span - per * index : per;
  return s;
}

// Work as the devices see it: the upstream's work plus what the miner needs to judge the
// results (which session issued it, which block generation it belongs to).
struct Miner::Held {
  std::shared_ptr<const Work> work;
  kernels::hal::SearchJob job;
  std::uint64_t session_serial = 0;
  std::uint64_t block_generation = 0;
  // Solo work holds one block: once a device solves it, every device stops hashing it and
  // further solutions are dropped (they could only compete with our own block).
  mutable std::atomic<bool> solved{false};
};

struct Miner::Slot {
  std::size_t index = 0;
  std::shared_ptr<kernels::hal::Device> device;
  std::unique_ptr<kernels::hal::CheckedWorker> worker;
  kernels::hal::DeviceInfo info;
  HashrateMeter meter;
  std::thread thread;
  std::atomic<bool> interrupt{false};  // raised on new work: the search in progress returns
  std::atomic<bool> failed{false};
  mutable std::mutex mutex;              // guards state and shares
  std::string state = "waiting for work";
  ShareCounts shares;
};

Miner::Miner(MinerOptions options, std::vector<UpstreamSpec> upstreams, kernels::hal::Registry& registry, LogFn log)
    : options_(std::move(options)), registry_(registry), log_(std::move(log)) {
  started_ = Clock::now();
  // Made here, started by start_mining: stats() may be called (by the API) at any time.
  upstreams_ = std::make_unique<Upstreams>(
      std::move(upstreams), options_.failover,
      [this](std::shared_ptr<const Work> w, std::uint64_t serial) { on_work(std::move(w), serial); },
      [this](const std::string& why) { on_lost(why); }, log_);
}

Miner::~Miner() { stop(); }

void Miner::log(LogLevel level, std::string_view category, const std::string& message) const {
  if (log_) log_(level, category, message);
}

core::Result<bool> Miner::start_devices() {
  using R = core::Result<bool>;
  // Several selectors may name the same device ("cpu,cpu:0"); each device runs once.
  std::vector<std::shared_ptr<kernels::hal::Device>> devices;
  std::set<std::string> seen;
  std::stringstream list(options_.devices.selector);
  std::string one;
  while (std::getline(list, one, ',')) {
    if (one.empty()) continue;
    auto selected = registry_.select(one);
    if (!selected) return R::failure("--device: " + selected.error());
    for (auto& d : *selected) {
      if (seen.insert(d->info().id).second) devices.push_back(d);
    }
  }
  if (devices.empty()) return R::failure("--device '" + options_.devices.selector + "' selects no device");

  const auto host = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());
  std::string why_none;
  for (auto& device : devices) {
    kernels::hal::WorkerOptions wo;
    wo.threads = device->info().backend == "cpu" ? options_.devices.cpu_threads : 0;
    wo.kernel = options_.devices.kernel;
    wo.pin_threads = options_.devices.pin_threads;
    wo.nice = options_.devices.cpu_nice;
    wo.batch = options_.devices.gpu_batch;
    std::unique_ptr<kernels::hal::Worker> worker;
    auto st = device->create_worker(wo, worker);
    std::string report;
    if (st) st = worker->self_test(report);
    if (!st) {
      log(LogLevel::warn, device->info().backend, device->info().id + " (" + device->info().name + ") disabled: " + st.message);
      why_none += (why_none.empty() ? "" : "; ") + device->info().id + ": " + st.message;
      continue;
    }
    auto slot = std::make_unique<Slot>();
    slot->index = slots_.size();
    slot->device = device;
    slot->worker = std::make_unique<kernels::hal::CheckedWorker>(std::move(worker), host);
    slot->info = slot->worker->device();
    log(LogLevel::info, slot->info.backend,
        fmt::format("{} {}: kernel {}, {} {}, self-test {}", slot->info.id, slot->info.name, slot->worker->kernel_name(),
                    slot->worker->parallelism(), slot->info.backend == "cpu" ? "threads" : "nonces per launch", report));
    for (const auto& note : slot->info.notes) log(LogLevel::info, slot->info.backend, slot->info.id + ": " + note);
    slots_.push_back(std::move(slot));
  }
  if (slots_.empty()) return R::failure("no device could run: " + why_none);
  return true;
}

void Miner::start_mining() {
  started_ = Clock::now();
  for (auto& slot : slots_) {
    Slot* s = slot.get();
    s->thread = std::thread([this, s] { device_loop(*s); });
  }
  sampler_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!sampler_quit_) {
      lock.unlock();
      sample();
      lock.lock();
      sampler_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return sampler_quit_; });
    }
  });
  upstreams_->start();
}

void Miner::on_work(std::shared_ptr<const Work> work, std::uint64_t session_serial) {
  auto held = std::make_shared<Held>();
  held->job = kernels::hal::SearchJob::from_header(work->header, work->seed);
  held->job.return_on_find = options_.return_on_find;
  held->session_serial = session_serial;
  std::string seed_note;
  {
    std::lock_guard lock(mutex_);
    const bool new_block = work->new_block || !held_ || held_->session_serial != session_serial;
    if (new_block) ++block_generation_;
    if (held_ && held_->work->seed != work->seed) seed_note = ", new epoch seed " + short_hex(work->seed) + "…";
    held->block_generation = block_generation_;
    held->work = std::move(work);
    held_ = held;
    ++generation_;
    for (auto& s : slots_) s->interrupt.store(true);
    work_cv_.notify_all();
  }
  const Work& w = *held->work;
  if (held->work->share_difficulty > 0) {
    log(LogLevel::info, "net", fmt::format("job {} height {} diff {:.0f}{}{}", w.job_id, w.header.height, w.share_difficulty,
                                           w.new_block ? " (new block)" : "", seed_note));
  } else {
    log(LogLevel::info, "net", fmt::format("work for height {} (bits {:#x}){}", w.header.height, w.header.bits, seed_note));
  }
}

void Miner::on_lost(const std::string& why) {
  // No upstream: nothing found now could be submitted, so the devices wait.
  std::lock_guard lock(mutex_);
  held_.reset();
  ++generation_;
  ++block_generation_;
  for (auto& s : slots_) s->interrupt.store(true);
  work_cv_.notify_all();
  (void)why;
}

void Miner::hint_next_seed(const core::Hash& seed) {
  std::lock_guard lock(mutex_);
  next_seed_ = seed;
  work_cv_.notify_all();
}

void Miner::device_loop(Slot& slot) {
  auto set_state = [&](std::string s) {
    std::lock_guard lock(slot.mutex);
    slot.state = std::move(s);
  };
  std::shared_ptr<const Held> held;
  std::uint64_t seen_generation = 0;
  std::uint64_t cursor = 0;
  u128 remaining = 0;
  std::optional<core::Hash> prepared;
  std::optional<core::Hash> prefetched;
  std::uint64_t chunk = std::max<std::uint64_t>(slot.worker->parallelism(), 1);
  bool told_exhausted = false;

  for (;;) {
    std::optional<core::Hash> want_next;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] {
        return quit_ || generation_ != seen_generation || (held && remaining > 0 && !held->solved.load()) ||
               (next_seed_ && next_seed_ != prefetched);
      });
      if (quit_) break;
      if (generation_ != seen_generation) {
        seen_generation = generation_;
        slot.interrupt.store(false);
        std::shared_ptr<const Held> next = held_;
        NonceSlice slice;
        if (next) slice = nonce_slice(*next->work, slot.index, slots_.size());
        // Work for the same header and range (a pool's difficulty change) continues where
        // this device was; starting over would find the same shares again (duplicates).
        const bool same = next && held && next->job.seed == held->job.seed && next->work->nonce_start == held->work->nonce_start &&
                          next->work->nonce_span == held->work->nonce_span &&
                          std::equal(next->job.id_body.begin(), next->job.id_body.begin() + core::kIdBodyNonceOffset,
                                     held->job.id_body.begin());
        if (!same) {
          cursor = slice.start;
          remaining = slice.length;
          told_exhausted = false;
        }
        held = next;
      }
      if (next_seed_ && next_seed_ != prefetched) want_next = next_seed_;
    }
    if (!held) {
      set_state("waiting for work");
      if (!want_next) continue;
    }
    const core::Hash seed = held ? held->job.seed : *want_next;
    if (!prepared || *prepared != seed) {
      set_state("preparing seed");
      const auto t0 = Clock::now();
      const auto st = slot.worker->prepare(seed);
      if (!st) {
        set_state("failed: prepare: " + st.message);
        slot.failed.store(true);
        log(LogLevel::error, slot.info.backend, slot.info.id + ": cannot prepare the cache: " + st.message + "; device stopped");
        return;
      }
      prepared = seed;
      log(LogLevel::info, slot.info.backend,
          fmt::format("{}: cache for seed {}… ready in {:.0f} ms", slot.info.id, short_hex(seed),
                      std::chrono::duration<double, std::milli>(Clock::now() - t0).count()));
    }
    if (want_next && *want_next != seed) {
      // Build the next epoch's cache now, then switch straight back: GPU backends keep two
      // seeds resident and the CPU store several, so the second prepare is a lookup.
      set_state("preparing next seed");
      const auto t0 = Clock::now();
      const auto st = slot.worker->prepare(*want_next);
      if (st) {
        log(LogLevel::info, slot.info.backend,
            fmt::format("{}: next epoch's cache (seed {}…) ready in {:.0f} ms", slot.info.id, short_hex(*want_next),
                        std::chrono::duration<double, std::milli>(Clock::now() - t0).count()));
      }
      (void)slot.worker->prepare(seed);
      prefetched = want_next;
      if (!held) prepared = seed;
    } else if (want_next) {
      prefetched = want_next;
    }
    if (!held) continue;
    if (held->solved.load()) {
      set_state("waiting for work");
      continue;
    }
    if (remaining == 0) {
      if (!told_exhausted) {
        log(LogLevel::warn, slot.info.backend, slot.info.id + ": searched its whole nonce range of job " + held->work->job_id + "; waiting for new work");
        told_exhausted = true;
      }
      set_state("waiting for work");
      continue;
    }
    set_state("hashing");
    const std::uint64_t count = remaining < chunk ? static_cast<std::uint64_t>(remaining) : chunk;
    kernels::hal::SearchResult result;
    const auto t0 = Clock::now();
    const auto st = slot.worker->search(held->job, cursor, count, held->work->share_target, result, &slot.interrupt);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    cursor += result.hashes_done;
    remaining -= std::min<u128>(remaining, result.hashes_done);
    if (result.hashes_done == count && seconds > 0) {
      // Size the next call to last about scan_time at the rate just seen.
      const double rate = static_cast<double>(result.hashes_done) / seconds;
      const double want = rate * std::chrono::duration<double>(options_.scan_time).count();
      chunk = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(want), std::max<std::uint64_t>(slot.worker->parallelism(), 1),
                                        std::uint64_t{1} << 40);
    }
    for (const auto& f : result.found) on_found(slot, held, f);
    if (!st) {
      set_state("failed: " + st.message);
      slot.failed.store(true);
      log(LogLevel::error, slot.info.backend, slot.info.id + ": search failed: " + st.message + "; device stopped");
      return;
    }
  }
  set_state("stopped");
}

void Miner::on_found(Slot& slot, const std::shared_ptr<const Held>& held, const kernels::hal::Found& found) {
  const bool solo = held->work->share_difficulty == 0;
  {
    std::lock_guard lock(mutex_);
    if (held->block_generation != block_generation_ || (solo && held->solved.exchange(true))) {
      // A new block arrived while this was hashed: the upstream would call it stale.
      std::lock_guard c(counts_mutex_);
      ++totals_.dropped;
      std::lock_guard s(slot.mutex);
      ++slot.shares.dropped;
      return;
    }
    if (solo) {
      for (auto& s : slots_) s->interrupt.store(true);
      work_cv_.notify_all();
    }
  }
  Solution sol;
  sol.work = held->work;
  sol.nonce = found.nonce;
  sol.block_id = found.block_id;
  sol.result = found.result;
  sol.device_id = slot.info.id;
  sol.meets_block_target = held->work->block_target.met_by(found.result);
  in_flight_.fetch_add(1);
  auto handler = [this, &slot, sol](const SubmitReply& reply) {
    const Work& w = *sol.work;
    bool block = false;
    {
      std::lock_guard c(counts_mutex_);
      std::lock_guard s(slot.mutex);
      switch (reply.status) {
        case SubmitStatus::accepted:
          ++totals_.accepted, ++slot.shares.accepted;
          // On a pool too: an accepted result that meets the network target is a block the pool
          // sends on, so the summary does not read "blocks 0" after the pool found several.
          if (sol.meets_block_target) ++totals_.blocks, ++slot.shares.blocks, block = true;
          break;
        case SubmitStatus::rejected: ++totals_.rejected, ++slot.shares.rejected; break;
        case SubmitStatus::stale: ++totals_.stale, ++slot.shares.stale; break;
        case SubmitStatus::lost: ++totals_.lost, ++slot.shares.lost; break;
      }
    }
    const ShareCounts t = [&] {
      std::lock_guard c(counts_mutex_);
      return totals_;
    }();
    const std::string what = w.share_difficulty == 0 ? fmt::format("block {} at height {}", short_hex(sol.block_id), w.header.height)
                                                     : fmt::format("share diff {:.0f} nonce {:016x}", w.share_difficulty, sol.nonce);
    const std::string tally = fmt::format("[A {} R {} S {}]", t.accepted, t.rejected, t.stale);
    if (reply.status == SubmitStatus::accepted) {
      log(LogLevel::info, "share", fmt::format("{} {} accepted ({} ms) {}", sol.device_id, what, reply.latency.count(), tally));
    } else {
      log(LogLevel::warn, "share", fmt::format("{} {} {}: {} {}", sol.device_id, what, to_string(reply.status), reply.message, tally));
    }
    // A block this miner found at the last height of an epoch is the next epoch's seed:
    // prepare it now instead of when the node's next template arrives.
    if (block && w.header.height % 256 == 0) hint_next_seed(sol.block_id);
    if (in_flight_.fetch_sub(1) == 1) {
      std::lock_guard lock(mutex_);
      in_flight_cv_.notify_all();
    }
  };
  if (sol.meets_block_target && !solo) {
    log(LogLevel::info, "share", fmt::format("{} found a share that meets the network target (height {})", slot.info.id,
                                             held->work->header.height));
  }
  upstreams_->submit(sol, held->session_serial, handler);
}

void Miner::stop() {
  {
    std::lock_guard lock(mutex_);
    if (quit_) return;
    quit_ = true;
    sampler_quit_ = true;
    for (auto& s : slots_) s->interrupt.store(true);
    work_cv_.notify_all();
    sampler_cv_.notify_all();
  }
  for (auto& s : slots_) {
    if (s->thread.joinable()) s->thread.join();
  }
  if (sampler_.joinable()) sampler_.join();
  sample();
  {
    // Submissions already sent get their verdict before the connection closes.
    std::unique_lock lock(mutex_);
    if (in_flight_.load() > 0) log(LogLevel::info, "miner", fmt::format("waiting for {} submission(s) in flight", in_flight_.load()));
    in_flight_cv_.wait_for(lock, options_.submit_grace, [&] { return in_flight_.load() == 0; });
  }
  upstreams_->stop();
}

void Miner::sample() {
  const auto now = Clock::now();
  std::uint64_t total = 0;
  for (auto& s : slots_) {
    const std::uint64_t h = s->worker->hashes_total();
    s->meter.sample(h, now);
    total += h;
  }
  total_meter_.sample(total, now);
}

std::size_t Miner::running_devices() const {
  return static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s->failed.load(); }));
}

MinerStats Miner::stats() const {
  MinerStats out;
  out.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  out.rates = rates_of(total_meter_);
  {
    std::lock_guard c(counts_mutex_);
    out.shares = totals_;
  }
  for (const auto& s : slots_) {
    DeviceStats d;
    d.id = s->info.id;
    d.name = s->info.name;
    d.backend = s->info.backend;
    d.kernel = s->worker->kernel_name();
    d.parallelism = s->worker->parallelism();
    d.rates = rates_of(s->meter);
    d.hashes = s->worker->hashes_total();  // live; the meter only samples once a second
    out.hashes += d.hashes;
    {
      std::lock_guard lock(s->mutex);
      d.state = s->state;
      d.shares = s->shares;
    }
    d.shares.hardware_errors = s->worker->counters().hardware_errors.load();
    out.shares.hardware_errors += d.shares.hardware_errors;
    out.devices.push_back(std::move(d));
  }
  {
    std::lock_guard lock(mutex_);
    if (held_) {
      out.height = held_->work->header.height;
      out.job_id = held_->work->job_id;
      out.share_difficulty = held_->work->share_difficulty;
    }
  }
  out.upstreams = upstreams_->status();
  const int active = upstreams_->active();
  if (active >= 0) {
    out.upstream = out.upstreams[static_cast<std::size_t>(active)].name;
    out.connected = true;
  }
  return out;
}

}  // namespace tensority::miner
