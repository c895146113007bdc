#pragma once
// Runs `tensority node` in regtest for integration tests: started on a free port (read from
// its log), called over the real HTTP client, killed with the test.
#include <sodium.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/net/http.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/chain/programs.hpp"

namespace tensority::test {

inline const char* tensority_bin() { return TENSORITY_BIN; }

// A deterministic regtest P2WPKH address: the ed25519 key from a seed of n.
inline std::string regtest_address(unsigned n) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium");
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
  seed[0] = static_cast<unsigned char>(n);
  chain::PubKey pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  return *chain::program_to_address(chain::p2wpkh_program_for_key(pk), chain::Network::regtest);
}

inline std::string block_hash_of(const std::string& raw_hex) {
  auto raw = core::from_hex(raw_hex);
  auto h = core::parse_header(*raw);
  return core::to_hex(core::block_id(h->header));
}

// `tensority node check`: the stored chain replayed against its UTXO set.
inline bool check_chain(const std::filesystem::path& dir) {
  Process p({tensority_bin(), "node", "check", "--network", "regtest", "--data-dir", dir.string()},
            (dir / "check.log").string());
  const int rc = p.wait();
  if (rc != 0) ADD_FAILURE() << "node check failed (" << rc << "): " << p.log();
  return rc == 0;
}

class NodeProcess {
 public:
  NodeProcess(const std::filesystem::path& data_dir, std::vector<std::string> extra) {
    std::vector<std::string> argv = {tensority_bin(), "node", "--network", "regtest", "--data-dir", data_dir.string(),
                                     "--rpc-port", "0", "--mining-threads", "2", "--pow-threads", "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(argv, (data_dir / "node.log").string());
    auto port = process_->wait_for_log(R"(rpc listening on http://127\.0\.0\.1:(\d+))", std::chrono::seconds(30));
    if (!port) throw std::runtime_error("node did not start: " + process_->log());
    url_ = *net::parse_url("http://127.0.0.1:" + *port);
  }

  Process& process() { return *process_; }
  const net::Url& url() const { return url_; }

  net::HttpResponse post(const std::string& method, const std::string& body) const {
    net::HttpClientOptions o;
    o.timeout = std::chrono::seconds(120);
    auto r = net::http_post(url_, "/" + method, body, o);
    if (!r) return net::HttpResponse{0, "", r.error()};
    return *r;
  }
  // The data of a successful call; a failed call fails the test.
  nlohmann::json ok(const std::string& method, const nlohmann::json& body) const {
    const net::HttpResponse r = post(method, body.dump());
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || j.is_discarded() || j.value("status", "") != "success") {
      ADD_FAILURE() << method << " " << body.dump() << " -> " << r.status << " " << r.body;
      return nlohmann::json();
    }
    return j["data"];
  }
  // The whole failure envelope of a call expected to fail.
  nlohmann::json fail(const std::string& method, const nlohmann::json& body) const {
    const net::HttpResponse r = post(method, body.dump());
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "fail") {
      ADD_FAILURE() << method << " was expected to fail: " << r.status << " " << r.body;
      return nlohmann::json();
    }
    return j;
  }

 private:
  std::unique_ptr<Process> process_;
  net::Url url_;
};

}  // namespace tensority::test
