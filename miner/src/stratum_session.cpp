// StratumSession: one io_context per session, driven by open() until the first job and then by
// run() until the session ends. Every socket, timer and protocol state is touched only from
// the thread running that io_context; other threads reach it through submit() and close(),
// which queue under a mutex and post. Whatever ends the session (EOF, a bad line, a timeout,
// close()) goes through end(), and the thread that ran the io_context then hands every
// queued or unanswered submit its one "lost" verdict (drain()).
#include "tensority/miner/stratum_session.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "tensority/core/hex.hpp"

namespace tensority::miner {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kShownChars = 120;
constexpr std::uint64_t kNonceSpan = std::uint64_t{1} << 32;  // the low 32 bits are the miner's (docs/spec/stratum.md 5.3)

std::string printable(std::string_view text) { return core::printable(text, kShownChars); }

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ms(milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool host_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_'; }

// Pools word expiry differently; all of these mean the job is gone, not that the share was bad.
bool stale_error(const stratum::RpcError& e) {
  if (e.code == stratum::kErrJobNotFound) return true;
  const auto m = lower(e.message);
  return m.find("expired") != std::string::npos || m.find("stale") != std::string::npos ||
         m.find("job not found") != std::string::npos;
}

// Two jobs are for the same block when they build on the same parent at the same height.
bool same_block(const core::BlockHeader& a, const core::BlockHeader& b) {
  return a.previous_block_id == b.previous_block_id && a.height == b.height;
}

}  // namespace

core::Result<StratumUrl> parse_stratum_url(std::string_view text) {
  using R = core::Result<StratumUrl>;
  const auto bad = [&](const std::string& why) {
    return R::failure("invalid stratum URL '" + printable(text) + "': " + why);
  };
  StratumUrl url;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad("expected stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT");
  const auto scheme = lower(text.substr(0, sep));
  if (scheme == "stratum+ssl") {
    url.tls = true;
  } else if (scheme != "stratum+tcp") {
    return bad("scheme must be stratum+tcp or stratum+ssl");
  }
  auto rest = text.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated '['");
    const auto host = rest.substr(1, close - 1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
        })) {
      return bad("bad IPv6 address");
    }
    url.host = std::string(host);
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("a port is required");
    port_text = rest.substr(1);
  } else {
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) return bad("a port is required");
    const auto host = rest.substr(0, colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), host_char)) return bad("bad host name");
    url.host = std::string(host);
    port_text = rest.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("port must be a number from 1 to 65535");
  }
  const auto port = std::stoul(std::string(port_text));
  if (port == 0 || port > 65535) return bad("port must be a number from 1 to 65535");
  url.port = static_cast<std::uint16_t>(port);
  return url;
}

struct StratumSession::Impl {
  enum class Phase { idle, connecting, login, waiting_job, open, ended };
  enum class Kind { login, submit, getjob, keepalived };
  struct Pending {
    Kind kind = Kind::submit;
    std::string what;  // for the timeout message
    SubmitHandler handler;
    Clock::time_point sent;
    std::unique_ptr<asio::steady_timer> timer;
    std::shared_ptr<const Work> work;  // submits: the work the share was found on
  };

  StratumOptions opt;
  std::optional<StratumUrl> url;
  std::string url_error;
  SessionEvents events;

  // The io_context is declared first so that it outlives every object bound to it.
  asio::io_context ioc{1};
  ssl::context tls_ctx{ssl::context::tls_client};
  tcp::resolver resolver{ioc};
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  asio::steady_timer phase_timer{ioc};  // connect deadline, then "first job" deadline
  asio::steady_timer getjob_timer{ioc};
  asio::steady_timer job_timer{ioc};
  asio::steady_timer keepalive_timer{ioc};

  // io-thread state.
  Phase phase = Phase::idle;
  std::string end_reason;
  std::string inbuf;
  std::array<char, 4096> readbuf{};
  std::deque<std::string> outq;
  bool writing = false;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, Pending> pending;
  std::string login_id;
  bool logged_in = false;
  bool keepalive_on = false;
  std::shared_ptr<const Work> last_work;
  Clock::time_point last_send{};
  bool opened = false;
  bool open_called = false;
  bool run_called = false;

  // Shared with submit() / close() callers.
  std::mutex mu;
  bool ended = false;
  bool close_requested = false;
  std::vector<std::pair<Solution, SubmitHandler>> outbox;

  explicit Impl(StratumOptions o) : opt(std::move(o)) {
    auto parsed = parse_stratum_url(opt.url);
    if (parsed) {
      url = *parsed;
    } else {
      url_error = parsed.error();
    }
  }

  void log(LogLevel level, const std::string& text) const {
    if (events.log) events.log(level, "stratum", text);
  }

  std::string where() const {
    const bool v6 = url->host.find(':') != std::string::npos;
    return (v6 ? "[" + url->host + "]" : url->host) + ":" + std::to_string(url->port);
  }

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }

  // ---- ending --------------------------------------------------------------------------

  void end(std::string reason) {
    if (phase == Phase::ended) return;
    phase = Phase::ended;
    end_reason = std::move(reason);
    error_code ignored;
    resolver.cancel();
    if (tls || plain) {
      socket().shutdown(tcp::socket::shutdown_both, ignored);
      socket().close(ignored);
    }
    phase_timer.cancel();
    getjob_timer.cancel();
    job_timer.cancel();
    keepalive_timer.cancel();
    for (auto& [id, p] : pending) p.timer->cancel();
    ioc.stop();
    log(LogLevel::debug, "session with " + opt.url + " ended: " + end_reason);
  }

  // After the io_context has stopped for good: every submit still waiting gets "lost".
  void drain() {
    std::vector<std::pair<SubmitHandler, Clock::time_point>> lost;
    {
      std::lock_guard lock(mu);
      ended = true;
      for (auto& [solution, handler] : outbox) lost.emplace_back(std::move(handler), Clock::now());
      outbox.clear();
    }
    for (auto& [id, p] : pending) {
      if (p.kind == Kind::submit) lost.emplace_back(std::move(p.handler), p.sent);
    }
    pending.clear();
    for (auto& [handler, sent] : lost) {
      if (!handler) continue;
      SubmitReply reply;
      reply.status = SubmitStatus::lost;
      reply.message = end_reason.empty() ? "session ended" : end_reason;
      reply.latency = std::chrono::duration_cast<milliseconds>(Clock::now() - sent);
      handler(reply);
    }
  }

  // ---- connecting ----------------------------------------------------------------------

  core::Result<bool> setup_tls() {
    using R = core::Result<bool>;
    error_code ec;
    tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                        ec);
    if (opt.tls_verify) {
      if (!opt.tls_ca_file.empty()) {
        tls_ctx.load_verify_file(opt.tls_ca_file, ec);
        if (ec) return R::failure("cannot load TLS CA file '" + printable(opt.tls_ca_file) + "': " + ec.message());
      } else {
        tls_ctx.set_default_verify_paths(ec);
        if (ec) return R::failure("cannot load the system CA certificates: " + ec.message());
      }
      tls_ctx.set_verify_mode(ssl::verify_peer, ec);
    } else {
      tls_ctx.set_verify_mode(ssl::verify_none, ec);
    }
    tls = std::make_unique<ssl::stream<tcp::socket>>(ioc, tls_ctx);
    if (opt.tls_verify) tls->set_verify_callback(ssl::host_name_verification(url->host));
    error_code not_ip;
    asio::ip::make_address(url->host, not_ip);
    // SNI: virtual-hosted pools pick their certificate by it (never sent for addresses).
    if (not_ip) SSL_set_tlsext_host_name(tls->native_handle(), url->host.c_str());
    return true;
  }

  void start_connect() {
    phase = Phase::connecting;
    phase_timer.expires_after(opt.connect_timeout);
    phase_timer.async_wait([this](const error_code& ec) {
      if (ec || phase != Phase::connecting) return;
      end("cannot connect to " + where() + ": timed out after " + ms(opt.connect_timeout));
    });
    resolver.async_resolve(
        url->host, std::to_string(url->port), [this](const error_code& ec, const tcp::resolver::results_type& results) {
          if (phase == Phase::ended) return;
          if (ec) {
            end("cannot resolve " + url->host + ": " + ec.message());
            return;
          }
          asio::async_connect(socket(), results, [this](const error_code& cec, const tcp::endpoint&) {
            if (phase == Phase::ended) return;
            if (cec) {
              end("cannot connect to " + where() + ": " + cec.message());
              return;
            }
            on_connected();
          });
        });
  }

  void on_connected() {
    error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    socket().set_option(asio::socket_base::keep_alive(true), ignored);
    if (!tls) {
      start_login();
      return;
    }
    tls->async_handshake(ssl::stream_base::client, [this](const error_code& ec) {
      if (phase == Phase::ended) return;
      if (ec) {
        end("TLS handshake with " + where() + " failed: " + ec.message());
        return;
      }
      start_login();
    });
  }

  void start_login() {
    phase = Phase::login;
    phase_timer.cancel();
    do_read();
    const auto id = next_id++;
    add_pending(id, Kind::login, "login", nullptr);
    send(stratum::login_request(id, opt.user, opt.pass, opt.agent));
  }

  // ---- writing -------------------------------------------------------------------------

  void send(std::string line) {
    last_send = Clock::now();
    outq.push_back(std::move(line));
    if (!writing) do_write();
  }

  void do_write() {
    writing = true;
    auto done = [this](const error_code& ec, std::size_t) {
      writing = false;
      if (phase == Phase::ended) return;
      if (ec) {
        end("write to " + where() + " failed: " + ec.message());
        return;
      }
      outq.pop_front();
      if (!outq.empty()) do_write();
    };
    if (tls) {
      asio::async_write(*tls, asio::buffer(outq.front()), done);
    } else {
      asio::async_write(*plain, asio::buffer(outq.front()), done);
    }
  }

  void add_pending(std::uint64_t id, Kind kind, std::string what, SubmitHandler handler) {
    Pending p;
    p.kind = kind;
    p.what = std::move(what);
    p.handler = std::move(handler);
    p.sent = Clock::now();
    p.timer = std::make_unique<asio::steady_timer>(ioc);
    p.timer->expires_after(opt.reply_timeout);
    p.timer->async_wait([this, id](const error_code& ec) {
      if (ec || phase == Phase::ended) return;
      const auto it = pending.find(id);
      if (it == pending.end()) return;
      Pending late = std::move(it->second);
      pending.erase(it);
      const std::string reason = "no reply to " + late.what + " within " + ms(opt.reply_timeout);
      if (late.handler) {
        SubmitReply reply;
        reply.status = SubmitStatus::lost;
        reply.message = reason;
        reply.latency = std::chrono::duration_cast<milliseconds>(Clock::now() - late.sent);
        late.handler(reply);
      }
      end(reason);
    });
    pending.emplace(id, std::move(p));
  }

  void flush() {
    if (phase != Phase::open && phase != Phase::waiting_job) return;  // sent once logged in
    std::vector<std::pair<Solution, SubmitHandler>> batch;
    {
      std::lock_guard lock(mu);
      batch.swap(outbox);
    }
    for (auto& [solution, handler] : batch) {
      if (!solution.work) {
        if (handler) handler(SubmitReply{SubmitStatus::rejected, "solution without work", milliseconds{0}});
        continue;
      }
      const auto id = next_id++;
      const auto& job_id = solution.work->job_id;
      send(stratum::submit_request(id, login_id, job_id, solution.nonce, solution.result));
      add_pending(id, Kind::submit, "submit (job " + job_id + ")", std::move(handler));
      pending[id].work = solution.work;
    }
  }

  // ---- reading -------------------------------------------------------------------------

  void do_read() {
    auto done = [this](const error_code& ec, std::size_t n) { on_read(ec, n); };
    if (tls) {
      tls->async_read_some(asio::buffer(readbuf), done);
    } else {
      plain->async_read_some(asio::buffer(readbuf), done);
    }
  }

  void on_read(const error_code& ec, std::size_t n) {
    if (phase == Phase::ended) return;
    if (ec) {
      if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
        end("connection closed by pool " + where());
      } else {
        end("read from " + where() + " failed: " + ec.message());
      }
      return;
    }
    inbuf.append(readbuf.data(), n);
    std::size_t start = 0;
    while (phase != Phase::ended) {
      const auto nl = inbuf.find('\n', start);
      if (nl == std::string::npos) break;
      const std::string_view line(inbuf.data() + start, nl - start);
      start = nl + 1;
      handle_line(line);
    }
    if (phase == Phase::ended) return;
    inbuf.erase(0, start);
    if (inbuf.size() > opt.max_line) {
      end("pool sent a line longer than " + std::to_string(opt.max_line) + " bytes");
      return;
    }
    do_read();
  }

  void handle_line(std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank keepalive lines
    auto msg = stratum::parse_line(line, opt.max_line);
    if (!msg) {
      end("bad line from pool: " + msg.error());
      return;
    }
    if (msg->kind == stratum::Message::Kind::response) {
      on_response(*msg);
      return;
    }
    if (msg->method == "job") {
      auto job = stratum::decode_job(msg->params);
      if (!job) {
        end("bad job from pool: " + job.error());
        return;
      }
      on_job(*job);
      return;
    }
    log(LogLevel::info, "pool sent unsupported method '" + printable(msg->method) + "'; ignored");
  }

  void on_response(const stratum::Message& msg) {
    if (!msg.id.is_number_unsigned()) {
      log(LogLevel::debug, "reply with an id we never sent (" + printable(msg.id.dump()) + "); ignored");
      return;
    }
    const auto it = pending.find(msg.id.get<std::uint64_t>());
    if (it == pending.end()) {
      log(LogLevel::debug, "reply to unknown request " + msg.id.dump() + "; ignored");
      return;
    }
    Pending p = std::move(it->second);
    pending.erase(it);
    p.timer->cancel();
    switch (p.kind) {
      case Kind::login: on_login_reply(msg); break;
      case Kind::submit: on_submit_reply(msg, p); break;
      case Kind::getjob: on_getjob_reply(msg); break;
      case Kind::keepalived:
        if (msg.error) log(LogLevel::debug, "pool answered keepalived with: " + printable(msg.error->message));
        break;
    }
  }

  void on_login_reply(const stratum::Message& msg) {
    if (msg.error) {
      end("login refused by pool: " + printable(msg.error->message) + " (code " + std::to_string(msg.error->code) +
          ")");
      return;
    }
    auto result = stratum::decode_login_result(msg.result);
    if (!result) {
      end("bad login reply: " + result.error());
      return;
    }
    if (!result->status.empty() && result->status != "OK") {
      end("login refused by pool: status '" + printable(result->status) + "'");
      return;
    }
    login_id = result->id.empty() ? opt.user : result->id;
    keepalive_on = opt.keepalive || std::find(result->extensions.begin(), result->extensions.end(), "keepalive") !=
                                        result->extensions.end();
    log(LogLevel::info,
        "logged in to " + opt.url + " as " + printable(login_id) + (keepalive_on ? " (keepalive on)" : ""));
    logged_in = true;
    arm_job_timer();
    arm_keepalive();
    if (result->job) {
      on_job(*result->job);
      return;
    }
    if (last_work) {  // a job notification overtook the login reply
      become_open();
      return;
    }
    // Some pools push the first job right after the login reply; ask only if none comes.
    phase = Phase::waiting_job;
    phase_timer.expires_after(opt.getjob_delay + opt.reply_timeout);
    phase_timer.async_wait([this](const error_code& ec) {
      if (ec || phase != Phase::waiting_job) return;
      end("no job from pool within " + ms(opt.getjob_delay + opt.reply_timeout) + " of login");
    });
    getjob_timer.expires_after(opt.getjob_delay);
    getjob_timer.async_wait([this](const error_code& ec) {
      if (ec || phase != Phase::waiting_job) return;
      const auto id = next_id++;
      add_pending(id, Kind::getjob, "getjob", nullptr);
      send(stratum::getjob_request(id, login_id));
    });
    flush();
  }

  void on_submit_reply(const stratum::Message& msg, Pending& p) {
    SubmitReply reply;
    reply.latency = std::chrono::duration_cast<milliseconds>(Clock::now() - p.sent);
    if (msg.error) {
      // btmcpool-style pools answer a share for a replaced block with 32 Invalid Submit
      // Format, the code they also use for bad input: it is stale when the block has moved on.
      const bool outrun = msg.error->code == stratum::kErrInvalidSubmitFormat && p.work && last_work &&
                          !same_block(last_work->header, p.work->header);
      reply.status = stale_error(*msg.error) || outrun ? SubmitStatus::stale : SubmitStatus::rejected;
      reply.message = msg.error->message.empty() ? "error " + std::to_string(msg.error->code) : msg.error->message;
    } else {
      const auto* status = msg.result.is_object() && msg.result.contains("status") ? &msg.result["status"] : nullptr;
      if (status != nullptr && status->is_string() && status->get_ref<const std::string&>() == "OK") {
        reply.status = SubmitStatus::accepted;
        reply.message = "OK";
      } else {
        reply.status = SubmitStatus::rejected;
        reply.message =
            "unexpected reply: " + printable(msg.result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
    if (p.handler) p.handler(reply);
  }

  void on_getjob_reply(const stratum::Message& msg) {
    if (msg.error) {
      log(LogLevel::warn, "pool refused getjob: " + printable(msg.error->message));
      return;
    }
    // xmrig-style pools answer with the job itself; accept a {"job": ...} wrapper too.
    const auto& object = msg.result.is_object() && msg.result.contains("job") ? msg.result["job"] : msg.result;
    auto job = stratum::decode_job(object);
    if (!job) {
      log(LogLevel::warn, "getjob reply without a usable job: " + job.error());
      return;
    }
    on_job(*job);
  }

  // ---- jobs and timers -----------------------------------------------------------------

  void on_job(const stratum::Job& job) {
    arm_job_timer();
    if (last_work && last_work->job_id == job.job_id) {
      // btmcpool sends the login job again as a notification; that is not new work.
      log(LogLevel::debug, "repeated job " + job.job_id + " ignored");
      return;
    }
    auto work = std::make_shared<Work>();
    work->upstream = opt.url;
    work->job_id = job.job_id;
    work->header = job.header;
    work->header.nonce = 0;
    work->seed = job.seed;
    work->nonce_start = job.nonce_start;
    work->nonce_span = kNonceSpan;
    work->share_target = job.share_target;
    work->share_difficulty = job.difficulty;
    work->block_target = core::Target256::from_bits(job.header.bits);
    work->new_block = !last_work || !same_block(last_work->header, job.header);
    work->received = Clock::now();
    last_work = work;
    log(LogLevel::debug,
        "job " + job.job_id + " height " + std::to_string(job.header.height) + (work->new_block ? " (new block)" : ""));
    if (events.on_work) events.on_work(work);
    if (logged_in && (phase == Phase::login || phase == Phase::waiting_job)) become_open();
  }

  void become_open() {
    phase = Phase::open;
    phase_timer.cancel();
    getjob_timer.cancel();
    ioc.stop();  // open() returns; run() resumes the same io_context
    flush();
  }

  void arm_job_timer() {
    job_timer.expires_after(opt.job_timeout);
    job_timer.async_wait([this](const error_code& ec) {
      if (ec || phase == Phase::ended) return;
      end("no job from pool for " + ms(opt.job_timeout));
    });
  }

  void arm_keepalive() {
    if (!keepalive_on) return;
    keepalive_timer.expires_at(last_send + opt.keepalive_interval);
    keepalive_timer.async_wait([this](const error_code& ec) {
      if (ec || phase == Phase::ended) return;
      const bool waiting = std::any_of(pending.begin(), pending.end(),
                                       [](const auto& kv) { return kv.second.kind == Kind::keepalived; });
      if (!waiting && Clock::now() - last_send >= opt.keepalive_interval) {
        const auto id = next_id++;
        add_pending(id, Kind::keepalived, "keepalived", nullptr);
        send(stratum::keepalived_request(id, login_id));
      }
      arm_keepalive();
    });
  }
};

StratumSession::StratumSession(StratumOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

StratumSession::~StratumSession() {
  impl_->end("session destroyed");
  impl_->drain();
}

std::string StratumSession::describe() const { return impl_->opt.url; }

core::Result<bool> StratumSession::open(const SessionEvents& events) {
  using R = core::Result<bool>;
  auto& s = *impl_;
  if (s.open_called) return R::failure("stratum session opened twice");
  s.open_called = true;
  s.events = events;
  if (!s.url) {
    s.end(s.url_error);
    s.drain();
    return R::failure(s.url_error);
  }
  if (s.opt.user.empty()) {
    s.end("no stratum user (ADDRESS.WORKER) given for " + s.opt.url);
    s.drain();
    return R::failure(s.end_reason);
  }
  if (s.url->tls) {
    auto ok = s.setup_tls();
    if (!ok) {
      s.end(ok.error());
      s.drain();
      return R::failure(ok.error());
    }
  } else {
    s.plain = std::make_unique<tcp::socket>(s.ioc);
  }
  s.start_connect();
  s.ioc.run();
  if (s.phase != Impl::Phase::open) {
    if (s.phase != Impl::Phase::ended) s.end("session stopped during login");
    s.drain();
    return R::failure(s.end_reason);
  }
  s.opened = true;
  return true;
}

std::string StratumSession::run() {
  auto& s = *impl_;
  if (s.run_called) return "stratum session run twice";
  s.run_called = true;
  if (!s.opened) return "stratum session not open" + (s.end_reason.empty() ? "" : ": " + s.end_reason);
  s.ioc.restart();
  s.ioc.run();
  if (s.phase != Impl::Phase::ended) s.end("session stopped");
  s.drain();
  return s.end_reason;
}

void StratumSession::submit(const Solution& solution, SubmitHandler handler) {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (!s.ended) {
      s.outbox.emplace_back(solution, std::move(handler));
      asio::post(s.ioc, [&s] { s.flush(); });
      return;
    }
  }
  if (handler) handler(SubmitReply{SubmitStatus::lost, "session closed", milliseconds{0}});
}

void StratumSession::close() {
  auto& s = *impl_;
  std::lock_guard lock(s.mu);
  if (s.close_requested || s.ended) return;
  s.close_requested = true;
  asio::post(s.ioc, [&s] { s.end("closed by request"); });
}

}  // namespace tensority::miner
