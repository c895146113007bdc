#include "tensority/noderpc/work_watcher.hpp"

namespace tensority::noderpc {

using Clock = std::chrono::steady_clock;

WorkWatcher::WorkWatcher(const Client& client, WorkWatcherOptions options, WorkFn on_work, LogFn log)
    : client_(client), options_(options), on_work_(std::move(on_work)), log_(std::move(log)) {}

void WorkWatcher::publish(const Work& work, bool new_block) {
  parent_ = work.header.previous_block_id;
  last_template_ = Clock::now();
  if (on_work_) on_work_(work, new_block);
}

core::Result<bool> WorkWatcher::open() {
  auto work = client_.get_work();
  if (!work) return core::Result<bool>::failure(work.error());
  const std::string url = to_string(client_.url());
  // Probe the push channels once: ours (wait-new-block answers at once with timeout 0), then
  // bytomd's websocket; a node with neither is polled.
  auto probe = client_.wait_new_block(work->header.previous_block_id, std::chrono::milliseconds(0));
  if (probe) {
    channel_ = PushChannel::long_poll;
  } else if (probe.error() == "unsupported" && (ws_ = client_.subscribe_new_blocks()) != nullptr) {
    channel_ = PushChannel::websocket;
  } else {
    if (probe.error() != "unsupported" && log_) log_(true, url + ": " + probe.error() + "; polling get-work instead");
    channel_ = PushChannel::none;
  }
  if (log_) {
    const std::string how = channel_ == PushChannel::long_poll   ? "new blocks pushed (wait-new-block)"
                            : channel_ == PushChannel::websocket ? "new blocks pushed (websocket-subscribe)"
                                                                 : "polling get-work every " +
                                                                       std::to_string(options_.poll_interval.count()) + " ms";
    log_(false, url + ": height " + std::to_string(work->header.height) + ", " + how);
  }
  publish(*work, true);
  return true;
}

std::string WorkWatcher::run() {
  const std::string url = to_string(client_.url());
  unsigned failures = 0;
  std::string why;
  while (!closing_.load()) {
    bool fetch = false;
    if (wake_.exchange(false)) {
      fetch = true;
    } else if (channel_ == PushChannel::long_poll) {
      auto changed = client_.wait_new_block(parent_, options_.long_poll);
      if (!changed) {
        why = changed.error();
      } else {
        fetch = changed->has_value() || Clock::now() - last_template_ >= options_.refresh_interval;
      }
    } else if (channel_ == PushChannel::websocket) {
      // Short reads so close() is noticed; the read stays pending between them.
      auto message = ws_->read(std::chrono::milliseconds(500));
      if (!message) {
        if (log_) log_(true, url + ": " + message.error() + "; polling get-work instead");
        ws_.reset();
        channel_ = PushChannel::none;
        continue;
      }
      fetch = (message->has_value() && (*message)->find("raw_blocks_connected") != std::string::npos) ||
              Clock::now() - last_template_ >= options_.refresh_interval;
    } else {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, options_.poll_interval, [&] { return closing_.load() || wake_.load(); });
      fetch = true;
    }
    if (closing_.load()) break;
    if (why.empty() && fetch) {
      auto work = client_.get_work();
      if (work) {
        const bool new_block = work->header.previous_block_id != parent_;
        // Polling sees the same template many times; only a new block, a forced fetch or the
        // refresh interval makes new work, so miners are not restarted twice a second.
        if (new_block || force_.exchange(false) || Clock::now() - last_template_ >= options_.refresh_interval) {
          publish(*work, new_block);
        }
      } else {
        why = work.error();
      }
    }
    if (!why.empty()) {
      if (++failures >= options_.max_failures) return "node unreachable: " + why;
      // A node that is down for an hour should not leave 3,600 lines: the 1st, 2nd, 4th, 8th...
      if (log_ && (failures & (failures - 1)) == 0) {
        log_(true, url + ": " + why + " (" + std::to_string(failures) + "/" + std::to_string(options_.max_failures) + ")");
      }
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return closing_.load(); });
      why.clear();
    } else {
      if (failures > 0 && log_) log_(false, url + ": reachable again after " + std::to_string(failures) + " failed calls");
      failures = 0;
    }
  }
  return "closed";
}

void WorkWatcher::close() {
  closing_.store(true);
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

void WorkWatcher::fetch_now(bool force) {
  if (force) force_.store(true);
  wake_.store(true);
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

}  // namespace tensority::noderpc
