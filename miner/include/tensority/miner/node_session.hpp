#pragma once
// Solo mining against a node's mining RPC (docs/spec/node.md, docs/spec/stratum.md section 4): get-work for
// the template, submit-work for a found block. New blocks arrive through the node's
// `wait-new-block` long-poll where it answers (our node); a bytomd 1.x node has no such call,
// so the session subscribes to bytomd's `/websocket-subscribe` new-block notifications
// instead, and where neither answers it polls get-work and watches the previous block hash.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "tensority/miner/session.hpp"
#include "tensority/noderpc/client.hpp"
#include "tensority/noderpc/work_watcher.hpp"

namespace tensority::miner {

struct NodeSessionOptions {
  std::string url;           // http://HOST:PORT[/path]
  std::string bearer_token;  // our node's --rpc-token; empty for none
  std::chrono::milliseconds request_timeout{10'000};
  // How long one long-poll waits on the node; also bounds how long close() takes.
  std::chrono::milliseconds long_poll{3'000};
  // Without the push channel: how often get-work is polled for a new block.
  std::chrono::milliseconds poll_interval{500};
  // A fresh template (new transactions, new timestamp) at least this often within a height.
  std::chrono::milliseconds refresh_interval{30'000};
  // The session ends after this many failed calls in a row, so failover can act.
  unsigned max_failures = 3;
};

class NodeSession final : public Session {
 public:
  explicit NodeSession(NodeSessionOptions options);
  ~NodeSession() override;

  std::string describe() const override;
  core::Result<bool> open(const SessionEvents& events) override;
  std::string run() override;
  void submit(const Solution& solution, SubmitHandler handler) override;
  void close() override;

  // How new blocks are learnt (known after a successful open()).
  noderpc::PushChannel push_channel() const { return watcher_ ? watcher_->channel() : noderpc::PushChannel::none; }

 private:
  struct Pending {
    Solution solution;
    SubmitHandler handler;
  };
  void publish(const noderpc::Work& work, bool new_block);
  void submit_loop();
  void log(LogLevel level, const std::string& message) const;

  NodeSessionOptions options_;
  std::unique_ptr<noderpc::Client> client_;  // null when the URL did not parse
  std::unique_ptr<noderpc::WorkWatcher> watcher_;  // made by open()
  std::string url_error_;
  SessionEvents events_;
  std::uint64_t job_counter_ = 0;

  std::atomic<bool> closing_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool submitter_done_ = false;
  std::thread submitter_;
};

}  // namespace tensority::miner
