#pragma once
// Runs `tensority mine` as a child process for integration tests and reads its HTTP API.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "tensority/net/http.hpp"

namespace tensority::test {

class MinerProcess {
 public:
  MinerProcess(const std::filesystem::path& log_path, std::vector<std::string> args) {
    std::vector<std::string> argv = {TENSORITY_BIN, "mine", "--api-port", "0", "--print-time", "1", "--no-pin"};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<Process>(argv, log_path.string());
    auto port = process_->wait_for_log(R"(listening on http://127\.0\.0\.1:(\d+)/v1/summary)", std::chrono::seconds(60));
    if (!port) throw std::runtime_error("miner did not start: " + process_->log());
    api_ = *net::parse_url("http://127.0.0.1:" + *port);
  }
  Process& process() { return *process_; }
  nlohmann::json get(const std::string& path) const {
    auto r = net::http_get(api_, path);
    if (!r || r->status != 200) return nlohmann::json();
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  std::string metrics() const {
    auto r = net::http_get(api_, "/metrics");
    return r ? r->body : std::string();
  }
  // Polls /v1/summary until pred holds or the time is up; returns the last summary.
  template <typename Pred>
  nlohmann::json wait_summary(Pred pred, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    nlohmann::json s;
    while (std::chrono::steady_clock::now() < until) {
      s = get("/v1/summary");
      if (s.is_object() && pred(s)) return s;
      if (process_->exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return s;
  }

 private:
  std::unique_ptr<Process> process_;
  net::Url api_;
};

// One CPU thread on `tensority pool` at url as user, reconnecting quickly across pool
// restarts. At nice 19, as if on a host of its own: the node and pool under test share these
// cores, and the pool's share checks (nice 10) would otherwise wait behind the hashing for
// seconds on a loaded 2-core CI machine, with the miners on old work all that time.
inline std::unique_ptr<MinerProcess> start_pool_miner(const std::filesystem::path& log, const std::string& url,
                                                      const std::string& user) {
  return std::make_unique<MinerProcess>(
      log, std::vector<std::string>{"--pool", url, "--user", user, "--device", "cpu", "--threads", "1", "--retries",
                                    "1000", "--retry-pause", "0.2", "--max-pause", "1", "--nice", "19"});
}

// Stops a miner with SIGINT (it waits for the verdicts in flight) and answers the accepted
// count of its last summary line.
inline std::uint64_t stop_miner(MinerProcess& m) {
  const nlohmann::json s = m.get("/v1/summary");
  const std::uint64_t before = s.is_object() ? s["shares"]["accepted"].get<std::uint64_t>() : 0;
  m.process().signal(SIGINT);
  EXPECT_EQ(m.process().wait(), 0);
  const std::string log = m.process().log();
  const auto at = log.rfind("summary: accepted ");
  return at == std::string::npos ? before : std::stoull(log.substr(at + 18));
}

}  // namespace tensority::test
