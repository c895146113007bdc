#pragma once
// One live connection to an upstream: a pool's stratum port (StratumSession) or a node's
// mining RPC (NodeSession). The failover logic (Upstreams) opens, runs and replaces them; it
// never needs to know which kind it holds.
#include <functional>
#include <memory>
#include <string>

#include "tensority/core/types.hpp"
#include "tensority/miner/work.hpp"

namespace tensority::miner {

struct SessionEvents {
  // New work, in the order the upstream sent it. Called from the session's own thread;
  // must not block for long.
  std::function<void(std::shared_ptr<const Work>)> on_work;
  LogFn log;
};

class Session {
 public:
  virtual ~Session() = default;
  // The upstream's URL as the user gave it, without secrets.
  virtual std::string describe() const = 0;
  // Connects and logs in (stratum) or fetches the first template (node), with the session's
  // timeouts. On success the first work has already gone to events.on_work. Once only.
  virtual core::Result<bool> open(const SessionEvents& events) = 0;
  // Serves the open session until it ends (connection lost, protocol error, no work for
  // too long, close()) and returns one line saying why. Call once, after a successful open.
  virtual std::string run() = 0;
  // Thread-safe. The handler runs exactly once, from any thread: with the upstream's
  // verdict, or with SubmitStatus::lost when the session ends or the reply times out first.
  virtual void submit(const Solution& solution, SubmitHandler handler) = 0;
  // Thread-safe and idempotent: run() returns soon; pending submits get their handler.
  virtual void close() = 0;
};

using SessionFactory = std::function<std::unique_ptr<Session>()>;

}  // namespace tensority::miner
