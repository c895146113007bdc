#pragma once
// Runs `tensority pool` as a child process for integration tests: its stratum and API ports
// read from its log, its API read over HTTP, its pool wallet a real key store.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "tensority/net/http.hpp"
#include "tensority/wallet/keystore.hpp"

namespace tensority::test {

// A plain key store with one key; answers its address.
inline std::string make_pool_keystore(const std::filesystem::path& path) {
  auto ks = wallet::Keystore::create(chain::Network::regtest, std::nullopt, wallet::fast_kdf());
  if (!ks) throw std::runtime_error(ks.error());
  auto entry = ks.value().add_key();
  if (!entry) throw std::runtime_error(entry.error());
  if (auto saved = ks->save(path.string()); !saved) throw std::runtime_error(saved.error());
  return entry->address;
}

class PoolProcess {
 public:
  // env: NAME=VALUE pairs set for this child only (the crash-point hook).
  PoolProcess(const std::filesystem::path& log_path, std::vector<std::string> args,
              std::vector<std::pair<std::string, std::string>> env = {}) {
    std::vector<std::string> argv = {TENSORITY_BIN, "pool", "--stratum-bind", "127.0.0.1",
                                     "--api-port",  "0",    "--print-time",   "2"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    process_ = std::make_unique<Process>(argv, log_path.string());
    for (const auto& [k, v] : env) unsetenv(k.c_str());
    auto api = process_->wait_for_log(R"(api +listening on http://127\.0\.0\.1:(\d+))", std::chrono::seconds(60));
    if (!api) throw std::runtime_error("pool did not start: " + process_->own_log());
    auto stratum = process_->wait_for_log(R"(stratum listening on 127\.0\.0\.1:(\d+))", std::chrono::seconds(5));
    if (!stratum) throw std::runtime_error("pool did not listen: " + process_->own_log());
    api_ = *net::parse_url("http://127.0.0.1:" + *api);
    stratum_port_ = static_cast<std::uint16_t>(std::stoi(*stratum));
  }

  Process& process() { return *process_; }
  std::uint16_t stratum_port() const { return stratum_port_; }
  std::string stratum_url() const { return "stratum+tcp://127.0.0.1:" + std::to_string(stratum_port_); }

  nlohmann::json get(const std::string& path) const {
    auto r = net::http_get(api_, path);
    if (!r || r->status != 200) return nlohmann::json();
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  std::string metrics() const {
    auto r = net::http_get(api_, "/metrics");
    return r ? r->body : std::string();
  }
  // Polls GET path until pred holds, the pool exits or the time is up; returns the last answer.
  template <typename Pred>
  nlohmann::json wait_for(const std::string& path, Pred pred, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    nlohmann::json j;
    while (std::chrono::steady_clock::now() < until) {
      j = get(path);
      if (!j.is_discarded() && !j.is_null() && pred(j)) return j;
      if (process_->exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return j;
  }

 private:
  std::unique_ptr<Process> process_;
  net::Url api_;
  std::uint16_t stratum_port_ = 0;
};

}  // namespace tensority::test
