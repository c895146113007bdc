#pragma once
// The miner's read-only HTTP API: GET /v1/summary and /v1/devices (JSON) and /metrics
// (Prometheus text format), bound to 127.0.0.1 unless told otherwise.
#include <cstdint>
#include <memory>
#include <string>

#include "tensority/miner/miner.hpp"
#include "tensority/net/http.hpp"

namespace tensority::miner {

struct ApiOptions {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  std::string bearer_token;  // when set, every request must carry it
  std::string version;
};

std::string summary_json(const MinerStats& stats, const std::string& version);
std::string devices_json(const MinerStats& stats);
std::string prometheus_text(const MinerStats& stats);

class MinerApi {
 public:
  MinerApi(const Miner& miner, ApiOptions options);
  ~MinerApi();
  core::Result<std::uint16_t> start();
  void stop();

 private:
  const Miner& miner_;
  ApiOptions options_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace tensority::miner
