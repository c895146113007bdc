#pragma once
// A pool connection speaking the Bytom B3 stratum dialect (docs/spec/stratum.md sections 1-3, 8)
// over TCP or TLS: login, jobs as Work, submits with their verdicts, keepalives, and the
// timeouts that let the failover logic replace a dead or silent pool.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/miner/session.hpp"
#include "tensority/stratum/codec.hpp"

namespace tensority::miner {

struct StratumUrl {
  bool tls = false;  // stratum+ssl
  std::string host;  // name or address; IPv6 without brackets
  std::uint16_t port = 0;
};
// "stratum+tcp://HOST:PORT" or "stratum+ssl://HOST:PORT" (IPv6 as "[::1]"); a port is required,
// and paths, user info and anything after the port are refused with one line.
core::Result<StratumUrl> parse_stratum_url(std::string_view text);

struct StratumOptions {
  std::string url;   // stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT
  std::string user;  // ADDRESS.WORKER, sent as params.login
  std::string pass = "x";
  std::string agent = stratum::default_agent();
  std::chrono::milliseconds connect_timeout{20'000};  // resolve + connect + TLS handshake
  // Any request (login, submit, getjob, keepalived) without a reply this long ends the session:
  // a pool that stops answering is dead even if the socket is open. The late submit is lost.
  std::chrono::milliseconds reply_timeout{20'000};
  // After this long without sending anything, send keepalived; only if the login result lists
  // "keepalive" in its extensions or keepalive is set (btmcpool disconnects on unknown methods).
  std::chrono::milliseconds keepalive_interval{60'000};
  bool keepalive = false;
  // No job (new or repeated) for this long ends the session so failover can act. Blocks come
  // every 150 s on average and many pools push only on a new block, so 180 s (ethminer's
  // value for 13 s blocks) would drop a healthy pool on about 30% of blocks; 15 min on 0.25%.
  std::chrono::milliseconds job_timeout{900'000};
  // A login result without a job: ask with getjob if no job notification came this soon.
  std::chrono::milliseconds getjob_delay{3'000};
  std::size_t max_line = stratum::kDefaultMaxLine;
  // Off by default: pools often use self-signed certificates. When on, the chain is checked
  // against tls_ca_file (PEM) or, when that is empty, the system CAs, and the host name too.
  bool tls_verify = false;
  std::string tls_ca_file;
};

class StratumSession final : public Session {
 public:
  explicit StratumSession(StratumOptions options);
  ~StratumSession() override;  // ends the session: pending submit handlers run with lost
  StratumSession(const StratumSession&) = delete;
  StratumSession& operator=(const StratumSession&) = delete;

  std::string describe() const override;  // the URL
  // Connects and logs in on the calling thread. A refused login fails with the pool's message.
  core::Result<bool> open(const SessionEvents& events) override;
  std::string run() override;
  void submit(const Solution& solution, SubmitHandler handler) override;
  void close() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tensority::miner
