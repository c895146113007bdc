#pragma once
// The pool's HTTP JSON API (versioned by path) and Prometheus /metrics, on net::HttpServer:
//   GET /v1/pool                 pool stats: hashrate windows, sessions, shares, blocks
//   GET /v1/network              the chain being mined
//   GET /v1/blocks?status=&limit=
//   GET /v1/miners               every address with shares in the last day
//   GET /v1/miner?address=A      balance, workers with their hashrate windows, payments
//   GET /v1/payments?address=&limit=
//   GET /metrics
// Read-only; bound to 127.0.0.1 unless configured; a bearer token when one is set.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/net/http.hpp"
#include "tensority/pool/options.hpp"

namespace tensority::pool {

class Pool;

// "a=1&b=x%20y" -> {a: 1, b: "x y"}; later keys win. Malformed escapes are kept as text.
std::map<std::string, std::string, std::less<>> parse_query(std::string_view target);

class PoolApi {
 public:
  PoolApi(Pool& pool, ApiConfig config, std::string version);
  ~PoolApi();
  core::Result<std::uint16_t> start();
  void stop();
  std::uint16_t port() const;

 private:
  Pool& pool_;
  ApiConfig config_;
  std::string version_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace tensority::pool
