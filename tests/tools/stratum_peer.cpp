// tensority-stratum-peer: a scripted Bytom stratum pool for integration tests. It serves the
// share-vector job of examples.json (height 17548, difficulty 256) and really verifies every
// submit: header from the job it sent, block id, Tensority on the CPU, share target.
//
//   tensority-stratum-peer --examples FILE [--port N] [--name NAME] [--reject-every N] [--switch-after N]
//
// stdout gets one flushed line per event, for tests to wait on:
//   listening on 127.0.0.1:PORT | login USER | job JOB_ID new_block=0|1
//   submit JOB_ID NONCE accepted|rejected|stale | disconnect
// stderr gets "NAME: ..." lines saying why a share was refused. SIGTERM or SIGINT exits 0.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "tensority/core/block_header.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/stratum/codec.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using json = nlohmann::json;
using namespace tensority;

struct Config {
  std::uint16_t port = 0;
  std::string examples;
  std::string name = "stratum-peer";
  unsigned reject_every = 0;  // 0: never
  unsigned switch_after = 0;  // 0: never
};

void event(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

struct Peer {
  Config cfg;
  stratum::Job base;  // examples.json share_vectors.job
  kernels::hal::HostHasher hasher;
  std::uint64_t next_job_id = 171567;  // the example's id first; unique across connections
  std::uint64_t connections = 0;

  void note(const std::string& text) const { std::fprintf(stderr, "%s: %s\n", cfg.name.c_str(), text.c_str()); }

  // Stage 0: the example job; 1: same block, easier target; 2: the next block.
  stratum::Job make(unsigned stage, std::uint64_t nonce_start) {
    core::BlockHeader h = base.header;
    if (stage >= 2) {
      h.previous_block_id = core::block_id(base.header);
      h.height += 1;
      h.timestamp += 150;
    }
    return stratum::make_job(std::to_string(next_job_id++), h, base.seed, nonce_start, stage == 1 ? 128 : 256);
  }
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(Peer& peer, tcp::socket socket)
      : peer_(peer),
        socket_(std::move(socket)),
        in_(stratum::kDefaultMaxLine + 1),
        nonce_start_(peer.base.nonce_start + (peer.connections++ << 32)) {}

  void start() { read(); }

 private:
  void read() {
    asio::async_read_until(socket_, in_, '\n', [self = shared_from_this()](const error_code& ec, std::size_t n) {
      if (ec) {
        if (ec == asio::error::not_found) self->peer_.note("line longer than the limit; disconnecting");
        self->close();
        return;
      }
      const auto begin = asio::buffers_begin(self->in_.data());
      const std::string line(begin, begin + static_cast<std::ptrdiff_t>(n));
      self->in_.consume(n);
      self->handle(line);
      if (self->socket_.is_open()) self->read();
    });
  }

  void send(std::string line) {
    out_.push_back(std::move(line));
    if (out_.size() == 1) write();
  }

  void write() {
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->out_.pop_front();
                        if (!self->out_.empty()) self->write();
                      });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    event("disconnect");
  }

  void push_job(const stratum::Job& job, const json* login_id) {
    const bool new_block = !current_ || current_->header.previous_block_id != job.header.previous_block_id ||
                           current_->header.height != job.header.height;
    if (new_block) {
      // Shares for an older block can never count any more: they get "Block expired".
      std::erase_if(jobs_,
                    [&](const auto& kv) { return kv.second.header.previous_block_id != job.header.previous_block_id; });
    }
    jobs_[job.job_id] = job;
    current_ = job;
    send(login_id != nullptr ? stratum::login_reply(*login_id, login_, job) : stratum::job_notification(job));
    event("job " + job.job_id + " new_block=" + (new_block ? "1" : "0"));
  }

  void handle(const std::string& line) {
    const auto msg = stratum::parse_line(line);
    if (!msg) {
      peer_.note(msg.error());
      close();
      return;
    }
    if (msg->kind != stratum::Message::Kind::request) return;
    const auto& id = msg->id;
    if (msg->method == "login") {
      const auto p = stratum::decode_login_params(msg->params);
      if (!p) return send(stratum::error_reply(id, stratum::kErrInvalidAuthorizeFormat, p.error()));
      if (!login_.empty())
        return send(stratum::error_reply(id, stratum::kErrMultipleAuthorization, "Multiple Authorization"));
      login_ = p->login;
      event("login " + login_);
      push_job(peer_.make(0, nonce_start_), &id);
    } else if (msg->method == "submit") {
      submit(*msg);
    } else if (msg->method == "getjob" || msg->method == "getwork") {
      if (!current_) return send(stratum::error_reply(id, stratum::kErrUnauthorizedWorker, "Unauthorized Worker"));
      send(stratum::getjob_reply(id, *current_));
    } else if (msg->method == "keepalived") {
      send(stratum::keepalived_reply(id));
    } else {
      send(stratum::error_reply(id, stratum::kErrUnsupportedMethod, "Unsupported Method"));
    }
  }

  void submit(const stratum::Message& msg) {
    const auto& id = msg.id;
    const auto p = stratum::decode_submit_params(msg.params);
    const auto refuse = [&](const std::string& job_id, const std::string& nonce, int code, const std::string& text,
                            const char* verdict) {
      send(stratum::error_reply(id, code, text));
      event("submit " + job_id + " " + nonce + " " + verdict);
    };
    if (!p) {
      peer_.note("bad submit: " + p.error());
      return refuse("-", "-", stratum::kErrInvalidSubmitFormat, "Invalid Submit Format", "rejected");
    }
    const std::string nonce = stratum::encode_submit_nonce(p->nonce);
    if (login_.empty() || p->id != login_) {
      return refuse(p->job_id, nonce, stratum::kErrUnauthorizedWorker, "Unauthorized Worker", "rejected");
    }
    const auto it = jobs_.find(p->job_id);
    if (it == jobs_.end()) return refuse(p->job_id, nonce, stratum::kErrJobNotFound, "Block expired", "stale");
    if (!seen_.emplace(p->job_id, p->nonce).second) {
      return refuse(p->job_id, nonce, stratum::kErrDuplicateShare, "Duplicate Share", "rejected");
    }
    ++submits_;
    if (peer_.cfg.reject_every != 0 && submits_ % peer_.cfg.reject_every == 0) {
      return refuse(p->job_id, nonce, stratum::kErrLowDifficultyShare, "Low Difficulty Share", "rejected");
    }
    if (!p->result) {
      peer_.note("submit without a result");
      return refuse(p->job_id, nonce, stratum::kErrInvalidSubmitFormat, "Invalid Submit Format", "rejected");
    }
    const auto& job = it->second;
    auto header = job.header;
    header.nonce = p->nonce;
    const auto result = peer_.hasher(job.seed, core::block_id(header));
    if (result != *p->result) {
      peer_.note("result of " + p->job_id + "/" + nonce + " differs from ours: " + stratum::encode_hash(result));
      return refuse(p->job_id, nonce, stratum::kErrLowDifficultyShare, "Low Difficulty Share", "rejected");
    }
    if (!job.share_target.met_by(result)) {
      peer_.note("result of " + p->job_id + "/" + nonce + " is above the share target");
      return refuse(p->job_id, nonce, stratum::kErrLowDifficultyShare, "Low Difficulty Share", "rejected");
    }
    send(stratum::ok_reply(id));
    event("submit " + p->job_id + " " + nonce + " accepted");
    ++accepted_;
    const unsigned n = peer_.cfg.switch_after;
    if (n != 0 && (accepted_ == n || accepted_ == 2 * n))
      push_job(peer_.make(accepted_ == n ? 1 : 2, nonce_start_), nullptr);
  }

  Peer& peer_;
  tcp::socket socket_;
  asio::streambuf in_;
  std::deque<std::string> out_;
  bool closed_ = false;
  std::uint64_t nonce_start_;
  std::string login_;
  std::map<std::string, stratum::Job> jobs_;
  std::optional<stratum::Job> current_;
  std::set<std::pair<std::string, std::uint64_t>> seen_;
  unsigned submits_ = 0;
  unsigned accepted_ = 0;
};

void accept(tcp::acceptor& acceptor, Peer& peer) {
  acceptor.async_accept([&acceptor, &peer](const error_code& ec, tcp::socket socket) {
    if (ec) return;
    std::make_shared<Conn>(peer, std::move(socket))->start();
    accept(acceptor, peer);
  });
}

bool parse_args(int argc, char** argv, Config& cfg) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return false;
    const std::string value = argv[++i];
    try {
      if (arg == "--port") {
        const auto port = std::stoul(value);
        if (port > 65535) return false;
        cfg.port = static_cast<std::uint16_t>(port);
      } else if (arg == "--examples") {
        cfg.examples = value;
      } else if (arg == "--name") {
        cfg.name = value;
      } else if (arg == "--reject-every") {
        cfg.reject_every = static_cast<unsigned>(std::stoul(value));
      } else if (arg == "--switch-after") {
        cfg.switch_after = static_cast<unsigned>(std::stoul(value));
      } else {
        return false;
      }
    } catch (const std::exception&) {
      return false;
    }
  }
  return !cfg.examples.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Peer peer;
  if (!parse_args(argc, argv, peer.cfg)) {
    std::fprintf(stderr,
                 "usage: tensority-stratum-peer --examples FILE [--port N] [--name NAME] [--reject-every N] "
                 "[--switch-after N]\n");
    return 2;
  }
  std::ifstream in(peer.cfg.examples);
  const json examples = json::parse(in, nullptr, false);
  if (examples.is_discarded() || !examples.contains("share_vectors")) {
    peer.note("cannot read share_vectors from " + peer.cfg.examples);
    return 2;
  }
  auto base = stratum::decode_job(examples["share_vectors"]["job"]);
  if (!base) {
    peer.note("bad share_vectors job: " + base.error());
    return 2;
  }
  peer.base = std::move(base).value();
  peer.hasher = kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store());

  asio::io_context ioc(1);
  tcp::acceptor acceptor(ioc);
  error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), peer.cfg.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    peer.note("cannot listen on 127.0.0.1:" + std::to_string(peer.cfg.port) + ": " + ec.message());
    return 1;
  }
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&ioc](const error_code&, int) { ioc.stop(); });
  accept(acceptor, peer);
  event("listening on 127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  peer.note("serving job " + peer.base.job_id + " (height " + std::to_string(peer.base.header.height) + ")");
  ioc.run();
  return 0;
}
