#pragma once
// Follows a node's block template for whoever hands work on (the miner's solo session, the
// pool): the first template, then a new one as soon as the node has a new block, through the
// best channel the node offers: our node's `wait-new-block` long-poll, else bytomd's
// `/websocket-subscribe` push, else polling get-work. A template is also refreshed every
// refresh_interval within a height (new transactions, a new timestamp).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "tensority/noderpc/client.hpp"

namespace tensority::noderpc {

struct WorkWatcherOptions {
  // How long one long-poll waits on the node; also bounds how long close() takes.
  std::chrono::milliseconds long_poll{3'000};
  // Without a push channel: how often get-work is polled for a new block.
  std::chrono::milliseconds poll_interval{500};
  std::chrono::milliseconds refresh_interval{30'000};
  // run() ends after this many failed calls in a row.
  unsigned max_failures = 3;
};

enum class PushChannel { long_poll, websocket, none };

class WorkWatcher {
 public:
  // Called from the thread in open() or run(), in order; new_block: another parent than the
  // previous template's.
  using WorkFn = std::function<void(const Work& work, bool new_block)>;
  using LogFn = std::function<void(bool warning, const std::string& line)>;

  WorkWatcher(const Client& client, WorkWatcherOptions options, WorkFn on_work, LogFn log);

  // The first template (handed to on_work) and the choice of channel. Once.
  core::Result<bool> open();
  // Follows the node until close() or max_failures failed calls in a row; returns why.
  std::string run();
  // Thread-safe.
  void close();
  // Thread-safe: fetch a template now (after a block was submitted); with force, hand it on
  // even when its parent is unchanged.
  void fetch_now(bool force);
  PushChannel channel() const { return channel_; }

 private:
  void publish(const Work& work, bool new_block);

  const Client& client_;
  WorkWatcherOptions options_;
  WorkFn on_work_;
  LogFn log_;
  PushChannel channel_ = PushChannel::none;
  std::unique_ptr<net::WebSocketClient> ws_;
  core::Hash parent_{};
  std::chrono::steady_clock::time_point last_template_{};
  std::atomic<bool> closing_{false};
  std::atomic<bool> wake_{false};
  std::atomic<bool> force_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace tensority::noderpc
