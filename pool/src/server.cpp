#include "tensority/pool/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "tensority/pool/nonce_space.hpp"
#include "tensority/pool/session_jobs.hpp"
#include "tensority/stratum/codec.hpp"

namespace tensority::pool {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxQueuedBytes = 4u << 20;  // a reader this far behind is dropped
constexpr unsigned kMaxMalformedLines = 10;
constexpr std::size_t kMaxLoginChars = 256;
constexpr std::size_t kMaxWorkerChars = 64;
constexpr std::size_t kTargetCacheSize = 4096;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class TokenBucket {
 public:
  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}
  bool take(Clock::time_point now) {
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }
  bool full(Clock::time_point now) {
    refill(now);
    return tokens_ >= burst_;
  }

 private:
  void refill(Clock::time_point now) {
    const double dt = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    if (dt > 0) tokens_ = std::min(burst_, tokens_ + dt * rate_);
  }
  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

bool worker_name_ok(std::string_view w) {
  if (w.empty() || w.size() > kMaxWorkerChars) return false;
  return std::all_of(w.begin(), w.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

bool address_text_ok(std::string_view a) {
  if (a.empty() || a.size() > 128) return false;
  return std::all_of(a.begin(), a.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

}  // namespace

JobLineRenderer::JobLineRenderer(const Template& work) {
  const auto& h = work.header;
  head_ = R"({"jsonrpc":"2.0","method":"job","params":{"bits":")" + stratum::encode_u64_le(h.bits) + R"(","height":")" +
          stratum::encode_u64_le(h.height) + R"(","job_id":")";
  middle_ = R"(","previous_block_hash":")" + stratum::encode_hash(h.previous_block_id) + R"(","seed":")" +
            stratum::encode_hash(work.seed) + R"(","target":")";
  tail_ = R"(","timestamp":")" + stratum::encode_u64_le(h.timestamp) + R"(","transaction_status_hash":")" +
          stratum::encode_hash(h.transaction_status_hash) + R"(","transactions_merkle_root":")" +
          stratum::encode_hash(h.transactions_merkle_root) + R"(","version":")" + stratum::encode_u64_le(h.version) +
          "\"}}\n";
}

std::string JobLineRenderer::render(std::string_view job_id, std::uint64_t nonce_start,
                                    std::string_view target_field) const {
  std::string line;
  line.reserve(head_.size() + middle_.size() + tail_.size() + job_id.size() + target_field.size() + 32);
  line += head_;
  line += job_id;
  line += R"(","nonce":")";
  line += stratum::encode_u64_le(nonce_start);
  line += middle_;
  line += target_field;
  line += tail_;
  return line;
}

class Session;

// One I/O thread: its io_context and the sessions that live on it.
struct Worker {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  asio::steady_timer sweep{io};
  std::thread thread;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions;
  JobIds job_ids;
  std::shared_ptr<const Template> rendered_for;
  std::unique_ptr<JobLineRenderer> renderer;
  struct TargetEntry {
    std::string field;
    core::Target256 target;
  };
  std::unordered_map<std::uint64_t, TargetEntry> targets;  // by difficulty

  const TargetEntry& target_for(std::uint64_t difficulty) {
    auto it = targets.find(difficulty);
    if (it != targets.end()) return it->second;
    if (targets.size() >= kTargetCacheSize) targets.clear();
    std::string field = stratum::target_field_for_difficulty(difficulty);
    auto decoded = stratum::decode_target_field(field);
    TargetEntry e{field, decoded ? *decoded : core::Target256{}};
    return targets.emplace(difficulty, std::move(e)).first->second;
  }
  const JobLineRenderer& renderer_for(const std::shared_ptr<const Template>& t) {
    if (rendered_for != t) {
      renderer = std::make_unique<JobLineRenderer>(*t);
      rendered_for = t;
    }
    return *renderer;
  }
};

struct StratumServer::Impl {
  ServerOptions options;
  ShareHandler& handler;
  LogFn log;

  // The handler answers from its own threads, which may outlive the server (the pool stops
  // the server before its checkers). stop() shuts this gate, so a late verdict is dropped
  // instead of landing in an io_context that is gone.
  struct VerdictGate {
    std::mutex mutex;
    bool open = true;
  };
  std::shared_ptr<VerdictGate> verdicts = std::make_shared<VerdictGate>();

  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::size_t next_worker = 0;
  std::atomic<bool> started{false}, stopped{false};
  std::uint16_t bound_port = 0;

  mutable std::mutex work_mutex;
  std::shared_ptr<const Template> work;

  // Bans, per-IP state and session ids, shared by every thread.
  std::mutex shared_mutex;
  std::unordered_map<std::string, Clock::time_point> banned_logins, banned_ips;
  struct IpState {
    std::size_t sessions = 0;
    TokenBucket logins;
  };
  std::unordered_map<std::string, IpState> ips;
  std::unordered_set<std::uint64_t> session_ids;
  std::uint64_t session_cursor = 0;

  struct Counters {
    std::atomic<std::uint64_t> connections{0}, sessions{0}, logged_in{0}, logins{0}, submits{0}, accepted{0}, blocks{0},
        low_difficulty{0}, duplicate{0}, wrong_result{0}, stale{0}, unknown_job{0}, malformed{0}, rate_limited{0},
        busy{0}, out_of_range{0}, bans{0}, refused{0}, jobs_sent{0}, broadcasts{0};
    std::atomic<double> last_broadcast_ms{0};
  } counters;

  Impl(ServerOptions o, ShareHandler& h, LogFn l) : options(std::move(o)), handler(h), log(std::move(l)) {}

  std::shared_ptr<const Template> current() const {
    std::lock_guard lock(work_mutex);
    return work;
  }

  bool is_banned(std::unordered_map<std::string, Clock::time_point>& list, const std::string& key,
                 Clock::time_point now) {
    auto it = list.find(key);
    if (it == list.end()) return false;
    if (it->second > now) return true;
    list.erase(it);
    return false;
  }

  // A misbehaving login is banned alone: a farm behind NAT shares one IP, and its other
  // miners have done nothing wrong.
  void ban_login(const std::string& login, const std::string& why) {
    if (options.ban_duration.count() <= 0) return;
    {
      std::lock_guard lock(shared_mutex);
      banned_logins[login] = Clock::now() + options.ban_duration;
    }
    ++counters.bans;
    log(true, "banned " + login + " for " + std::to_string(options.ban_duration.count() / 1000) + " s: " + why);
  }

  // An IP is banned only for floods of connections or logins (with ban_ip). The caller holds
  // shared_mutex.
  void ban_ip_locked(const std::string& ip, const std::string& why) {
    if (!options.ban_ip || options.ban_duration.count() <= 0 || banned_ips.contains(ip)) return;
    banned_ips[ip] = Clock::now() + options.ban_duration;
    ++counters.bans;
    log(true, "banned IP " + ip + " for " + std::to_string(options.ban_duration.count() / 1000) + " s: " + why);
  }

  void accept_next();
  void on_accept(Worker& w, tcp::socket socket);
  void schedule_sweep(Worker& w);
  void release(std::uint64_t session_id, const std::string& ip);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(StratumServer::Impl& srv, Worker& w, tcp::socket socket, std::string ip, std::uint64_t id,
          std::uint64_t nonce_start)
      : srv_(srv),
        w_(w),
        socket_(std::move(socket)),
        ip_(std::move(ip)),
        id_(id),
        nonce_start_(nonce_start),
        vardiff_(srv.options.vardiff, Clock::now()),
        jobs_(srv.options.job_ring),
        connected_(Clock::now()),
        last_rx_(connected_),
        connected_ms_(unix_ms()),
        submit_bucket_(srv.options.submit_rate, srv.options.submit_burst, connected_) {}

  std::uint64_t id() const { return id_; }
  bool logged_in() const { return logged_in_; }

  void start() {
    // Replies and jobs are written straight from send() when nothing is queued (see there).
    error_code ec;
    socket_.non_blocking(true, ec);
    read();
  }

  // Closes the socket and leaves the worker's table (deferred, so a loop over the table
  // that closes sessions stays valid).
  void close(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    if (!why.empty() && logged_in_) srv_.log(false, "session " + std::to_string(id_) + " " + login_ + ": " + why);
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (logged_in_) --srv_.counters.logged_in;
    --srv_.counters.sessions;
    srv_.release(id_, ip_);
    asio::post(w_.io, [self = shared_from_this()] { self->w_.sessions.erase(self->id_); });
  }

  // A job for the current template at the current difficulty, sent as a push.
  void push_job() { push_job(srv_.current()); }
  void push_job(const std::shared_ptr<const Template>& t) {
    if (closed_ || !logged_in_ || !t) return;
    const std::uint64_t d = job_difficulty(*t);
    const auto& target = w_.target_for(d);
    std::string job_id = w_.job_ids.next();
    std::string line = w_.renderer_for(t).render(job_id, nonce_start_, target.field);
    remember(job_id, *t, d, target.target);
    ++srv_.counters.jobs_sent;
    send(std::move(line));
  }

  // Called once a second by the worker's sweep: timeouts and vardiff for quiet sessions.
  void sweep(Clock::time_point now) {
    if (closed_) return;
    if (!logged_in_ && now - connected_ > srv_.options.login_timeout) return close("no login in time");
    if (now - last_rx_ > srv_.options.idle_timeout) return close("idle timeout");
    if (logged_in_ && vardiff_.on_idle(now)) push_job();
  }

  // Never harder than the network: the miner only sends hashes that meet the share target, so
  // a block between the two targets would never reach the pool (regtest, a young testnet).
  std::uint64_t job_difficulty(const Template& t) const {
    return std::max<std::uint64_t>(2, std::min(vardiff_.difficulty(), t.network_difficulty));
  }

  SessionInfo info() const {
    SessionInfo i;
    i.id = id_;
    i.address = address_;
    i.worker = worker_;
    i.remote_ip = ip_;
    i.agent = agent_;
    i.difficulty = vardiff_.difficulty();
    i.connected_ms = connected_ms_;
    i.accepted = accepted_;
    i.rejected = rejected_;
    i.stale = stale_;
    return i;
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (self->closed_) return;
      if (ec) return self->close(ec == asio::error::eof ? "" : "read: " + ec.message());
      self->last_rx_ = Clock::now();
      self->take(std::string_view(self->buffer_.data(), n));
      if (!self->closed_) self->read();
    });
  }

  void take(std::string_view bytes) {
    while (!bytes.empty() && !closed_) {
      const auto nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        inbox_.append(bytes);
        if (inbox_.size() > srv_.options.max_line) {
          ++srv_.counters.malformed;
          return close("line longer than " + std::to_string(srv_.options.max_line) + " bytes");
        }
        return;
      }
      if (inbox_.size() + nl > srv_.options.max_line) {
        ++srv_.counters.malformed;
        return close("line longer than " + std::to_string(srv_.options.max_line) + " bytes");
      }
      inbox_.append(bytes.substr(0, nl));
      bytes.remove_prefix(nl + 1);
      std::string line = std::move(inbox_);
      inbox_.clear();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      handle(line);
    }
  }

  void handle(const std::string& line) {
    auto parsed = stratum::parse_line(line, srv_.options.max_line);
    if (!parsed || parsed->kind != stratum::Message::Kind::request) {
      ++srv_.counters.malformed;
      if (++malformed_ >= kMaxMalformedLines) return close("too many malformed lines");
      const std::string why = parsed ? "not a request (no id or no method)" : parsed.error();
      send(stratum::error_reply(parsed ? parsed->reply_id : stratum::ReplyId(), stratum::kErrUnknown,
                                std::string(stratum::error_message(stratum::kErrUnknown)) + ": " + why));
      return;
    }
    const auto& m = *parsed;
    if (m.method == "login") return on_login(m);
    if (m.method == "submit") return on_submit(m);
    if (m.method == "getjob" || m.method == "getwork") return on_getjob(m);
    if (m.method == "keepalived") return send(stratum::keepalived_reply(m.reply_id));
    send(stratum::error_reply(m.reply_id, stratum::kErrUnsupportedMethod,
                              std::string(stratum::error_message(stratum::kErrUnsupportedMethod))));
  }

  void refuse(const stratum::ReplyId& id, int code, std::string_view detail = {}) {
    std::string message(stratum::error_message(code));
    if (!detail.empty()) message += std::string(": ") + std::string(detail);
    send(stratum::error_reply(id, code, message));
  }

  void on_login(const stratum::Message& m) {
    if (logged_in_) return refuse(m.reply_id, stratum::kErrMultipleAuthorization);
    auto params = stratum::decode_login_params(m.params);
    if (!params) return refuse(m.reply_id, stratum::kErrInvalidAuthorizeFormat, params.error());
    const std::string& login = params->login;
    if (login.size() > kMaxLoginChars) return refuse(m.reply_id, stratum::kErrInvalidAuthorizeFormat, "login too long");
    const auto dot = login.find('.');
    std::string address = login.substr(0, dot);
    std::string worker = dot == std::string::npos ? "0" : login.substr(dot + 1);
    if (!address_text_ok(address) || (srv_.options.valid_address && !srv_.options.valid_address(address))) {
      return refuse(
          m.reply_id, stratum::kErrInvalidAuthorizeFormat,
          "'" + address.substr(0, 64) + "' is not a payout address on this pool's network (login ADDRESS.WORKER)");
    }
    if (!worker_name_ok(worker)) {
      return refuse(m.reply_id, stratum::kErrInvalidAuthorizeFormat, "worker names are 1-64 of A-Z a-z 0-9 _ - .");
    }
    const auto now = Clock::now();
    bool banned = false, too_many = false;
    {
      std::lock_guard lock(srv_.shared_mutex);
      banned = srv_.is_banned(srv_.banned_logins, login, now);
      auto it = srv_.ips.find(ip_);
      too_many = !banned && it != srv_.ips.end() && !it->second.logins.take(now);
      if (too_many) srv_.ban_ip_locked(ip_, "login flood (more than the per-IP login rate allows)");
    }
    if (banned) {
      refuse(m.reply_id, stratum::kErrUnauthorizedWorker, "banned for a high share of invalid submits");
      return close_after_send("banned login");
    }
    if (too_many) {
      ++srv_.counters.rate_limited;
      refuse(m.reply_id, stratum::kErrGeneric, "too many logins from " + ip_ + ", retry later");
      return close_after_send("");
    }
    auto t = srv_.current();
    if (!t) return refuse(m.reply_id, stratum::kErrUnknown, "the pool has no work yet, retry later");
    logged_in_ = true;
    login_ = login;
    address_ = std::move(address);
    worker_ = std::move(worker);
    agent_ = params->agent.substr(0, 128);
    ++srv_.counters.logins;
    ++srv_.counters.logged_in;
    const std::uint64_t d = job_difficulty(*t);
    stratum::Job job = stratum::make_job(w_.job_ids.next(), t->header, t->seed, nonce_start_, d);
    remember(job.job_id, *t, d, job.share_target);
    ++srv_.counters.jobs_sent;
    send(stratum::login_reply(m.reply_id, login_, job, {"keepalive"}));
  }

  void on_getjob(const stratum::Message& m) {
    if (!logged_in_) return refuse(m.reply_id, stratum::kErrUnauthorizedWorker, "login first");
    // A job costs the pool a render and a slot in the ring: getjob draws on the submit bucket,
    // so a client cannot keep an I/O thread busy with job requests.
    if (!submit_bucket_.take(Clock::now())) {
      ++srv_.counters.rate_limited;
      return refuse(m.reply_id, stratum::kErrGeneric, "request rate limit exceeded (getjob counts with submits)");
    }
    auto t = srv_.current();
    const std::uint64_t d = job_difficulty(*t);
    stratum::Job job = stratum::make_job(w_.job_ids.next(), t->header, t->seed, nonce_start_, d);
    remember(job.job_id, *t, d, job.share_target);
    ++srv_.counters.jobs_sent;
    send(stratum::getjob_reply(m.reply_id, job));
  }

  void on_submit(const stratum::Message& m) {
    ++srv_.counters.submits;
    if (!logged_in_) return refuse(m.reply_id, stratum::kErrUnauthorizedWorker, "login first");
    ++submits_;
    auto params = stratum::decode_submit_params(m.params);
    if (!params) {
      ++srv_.counters.malformed;
      count_invalid();
      return refuse(m.reply_id, stratum::kErrInvalidSubmitFormat, params.error());
    }
    // Refusals count toward the ban like bad shares: padding a stream of junk with cheap
    // refusals must not keep a session under the invalid share that bans it.
    const auto now = Clock::now();
    if (!submit_bucket_.take(now)) {
      ++srv_.counters.rate_limited;
      refuse(m.reply_id, stratum::kErrGeneric, "submit rate limit exceeded");
      return count_invalid();
    }
    if (pending_ >= srv_.options.max_pending_submits) {  // the pool is behind, not the miner's fault
      ++srv_.counters.rate_limited;
      return refuse(m.reply_id, stratum::kErrGeneric, "too many submits waiting for their check");
    }
    if (params->id != login_) {
      refuse(m.reply_id, stratum::kErrUnauthorizedWorker, "id is not this session's login");
      return count_invalid();
    }
    auto t = srv_.current();
    const auto found = jobs_.find(params->job_id, t ? t->first_of_block : 0);
    if (found.status == SessionJobs::Status::unknown) {
      ++srv_.counters.unknown_job;
      ++rejected_;
      return refuse(m.reply_id, stratum::kErrJobNotFound, "unknown job_id");
    }
    if (found.status == SessionJobs::Status::stale) {
      ++srv_.counters.stale;
      ++stale_;
      return send(stratum::error_reply(m.reply_id, stratum::kErrJobNotFound, "Block expired"));
    }
    Submission s;
    s.job = *found.job;
    s.nonce = params->nonce;
    // An 8-digit nonce (the Antpool doc's example) is the miner's low 32 bits: the range's
    // high bits are the session's. 16 digits are the nonce the miner hashed, whatever its value.
    if (params->nonce_low32_only && s.job.nonce_start >= kSessionRange) s.nonce |= s.job.nonce_start;
    if (!in_session_range(s.job.nonce_start, s.nonce)) ++srv_.counters.out_of_range;
    // A client that restarts its scan on every job resends its own shares after a vardiff
    // job (same header, new difficulty). That is the pool's doing: answer Duplicate Share
    // without a check and without counting it toward a ban.
    if (s.job.template_id != own_template_) {
      own_template_ = s.job.template_id;
      own_nonces_.clear();
    }
    if (own_nonces_.contains(s.nonce)) {
      ++srv_.counters.duplicate;
      ++rejected_;
      return refuse(m.reply_id, stratum::kErrDuplicateShare, "this session sent this nonce already");
    }
    if (own_nonces_.size() < kMaxOwnNonces) own_nonces_.insert(s.nonce);
    s.claimed_result = params->result;
    s.address = address_;
    s.worker = worker_;
    s.remote_ip = ip_;
    s.session_id = id_;
    s.network_difficulty = t ? t->network_difficulty : 1;
    ++pending_;
    srv_.handler.handle(std::move(s), [gate = srv_.verdicts, weak = weak_from_this(), id = m.reply_id](SubmitResult r) {
      std::lock_guard lock(gate->mutex);  // held until posted: stop() waits here, not after
      if (!gate->open) return;
      auto self = weak.lock();
      if (!self) return;  // the session closed and left its worker's table
      asio::io_context& io = self->w_.io;
      // Moved in whole: the last reference to a session must drop on its own thread.
      asio::post(io, [self = std::move(self), id, r = std::move(r)] { self->on_verdict(id, r); });
    });
  }

  void on_verdict(const stratum::ReplyId& id, const SubmitResult& r) {
    --pending_;
    if (closed_) return;
    switch (r.verdict) {
      case SubmitVerdict::accepted:
        ++accepted_;
        ++srv_.counters.accepted;
        if (r.block) ++srv_.counters.blocks;
        send(stratum::ok_reply(id));
        if (vardiff_.on_share(Clock::now())) push_job();
        return;
      case SubmitVerdict::low_difficulty:
        ++srv_.counters.low_difficulty;
        refuse(id, stratum::kErrLowDifficultyShare);
        break;
      case SubmitVerdict::duplicate:
        ++srv_.counters.duplicate;
        refuse(id, stratum::kErrDuplicateShare);
        break;
      case SubmitVerdict::wrong_result:
        ++srv_.counters.wrong_result;
        refuse(id, stratum::kErrInvalidSolution, "result differs from the pool's Tensority hash");
        break;
      case SubmitVerdict::busy:
        ++srv_.counters.busy;
        return refuse(id, stratum::kErrGeneric, r.message.empty() ? "pool busy, share not checked" : r.message);
      case SubmitVerdict::failed:
        return refuse(id, stratum::kErrUnknown, r.message);
    }
    ++rejected_;
    count_invalid();
  }

  void count_invalid() {
    ++invalid_;
    const auto& o = srv_.options;
    if (o.ban_duration.count() <= 0 || submits_ < o.ban_min_submits) return;
    if (static_cast<double>(invalid_) < o.ban_invalid_ratio * static_cast<double>(submits_)) return;
    srv_.ban_login(login_, std::to_string(invalid_) + " of " + std::to_string(submits_) + " submits invalid");
    close_after_send("banned");
  }

  void remember(const std::string& job_id, const Template& t, std::uint64_t difficulty, const core::Target256& target) {
    ShareJob j;
    j.template_id = t.id;
    j.header = t.header;
    j.seed = t.seed;
    j.nonce_start = nonce_start_;
    j.difficulty = difficulty;
    j.share_target = target;
    jobs_.add(job_id, std::move(j));
  }

  void send(std::string line) {
    if (closed_) return;
    if (!writing_) {
      // Straight into the socket: a line is far smaller than the socket's buffer, so this
      // nearly always takes all of it, with no write operation and no completion handler per
      // session (at 10,000 sessions a broadcast is mostly this call). The rest, if any, queues.
      error_code ec;
      const std::size_t n = socket_.write_some(asio::buffer(line), ec);
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return close("write: " + ec.message());
      if (!ec && n == line.size()) return;
      if (!ec) line.erase(0, n);
    }
    queued_bytes_ += line.size();
    if (queued_bytes_ > kMaxQueuedBytes) return close("not reading its socket");
    outbox_.push_back(std::move(line));
    if (!writing_) write_next();
  }

  void write_next() {
    if (outbox_.empty() || closed_) {
      writing_ = false;
      if (close_when_sent_ && !closed_) close(close_reason_);
      return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(outbox_.front()), [self = shared_from_this()](error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec) return self->close("write: " + ec.message());
      self->queued_bytes_ -= self->outbox_.front().size();
      self->outbox_.pop_front();
      self->write_next();
    });
  }

  void close_after_send(std::string why) {
    close_when_sent_ = true;
    close_reason_ = std::move(why);
    if (!writing_) close(close_reason_);
  }

  StratumServer::Impl& srv_;
  Worker& w_;
  tcp::socket socket_;
  std::string ip_;
  std::uint64_t id_;
  std::uint64_t nonce_start_;
  Vardiff vardiff_;
  SessionJobs jobs_;
  Clock::time_point connected_, last_rx_;
  std::int64_t connected_ms_;
  TokenBucket submit_bucket_;

  std::array<char, 1024> buffer_{};
  std::string inbox_;
  std::deque<std::string> outbox_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false, closed_ = false, close_when_sent_ = false;
  std::string close_reason_;

  bool logged_in_ = false;
  std::string login_, address_, worker_, agent_;
  std::size_t pending_ = 0;
  unsigned malformed_ = 0;
  std::uint64_t submits_ = 0, invalid_ = 0, accepted_ = 0, rejected_ = 0, stale_ = 0;
  // Nonces this session submitted for the current template (see on_submit).
  static constexpr std::size_t kMaxOwnNonces = 4096;
  std::uint64_t own_template_ = 0;
  std::unordered_set<std::uint64_t> own_nonces_;
};

void StratumServer::Impl::release(std::uint64_t session_id, const std::string& ip) {
  std::lock_guard lock(shared_mutex);
  session_ids.erase(session_id);
  auto it = ips.find(ip);
  if (it != ips.end() && it->second.sessions > 0 && --it->second.sessions == 0 &&
      it->second.logins.full(Clock::now())) {
    ips.erase(it);
  }
}

void StratumServer::Impl::accept_next() {
  Worker& w = *workers[next_worker];
  next_worker = (next_worker + 1) % workers.size();
  acceptor->async_accept(w.io, [this, &w](error_code ec, tcp::socket socket) {
    if (stopped) return;
    if (!ec) {
      on_accept(w, std::move(socket));
    } else if (ec != asio::error::operation_aborted) {
      // Out of descriptors and the like: keep serving the sessions we have.
      log(true, "accept: " + ec.message());
    }
    if (acceptor && acceptor->is_open()) accept_next();
  });
}

void StratumServer::Impl::on_accept(Worker& w, tcp::socket socket) {
  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  std::string ip = remote.address().to_string();
  const auto now = Clock::now();
  std::uint64_t sid = 0;
  {
    std::lock_guard lock(shared_mutex);
    bool refused = is_banned(banned_ips, ip, now) || session_ids.size() >= options.max_sessions;
    auto [it, inserted] = ips.try_emplace(ip, IpState{0, TokenBucket(options.login_rate, options.login_burst, now)});
    if (!refused && options.max_sessions_per_ip > 0 && it->second.sessions >= options.max_sessions_per_ip) {
      refused = true;
      ban_ip_locked(ip, "connection flood (more than " + std::to_string(options.max_sessions_per_ip) + " sessions)");
    }
    if (!refused) {
      // The next free id after the last one handed out: a reconnecting miner gets a fresh range.
      for (std::uint64_t tries = 0; tries <= kMaxSession; ++tries) {
        session_cursor = session_cursor % kMaxSession + 1;
        if (!session_ids.contains(session_cursor)) {
          sid = session_cursor;
          break;
        }
      }
      if (sid == 0) refused = true;
    }
    if (refused) {
      if (it->second.sessions == 0 && inserted) ips.erase(it);
      ++counters.refused;
      socket.close(ec);
      return;
    }
    session_ids.insert(sid);
    ++it->second.sessions;
  }
  auto start = session_nonce_start(options.instance, sid);
  ++counters.connections;
  ++counters.sessions;
  socket.set_option(tcp::no_delay(true), ec);
  auto session = std::make_shared<Session>(*this, w, std::move(socket), std::move(ip), sid, start ? *start : 0);
  // The socket was accepted onto w's context, but this handler may run on another thread.
  asio::post(w.io, [&w, session] {
    w.sessions.emplace(session->id(), session);
    session->start();
  });
}

void StratumServer::Impl::schedule_sweep(Worker& w) {
  w.sweep.expires_after(std::chrono::seconds(1));
  w.sweep.async_wait([this, &w](error_code ec) {
    if (ec || stopped) return;
    const auto now = Clock::now();
    // Safe to walk the table itself: a session that closes leaves it later, in a posted handler.
    for (auto& [id, s] : w.sessions) s->sweep(now);
    schedule_sweep(w);
  });
}

StratumServer::StratumServer(ServerOptions options, ShareHandler& handler, LogFn log)
    : impl_(std::make_unique<Impl>(std::move(options), handler, std::move(log))) {}

StratumServer::~StratumServer() { stop(); }

void StratumServer::publish(std::shared_ptr<const Template> work, bool new_block) {
  {
    std::lock_guard lock(impl_->work_mutex);
    impl_->work = work;
  }
  if (!new_block || !impl_->started || impl_->stopped) return;
  ++impl_->counters.broadcasts;
  const auto start = Clock::now();
  auto remaining = std::make_shared<std::atomic<std::size_t>>(impl_->workers.size());
  for (auto& wp : impl_->workers) {
    Worker& w = *wp;
    asio::post(w.io, [this, &w, start, remaining] {
      const auto t = impl_->current();
      for (auto& [id, s] : w.sessions) s->push_job(t);
      if (--*remaining == 0) {
        impl_->counters.last_broadcast_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      }
    });
  }
}

core::Result<std::uint16_t> StratumServer::start() {
  using R = core::Result<std::uint16_t>;
  auto& d = *impl_;
  if (d.started.exchange(true)) return R::failure("stratum server already started");
  const unsigned n = std::max(1u, d.options.threads);
  for (unsigned i = 0; i < n; ++i) d.workers.push_back(std::make_unique<Worker>());
  error_code ec;
  const auto address = asio::ip::make_address(d.options.bind_address, ec);
  if (ec) return R::failure("stratum bind address '" + d.options.bind_address + "': " + ec.message());
  const tcp::endpoint endpoint(address, d.options.port);
  d.acceptor = std::make_unique<tcp::acceptor>(d.workers[0]->io);
  d.acceptor->open(endpoint.protocol(), ec);
  if (!ec) d.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) d.acceptor->bind(endpoint, ec);
  if (!ec) d.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return R::failure("stratum: cannot listen on " + d.options.bind_address + ":" + std::to_string(d.options.port) +
                      ": " + ec.message());
  }
  d.bound_port = d.acceptor->local_endpoint().port();
  d.accept_next();
  for (auto& w : d.workers) {
    d.schedule_sweep(*w);
    w->thread = std::thread([&io = w->io] { io.run(); });
  }
  return d.bound_port;
}

void StratumServer::stop() {
  auto& d = *impl_;
  if (!d.started || d.stopped.exchange(true)) return;
  {
    std::lock_guard lock(d.verdicts->mutex);
    d.verdicts->open = false;
  }
  std::promise<void> closed;
  asio::post(d.workers[0]->io, [&d, &closed] {
    error_code ignored;
    d.acceptor->close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
  for (auto& wp : d.workers) {
    Worker& w = *wp;
    std::promise<void> done;
    asio::post(w.io, [&w, &done] {
      std::vector<std::shared_ptr<Session>> all;
      for (auto& [id, s] : w.sessions) all.push_back(s);
      for (auto& s : all) s->close("");
      w.sweep.cancel();
      done.set_value();
    });
    done.get_future().wait();
  }
  for (auto& w : d.workers) w->guard.reset();
  for (auto& w : d.workers) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  for (auto& w : d.workers) w->sessions.clear();
}

std::uint16_t StratumServer::port() const { return impl_->bound_port; }

ServerCounters StratumServer::counters() const {
  const auto& c = impl_->counters;
  ServerCounters r;
  r.connections = c.connections;
  r.sessions = c.sessions;
  r.logged_in = c.logged_in;
  r.logins = c.logins;
  r.submits = c.submits;
  r.accepted = c.accepted;
  r.blocks = c.blocks;
  r.low_difficulty = c.low_difficulty;
  r.duplicate = c.duplicate;
  r.wrong_result = c.wrong_result;
  r.stale = c.stale;
  r.unknown_job = c.unknown_job;
  r.malformed = c.malformed;
  r.rate_limited = c.rate_limited;
  r.busy = c.busy;
  r.out_of_range = c.out_of_range;
  r.bans = c.bans;
  r.refused_connections = c.refused;
  r.jobs_sent = c.jobs_sent;
  r.broadcasts = c.broadcasts;
  r.last_broadcast_ms = c.last_broadcast_ms;
  return r;
}

std::vector<SessionInfo> StratumServer::sessions() const {
  std::vector<SessionInfo> out;
  if (!impl_->started || impl_->stopped) return out;
  for (auto& wp : impl_->workers) {
    Worker& w = *wp;
    auto p = std::make_shared<std::promise<std::vector<SessionInfo>>>();
    auto future = p->get_future();
    asio::post(w.io, [&w, p] {
      std::vector<SessionInfo> part;
      for (auto& [id, s] : w.sessions) {
        if (s->logged_in()) part.push_back(s->info());
      }
      p->set_value(std::move(part));
    });
    // A thread that does not answer (the server stopping) leaves its sessions out.
    if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) continue;
    auto part = future.get();
    out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return out;
}

}  // namespace tensority::pool
