#include "tensority/miner/upstreams.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace tensority::miner {

Upstreams::Upstreams(std::vector<UpstreamSpec> specs, FailoverOptions options, WorkFn on_work, LostFn on_lost,
                     LogFn log)
    : specs_(std::move(specs)),
      options_(options),
      on_work_(std::move(on_work)),
      on_lost_(std::move(on_lost)),
      log_(std::move(log)) {
  options_.retries = std::max(options_.retries, 1u);
  for (const auto& s : specs_) {
    UpstreamStatus st;
    st.name = s.name;
    status_.push_back(std::move(st));
  }
}

Upstreams::~Upstreams() { stop(); }

void Upstreams::log(LogLevel level, const std::string& message) const {
  if (log_) log_(level, "net", message);
}

void Upstreams::start() {
  if (specs_.empty() || main_.joinable()) return;
  main_ = std::thread([this] { main_loop(); });
  if (specs_.size() > 1) prober_ = std::thread([this] { probe_loop(); });
}

void Upstreams::stop() {
  std::shared_ptr<Live> live;
  std::shared_ptr<Live> promoted;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    live = live_;
    promoted = promoted_;
    cv_.notify_all();
  }
  if (live) live->session->close();
  if (promoted) promoted->session->close();
  if (main_.joinable()) main_.join();
  if (prober_.joinable()) prober_.join();
}

bool Upstreams::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [&] { return stopping_ || promoted_ != nullptr; });
  return !stopping_;
}

SessionEvents Upstreams::events_for(std::uint64_t serial) {
  SessionEvents e;
  e.log = log_;
  e.on_work = [this, serial](std::shared_ptr<const Work> work) {
    // Work from a session that is not (or not yet) the one in use is never hashed; a
    // probed primary's work waits until it takes over (see probe_loop).
    if (current_serial_.load() == serial) on_work_(std::move(work), serial);
  };
  return e;
}

void Upstreams::main_loop() {
  std::size_t index = 0;
  unsigned streak = 0;  // failures in a row of specs_[index]
  while (true) {
    std::shared_ptr<Live> live;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      if (promoted_) {
        live = std::move(promoted_);
        index = 0;
        streak = 0;
      }
    }
    if (!live) {
      live = std::make_shared<Live>();
      live->index = index;
      live->session = specs_[index].make();
      {
        std::lock_guard lock(mutex_);
        live->serial = next_serial_++;
      }
      current_serial_.store(live->serial);
      log(LogLevel::info, "connecting to " + specs_[index].name);
      auto opened = live->session->open(events_for(live->serial));
      if (!opened) {
        ++streak;
        {
          std::lock_guard lock(mutex_);
          status_[index].failures = streak;
          status_[index].last_error = opened.error();
        }
        const unsigned shift = std::min(streak - 1, 16u);
        const auto pause = std::min(options_.max_pause, options_.retry_pause * (1u << shift));
        std::string next = specs_[index].name;
        if (streak >= options_.retries && specs_.size() > 1) {
          index = (index + 1) % specs_.size();
          streak = 0;
          next = specs_[index].name;
        }
        log(LogLevel::warn, specs_[live->index].name + ": " + opened.error() + "; trying " + next +
                                fmt::format(" in {:.1f} s", static_cast<double>(pause.count()) / 1000.0));
        if (!sleep_for(pause)) return;
        continue;
      }
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        live->session->close();
        return;
      }
      live_ = live;
      status_[live->index].connected = true;
      status_[live->index].failures = 0;
      ++status_[live->index].connects;
      cv_.notify_all();
    }
    streak = 0;
    log(LogLevel::info, "mining on " + specs_[live->index].name);
    const std::string why = live->session->run();
    bool replaced = false;
    {
      std::lock_guard lock(mutex_);
      status_[live->index].connected = false;
      status_[live->index].last_error = why;
      replaced = promoted_ != nullptr;
    }
    if (replaced) {
      log(LogLevel::info, "primary " + specs_[0].name + " is back; leaving " + specs_[live->index].name);
    } else {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) {
          live_.reset();
          return;
        }
      }
      log(LogLevel::warn, specs_[live->index].name + ": " + why);
      if (on_lost_) on_lost_(why);
      // A session that worked and then dropped gets its first retry at once.
      streak = 0;
    }
    // Pending submits of the old session have had their handlers (close/run contract);
    // drop it outside the lock.
    std::shared_ptr<Live> old;
    {
      std::lock_guard lock(mutex_);
      old = std::move(live_);
    }
    old.reset();
  }
}

void Upstreams::probe_loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, options_.probe_interval, [&] { return stopping_; });
      if (stopping_) return;
      // Only a backup in use makes the primary worth probing.
      if (!live_ || live_->index == 0 || promoted_) continue;
    }
    auto probe = std::make_shared<Live>();
    probe->index = 0;
    probe->session = specs_[0].make();
    {
      std::lock_guard lock(mutex_);
      probe->serial = next_serial_++;
    }
    // Until it takes over, the probe's work is kept here, never hashed.
    auto held = std::make_shared<std::pair<std::mutex, std::shared_ptr<const Work>>>();
    SessionEvents e;
    e.log = log_;
    const std::uint64_t serial = probe->serial;
    e.on_work = [this, held, serial](std::shared_ptr<const Work> work) {
      std::lock_guard lock(held->first);
      if (current_serial_.load() == serial) {
        on_work_(std::move(work), serial);
      } else {
        held->second = std::move(work);
      }
    };
    auto opened = probe->session->open(e);
    if (!opened) {
      std::lock_guard lock(mutex_);
      status_[0].last_error = opened.error();
      continue;
    }
    std::shared_ptr<Live> replaced;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        probe->session->close();
        return;
      }
      if (live_ && live_->index == 0) {
        // The main loop got back to the primary on its own meanwhile.
        probe->session->close();
        continue;
      }
      promoted_ = probe;
      replaced = live_;
    }
    {
      std::lock_guard lock(held->first);
      current_serial_.store(serial);
      if (held->second) on_work_(std::move(held->second), serial);
    }
    // The promoted session still needs run(): the main loop picks it up once the backup's
    // run() returns.
    if (replaced) replaced->session->close();
    std::lock_guard lock(mutex_);
    cv_.notify_all();
  }
}

void Upstreams::submit(const Solution& solution, std::uint64_t session_serial, SubmitHandler handler) {
  std::shared_ptr<Live> target;
  {
    std::lock_guard lock(mutex_);
    if (live_ && live_->serial == session_serial) target = live_;
    if (promoted_ && promoted_->serial == session_serial) target = promoted_;
  }
  if (!target) {
    handler(SubmitReply{SubmitStatus::lost, "the upstream that issued this work is gone", {}});
    return;
  }
  target->session->submit(solution, std::move(handler));
}

std::vector<UpstreamStatus> Upstreams::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

int Upstreams::active() const {
  std::lock_guard lock(mutex_);
  return live_ ? static_cast<int>(live_->index) : -1;
}

}  // namespace tensority::miner
