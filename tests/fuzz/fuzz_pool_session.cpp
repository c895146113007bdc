// A pool's stratum port takes bytes from anyone: whatever a logged-in miner sends, the server
// answers only with lines a stratum client can parse (responses, and job pushes), never wedges
// and never falls over, and the next miner still logs in and gets a job.
//
// One StratumServer runs in this process on 127.0.0.1 (port 0) for every input. Each input is
// one TCP session: a valid login, then the input's bytes as they are (its newlines make the
// lines), then a newline (ending any partial last line) and a keepalived with a marker id.
// Replies are read until the marker's answer or the server closing the session; a server that
// neither answers nor closes within kReplyTimeout fails the input. A second, fresh session then
// logs in and must get a job. The client resets its sockets (SO_LINGER 0) instead of closing
// them, so 20000 inputs leave no TIME_WAIT ports behind.
//
// Two placeholders let mutated inputs reach past the session's own checks: "@JOB@" becomes the
// job id of the login's job (so submits reach the share handler), and "@NEWBLOCK@" publishes
// the next block's template at that point (so that job goes stale, and every session gets a push).
// The share handler needs no hashing: the verdict comes from the nonce, so every answer the
// server can give a submit is reachable.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/pool/accounting.hpp"
#include "tensority/pool/server.hpp"
#include "tensority/stratum/codec.hpp"

namespace {

using namespace tensority;
using namespace tensority::pool;

constexpr std::string_view kLoginLine =
    R"({"id":1,"method":"login","params":{"login":"sm1qfuzz.w","pass":"x","agent":"fuzz/1.0"}})"
    "\n";
constexpr std::string_view kMarkerId = "fuzz-end-7e5011e7";
constexpr std::string_view kJobPlaceholder = "@JOB@";
constexpr std::string_view kNewBlockPlaceholder = "@NEWBLOCK@";
constexpr std::size_t kMaxNewBlocksPerInput = 4;  // each is a broadcast to every session
// Far above any honest answer time on loopback; only a wedged server takes this long.
constexpr int kReplyTimeoutSeconds = 5;
// Replies are re-read without the server's limit: a job push is longer than a request may be.
constexpr std::size_t kNoLimit = static_cast<std::size_t>(-1);

// The mainnet genesis header (docs/spec/tensority.md section 5), a real header to hand out as work.
constexpr std::string_view kGenesisHeader =
    "0101000000000000000000000000000000000000000000000000000000000000000000e08ffbd6054058e45ceb675a0b3d7ad3ab9d42880487"
    "89de8194e9766b26d8f42fdb624d4390c9c377e5192668bc0a367e4a4764f11e7c725ecced1d7b6a492974fab1b6d5bce19f8080a88d02e8"
    "b68480808080801e";

// Answers every submit at once, the verdict picked by the nonce's low bits.
class NonceVerdicts : public ShareHandler {
 public:
  void handle(Submission submission, std::function<void(SubmitResult)> done) override {
    static constexpr SubmitVerdict kVerdicts[] = {SubmitVerdict::accepted,     SubmitVerdict::low_difficulty,
                                                  SubmitVerdict::duplicate,    SubmitVerdict::wrong_result,
                                                  SubmitVerdict::busy,         SubmitVerdict::failed};
    SubmitResult result;
    result.verdict = kVerdicts[submission.nonce % std::size(kVerdicts)];
    result.block = result.verdict == SubmitVerdict::accepted && (submission.nonce & 0x80) != 0;
    if (result.verdict == SubmitVerdict::failed) result.message = "the pool could not record the share";
    done(std::move(result));
  }
};

class FuzzPool {
 public:
  FuzzPool() : server_(options(), handler_, [](bool, const std::string&) {}) {
    auto raw = core::from_hex(kGenesisHeader);
    FUZZ_CHECK(raw.ok());
    auto parsed = core::parse_header(*raw);
    FUZZ_CHECK(parsed.ok());
    auto first = std::make_shared<Template>();
    first->id = 1;
    first->first_of_block = 1;
    first->header = parsed->header;
    first->header.nonce = 0;
    first->seed = core::block_id(parsed->header);  // any fixed hash: nothing here hashes
    first->network_difficulty = network_difficulty(first->header.bits);
    current_ = first;
    server_.publish(first, true);
    auto port = server_.start();
    if (!port) std::fprintf(stderr, "fuzz_pool_session: %s\n", port.error().c_str());
    FUZZ_CHECK(port.ok());
    port_ = *port;
  }

  std::uint16_t port() const { return port_; }

  // The next block's template, published as a new block: jobs of earlier ones go stale.
  void new_block() {
    std::lock_guard lock(mutex_);
    auto next = std::make_shared<Template>(*current_);
    next->id = current_->id + 1;
    next->first_of_block = next->id;
    next->header.previous_block_id = core::block_id(current_->header);
    next->header.height += 1;
    current_ = next;
    server_.publish(next, true);
  }

 private:
  static ServerOptions options() {
    ServerOptions o;
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;  // sessions on both threads: pushes and verdicts cross threads
    o.instance = 5;
    o.vardiff.start = 256;
    o.vardiff.min = 2;
    o.max_line = 512;  // the least --max-line allows: mutated inputs reach the flood limit
    // Thousands of logins a second from 127.0.0.1 are the harness, not an attack; and a ban
    // (of the login and the IP) would refuse every later input.
    o.login_rate = 1e9;
    o.login_burst = 1e9;
    o.ban_duration = std::chrono::milliseconds(0);
    o.valid_address = {};  // any address text the server's own syntax check takes
    return o;
  }

  NonceVerdicts handler_;  // outlives the server, which calls it until stopped
  StratumServer server_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::shared_ptr<const Template> current_;
};

FuzzPool& fuzz_pool() {
  static FuzzPool pool;
  return pool;
}

// One client session over a plain blocking socket.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const timeval timeout{kReplyTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  }
  ~Client() {
    // A reset, not a FIN: no TIME_WAIT on this side for every one of thousands of sessions.
    const linger reset{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // False once the server has closed its side (it may, mid-input: floods, malformed lines).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next whole line without its newline; nothing when the server closed the session. A
  // server that stays silent without closing fails the input.
  std::optional<std::string> read_line() {
    for (;;) {
      const auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        std::fprintf(stderr, "fuzz_pool_session: no reply and no close in %d s\n", kReplyTimeoutSeconds);
        const bool answered_or_closed = false;
        FUZZ_CHECK(answered_or_closed);
      }
      // An orderly close follows whole lines. A reset (the server closed with our bytes still
      // unread, as after a flood) may cut what was in flight, so there nothing is checked.
      if (n == 0) FUZZ_CHECK(buffer_.empty());
      return std::nullopt;
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// Every line the server sends is a response to a request, or a job push.
stratum::Message parse_reply(const std::string& line) {
  auto message = stratum::parse_line(line, kNoLimit);
  if (!message) std::fprintf(stderr, "fuzz_pool_session: unparsable reply: %s\n", line.c_str());
  FUZZ_CHECK(message.ok());
  if (message->kind == stratum::Message::Kind::notification) {
    FUZZ_CHECK(message->method == "job");
    FUZZ_CHECK(stratum::decode_job(message->params).ok());
  } else {
    FUZZ_CHECK(message->kind == stratum::Message::Kind::response);
  }
  return std::move(message).value();
}

// Logs in and answers the job id of the job the login reply carries.
std::string log_in(Client& client) {
  FUZZ_CHECK(client.send(kLoginLine));
  for (;;) {
    const auto line = client.read_line();
    FUZZ_CHECK(line.has_value() && "the server closed a fresh session instead of answering its login");
    const stratum::Message reply = parse_reply(*line);
    if (reply.kind != stratum::Message::Kind::response) continue;  // a push racing the reply
    FUZZ_CHECK(reply.id == 1 && !reply.error);
    const auto login = stratum::decode_login_result(reply.result);
    FUZZ_CHECK(login.ok() && login->job.has_value());
    return login->job->job_id;
  }
}

// The input with "@JOB@" replaced, cut at every "@NEWBLOCK@" (the cuts are where blocks come).
std::vector<std::string> segments(std::string_view input, const std::string& job_id) {
  std::vector<std::string> out(1);
  while (!input.empty()) {
    if (input.substr(0, kJobPlaceholder.size()) == kJobPlaceholder) {
      out.back() += job_id;
      input.remove_prefix(kJobPlaceholder.size());
    } else if (input.substr(0, kNewBlockPlaceholder.size()) == kNewBlockPlaceholder) {
      out.emplace_back();
      input.remove_prefix(kNewBlockPlaceholder.size());
    } else {
      out.back() += input.front();
      input.remove_prefix(1);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzPool& pool = fuzz_pool();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  {
    Client client(pool.port());
    const std::string job_id = log_in(client);
    const auto parts = segments(input, job_id);
    bool open = true;
    for (std::size_t i = 0; i < parts.size() && open; ++i) {
      if (i > 0 && i <= kMaxNewBlocksPerInput) pool.new_block();
      open = client.send(parts[i]);
    }
    const std::string marker = std::string("\n{\"id\":\"") + std::string(kMarkerId) + "\",\"method\":\"keepalived\"}\n";
    if (open) client.send(marker);
    // Read to the marker's answer or the close, whichever the input led to.
    while (const auto line = client.read_line()) {
      const stratum::Message reply = parse_reply(*line);
      if (reply.kind == stratum::Message::Kind::response && reply.id.is_string() &&
          reply.id.get<std::string>() == kMarkerId) {
        FUZZ_CHECK(!reply.error);
        break;
      }
    }
  }
  // Still serving: a fresh session logs in and gets a job.
  Client fresh(pool.port());
  (void)log_in(fresh);
  return 0;
}
