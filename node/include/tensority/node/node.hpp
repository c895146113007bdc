#pragma once
// The running node as one object: the chain on its data directory, the mempool kept in step
// with it, block templates, and the RPC server, wired together and stopped in the right order.
// `tensority node` is this plus flags and signals; tests and later the P2P layer start it the
// same way.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "tensority/chain/chain_params.hpp"
#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"
#include "tensority/node/chain.hpp"

namespace tensority::node {

struct NodeOptions {
  chain::Network network = chain::Network::mainnet;
  std::filesystem::path data_dir;  // created when missing (by the chain store)
  unsigned pow_threads = 0;        // 0: one per core
  std::string rpc_bind = "127.0.0.1";
  std::uint16_t rpc_port = 0;  // 0: any free port (see rpc_port())
  std::string rpc_token;       // empty: no token asked
  std::size_t rpc_max_body = 1 << 20;
  core::wire::Bytes mining_program;  // get-work's payee; empty: get-work refuses
  unsigned mining_threads = 0;       // regtest generate
  std::string version;               // what net-info and GET / report
};

class Node {
 public:
  // One line per block attached or detached; empty: silent.
  using LogFn = std::function<void(const std::string& line)>;

  // Opens the chain and starts the RPC; fails with one line (data directory, port).
  static core::Result<std::unique_ptr<Node>> start(const NodeOptions& options, LogFn log = {});
  ~Node();  // stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  std::uint16_t rpc_port() const;
  Chain& chain();
  // Answers the RPC's waiters, stops the server, closes the chain; idempotent.
  void stop();

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tensority::node
