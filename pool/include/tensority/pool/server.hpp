#pragma once
// The stratum server: TCP sessions speaking the Bytom B3 dialect (docs/spec/stratum.md 1-2) on
// Boost.Asio. Each I/O thread owns one single-threaded io_context and the sessions accepted
// onto it, so a session's state is only ever touched by its own thread; other threads post
// to it. A new block reaches every session as one pass per thread over a job line rendered
// once per template, with only job_id, nonce and target filled in per session.
//
// What the server decides on its own: login and its checks, job ids and the ring of recent
// jobs, nonce ranges, vardiff, stale and unknown jobs, malformed input, rate limits, bans and
// timeouts. What a share is worth is asked of a ShareHandler (the share check, the store).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/core/types.hpp"
#include "tensority/pool/share_check.hpp"
#include "tensority/pool/vardiff.hpp"

namespace tensority::pool {

// One node template as the pool hands it on.
struct Template {
  std::uint64_t id = 0;              // increasing within a pool process
  std::uint64_t first_of_block = 0;  // id of the first template of this block; jobs of older ones are stale
  core::BlockHeader header;          // nonce 0
  core::Hash seed{};
  std::uint64_t network_difficulty = 1;
};

// A submit that passed the session's own checks, for the share check.
struct Submission {
  ShareJob job;
  std::uint64_t nonce = 0;
  std::optional<core::Hash> claimed_result;
  std::string address;
  std::string worker;
  std::string remote_ip;
  std::uint64_t session_id = 0;
  std::uint64_t network_difficulty = 1;
};

enum class SubmitVerdict { accepted, low_difficulty, duplicate, wrong_result, busy, failed };

struct SubmitResult {
  SubmitVerdict verdict = SubmitVerdict::failed;
  bool block = false;   // accepted and also met the network target
  std::string message;  // for failed / busy
};

// Judges and records shares. `done` may be called from any thread, exactly once, even after
// the server stopped or was destroyed (the verdict is then dropped).
class ShareHandler {
 public:
  virtual ~ShareHandler() = default;
  virtual void handle(Submission submission, std::function<void(SubmitResult)> done) = 0;
};

struct ServerOptions {
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 6666;  // Antpool's and btcpool's Bytom port
  unsigned threads = 2;
  std::uint32_t instance = 0;  // 0..127, the high bits of every nonce range
  VardiffOptions vardiff;
  std::size_t max_line = 10 * 1024;
  std::size_t job_ring = 8;
  std::size_t max_sessions = 100'000;
  std::size_t max_sessions_per_ip = 5'000;
  std::chrono::milliseconds login_timeout{30'000};  // connected but not logged in
  std::chrono::milliseconds idle_timeout{600'000};  // nothing received for this long
  double login_rate = 50;                           // logins per second per IP (token bucket) ...
  double login_burst = 1000;                        // ... with this many at once (a farm reconnecting)
  double submit_rate = 20;                          // submits and getjobs per second per session ...
  double submit_burst = 100;
  std::size_t max_pending_submits = 32;  // per session, waiting for their verdict
  // Ban a login name (and its IP when ban_ip) once it has sent at least ban_min_submits
  // submits of which at least ban_invalid_ratio were invalid; 0 s disables bans.
  std::uint64_t ban_min_submits = 100;
  double ban_invalid_ratio = 0.5;
  std::chrono::milliseconds ban_duration{20 * 60'000};
  bool ban_ip = true;
  // Logins must name a payout address this accepts (empty: any non-empty text).
  std::function<bool(std::string_view address)> valid_address;
};

struct ServerCounters {
  std::uint64_t connections = 0;  // accepted since start
  std::uint64_t sessions = 0;     // open now
  std::uint64_t logged_in = 0;    // of those, logged in
  std::uint64_t logins = 0;
  std::uint64_t submits = 0;
  std::uint64_t accepted = 0;
  std::uint64_t blocks = 0;
  std::uint64_t low_difficulty = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t wrong_result = 0;
  std::uint64_t stale = 0;
  std::uint64_t unknown_job = 0;
  std::uint64_t malformed = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t busy = 0;
  std::uint64_t out_of_range = 0;  // nonces outside the session's range (logged, not refused)
  std::uint64_t bans = 0;
  std::uint64_t refused_connections = 0;  // banned IP, limits
  std::uint64_t jobs_sent = 0;
  std::uint64_t broadcasts = 0;
  double last_broadcast_ms = 0;  // from publish() to the last session's job queued for sending
};

// One open session, for the API.
struct SessionInfo {
  std::uint64_t id = 0;
  std::string address;
  std::string worker;
  std::string remote_ip;
  std::string agent;
  std::uint64_t difficulty = 0;
  std::int64_t connected_ms = 0;  // Unix ms
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t stale = 0;
};

class StratumServer {
 public:
  using LogFn = std::function<void(bool warning, const std::string& line)>;

  StratumServer(ServerOptions options, ShareHandler& handler, LogFn log);
  ~StratumServer();  // stop()
  StratumServer(const StratumServer&) = delete;
  StratumServer& operator=(const StratumServer&) = delete;

  // The work sessions get from their first login on; call before start() and on every change.
  // new_block: every logged-in session gets a job for it at once (older jobs become stale);
  // otherwise sessions get it with their next job.
  void publish(std::shared_ptr<const Template> work, bool new_block);

  // Binds and starts the I/O threads; answers the port (useful with port 0).
  core::Result<std::uint16_t> start();
  // Closes the listener and every session and joins the threads; idempotent.
  void stop();

  std::uint16_t port() const;
  ServerCounters counters() const;
  // Open logged-in sessions (waits for each I/O thread to answer).
  std::vector<SessionInfo> sessions() const;

  struct Impl;  // public so the session class in server.cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

// The job line for one session, byte for byte what stratum::job_notification writes for the
// same job, built from a per-template prefix so a broadcast costs a few string appends per
// session instead of a JSON encoding.
class JobLineRenderer {
 public:
  explicit JobLineRenderer(const Template& work);
  std::string render(std::string_view job_id, std::uint64_t nonce_start, std::string_view target_field) const;

 private:
  std::string head_;    // up to the job_id value
  std::string middle_;  // previous_block_hash and seed, between nonce and target
  std::string tail_;    // from timestamp to the end of the line
};

}  // namespace tensority::pool
