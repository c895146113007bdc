#pragma once
// Failover over an ordered list of upstreams (pools and/or nodes): the first that opens is
// used; a failed one is retried with growing pauses, and after `retries` failures in a row
// the next one in the list is tried (wrapping round). While a backup serves, the primary is
// probed in the background and taken back as soon as it opens again.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tensority/miner/session.hpp"

namespace tensority::miner {

struct UpstreamSpec {
  std::string name;  // the URL as shown to the user (no secrets)
  SessionFactory make;
};

struct FailoverOptions {
  unsigned retries = 3;                            // failures in a row before the next upstream
  std::chrono::milliseconds retry_pause{2'000};    // first pause; doubles per failure
  std::chrono::milliseconds max_pause{30'000};
  std::chrono::milliseconds probe_interval{30'000};  // how often a backup checks the primary
};

struct UpstreamStatus {
  std::string name;
  bool connected = false;
  unsigned failures = 0;   // in a row
  std::uint64_t connects = 0;
  std::string last_error;
};

class Upstreams {
 public:
  // Work from the upstream in use, tagged with the serial of the session that sent it.
  using WorkFn = std::function<void(std::shared_ptr<const Work>, std::uint64_t session_serial)>;
  // The upstream in use is gone (no work may be hashed until the next on_work).
  using LostFn = std::function<void(const std::string& why)>;

  Upstreams(std::vector<UpstreamSpec> specs, FailoverOptions options, WorkFn on_work, LostFn on_lost, LogFn log);
  ~Upstreams();

  void start();
  // Stops connecting; the session in use is closed after its pending submits finish.
  void stop();

  // Submits to the session that issued the work; a solution for work from an earlier
  // session (the upstream changed) gets SubmitStatus::lost at once, never a wrong pool.
  void submit(const Solution& solution, std::uint64_t session_serial, SubmitHandler handler);

  std::vector<UpstreamStatus> status() const;
  // Index into the list of the upstream in use, or -1.
  int active() const;

 private:
  struct Live {
    std::unique_ptr<Session> session;
    std::uint64_t serial = 0;
    std::size_t index = 0;
  };
  void main_loop();
  void probe_loop();
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping
  SessionEvents events_for(std::uint64_t serial);
  void log(LogLevel level, const std::string& message) const;

  std::vector<UpstreamSpec> specs_;
  FailoverOptions options_;
  WorkFn on_work_;
  LostFn on_lost_;
  LogFn log_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<UpstreamStatus> status_;
  std::shared_ptr<Live> live_;        // the session in use
  std::shared_ptr<Live> promoted_;    // a primary the prober opened, waiting to take over
  std::uint64_t next_serial_ = 1;
  std::atomic<std::uint64_t> current_serial_{0};
  std::thread main_;
  std::thread prober_;
};

}  // namespace tensority::miner
