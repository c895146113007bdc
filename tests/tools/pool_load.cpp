// tensority-pool-load: load generator for `tensority pool` (issue 7, docs/perf.md). From one
// process it opens thousands of B3-dialect stratum sessions and measures what a pool has to be
// sized for:
//   1. sessions held: how many log in and stay connected, and the pool's VmRSS / VmHWM;
//   2. job broadcast latency: from a trigger (the node's RPC /generate, or the pool's own next
//      block) to each session's receipt of a job with a new previous_block_hash, taken twice:
//      when this process reads it, and when it arrived in the session's socket (the kernel's
//      receive time stamp, SO_TIMESTAMPNS), which leaves out this process's own delay in
//      getting to 10,000 readable sockets on cores it shares with the pool;
//   3. share checks per second: submits without a result, each costing the pool one Tensority
//      hash before it answers "Low Difficulty Share".
// Progress lines go to stderr; one JSON object with every figure goes to stdout. --help lists
// the options.
//
// Design: one io_context run by --threads threads. Each session is a socket on its own strand,
// so session state needs no lock; the shared figures sit behind one mutex. Sessions are read
// reactor-style (async_wait, then non-blocking reads into a per-thread buffer): an idle session
// holds no read buffer, and the receipt time is taken the moment its socket is seen readable,
// before its lines are parsed; the arrival time comes with the read, from the kernel. The main
// thread drives the phases and is the one that blocks on the node RPC, so the io threads keep
// timestamping while it waits.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "tensority/net/http.hpp"
#include "tensority/stratum/codec.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using std::chrono::milliseconds;
using namespace tensority;

constexpr std::uint64_t kLoginId = 1;
constexpr std::size_t kReservedFds = 64;  // epoll, eventfd, timers, signal pipe, stdio, the node RPC
constexpr const char* kAgent = "tensority-pool-load/1";

double ms_between(TimePoint from, TimePoint to) { return std::chrono::duration<double, std::milli>(to - from).count(); }
double round3(double value) { return std::round(value * 1000.0) / 1000.0; }
void say(const std::string& text) { std::fprintf(stderr, "pool-load: %s\n", text.c_str()); }
std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

struct Options {
  std::string pool;  // HOST:PORT as given
  tcp::endpoint pool_endpoint;
  std::size_t sessions = 1000;
  unsigned threads = 1;
  unsigned connect_rate = 2000;
  unsigned max_pending = 1000;
  unsigned connect_timeout_ms = 10'000;
  std::string login_prefix = "sm1qload";
  unsigned accounts = 1;
  std::string pass = "x";
  std::vector<asio::ip::address> source_addresses;
  unsigned hold_s = 5;
  std::string pool_pid;
  std::optional<net::Url> node;
  unsigned rounds = 3;
  unsigned round_pause_ms = 3000;
  unsigned round_timeout_ms = 10'000;
  unsigned block_wait_s = 300;
  double submit_rate = 0;
  unsigned submit_seconds = 10;
  unsigned reply_timeout_ms = 10'000;
  unsigned keepalive_s = 60;
  std::size_t max_line = stratum::kDefaultMaxLine;
  unsigned progress_ms = 1000;
};

// ---------------------------------------------------------------------------------------------
// Shared figures and state

struct Bucket {  // one second of the share phase, by when the outcome became known
  std::uint64_t sent = 0, ok = 0, low = 0, other = 0, timeouts = 0;
};

// When a pushed job was read here, and when it arrived in the socket (the kernel's time stamp
// of the first segment of the read, mapped onto the steady clock; `read` where none is known).
struct Receipt {
  TimePoint read;
  TimePoint arrived;
};

struct Figures {  // guarded by Load::mu
  std::uint64_t connected = 0, connect_failed = 0, logged_in = 0, login_failed = 0, dropped = 0;
  std::map<std::string, std::uint64_t> connect_errors, login_errors, drop_reasons;
  std::vector<double> login_ms;  // connect start to login reply
  // Receipts of pushed jobs whose previous_block_hash changed, by that hash (hex).
  std::unordered_map<std::string, std::vector<Receipt>> blocks;
  std::vector<std::string> block_order;  // in order of first receipt
  std::uint64_t jobs = 0, same_block_jobs = 0, repeated_jobs = 0, bad_jobs = 0, bad_lines = 0;
  std::uint64_t other_messages = 0, stray_replies = 0;
  std::uint64_t keepalive_sent = 0, keepalive_ok = 0, keepalive_failed = 0, keepalive_timeouts = 0;
  TimePoint submit_start{};
  std::uint64_t submits_sent = 0, submits_skipped = 0, share_ok = 0, share_low = 0, share_timeouts = 0;
  std::uint64_t share_late = 0;  // answered after they were counted as timeouts
  std::uint64_t share_lost = 0;  // unanswered, not yet timed out, when the session closed
  std::map<int, std::uint64_t> share_errors;
  std::vector<double> share_ms;
  std::vector<Bucket> per_second;
  TimePoint last_share_reply{};
  unsigned notes = 0;  // protocol complaints printed so far

  std::uint64_t live() const { return logged_in - dropped; }
  std::uint64_t share_errors_total() const {
    std::uint64_t total = 0;
    for (const auto& [code, count] : share_errors) total += count;
    return total;
  }
  std::uint64_t outstanding() const {
    return submits_sent - share_ok - share_low - share_errors_total() - (share_timeouts - share_late) - share_lost;
  }
  Bucket& bucket(TimePoint when) {
    const auto second = when <= submit_start ? 0 : static_cast<std::size_t>(ms_between(submit_start, when) / 1000.0);
    if (per_second.size() <= second) per_second.resize(second + 1);
    return per_second[second];
  }
};

class Session;

struct Load {
  Load(const Options& options, asio::io_context& io) : opt(options), ioc(io), ctl(asio::make_strand(io)) {}
  const Options& opt;
  asio::io_context& ioc;
  asio::strand<asio::io_context::executor_type> ctl;  // pacers and sweeps
  std::mutex mu;
  Figures fig;
  std::vector<std::unique_ptr<Session>> sessions;
  std::atomic<std::size_t> connects_started{0};
  std::atomic<std::size_t> setting_up{0};  // connecting or awaiting the login reply
  // Submits the pacer has handed out (posted, or skipped for want of a session); each ends as
  // fig.submits_sent or fig.submits_skipped once its session has run it.
  std::atomic<std::uint64_t> submits_issued{0};
  std::atomic<bool> submitting{false};  // the pacer still has submits to hand out
  std::atomic<bool> stopping{false};

  void note(const std::string& text) {  // caller holds mu; a few examples, not a flood
    if (fig.notes++ < 5) say(text);
  }
};

// ---------------------------------------------------------------------------------------------
// One stratum session. Everything but the atomics is touched only on the session's strand.

class Session {
 public:
  enum class State : std::uint8_t { idle, connecting, logging_in, ready, closed };

  Session(Load& load, std::size_t index)
      : load_(load), index_(index), strand_(asio::make_strand(load.ioc)), socket_(strand_) {}

  template <typename F>
  void post(F&& work) {
    asio::post(strand_, std::forward<F>(work));
  }
  State state() const { return state_.load(std::memory_order_relaxed); }
  bool can_submit() const { return state() == State::ready && has_job_.load(std::memory_order_relaxed); }
  bool wants_sweep() const {
    const auto s = state();
    return s == State::connecting || s == State::logging_in || pending_count_.load(std::memory_order_relaxed) > 0;
  }
  bool keepalive_due(TimePoint now) const {
    return state() == State::ready && now.time_since_epoch().count() >= next_keepalive_.load(std::memory_order_relaxed);
  }

  void start() {
    setup_started_ = Clock::now();
    state_ = State::connecting;
    const auto& pool = load_.opt.pool_endpoint;
    error_code ec;
    socket_.open(pool.protocol(), ec);
    if (!ec && !load_.opt.source_addresses.empty()) {
      // Let connect() choose the port for the whole 4-tuple instead of bind() for the address
      // alone, so every source address gets the full ephemeral range.
      const int on = 1;
      ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
      const auto& sources = load_.opt.source_addresses;
      socket_.bind(tcp::endpoint(sources[index_ % sources.size()], 0), ec);
    }
    if (ec) return close("socket: " + ec.message());
    socket_.async_connect(pool, [this](const error_code& error) { on_connected(error); });
  }

  void submit() {
    if (!can_submit()) {
      const std::lock_guard lock(load_.mu);
      ++load_.fig.submits_skipped;
      return;
    }
    // A nonce from the session's own range: the pool's bits from the job, then 32 random ones.
    thread_local std::mt19937_64 random{std::random_device{}()};
    const std::uint64_t nonce = nonce_start_ + (random() & 0xffff'ffffULL);
    const auto now = Clock::now();
    const auto id = request(true, now);
    {
      const std::lock_guard lock(load_.mu);
      ++load_.fig.submits_sent;
      ++load_.fig.bucket(now).sent;
    }
    send(stratum::submit_request(id, token_, job_id_, nonce, std::nullopt));
  }

  void keepalive() {
    const auto now = Clock::now();
    if (!keepalive_due(now)) return;
    const auto id = request(false, now);
    {
      const std::lock_guard lock(load_.mu);
      ++load_.fig.keepalive_sent;
    }
    send(stratum::keepalived_request(id, token_));
  }

  // Connect / login deadline and reply timeouts.
  void sweep(TimePoint now) {
    const auto s = state();
    if ((s == State::connecting || s == State::logging_in) &&
        now - setup_started_ > milliseconds(load_.opt.connect_timeout_ms)) {
      return close("timeout");
    }
    // A timed-out submit stays pending: a late reply still shows a check the pool did, so it
    // counts towards the reply rate (and as late). A late keepalived tells nothing; it goes.
    std::uint64_t shares = 0, keepalives = 0;
    for (auto& p : pending_) {
      if (p.timed_out || now - p.sent <= milliseconds(load_.opt.reply_timeout_ms)) continue;
      p.timed_out = true;
      ++(p.is_submit ? shares : keepalives);
    }
    if (shares + keepalives == 0) return;
    std::erase_if(pending_, [](const Pending& p) { return p.timed_out && !p.is_submit; });
    count_pending();
    const std::lock_guard lock(load_.mu);
    load_.fig.share_timeouts += shares;
    load_.fig.bucket(now).timeouts += shares;
    load_.fig.keepalive_timeouts += keepalives;
  }

 private:
  struct Pending {
    std::uint64_t id;
    bool is_submit;  // else a keepalived
    TimePoint sent;
    bool timed_out;
  };

  // Requests the sweep still has to time out.
  void count_pending() {
    const auto live = std::count_if(pending_.begin(), pending_.end(), [](const Pending& p) { return !p.timed_out; });
    pending_count_ = static_cast<std::uint32_t>(live);
  }

  std::string login_name() const {
    std::string name = load_.opt.login_prefix;
    if (load_.opt.accounts > 0) name += std::to_string(index_ % load_.opt.accounts);
    return name + ".w" + std::to_string(index_);
  }

  std::uint64_t request(bool is_submit, TimePoint now) {
    const auto id = next_id_++;
    pending_.push_back(Pending{id, is_submit, now, false});
    count_pending();
    schedule_keepalive(now);
    return id;
  }

  // Any request shows the pool we are alive, so the keepalived is due this long after the last.
  void schedule_keepalive(TimePoint now) {
    const auto next = load_.opt.keepalive_s == 0 ? TimePoint::max() : now + std::chrono::seconds(load_.opt.keepalive_s);
    next_keepalive_.store(next.time_since_epoch().count(), std::memory_order_relaxed);
  }

  void on_connected(const error_code& ec) {
    if (state() != State::connecting) return;  // the connect deadline closed it meanwhile
    if (ec) return close(ec.message());
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);  // small lines: Nagle would hold one behind an unacked one
    socket_.non_blocking(true, ignored);
    const int on = 1;  // arrival time stamps (SCM_TIMESTAMPNS) with every read
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    {
      const std::lock_guard lock(load_.mu);
      ++load_.fig.connected;
    }
    state_ = State::logging_in;
    schedule_keepalive(Clock::now());
    send(stratum::login_request(kLoginId, login_name(), load_.opt.pass, kAgent));
    if (state() != State::closed) wait_readable();
  }

  void wait_readable() {
    socket_.async_wait(tcp::socket::wait_read, [this](const error_code& ec) {
      const auto now = Clock::now();  // first thing: the receipt time of every line this read completes
      if (ec) return close(ec.message());
      on_readable(now);
    });
  }

  void on_readable(TimePoint now) {
    thread_local std::vector<char> buffer(64 * 1024);
    for (;;) {
      iovec iov{buffer.data(), buffer.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t got = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return close(std::string("read: ") + std::strerror(errno));
      if (got == 0) return close("closed by the pool");
      const auto n = static_cast<std::size_t>(got);
      if (!take_lines(std::string_view(buffer.data(), n), now, arrival_of(msg, now))) return;
      if (n < buffer.size()) break;
    }
    wait_readable();
  }

  // The kernel's receive time of the read's first segment, on the steady clock. A read may
  // join segments, so the stamp is only the arrival of a line that starts the read.
  static TimePoint arrival_of(msghdr& msg, TimePoint read) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      const auto wall = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                          std::chrono::nanoseconds(ts.tv_nsec)));
      const auto age = std::chrono::system_clock::now() - wall;
      if (age < std::chrono::system_clock::duration::zero()) return read;
      return std::min(read, Clock::now() - std::chrono::duration_cast<Clock::duration>(age));
    }
    return read;
  }

  // False once the session is closed.
  bool take_lines(std::string_view data, TimePoint now, TimePoint arrived) {
    // Only a line that starts this read arrived with its first segment; later ones get `now`.
    TimePoint line_arrived = partial_.empty() ? arrived : now;
    while (!data.empty()) {
      const auto newline = data.find('\n');
      if (newline == std::string_view::npos) {
        partial_.append(data);
        if (partial_.size() > load_.opt.max_line) {
          close("line longer than " + std::to_string(load_.opt.max_line) + " bytes");
          return false;
        }
        return true;
      }
      if (partial_.empty()) {
        handle_line(data.substr(0, newline), now, line_arrived);
      } else {
        partial_.append(data.substr(0, newline));
        const std::string line = std::move(partial_);
        partial_ = std::string();  // moved-from: make it empty and unallocated
        handle_line(line, now, line_arrived);
      }
      if (state() == State::closed) return false;
      data.remove_prefix(newline + 1);
      line_arrived = now;
    }
    return true;
  }

  void handle_line(std::string_view line, TimePoint now, TimePoint arrived) {
    if (line.empty() || line == "\r") return;
    auto message = stratum::parse_line(line, load_.opt.max_line);
    if (!message) {
      const std::lock_guard lock(load_.mu);
      ++load_.fig.bad_lines;
      return load_.note("session " + std::to_string(index_) + ": " + message.error());
    }
    if (message->kind == stratum::Message::Kind::response) return on_response(*message, now);
    if (message->method == "job") return on_job(message->params, Receipt{now, arrived});
    const std::lock_guard lock(load_.mu);
    ++load_.fig.other_messages;
  }

  void on_response(const stratum::Message& message, TimePoint now) {
    const auto& id = message.id;
    const bool numeric = id.is_number_unsigned() || (id.is_number_integer() && id.get<std::int64_t>() >= 0);
    if (numeric && id.get<std::uint64_t>() == kLoginId && state() == State::logging_in) {
      return on_login(message, now);
    }
    const auto it = !numeric ? pending_.end() : std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
      return p.id == id.get<std::uint64_t>();
    });
    const std::lock_guard lock(load_.mu);
    auto& fig = load_.fig;
    if (it == pending_.end()) {
      ++fig.stray_replies;
      return;
    }
    const Pending request = *it;
    pending_.erase(it);
    count_pending();
    if (!request.is_submit) {
      ++(message.error ? fig.keepalive_failed : fig.keepalive_ok);
      return;
    }
    auto& bucket = fig.bucket(now);
    if (!message.error) {
      ++fig.share_ok;
      ++bucket.ok;
    } else if (message.error->code == stratum::kErrLowDifficultyShare) {
      ++fig.share_low;
      ++bucket.low;
    } else {
      ++fig.share_errors[message.error->code];
      ++bucket.other;
    }
    if (request.timed_out) ++fig.share_late;
    fig.share_ms.push_back(ms_between(request.sent, now));
    fig.last_share_reply = std::max(fig.last_share_reply, now);
  }

  void on_login(const stratum::Message& message, TimePoint now) {
    if (message.error) {
      const int code = message.error->code;
      return close("code " + std::to_string(code) + " " + std::string(stratum::error_message(code)));
    }
    auto result = stratum::decode_login_result(message.result);
    if (!result) return close("bad login result: " + result.error());
    if (result->id.empty()) return close("login result without an id");
    token_ = result->id;
    state_ = State::ready;
    load_.setting_up.fetch_sub(1);
    {
      const std::lock_guard lock(load_.mu);
      ++load_.fig.logged_in;
      load_.fig.login_ms.push_back(ms_between(setup_started_, now));
      if (!result->status.empty() && result->status != "OK") load_.note("login status '" + result->status + "'");
    }
    if (result->job) apply_job(*result->job, Receipt{now, now}, false);
  }

  void on_job(const nlohmann::json& params, Receipt receipt) {
    auto job = stratum::decode_job(params);
    if (!job) {
      const std::lock_guard lock(load_.mu);
      ++load_.fig.bad_jobs;
      return load_.note("session " + std::to_string(index_) + ": bad job: " + job.error());
    }
    apply_job(*job, receipt, true);
  }

  void apply_job(const stratum::Job& job, Receipt receipt, bool pushed) {
    const bool had_job = has_job_;
    const bool new_block = had_job && job.header.previous_block_id != previous_block_;
    const bool repeated = had_job && !new_block && job.job_id == job_id_;
    job_id_ = job.job_id;
    nonce_start_ = job.nonce_start;
    previous_block_ = job.header.previous_block_id;
    has_job_ = true;
    const std::lock_guard lock(load_.mu);
    auto& fig = load_.fig;
    ++fig.jobs;
    if (new_block && pushed) {
      const auto key = stratum::encode_hash(previous_block_);
      auto [it, first] = fig.blocks.try_emplace(key);
      if (first) fig.block_order.push_back(key);
      it->second.push_back(receipt);
    } else if (repeated) {
      ++fig.repeated_jobs;
    } else if (had_job) {
      ++fig.same_block_jobs;  // e.g. a difficulty change
    }
  }

  void send(std::string line) {
    if (writing_) {
      queued_ += line;
      return;
    }
    // Most lines fit the socket buffer at once; only a remainder costs an async write.
    error_code ec;
    const std::size_t n = socket_.write_some(asio::buffer(line), ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return close("write: " + ec.message());
    if (n == line.size()) return;
    out_ = line.substr(n);
    write_out();
  }

  void write_out() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_), [this](const error_code& ec, std::size_t) {
      if (ec) return close("write: " + ec.message());
      out_.clear();
      std::swap(out_, queued_);
      if (out_.empty()) {
        writing_ = false;
      } else {
        write_out();
      }
    });
  }

  // Counts the end where it belongs: a failed connect, a failed login or a dropped session.
  void close(const std::string& reason) {
    const State was = state();
    if (was == State::closed) return;
    state_ = State::closed;
    has_job_ = false;
    error_code ignored;
    socket_.close(ignored);
    if (was == State::connecting || was == State::logging_in) load_.setting_up.fetch_sub(1);
    const std::lock_guard lock(load_.mu);
    auto& fig = load_.fig;
    if (was == State::connecting || was == State::idle) {
      ++fig.connect_failed;
      ++fig.connect_errors[reason];
    } else if (was == State::logging_in) {
      ++fig.login_failed;
      ++fig.login_errors[reason];
    } else {
      ++fig.dropped;
      ++fig.drop_reasons[reason];
    }
    for (const auto& p : pending_) fig.share_lost += p.is_submit && !p.timed_out ? 1 : 0;
    pending_.clear();
    pending_count_ = 0;
  }

  Load& load_;
  std::size_t index_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::socket socket_;
  std::atomic<State> state_{State::idle};
  std::atomic<bool> has_job_{false};
  std::atomic<std::uint32_t> pending_count_{0};
  std::atomic<Clock::rep> next_keepalive_{0};
  TimePoint setup_started_{};
  std::string token_;
  std::string job_id_;
  core::Hash previous_block_{};
  std::uint64_t nonce_start_ = 0;
  std::uint64_t next_id_ = kLoginId + 1;
  std::vector<Pending> pending_;
  std::string partial_;  // an incomplete line; empty (and unallocated) nearly always
  std::string out_;      // being written
  std::string queued_;   // to write after out_
  bool writing_ = false;
};

// ---------------------------------------------------------------------------------------------
// The pacers: connects, sweeps, keepalives and submits, all on the control strand.

class Driver {
 public:
  explicit Driver(Load& load)
      : load_(load),
        connect_timer_(load.ctl),
        sweep_timer_(load.ctl),
        keepalive_timer_(load.ctl),
        submit_timer_(load.ctl) {}

  void start() {
    asio::post(load_.ctl, [this] {
      connect_start_ = Clock::now();
      connect_tick();
      sweep_tick();
      keepalive_tick();
    });
  }

  void start_submitting(TimePoint start, TimePoint end) {
    load_.submitting = true;
    asio::post(load_.ctl, [this, start, end] {
      submit_start_ = start;
      submit_end_ = end;
      submit_tick();
    });
  }

  void stop() {
    asio::post(load_.ctl, [this] {
      stopped_ = true;
      for (auto* timer : {&connect_timer_, &sweep_timer_, &keepalive_timer_, &submit_timer_}) timer->cancel();
    });
  }

 private:
  template <typename F>
  void again(asio::steady_timer& timer, milliseconds delay, F tick) {
    if (stopped_) return;
    timer.expires_after(delay);
    timer.async_wait([this, tick](const error_code& ec) {
      if (!ec && !stopped_) (this->*tick)();
    });
  }

  // Starts connects at --connect-rate, never more than --max-pending unanswered at once, so
  // the pool's accept queue is not overrun.
  void connect_tick() {
    const auto& sessions = load_.sessions;
    const double elapsed_s = ms_between(connect_start_, Clock::now()) / 1000.0;
    const auto allowed = std::min(sessions.size(), static_cast<std::size_t>(elapsed_s * load_.opt.connect_rate) + 1);
    auto next = load_.connects_started.load();
    while (next < allowed && load_.setting_up.load() < load_.opt.max_pending && !load_.stopping) {
      Session* session = sessions[next++].get();
      load_.setting_up.fetch_add(1);
      session->post([session] { session->start(); });
    }
    load_.connects_started = next;
    if (next < sessions.size() && !load_.stopping) again(connect_timer_, milliseconds(5), &Driver::connect_tick);
  }

  void sweep_tick() {
    const auto now = Clock::now();
    for (const auto& owned : load_.sessions) {
      Session* session = owned.get();
      if (session->wants_sweep()) session->post([session, now] { session->sweep(now); });
    }
    again(sweep_timer_, milliseconds(200), &Driver::sweep_tick);
  }

  void keepalive_tick() {
    const auto now = Clock::now();
    for (const auto& owned : load_.sessions) {
      Session* session = owned.get();
      if (session->keepalive_due(now)) session->post([session] { session->keepalive(); });
    }
    again(keepalive_timer_, milliseconds(1000), &Driver::keepalive_tick);
  }

  // Submits spread evenly in time and round-robin over the sessions, so each session sends one
  // every sessions/rate seconds (far below any per-session limit a pool would set).
  void submit_tick() {
    const auto now = Clock::now();
    const double elapsed_s = ms_between(submit_start_, std::min(now, submit_end_)) / 1000.0;
    // Submit k (from 1) is due at (k - 1/2) / rate: evenly spaced, all inside the window.
    const auto due = static_cast<std::uint64_t>(elapsed_s * load_.opt.submit_rate + 0.5);
    const auto& sessions = load_.sessions;
    auto issued = load_.submits_issued.load();
    while (issued < due && !load_.stopping) {
      Session* chosen = nullptr;
      for (std::size_t tries = 0; tries < sessions.size() && chosen == nullptr; ++tries) {
        Session* candidate = sessions[submit_cursor_++ % sessions.size()].get();
        if (candidate->can_submit()) chosen = candidate;
      }
      if (chosen == nullptr) {  // no session can submit: count the rest of this tick as skipped
        const std::lock_guard lock(load_.mu);
        load_.fig.submits_skipped += due - issued;
        load_.submits_issued = issued = due;
        break;
      }
      load_.submits_issued = ++issued;
      chosen->post([chosen] { chosen->submit(); });
    }
    if (now < submit_end_ && !load_.stopping) {
      again(submit_timer_, milliseconds(2), &Driver::submit_tick);
    } else {
      load_.submitting = false;
    }
  }

  Load& load_;
  asio::steady_timer connect_timer_, sweep_timer_, keepalive_timer_, submit_timer_;
  bool stopped_ = false;
  TimePoint connect_start_{}, submit_start_{}, submit_end_{};
  std::size_t submit_cursor_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Measurements and reports (main thread)

json summary(std::vector<double> values) {
  json out;
  out["count"] = values.size();
  if (values.empty()) {
    for (const char* key : {"min", "p50", "p90", "p99", "max"}) out[key] = nullptr;
    return out;
  }
  std::sort(values.begin(), values.end());
  const auto rank = [&](double percent) {  // nearest rank
    const auto k = static_cast<std::size_t>(std::ceil(percent / 100.0 * static_cast<double>(values.size())));
    return round3(values[std::max<std::size_t>(k, 1) - 1]);
  };
  out["min"] = round3(values.front());
  out["p50"] = rank(50);
  out["p90"] = rank(90);
  out["p99"] = rank(99);
  out["max"] = round3(values.back());
  return out;
}

json memory_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  std::optional<std::uint64_t> rss, hwm;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::strtoull(line.c_str() + 6, nullptr, 10);
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  if (!rss || !hwm) return nullptr;
  return json{{"vm_rss_kib", *rss}, {"vm_hwm_kib", *hwm}};
}

template <typename Map>
json counts(const Map& map) {
  json out = json::object();
  for (const auto& [key, count] : map) {
    if constexpr (std::is_same_v<std::decay_t<decltype(key)>, std::string>) {
      out[key] = count;
    } else {
      out[std::to_string(key)] = count;
    }
  }
  return out;
}

// Waits until done() holds, the deadline passes or Ctrl-C; progress() every --progress-ms.
// False when interrupted.
bool wait_for(Load& load, TimePoint deadline, const std::function<bool()>& done,
              const std::function<void()>& progress = {}) {
  auto next_progress = Clock::now() + milliseconds(load.opt.progress_ms);
  while (!load.stopping) {
    if (done && done()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return true;
    if (progress && now >= next_progress) {
      progress();
      next_progress += milliseconds(load.opt.progress_ms);
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  return false;
}

// One new block reached the sessions: latencies from t0 to each receipt.
// With a node, also from the moment its /generate answered: the block was connected by then,
// so this leaves out the node's own mining time (regtest mines on the CPU inside the call).
json block_round(Load& load, const std::string& key, std::optional<TimePoint> trigger, std::optional<TimePoint> answered,
                 std::uint64_t expected, std::vector<double>& all_latencies, std::vector<double>& all_after_block,
                 std::vector<double>& all_arrived_after_block) {
  std::vector<Receipt> receipts;
  {
    const std::lock_guard lock(load.mu);
    receipts = load.fig.blocks[key];
  }
  TimePoint t0 = TimePoint::max();
  if (trigger) {
    t0 = *trigger;
  } else {
    for (const auto& r : receipts) t0 = std::min(t0, r.read);
  }
  std::vector<double> latencies;
  for (const auto& r : receipts) latencies.push_back(ms_between(t0, r.read));
  all_latencies.insert(all_latencies.end(), latencies.begin(), latencies.end());
  json round;
  round["block_hash"] = key;
  round["sessions"] = expected;
  round["received"] = receipts.size();
  round["missing"] = expected > receipts.size() ? expected - receipts.size() : 0;
  const auto spread = std::minmax_element(latencies.begin(), latencies.end());
  round["spread_ms"] = latencies.empty() ? 0.0 : round3(*spread.second - *spread.first);
  round["latency_ms"] = summary(std::move(latencies));
  if (answered) {
    std::vector<double> after, arrived;
    for (const auto& r : receipts) {
      after.push_back(std::max(0.0, ms_between(*answered, r.read)));
      arrived.push_back(std::max(0.0, ms_between(*answered, r.arrived)));
    }
    all_after_block.insert(all_after_block.end(), after.begin(), after.end());
    all_arrived_after_block.insert(all_arrived_after_block.end(), arrived.begin(), arrived.end());
    round["after_block_ms"] = summary(std::move(after));
    round["arrived_after_block_ms"] = summary(std::move(arrived));
  }
  return round;
}

std::string round_line(const json& round) {
  const auto& l = round["latency_ms"];
  const auto shown = [](const json& v) { return v.is_null() ? std::string("-") : fixed(v.get<double>(), 2); };
  return std::to_string(round["received"].get<std::uint64_t>()) + "/" +
         std::to_string(round["sessions"].get<std::uint64_t>()) + " sessions, p50 " + shown(l["p50"]) + " p90 " +
         shown(l["p90"]) + " p99 " + shown(l["p99"]) + " max " + shown(l["max"]) + " ms" +
         (round.contains("arrived_after_block_ms")
              ? "; after the block, p99 read " + shown(round["after_block_ms"]["p99"]) + " arrived " +
                    shown(round["arrived_after_block_ms"]["p99"]) + " ms"
              : std::string());
}

// The new block hash from {"status":"success","data":{"block_hashes":["<hex>"]}}.
std::optional<std::string> generated_hash(const std::string& body, std::string& error) {
  const auto reply = nlohmann::json::parse(body, nullptr, false);
  if (reply.is_object() && reply.value("status", "") == "success" && reply.contains("data") &&
      reply["data"].is_object() && reply["data"].contains("block_hashes") && reply["data"]["block_hashes"].is_array() &&
      !reply["data"]["block_hashes"].empty() && reply["data"]["block_hashes"][0].is_string()) {
    auto hash = reply["data"]["block_hashes"][0].get<std::string>();
    std::transform(hash.begin(), hash.end(), hash.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return hash;
  }
  error = "unexpected /generate reply: " + body.substr(0, 200);
  return std::nullopt;
}

json broadcast_phase(Load& load) {
  const auto& opt = load.opt;
  json rounds = json::array();
  std::vector<double> all_latencies;
  std::uint64_t expected_total = 0;
  std::vector<double> generate_ms, all_after_block, all_arrived_after_block;
  for (unsigned r = 1; r <= opt.rounds && !load.stopping; ++r) {
    // With a node the pause lets the pool settle; without one, blocks come when they come.
    if (opt.node && r > 1 && !wait_for(load, Clock::now() + milliseconds(opt.round_pause_ms), {})) break;
    std::size_t known = 0;
    std::uint64_t expected = 0;
    {
      const std::lock_guard lock(load.mu);
      known = load.fig.block_order.size();
      expected = load.fig.live();
    }
    json round;
    round["round"] = r;
    std::string key;
    std::optional<TimePoint> trigger, answered_at;
    const char* matched_by = "first_receipt";
    if (opt.node) {
      // t0 just before the call: the node mines, tells the pool, and the pool broadcasts.
      trigger = Clock::now();
      const auto reply = net::http_post(*opt.node, "/generate", R"({"count":1})",
                                        net::HttpClientOptions{milliseconds(60'000), "", 1 << 20});
      const auto answered = Clock::now();
      answered_at = answered;
      round["generate_ms"] = round3(ms_between(*trigger, answered));
      generate_ms.push_back(ms_between(*trigger, answered));
      std::string error;
      std::optional<std::string> hash;
      if (!reply) {
        error = reply.error();
      } else if (reply->status != 200) {
        error = "/generate answered HTTP " + std::to_string(reply->status) + ": " + reply->body.substr(0, 200);
      } else {
        hash = generated_hash(reply->body, error);
      }
      if (!hash) {
        say("round " + std::to_string(r) + ": " + error);
        round["error"] = error;
        rounds.push_back(round);
        continue;
      }
      round["generated_hash"] = *hash;
      // The pool's jobs should name the generated block as their previous block; if the hash
      // forms differ, fall back to the first new previous_block_hash seen after the trigger.
      const auto pick = [&] {
        if (load.fig.blocks.count(*hash) != 0) {
          key = *hash;
          matched_by = "block_hash";
        } else if (load.fig.block_order.size() > known) {
          key = load.fig.block_order[known];
          matched_by = "first_new_after_trigger";
        }
      };
      wait_for(load, *trigger + milliseconds(opt.round_timeout_ms), [&] {
        const std::lock_guard lock(load.mu);
        pick();
        return !key.empty() && load.fig.blocks[key].size() >= load.fig.live();
      });
      const std::lock_guard lock(load.mu);
      pick();
    } else {
      say("round " + std::to_string(r) + ": waiting up to " + std::to_string(opt.block_wait_s) +
          " s for the pool's next block");
      wait_for(load, Clock::now() + std::chrono::seconds(opt.block_wait_s), [&] {
        const std::lock_guard lock(load.mu);
        return load.fig.block_order.size() > known;
      });
      {
        const std::lock_guard lock(load.mu);
        if (load.fig.block_order.size() > known) key = load.fig.block_order[known];
      }
      if (key.empty()) {
        if (!load.stopping) say("no new block within " + std::to_string(opt.block_wait_s) + " s; rounds end");
        break;
      }
      wait_for(load, Clock::now() + milliseconds(opt.round_timeout_ms), [&] {
        const std::lock_guard lock(load.mu);
        return load.fig.blocks[key].size() >= load.fig.live();
      });
    }
    if (key.empty()) {
      round["error"] = "no session got a job for a new block within " + std::to_string(opt.round_timeout_ms) + " ms";
      round["sessions"] = expected;
      round["received"] = 0;
      round["missing"] = expected;
      say("round " + std::to_string(r) + ": " + round["error"].get<std::string>());
      expected_total += expected;
      rounds.push_back(round);
      continue;
    }
    round.update(block_round(load, key, trigger, answered_at, expected, all_latencies, all_after_block,
                             all_arrived_after_block));
    round["matched_by"] = matched_by;
    expected_total += expected;
    say("round " + std::to_string(r) + "/" + std::to_string(opt.rounds) + ": block " + key.substr(0, 16) + "..., " +
        (trigger ? "generate " + fixed(round["generate_ms"].get<double>(), 2) + " ms, " : std::string()) +
        round_line(round));
    rounds.push_back(round);
  }
  json out;
  out["trigger"] = opt.node ? "node_generate" : "first_receipt";
  out["rounds"] = rounds;
  json overall;
  overall["rounds"] = rounds.size();
  overall["sessions"] = expected_total;
  overall["received"] = all_latencies.size();
  overall["latency_ms"] = summary(std::move(all_latencies));
  if (opt.node) {
    overall["generate_ms"] = summary(std::move(generate_ms));
    overall["after_block_ms"] = summary(std::move(all_after_block));
    overall["arrived_after_block_ms"] = summary(std::move(all_arrived_after_block));
  }
  out["overall"] = overall;
  return out;
}

json share_phase(Load& load, Driver& driver) {
  const auto& opt = load.opt;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(opt.submit_seconds);
  {
    const std::lock_guard lock(load.mu);
    load.fig.submit_start = start;
  }
  say("shares: " + fixed(opt.submit_rate, 1) + " submits/s for " + std::to_string(opt.submit_seconds) + " s");
  driver.start_submitting(start, end);
  std::size_t shown = 0;
  const auto progress = [&] {
    const std::lock_guard lock(load.mu);
    const auto& fig = load.fig;
    for (; shown + 1 < fig.per_second.size(); ++shown) {  // the seconds that are complete
      const auto& b = fig.per_second[shown];
      say("shares second " + std::to_string(shown) + ": sent " + std::to_string(b.sent) + ", ok " +
          std::to_string(b.ok) + ", low difficulty " + std::to_string(b.low) + ", other errors " +
          std::to_string(b.other) + ", timeouts " + std::to_string(b.timeouts) + "; outstanding " +
          std::to_string(fig.outstanding()));
    }
  };
  const bool finished = wait_for(load, end, {}, progress);
  const auto sending_ended = std::min(Clock::now(), end);
  if (finished) {  // the replies still owed, or their timeouts
    wait_for(
        load, end + milliseconds(opt.reply_timeout_ms + 1000),
        [&] {
          const std::lock_guard lock(load.mu);
          const auto& fig = load.fig;
          return !load.submitting && fig.submits_sent + fig.submits_skipped == load.submits_issued &&
                 fig.outstanding() == 0;
        },
        progress);
  }
  progress();
  const std::lock_guard lock(load.mu);
  const auto& fig = load.fig;
  const double window_s = std::max(1e-3, ms_between(start, sending_ended) / 1000.0);
  std::uint64_t in_window = 0, checked_in_window = 0;
  json per_second = json::array();
  for (std::size_t s = 0; s < fig.per_second.size(); ++s) {
    const auto& b = fig.per_second[s];
    if (static_cast<double>(s) < window_s) {
      in_window += b.ok + b.low + b.other;
      checked_in_window += b.ok + b.low;
    }
    per_second.push_back(json{{"second", s},
                              {"sent", b.sent},
                              {"ok", b.ok},
                              {"low_difficulty", b.low},
                              {"other_errors", b.other},
                              {"timeouts", b.timeouts}});
  }
  const auto replies = fig.share_ok + fig.share_low + fig.share_errors_total();
  json out;
  out["rate_requested"] = opt.submit_rate;
  out["seconds"] = round3(window_s);
  out["sent"] = fig.submits_sent;
  out["skipped_no_session"] = fig.submits_skipped;
  out["replies"] = replies;
  out["ok"] = fig.share_ok;
  out["low_difficulty"] = fig.share_low;
  out["errors"] = counts(fig.share_errors);
  out["timeouts"] = fig.share_timeouts;
  out["late_replies"] = fig.share_late;
  out["unanswered"] = fig.share_timeouts - fig.share_late;
  out["lost_on_disconnect"] = fig.share_lost;
  out["outstanding_at_end"] = fig.outstanding();
  out["replies_per_s"] = round3(static_cast<double>(in_window) / window_s);
  out["checked_per_s"] = round3(static_cast<double>(checked_in_window) / window_s);
  const double drained_s = ms_between(start, fig.last_share_reply) / 1000.0;
  out["replies_per_s_with_drain"] = drained_s > 0 ? round3(static_cast<double>(replies) / drained_s) : 0.0;
  out["latency_ms"] = summary(fig.share_ms);
  out["per_second"] = per_second;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Options

std::optional<std::uint64_t> whole_number(const std::string& text, std::uint64_t min, std::uint64_t max) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return {};
  const auto value = std::stoull(text);
  if (value < min || value > max) return {};
  return value;
}

struct OptionSpec {
  const char* name;
  const char* value;  // nullptr for a flag
  const char* help;
  std::function<std::optional<std::string>(Options&, const std::string&)> apply;  // an error, or nothing
};

template <typename T>
auto number_into(T Options::*field, std::uint64_t min, std::uint64_t max) {
  return [field, min, max](Options& o, const std::string& text) -> std::optional<std::string> {
    const auto value = whole_number(text, min, max);
    if (!value) return "expects a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    o.*field = static_cast<T>(*value);
    return std::nullopt;
  };
}

std::optional<std::string> set_pool(Options& o, const std::string& text) {
  std::string rest = text;
  for (const std::string_view scheme : {"stratum+tcp://", "tcp://"}) {
    if (rest.rfind(scheme, 0) == 0) rest = rest.substr(scheme.size());
  }
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return "expects HOST:PORT";
  std::string host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!whole_number(rest.substr(colon + 1), 1, 65535)) return "has no valid port";
  asio::io_context resolver_context;
  tcp::resolver resolver(resolver_context);
  error_code ec;
  const auto found = resolver.resolve(host, rest.substr(colon + 1), ec);
  if (ec || found.empty()) return "cannot resolve '" + host + "': " + ec.message();
  o.pool = text;
  o.pool_endpoint = found.begin()->endpoint();
  return std::nullopt;
}

std::vector<OptionSpec> option_specs() {
  using O = Options;
  const auto none = std::optional<std::string>();
  return {
      {"--pool", "HOST:PORT", "the pool's stratum address (required)", set_pool},
      {"--sessions", "N", "sessions to open (default 1000)", number_into(&O::sessions, 1, 1'000'000)},
      {"--threads", "N", "io threads on one io_context (default 1)", number_into(&O::threads, 1, 64)},
      {"--connect-rate", "N", "connects started per second (default 2000)",
       number_into(&O::connect_rate, 1, 1'000'000)},
      {"--max-pending", "N", "at most this many sessions connecting or awaiting login at once (default 1000)",
       number_into(&O::max_pending, 1, 1'000'000)},
      {"--connect-timeout-ms", "MS", "connect plus login deadline per session (default 10000)",
       number_into(&O::connect_timeout_ms, 1, 3'600'000)},
      {"--login", "PREFIX", "login is PREFIX<k>.w<i>, k = i mod --accounts (default sm1qload)",
       [none](O& o, const std::string& v) -> std::optional<std::string> {
         if (v.empty()) return std::string("must not be empty");
         o.login_prefix = v;
         return none;
       }},
      {"--accounts", "K", "distinct addresses; 0 uses PREFIX as the address itself (default 1)",
       number_into(&O::accounts, 0, 1'000'000)},
      {"--pass", "TEXT", "login password (default x)",
       [none](O& o, const std::string& v) {
         o.pass = v;
         return none;
       }},
      {"--source-ips", "N", "spread source addresses over 127.0.0.1 .. 127.0.0.N",
       [none](O& o, const std::string& v) -> std::optional<std::string> {
         const auto n = whole_number(v, 1, 254);
         if (!n) return std::string("expects a whole number from 1 to 254");
         if (!o.source_addresses.empty()) return std::string("conflicts with --bind-addresses");
         for (std::uint64_t k = 1; k <= *n; ++k) {
           o.source_addresses.push_back(asio::ip::make_address("127.0.0." + std::to_string(k)));
         }
         return none;
       }},
      {"--bind-addresses", "A,B,...", "spread source addresses over this list",
       [none](O& o, const std::string& v) -> std::optional<std::string> {
         if (!o.source_addresses.empty()) return std::string("conflicts with --source-ips");
         std::size_t from = 0;
         while (from <= v.size()) {
           const auto comma = std::min(v.find(',', from), v.size());
           error_code ec;
           const auto address = asio::ip::make_address(v.substr(from, comma - from), ec);
           if (ec) return "has a bad address '" + v.substr(from, comma - from) + "'";
           o.source_addresses.push_back(address);
           from = comma + 1;
         }
         return none;
       }},
      {"--hold-s", "S", "hold the sessions this long after the logins before measuring (default 5)",
       number_into(&O::hold_s, 0, 86'400)},
      {"--pool-pid", "PID", "read the pool's VmRSS / VmHWM from /proc/PID/status",
       [none](O& o, const std::string& v) -> std::optional<std::string> {
         if (!whole_number(v, 1, 1u << 30)) return std::string("expects a process id");
         if (memory_of(v).is_null()) return "cannot read /proc/" + v + "/status";
         o.pool_pid = v;
         return none;
       }},
      {"--node", "URL", "regtest node (http://HOST:PORT): each round calls POST /generate {\"count\":1}",
       [none](O& o, const std::string& v) -> std::optional<std::string> {
         auto url = net::parse_url(v);
         if (!url) return url.error();
         o.node = *url;
         return none;
       }},
      {"--rounds", "R", "new-block rounds (default 3; 0 skips the broadcast test)",
       number_into(&O::rounds, 0, 100'000)},
      {"--round-pause-ms", "MS", "with --node: pause between rounds (default 3000)",
       number_into(&O::round_pause_ms, 0, 3'600'000)},
      {"--round-timeout-ms", "MS", "a round ends when every session has the job or after this (default 10000)",
       number_into(&O::round_timeout_ms, 1, 3'600'000)},
      {"--block-wait-s", "S", "without --node: how long to wait for the pool's next block (default 300)",
       number_into(&O::block_wait_s, 1, 86'400)},
      {"--submit-rate", "S", "submits per second over all sessions (default 0: no share test)",
       [none](O& o, const std::string& v) -> std::optional<std::string> {
         char* end = nullptr;
         const double rate = std::strtod(v.c_str(), &end);
         if (v.empty() || *end != '\0' || !(rate >= 0 && rate <= 1e6))
           return std::string("expects a rate from 0 to 1e6");
         o.submit_rate = rate;
         return none;
       }},
      {"--submit-seconds", "T", "length of the share test (default 10)", number_into(&O::submit_seconds, 1, 86'400)},
      {"--reply-timeout-ms", "MS", "a submit or keepalived unanswered this long is a timeout (default 10000)",
       number_into(&O::reply_timeout_ms, 1, 3'600'000)},
      {"--keepalive-s", "S", "keepalived this long after a session's last request (default 60; 0 off)",
       number_into(&O::keepalive_s, 0, 86'400)},
      {"--max-line", "BYTES", "longest line accepted from the pool (default 10240)",
       number_into(&O::max_line, 256, 1 << 24)},
      {"--progress-ms", "MS", "progress line interval on stderr (default 1000)",
       number_into(&O::progress_ms, 10, 3'600'000)},
      {"--json", nullptr, "the final JSON object on stdout (always on)",
       [none](O&, const std::string&) { return none; }},
      {"--help", nullptr, "this text", [none](O&, const std::string&) { return none; }},
  };
}

void print_help(const std::vector<OptionSpec>& specs) {
  std::printf(
      "usage: tensority-pool-load --pool HOST:PORT [options]\n"
      "Opens many B3 stratum sessions against `tensority pool` and measures sessions held, the pool's memory,\n"
      "job broadcast latency and share checks per second. Progress on stderr, one JSON object on stdout.\n\n");
  for (const auto& spec : specs) {
    const std::string left = std::string(spec.name) + (spec.value ? std::string(" ") + spec.value : "");
    std::printf("  %-24s %s\n", left.c_str(), spec.help);
  }
}

// 0: run; 1: --help shown; 2: bad options (message printed).
int parse_options(int argc, char** argv, Options& opt) {
  const auto specs = option_specs();
  const auto bad = [](const std::string& text) {
    std::fprintf(stderr, "tensority-pool-load: %s (see --help)\n", text.c_str());
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return arg == s.name; });
    if (spec == specs.end()) return bad("unknown option '" + arg + "'");
    if (arg == "--help") {
      print_help(specs);
      return 1;
    }
    std::string value;
    if (spec->value != nullptr) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return bad(arg + " needs a value (" + spec->value + ")");
      }
    } else if (inline_value) {
      return bad(arg + " takes no value");
    }
    if (auto error = spec->apply(opt, value)) return bad(arg + " " + *error);
  }
  if (opt.pool.empty()) return bad("--pool HOST:PORT is required");
  return 0;
}

// Raises the soft RLIMIT_NOFILE to the hard limit; false (and why) when --sessions cannot fit.
bool raise_fd_limit(std::size_t sessions) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return true;  // cannot tell: let socket() say
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  const auto needed = sessions + kReservedFds;
  if (limit.rlim_cur != RLIM_INFINITY && needed > limit.rlim_cur) {
    say("--sessions " + std::to_string(sessions) + " needs about " + std::to_string(needed) +
        " file descriptors (one per session plus " + std::to_string(kReservedFds) + "), but RLIMIT_NOFILE is " +
        std::to_string(limit.rlim_cur) + " (hard limit " + std::to_string(limit.rlim_max) +
        "); lower --sessions or raise the hard limit (ulimit -Hn, LimitNOFILE=)");
    return false;
  }
  return true;
}

// One destination port takes one ephemeral port per session per source address.
void check_ephemeral_ports(const Options& opt) {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint64_t low = 0, high = 0;
  if (!(in >> low >> high) || high < low) return;
  const std::size_t sources = std::max<std::size_t>(1, opt.source_addresses.size());
  const auto per_source = (opt.sessions + sources - 1) / sources;
  if (per_source > high - low + 1) {
    say("warning: " + std::to_string(per_source) + " sessions per source address but only " +
        std::to_string(high - low + 1) + " ephemeral ports; use --source-ips");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (const int parsed = parse_options(argc, argv, opt); parsed != 0) return parsed == 1 ? 0 : 2;
  if (!raise_fd_limit(opt.sessions)) return 1;
  check_ephemeral_ports(opt);

  asio::io_context ioc(static_cast<int>(opt.threads));
  Load load(opt, ioc);
  load.sessions.reserve(opt.sessions);
  for (std::size_t i = 0; i < opt.sessions; ++i) load.sessions.push_back(std::make_unique<Session>(load, i));
  Driver driver(load);

  // Ctrl-C / SIGTERM: finish with the figures so far; a second one exits at once.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  std::function<void(const error_code&, int)> on_signal = [&](const error_code& ec, int) {
    if (ec) return;
    if (load.stopping.exchange(true)) std::_Exit(130);
    say("stopping: reporting the figures so far (again to quit at once)");
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  auto work = asio::make_work_guard(ioc);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < opt.threads; ++t) threads.emplace_back([&ioc] { ioc.run(); });

  const auto run_start = Clock::now();
  json pool_memory;
  if (!opt.pool_pid.empty()) pool_memory["pid"] = std::stoll(opt.pool_pid);
  const auto sample = [&](const char* phase) {
    if (!opt.pool_pid.empty()) pool_memory[phase] = memory_of(opt.pool_pid);
  };
  sample("before");

  // 1. Sessions: connect at the paced rate until each has logged in or failed.
  say("connecting " + std::to_string(opt.sessions) + " sessions to " + opt.pool + " at " +
      std::to_string(opt.connect_rate) + "/s");
  driver.start();
  const auto resolved = [&] {
    const std::lock_guard lock(load.mu);
    return load.fig.logged_in + load.fig.login_failed + load.fig.connect_failed >= opt.sessions;
  };
  std::uint64_t last_logged_in = 0;
  const auto connect_progress = [&] {
    const std::lock_guard lock(load.mu);
    const auto& fig = load.fig;
    say("sessions: started " + std::to_string(load.connects_started.load()) + "/" + std::to_string(opt.sessions) +
        ", connected " + std::to_string(fig.connected) + ", logged in " + std::to_string(fig.logged_in) + " (+" +
        std::to_string(fig.logged_in - last_logged_in) + "), failed connect " + std::to_string(fig.connect_failed) +
        " / login " + std::to_string(fig.login_failed) + ", dropped " + std::to_string(fig.dropped));
    last_logged_in = fig.logged_in;
  };
  wait_for(load, TimePoint::max(), resolved, connect_progress);
  const double connect_s = ms_between(run_start, Clock::now()) / 1000.0;
  connect_progress();
  sample("logged_in");

  std::uint64_t held_after_hold = 0;
  if (!load.stopping) {
    wait_for(load, Clock::now() + std::chrono::seconds(opt.hold_s), {}, connect_progress);
    const std::lock_guard lock(load.mu);
    held_after_hold = load.fig.live();
  }
  sample("held");
  if (!opt.pool_pid.empty() && !pool_memory["held"].is_null()) {
    say("pool memory while holding " + std::to_string(held_after_hold) + " sessions: VmRSS " +
        std::to_string(pool_memory["held"]["vm_rss_kib"].get<std::uint64_t>()) + " KiB, VmHWM " +
        std::to_string(pool_memory["held"]["vm_hwm_kib"].get<std::uint64_t>()) + " KiB");
  }

  // 2. Job broadcast rounds; 3. share checks.
  json broadcast = nullptr, shares = nullptr;
  if (opt.rounds > 0 && !load.stopping && held_after_hold > 0) {
    broadcast = broadcast_phase(load);
    sample("after_rounds");
  }
  if (opt.submit_rate > 0 && !load.stopping && held_after_hold > 0) {
    shares = share_phase(load, driver);
    sample("after_shares");
  }
  sample("end");

  driver.stop();
  work.reset();
  ioc.stop();
  for (auto& thread : threads) thread.join();

  // The report. Sessions are closed only after it (when `load` goes), so "end" still has them.
  const std::lock_guard lock(load.mu);
  const auto& fig = load.fig;
  json out;
  out["tool"] = "tensority-pool-load";
  out["pool"] = opt.pool;
  out["node"] = opt.node ? json(net::to_string(*opt.node)) : json(nullptr);
  out["interrupted"] = load.stopping.load();
  out["elapsed_s"] = round3(ms_between(run_start, Clock::now()) / 1000.0);
  out["options"] = json{{"sessions", opt.sessions},
                        {"threads", opt.threads},
                        {"connect_rate", opt.connect_rate},
                        {"max_pending", opt.max_pending},
                        {"hold_s", opt.hold_s},
                        {"source_addresses", opt.source_addresses.size()},
                        {"rounds", opt.rounds},
                        {"round_pause_ms", opt.round_pause_ms},
                        {"submit_rate", opt.submit_rate},
                        {"submit_seconds", opt.submit_seconds},
                        {"keepalive_s", opt.keepalive_s}};
  json sessions;
  sessions["requested"] = opt.sessions;
  sessions["connects_started"] = load.connects_started.load();
  sessions["connected"] = fig.connected;
  sessions["connect_failed"] = fig.connect_failed;
  sessions["connect_errors"] = counts(fig.connect_errors);
  sessions["logged_in"] = fig.logged_in;
  sessions["login_failed"] = fig.login_failed;
  sessions["login_errors"] = counts(fig.login_errors);
  sessions["connect_phase_s"] = round3(connect_s);
  sessions["logins_per_s"] = connect_s > 0 ? round3(static_cast<double>(fig.logged_in) / connect_s) : 0.0;
  sessions["connect_login_ms"] = summary(fig.login_ms);
  sessions["held"] = held_after_hold;
  sessions["held_at_end"] = fig.live();
  sessions["dropped"] = fig.dropped;
  sessions["drop_reasons"] = counts(fig.drop_reasons);
  out["sessions"] = sessions;
  if (opt.pool_pid.empty()) {
    out["pool_memory"] = nullptr;
  } else {
    const auto& before = pool_memory["before"];
    const auto& held = pool_memory["held"];
    if (!before.is_null() && !held.is_null() && held_after_hold > 0) {
      const auto grown = static_cast<double>(held["vm_rss_kib"].get<std::uint64_t>()) -
                         static_cast<double>(before["vm_rss_kib"].get<std::uint64_t>());
      pool_memory["rss_per_session_kib"] = round3(grown / static_cast<double>(held_after_hold));
    }
    out["pool_memory"] = pool_memory;
  }
  out["broadcast"] = broadcast;
  out["shares"] = shares;
  out["protocol"] = json{{"jobs", fig.jobs},
                         {"same_block_jobs", fig.same_block_jobs},
                         {"repeated_jobs", fig.repeated_jobs},
                         {"bad_jobs", fig.bad_jobs},
                         {"bad_lines", fig.bad_lines},
                         {"other_messages", fig.other_messages},
                         {"stray_replies", fig.stray_replies},
                         {"keepalive", json{{"sent", fig.keepalive_sent},
                                            {"ok", fig.keepalive_ok},
                                            {"failed", fig.keepalive_failed},
                                            {"timeouts", fig.keepalive_timeouts}}}};
  out["load_process"] = memory_of("self");
  std::printf("%s\n", out.dump(2).c_str());
  std::fflush(stdout);
  return fig.logged_in > 0 ? 0 : 1;
}
