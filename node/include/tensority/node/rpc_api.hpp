#pragma once
// The node's HTTP JSON RPC (docs/rpc.md): bytomd 1.x mining endpoints with the same request
// and response shapes, chain queries, transaction submission, a long-poll push channel for
// new blocks and regtest's `generate`. Requests are parsed defensively: malformed JSON,
// hex or fields get a JSON error and change nothing.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tensority/net/http.hpp"
#include "tensority/node/block_template.hpp"
#include "tensority/node/chain.hpp"
#include "tensority/node/mempool.hpp"

namespace tensority::node {

struct RpcContext {
  Chain* chain = nullptr;
  Mempool* mempool = nullptr;
  TemplateManager* templates = nullptr;
  core::wire::Bytes mining_program;  // generate's default payee; empty: generate needs an address
  unsigned mining_threads = 1;
  std::string version;
};

class RpcApi {
 public:
  explicit RpcApi(RpcContext context);
  ~RpcApi();  // stops the long-poll thread and answers its waiters
  RpcApi(const RpcApi&) = delete;
  RpcApi& operator=(const RpcApi&) = delete;

  // Every method served, in the table's order (docs/rpc.md documents exactly these).
  static std::vector<std::string> methods();
  // Registers /<method> for every method (any HTTP method, as bytomd), plus GET / (a
  // one-line JSON banner).
  void install(net::HttpServer& server);
  // bytomd's answer to a path it does not serve (HTTP 500, BTM000, detail "not Found"): the
  // node's server gives it for every unknown path (HttpServerOptions::not_found).
  static net::HttpResponse unknown_path();
  // One call without HTTP: what the server answers for this method and body. For tests,
  // fuzzing and the CLI. wait-new-block is answered at once here.
  net::HttpResponse call(std::string_view method, std::string_view body);
  // Cancels in-flight generate calls and long-polls (shutdown).
  void stop();

 private:
  struct Waiter {
    core::Hash after{};
    std::chrono::steady_clock::time_point deadline;
    net::Respond respond;
  };
  void waiter_loop();
  net::HttpResponse tip_response() const;

  RpcContext ctx_;
  std::atomic<bool> stopping_{false};
  std::mutex waiters_mutex_;
  std::vector<Waiter> waiters_;
  std::thread waiter_thread_;
};

}  // namespace tensority::node
