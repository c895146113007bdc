// StratumSession against an in-process pool on real loopback sockets (plain and TLS with a
// certificate made at test time): login, job switches, submit verdicts, and every way a
// session ends (silent pool, closed socket, oversize or garbage lines, timeouts, close()).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tensority/core/hex.hpp"
#include "tensority/miner/stratum_session.hpp"
#include "tensority/stratum/codec.hpp"

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace tensority;
using miner::StratumOptions;
using miner::StratumSession;
using miner::SubmitReply;
using miner::SubmitStatus;
using miner::Work;
using stratum::Message;

// ---- jobs ---------------------------------------------------------------------------------

core::BlockHeader base_header() {
  // The share vector's job (height 17548).
  core::BlockHeader h;
  h.version = 1;
  h.height = 17548;
  h.previous_block_id = core::hash_from_hex("8f11dad3d32550bfb5a6bf9f7a344c8a436be37897887e3c74d1b380abd3587d").value();
  h.timestamp = 1526348364;
  h.transactions_merkle_root =
      core::hash_from_hex("2c0abd8189aba80a8940c3bb4263c9560a97e81d89aa1389ff47e754add4ce98").value();
  h.transaction_status_hash =
      core::hash_from_hex("c9c377e5192668bc0a367e4a4764f11e7c725ecced1d7b6a492974fab1b6d5bc").value();
  h.bits = 0x1d00000000047a1dULL;
  return h;
}

const core::Hash kSeed =
    core::hash_from_hex("6aa116ef17d69e398ba388e8f0e1805f6f98afb9dfb8fb87679ad5d3c099099d").value();

stratum::Job job(const std::string& id, std::uint64_t height_offset = 0, std::uint64_t difficulty = 256) {
  auto h = base_header();
  h.height += height_offset;
  if (height_offset != 0) h.previous_block_id[0] = static_cast<std::uint8_t>(h.previous_block_id[0] + height_offset);
  return stratum::make_job(id, h, kSeed, 0x0000200000000000ULL, difficulty);
}

// ---- in-memory self-signed certificate ------------------------------------------------------

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

const TestCert& test_cert() {
  static const TestCert cert = [] {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tensority test pool"),
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(x, key, EVP_sha256());
    TestCert out;
    BIO* cb = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(cb, x);
    out.cert_pem = bio_text(cb);
    BIO_free(cb);
    BIO* kb = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
    out.key_pem = bio_text(kb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
  }();
  return cert;
}

// ---- the test pool --------------------------------------------------------------------------

// A scripted pool: every line a client sends is recorded and handed to `respond` on the pool's
// thread, whose returned lines go back. Tests push lines or drop the connection at any time.
class TestPool {
 public:
  using Respond = std::function<std::vector<std::string>(const Message&)>;

  explicit TestPool(bool tls = false) : tls_(tls), tls_ctx_(ssl::context::tls_server) {
    if (tls_) {
      tls_ctx_.use_certificate_chain(asio::buffer(test_cert().cert_pem));
      tls_ctx_.use_private_key(asio::buffer(test_cert().key_pem), ssl::context::pem);
    }
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestPool() {
    asio::post(ioc_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      if (conn_) conn_->close();
    });
    ioc_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const {
    return std::string(tls_ ? "stratum+ssl" : "stratum+tcp") + "://127.0.0.1:" + std::to_string(port());
  }

  void set_respond(Respond r) {
    std::lock_guard lock(mu_);
    respond_ = std::move(r);
  }
  void push(std::string line) {
    asio::post(ioc_, [this, line = std::move(line)] {
      if (conn_) conn_->send(line);
    });
  }
  void drop() {
    asio::post(ioc_, [this] {
      if (conn_) conn_->close();
    });
  }
  std::vector<Message> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::vector<Message> received(const std::string& method) {
    std::vector<Message> out;
    for (auto& m : received()) {
      if (m.method == method) out.push_back(m);
    }
    return out;
  }
  bool wait_for(const std::string& method, std::size_t count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return std::count_if(received_.begin(), received_.end(), [&](const Message& m) { return m.method == method; }) >=
             static_cast<long>(count);
    });
  }
  int connections() const { return connections_.load(); }
  bool wait_disconnect(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return disconnected_ > 0; });
  }

  // The usual pool: login answered with `first`, submits accepted, keepalived answered.
  static Respond standard(stratum::Job first, std::string login_id = "token-1", std::vector<std::string> ext = {}) {
    return [=](const Message& m) -> std::vector<std::string> {
      if (m.method == "login") return {stratum::login_reply(m.id, login_id, first, ext)};
      if (m.method == "submit") return {stratum::ok_reply(m.id)};
      if (m.method == "keepalived") return {stratum::keepalived_reply(m.id)};
      if (m.method == "getjob") return {stratum::getjob_reply(m.id, first)};
      return {};
    };
  }

 private:
  using error_code = boost::system::error_code;

  struct Conn : std::enable_shared_from_this<Conn> {
    TestPool& pool;
    std::optional<tcp::socket> plain;
    std::optional<ssl::stream<tcp::socket>> tls;
    asio::streambuf in;
    std::deque<std::string> out;
    bool closed = false;

    Conn(TestPool& p, tcp::socket s) : pool(p) {
      if (pool.tls_) {
        tls.emplace(std::move(s), pool.tls_ctx_);
      } else {
        plain.emplace(std::move(s));
      }
    }
    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
    void start() {
      auto self = shared_from_this();
      if (!tls) {
        read();
        return;
      }
      tls->async_handshake(ssl::stream_base::server, [self](const error_code& ec) {
        if (ec) {
          self->close();
          return;
        }
        self->read();
      });
    }
    void read() {
      auto self = shared_from_this();
      auto done = [self](const error_code& ec, std::size_t n) {
        if (ec) {
          self->close();
          return;
        }
        std::string line(asio::buffers_begin(self->in.data()),
                         asio::buffers_begin(self->in.data()) + static_cast<long>(n));
        self->in.consume(n);
        self->pool.on_line(*self, line);
        if (!self->closed) self->read();
      };
      if (tls) {
        asio::async_read_until(*tls, in, '\n', done);
      } else {
        asio::async_read_until(*plain, in, '\n', done);
      }
    }
    void send(std::string line) {
      if (closed) return;
      out.push_back(std::move(line));
      if (out.size() == 1) write();
    }
    void write() {
      auto self = shared_from_this();
      auto done = [self](const error_code& ec, std::size_t) {
        if (ec) {
          self->close();
          return;
        }
        self->out.pop_front();
        if (!self->out.empty()) self->write();
      };
      if (tls) {
        asio::async_write(*tls, asio::buffer(out.front()), done);
      } else {
        asio::async_write(*plain, asio::buffer(out.front()), done);
      }
    }
    void close() {
      if (closed) return;
      closed = true;
      error_code ignored;
      socket().shutdown(tcp::socket::shutdown_both, ignored);
      socket().close(ignored);
      {
        std::lock_guard lock(pool.mu_);
        ++pool.disconnected_;
      }
      pool.cv_.notify_all();
    }
  };

  void accept() {
    acceptor_.async_accept([this](const error_code& ec, tcp::socket s) {
      if (ec) return;
      ++connections_;
      conn_ = std::make_shared<Conn>(*this, std::move(s));
      conn_->start();
      accept();
    });
  }

  void on_line(Conn& conn, const std::string& line) {
    auto msg = stratum::parse_line(line);
    ASSERT_TRUE(msg.ok()) << "client sent a bad line: " << line << ": " << msg.error();
    Respond respond;
    {
      std::lock_guard lock(mu_);
      received_.push_back(*msg);
      respond = respond_;
    }
    cv_.notify_all();
    if (!respond) return;
    for (auto& reply : respond(*msg)) conn.send(std::move(reply));
  }

  bool tls_;
  asio::io_context ioc_;
  ssl::context tls_ctx_;
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::shared_ptr<Conn> conn_;
  std::atomic<int> connections_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  Respond respond_;
  std::vector<Message> received_;
  int disconnected_ = 0;
};

// ---- the client side ------------------------------------------------------------------------

// Collects works and log lines from the session thread.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<const Work>> works;
  std::vector<std::string> logs;

  miner::SessionEvents events() {
    miner::SessionEvents e;
    e.on_work = [this](std::shared_ptr<const Work> w) {
      std::lock_guard lock(mu);
      works.push_back(std::move(w));
      cv.notify_all();
    };
    e.log = [this](miner::LogLevel, std::string_view, std::string_view text) {
      std::lock_guard lock(mu);
      logs.emplace_back(text);
      cv.notify_all();
    };
    return e;
  }
  bool wait_works(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return works.size() >= n; });
  }
  bool wait_log(const std::string& part, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] {
      return std::any_of(logs.begin(), logs.end(),
                         [&](const std::string& l) { return l.find(part) != std::string::npos; });
    });
  }
  std::vector<std::shared_ptr<const Work>> snapshot() {
    std::lock_guard lock(mu);
    return works;
  }
};

// Runs session.run() on its own thread; closes the session before joining, so a failed
// assertion cannot leave the test waiting for a session nobody ends.
class Runner {
 public:
  explicit Runner(StratumSession& s)
      : session_(s), thread_([this, &s] {
          auto r = s.run();
          std::lock_guard lock(mu_);
          reason_ = std::move(r);
          done_ = true;
          cv_.notify_all();
        }) {}
  ~Runner() {
    session_.close();
    thread_.join();
  }
  std::optional<std::string> wait(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return done_; })) return std::nullopt;
    return reason_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string reason_;
  StratumSession& session_;
  std::thread thread_;
};

// Handler results, waited on from the test thread.
struct Verdicts {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<SubmitReply> replies;
  std::atomic<int> calls{0};

  miner::SubmitHandler handler() {
    return [this](const SubmitReply& r) {
      ++calls;
      std::lock_guard lock(mu);
      replies.push_back(r);
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return replies.size() >= n; });
  }
};

StratumOptions options(const TestPool& pool) {
  StratumOptions o;
  o.url = pool.url();
  o.user = "bm1qaddress.rig1";
  o.connect_timeout = 5s;
  o.reply_timeout = 5s;
  return o;
}

miner::Solution solution(const std::shared_ptr<const Work>& work, std::uint64_t nonce) {
  miner::Solution s;
  s.work = work;
  s.nonce = nonce;
  s.result[31] = 0x5a;
  s.result[0] = static_cast<std::uint8_t>(nonce);
  return s;
}

// ---- tests ----------------------------------------------------------------------------------

TEST(StratumUrl, Parses) {
  auto u = miner::parse_stratum_url("stratum+tcp://pool.example.com:6666");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "pool.example.com");
  EXPECT_EQ(u->port, 6666);
  u = miner::parse_stratum_url("stratum+ssl://[::1]:9119/");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "::1");
  for (const char* bad : {"stratum+tcp://host", "stratum+tcp://host:0", "stratum+tcp://host:65536", "http://host:80",
                          "stratum+tcp://:80", "stratum+tcp://user@host:80", "stratum+tcp://host:80/path",
                          "stratum+tcp://[::1:80", "stratum+tcp://host:8x", "host:80", ""}) {
    const auto r = miner::parse_stratum_url(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().find('\n'), std::string::npos);
    }
  }
}

TEST(StratumSession, LoginGivesFirstWorkAndRepeatIsIgnored) {
  TestPool pool;
  const auto first = job("171567");
  // btmcpool style: the login job comes again as a notification right after the reply.
  pool.set_respond([first](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") return {stratum::login_reply(m.id, "token-1", first), stratum::job_notification(first)};
    return {};
  });
  Sink sink;
  StratumSession session(options(pool));
  EXPECT_EQ(session.describe(), pool.url());
  const auto opened = session.open(sink.events());
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_EQ(sink.snapshot().size(), 1u);
  const auto w = sink.snapshot()[0];
  EXPECT_EQ(w->upstream, pool.url());
  EXPECT_EQ(w->job_id, "171567");
  EXPECT_EQ(w->header, first.header);
  EXPECT_EQ(w->header.nonce, 0u);
  EXPECT_EQ(w->seed, kSeed);
  EXPECT_EQ(w->nonce_start, 0x0000200000000000ULL);
  EXPECT_EQ(w->nonce_span, std::uint64_t{1} << 32);
  EXPECT_EQ(w->share_target.limbs, first.share_target.limbs);
  EXPECT_NEAR(w->share_difficulty, 256, 1e-9);
  EXPECT_EQ(w->block_target.limbs, core::Target256::from_bits(0x1d00000000047a1dULL).limbs);
  EXPECT_TRUE(w->new_block);

  const auto logins = pool.received("login");
  ASSERT_EQ(logins.size(), 1u);
  const auto params = stratum::decode_login_params(logins[0].params);
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->login, "bm1qaddress.rig1");
  EXPECT_EQ(params->pass, "x");
  EXPECT_TRUE(params->agent.starts_with("tensority/"));

  Runner runner(session);
  pool.push(stratum::job_notification(job("171568")));
  ASSERT_TRUE(sink.wait_works(2));
  EXPECT_TRUE(sink.wait_log("repeated job 171567"));
  const auto works = sink.snapshot();
  ASSERT_EQ(works.size(), 2u);  // the repeated login job made no work
  EXPECT_EQ(works[1]->job_id, "171568");
  session.close();
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason, "closed by request");
}

TEST(StratumSession, JobSwitchSetsNewBlock) {
  TestPool pool;
  pool.set_respond(TestPool::standard(job("1")));
  Sink sink;
  StratumSession session(options(pool));
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  pool.push(stratum::job_notification(job("2", 0, 128)));  // same block, new target
  pool.push(stratum::job_notification(job("3", 1)));       // next block
  pool.push(stratum::job_notification(job("3", 1)));       // repeated: ignored
  pool.push(stratum::job_notification(job("4", 1)));       // same block again
  ASSERT_TRUE(sink.wait_works(4));
  session.close();
  ASSERT_TRUE(runner.wait().has_value());
  const auto w = sink.snapshot();
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0]->job_id, "1");
  EXPECT_TRUE(w[0]->new_block);
  EXPECT_EQ(w[1]->job_id, "2");
  EXPECT_FALSE(w[1]->new_block);
  EXPECT_NEAR(w[1]->share_difficulty, 128, 1e-9);
  EXPECT_EQ(w[2]->job_id, "3");
  EXPECT_TRUE(w[2]->new_block);
  EXPECT_EQ(w[2]->header.height, 17549u);
  EXPECT_EQ(w[3]->job_id, "4");
  EXPECT_FALSE(w[3]->new_block);
}

TEST(StratumSession, SubmitVerdicts) {
  TestPool pool;
  const auto first = job("171567");
  pool.set_respond([first](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") return {stratum::login_reply(m.id, "token-1", first)};
    if (m.method != "submit") return {};
    const auto p = stratum::decode_submit_params(m.params).value();
    switch (p.nonce & 0xff) {
      case 1: return {stratum::ok_reply(m.id)};
      case 2: return {stratum::error_reply(m.id, stratum::kErrLowDifficultyShare, "Low Difficulty Share")};
      case 3: return {stratum::error_reply(m.id, -1, "Block expired")};
      case 4: return {stratum::error_reply(m.id, stratum::kErrJobNotFound, "Job Not Found")};
      case 5: return {stratum::error_reply(m.id, -1, "Low difficulty share")};
      default: return {stratum::error_reply(m.id, stratum::kErrDuplicateShare, "Duplicate Share")};
    }
  });
  Sink sink;
  StratumSession session(options(pool));
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  const auto w = sink.snapshot()[0];
  const std::uint64_t base = 0x0000200000000000ULL;
  std::vector<std::unique_ptr<Verdicts>> v;
  for (std::uint64_t i = 1; i <= 6; ++i) {
    v.push_back(std::make_unique<Verdicts>());
    session.submit(solution(w, base + i), v.back()->handler());
    ASSERT_TRUE(v.back()->wait(1));  // one at a time, so the order is known
  }
  const SubmitStatus want[] = {SubmitStatus::accepted, SubmitStatus::rejected, SubmitStatus::stale,
                               SubmitStatus::stale,    SubmitStatus::rejected, SubmitStatus::rejected};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(v[i]->replies[0].status, want[i]) << i << ": " << v[i]->replies[0].message;
    EXPECT_EQ(v[i]->calls.load(), 1);
  }
  EXPECT_EQ(v[1]->replies[0].message, "Low Difficulty Share");
  EXPECT_EQ(v[2]->replies[0].message, "Block expired");
  EXPECT_EQ(v[5]->replies[0].message, "Duplicate Share");

  const auto submits = pool.received("submit");
  ASSERT_EQ(submits.size(), 6u);
  const auto& p = submits[0].params;
  EXPECT_EQ(p["id"], "token-1");  // the login result's id, not the user name
  EXPECT_EQ(p["job_id"], "171567");
  EXPECT_EQ(p["nonce"], "0000200000000001");
  EXPECT_EQ(p["result"], core::to_hex(solution(w, base + 1).result));
  session.close();
  EXPECT_EQ(runner.wait().value_or(""), "closed by request");
}

// btmcpool-style pools answer a share whose block was replaced with 32 Invalid Submit Format,
// the code they also give bad input: stale when a new block came first, rejected otherwise.
TEST(StratumSession, Code32AfterANewBlockIsStale) {
  TestPool pool;
  const auto first = job("171567");
  pool.set_respond([first](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") return {stratum::login_reply(m.id, "token-1", first)};
    if (m.method != "submit") return {};
    const auto p = stratum::decode_submit_params(m.params).value();
    const std::string refusal = stratum::error_reply(m.id, stratum::kErrInvalidSubmitFormat, "Invalid Submit Format");
    if ((p.nonce & 0xff) == 1) return {refusal};
    return {stratum::job_notification(job("171568", 1)), refusal};
  });
  Sink sink;
  StratumSession session(options(pool));
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  const auto w = sink.snapshot()[0];
  Verdicts same_block, new_block;
  session.submit(solution(w, 0x0000200000000001ULL), same_block.handler());
  ASSERT_TRUE(same_block.wait(1));
  session.submit(solution(w, 0x0000200000000002ULL), new_block.handler());
  ASSERT_TRUE(new_block.wait(1));
  EXPECT_EQ(same_block.replies[0].status, SubmitStatus::rejected);
  EXPECT_EQ(new_block.replies[0].status, SubmitStatus::stale) << new_block.replies[0].message;
  session.close();
  EXPECT_EQ(runner.wait().value_or(""), "closed by request");
}

TEST(StratumSession, SilentPoolLosesSubmitAndEnds) {
  TestPool pool;
  pool.set_respond([](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") return {stratum::login_reply(m.id, "t", job("1"))};
    return {};  // submits go unanswered
  });
  Sink sink;
  auto o = options(pool);
  o.reply_timeout = 300ms;
  StratumSession session(o);
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  Verdicts v;
  const auto start = std::chrono::steady_clock::now();
  session.submit(solution(sink.snapshot()[0], 7), v.handler());
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("no reply to submit"), std::string::npos) << *reason;
  ASSERT_TRUE(v.wait(1));
  EXPECT_EQ(v.replies[0].status, SubmitStatus::lost);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(v.calls.load(), 1);
  // After the end, a submit is answered at once.
  Verdicts late;
  session.submit(solution(sink.snapshot()[0], 8), late.handler());
  ASSERT_EQ(late.replies.size(), 1u);
  EXPECT_EQ(late.replies[0].status, SubmitStatus::lost);
}

TEST(StratumSession, PoolClosesConnection) {
  TestPool pool;
  pool.set_respond([](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") return {stratum::login_reply(m.id, "t", job("1"))};
    return {};
  });
  Sink sink;
  StratumSession session(options(pool));
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  Verdicts v;
  session.submit(solution(sink.snapshot()[0], 1), v.handler());
  session.submit(solution(sink.snapshot()[0], 2), v.handler());
  ASSERT_TRUE(pool.wait_for("submit", 2));
  pool.drop();
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("connection closed by pool"), std::string::npos) << *reason;
  ASSERT_TRUE(v.wait(2));
  EXPECT_EQ(v.replies[0].status, SubmitStatus::lost);
  EXPECT_EQ(v.replies[1].status, SubmitStatus::lost);
  EXPECT_EQ(v.calls.load(), 2);
}

TEST(StratumSession, OversizeLineEndsSession) {
  TestPool pool;
  pool.set_respond(TestPool::standard(job("1")));
  Sink sink;
  auto o = options(pool);
  o.max_line = 1024;
  StratumSession session(o);
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  Verdicts v;
  pool.push(std::string(4096, 'x'));  // no newline: the limit must hold on a partial line too
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("longer than 1024 bytes"), std::string::npos) << *reason;
}

TEST(StratumSession, GarbageLineEndsSession) {
  TestPool pool;
  pool.set_respond(TestPool::standard(job("1")));
  Sink sink;
  StratumSession session(options(pool));
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  pool.push("\r\n");  // blank lines are tolerated
  pool.push(R"({"jsonrpc":"2.0","method":"client.show_message","params":["hello"]})"
            "\n");
  ASSERT_TRUE(sink.wait_log("unsupported method 'client.show_message'"));
  pool.push("this is not json\n");
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("bad line from pool"), std::string::npos) << *reason;
  EXPECT_EQ(reason->find('\n'), std::string::npos);
}

TEST(StratumSession, BadJobEndsSession) {
  TestPool pool;
  pool.set_respond(TestPool::standard(job("1")));
  Sink sink;
  StratumSession session(options(pool));
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  auto bad = stratum::encode_job(job("2"));
  bad["nonce"] = "00002000000000b9f";
  pool.push(json{{"jsonrpc", "2.0"}, {"method", "job"}, {"params", bad}}.dump() + "\n");
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("bad job from pool"), std::string::npos) << *reason;
}

TEST(StratumSession, LoginRefused) {
  TestPool pool;
  pool.set_respond(
      [](const Message& m) -> std::vector<std::string> { return {stratum::error_reply(m.id, -1, "Invalid login")}; });
  Sink sink;
  Verdicts v;
  StratumSession session(options(pool));
  session.submit(solution(nullptr, 1), v.handler());  // queued before open: lost when it fails
  const auto opened = session.open(sink.events());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().find("Invalid login"), std::string::npos) << opened.error();
  EXPECT_TRUE(sink.snapshot().empty());
  ASSERT_EQ(v.replies.size(), 1u);
  EXPECT_EQ(v.replies[0].status, SubmitStatus::lost);
  EXPECT_NE(session.run().find("not open"), std::string::npos);
}

TEST(StratumSession, ConnectFailures) {
  std::uint16_t port = 0;
  {
    TestPool pool;  // a port that was just free
    port = pool.port();
  }
  Sink sink;
  StratumOptions o;
  o.url = "stratum+tcp://127.0.0.1:" + std::to_string(port);
  o.user = "a.b";
  StratumSession refused(o);
  const auto r = refused.open(sink.events());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("cannot connect"), std::string::npos) << r.error();

  o.url = "stratum+tcp://nowhere";
  StratumSession bad_url(o);
  const auto b = bad_url.open(sink.events());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().find("port"), std::string::npos) << b.error();
}

TEST(StratumSession, GetjobWhenLoginHasNoJob) {
  TestPool pool;
  const auto first = job("55");
  pool.set_respond([first](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") {
      return {json{{"id", m.id}, {"jsonrpc", "2.0"}, {"result", {{"id", "t"}, {"status", "OK"}}}, {"error", nullptr}}
                  .dump() +
              "\n"};
    }
    if (m.method == "getjob") return {stratum::getjob_reply(m.id, first)};
    return {};
  });
  Sink sink;
  auto o = options(pool);
  o.getjob_delay = 100ms;
  StratumSession session(o);
  const auto opened = session.open(sink.events());
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_EQ(sink.snapshot().size(), 1u);
  EXPECT_EQ(sink.snapshot()[0]->job_id, "55");
  const auto gets = pool.received("getjob");
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0].params["id"], "t");
}

TEST(StratumSession, JobBeforeLoginReply) {
  TestPool pool;
  const auto first = job("77");
  pool.set_respond([first](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") {
      return {stratum::job_notification(first),
              json{{"id", m.id}, {"jsonrpc", "2.0"}, {"result", {{"id", "t"}, {"status", "OK"}}}, {"error", nullptr}}
                      .dump() +
                  "\n"};
    }
    if (m.method == "submit") return {stratum::ok_reply(m.id)};
    return {};
  });
  Sink sink;
  auto o = options(pool);
  o.getjob_delay = 50ms;
  StratumSession session(o);
  const auto opened = session.open(sink.events());
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_EQ(sink.snapshot().size(), 1u);
  Runner runner(session);
  Verdicts v;
  session.submit(solution(sink.snapshot()[0], 1), v.handler());
  ASSERT_TRUE(v.wait(1));
  EXPECT_EQ(v.replies[0].status, SubmitStatus::accepted);
  EXPECT_EQ(pool.received("submit").at(0).params["id"], "t");  // sent after the login id was known
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(pool.received("getjob").empty());
  session.close();
  EXPECT_EQ(runner.wait().value_or(""), "closed by request");
}

TEST(StratumSession, KeepaliveWhenAdvertised) {
  TestPool pool;
  std::atomic<bool> answer{true};
  const auto first = job("1");
  pool.set_respond([&answer, first](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") return {stratum::login_reply(m.id, "t", first, {"keepalive"})};
    if (m.method == "keepalived" && answer) return {stratum::keepalived_reply(m.id)};
    return {};
  });
  Sink sink;
  auto o = options(pool);
  o.keepalive_interval = 150ms;
  o.reply_timeout = 400ms;
  StratumSession session(o);
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  ASSERT_TRUE(pool.wait_for("keepalived", 3));
  EXPECT_EQ(pool.received("keepalived")[0].params["id"], "t");
  answer = false;
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("no reply to keepalived"), std::string::npos) << *reason;
}

TEST(StratumSession, NoKeepaliveUnlessAdvertised) {
  TestPool pool;
  pool.set_respond(TestPool::standard(job("1")));
  Sink sink;
  auto o = options(pool);
  o.keepalive_interval = 50ms;
  StratumSession session(o);
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  std::this_thread::sleep_for(400ms);
  session.close();
  ASSERT_TRUE(runner.wait().has_value());
  EXPECT_TRUE(pool.received("keepalived").empty());
}

TEST(StratumSession, JobTimeoutEndsSession) {
  TestPool pool;
  pool.set_respond(TestPool::standard(job("1")));
  Sink sink;
  auto o = options(pool);
  o.job_timeout = 300ms;
  StratumSession session(o);
  ASSERT_TRUE(session.open(sink.events()).ok());
  Runner runner(session);
  const auto reason = runner.wait();
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("no job from pool for 300 ms"), std::string::npos) << *reason;
}

TEST(StratumSession, CloseFromAnotherThreadLosesPendingSubmits) {
  TestPool pool;
  pool.set_respond([](const Message& m) -> std::vector<std::string> {
    if (m.method == "login") return {stratum::login_reply(m.id, "t", job("1"))};
    return {};
  });
  Sink sink;
  StratumSession session(options(pool));
  ASSERT_TRUE(session.open(sink.events()).ok());
  Verdicts v;
  session.submit(solution(sink.snapshot()[0], 1), v.handler());  // before run(): queued
  Runner runner(session);
  ASSERT_TRUE(pool.wait_for("submit", 1));
  std::vector<std::thread> closers;
  for (int i = 0; i < 4; ++i) {
    closers.emplace_back([&] {
      session.submit(solution(sink.snapshot()[0], 2), v.handler());
      session.close();
    });
  }
  for (auto& t : closers) t.join();
  EXPECT_EQ(runner.wait().value_or(""), "closed by request");
  ASSERT_TRUE(v.wait(5));
  EXPECT_EQ(v.calls.load(), 5);
  for (const auto& r : v.replies) EXPECT_EQ(r.status, SubmitStatus::lost);
}

TEST(StratumSession, DestructorLosesQueuedSubmits) {
  TestPool pool;
  pool.set_respond(TestPool::standard(job("1")));
  Sink sink;
  Verdicts v;
  {
    StratumSession session(options(pool));
    ASSERT_TRUE(session.open(sink.events()).ok());
    session.submit(solution(sink.snapshot()[0], 1), v.handler());
  }
  ASSERT_EQ(v.replies.size(), 1u);
  EXPECT_EQ(v.replies[0].status, SubmitStatus::lost);
}

TEST(StratumSession, TlsWithSelfSignedCertificate) {
  TestPool pool(/*tls=*/true);
  pool.set_respond(TestPool::standard(job("9")));
  {
    Sink sink;
    StratumSession session(options(pool));  // tls_verify off: any certificate
    const auto opened = session.open(sink.events());
    ASSERT_TRUE(opened.ok()) << opened.error();
    Runner runner(session);
    Verdicts v;
    session.submit(solution(sink.snapshot()[0], 1), v.handler());
    ASSERT_TRUE(v.wait(1));
    EXPECT_EQ(v.replies[0].status, SubmitStatus::accepted);
    session.close();
    EXPECT_EQ(runner.wait().value_or(""), "closed by request");
  }
  {
    // Verification on, against the system CAs: the self-signed certificate is refused.
    Sink sink;
    auto o = options(pool);
    o.tls_verify = true;
    StratumSession session(o);
    const auto opened = session.open(sink.events());
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().find("TLS handshake"), std::string::npos) << opened.error();
  }
  const auto ca =
      std::filesystem::temp_directory_path() / ("tensority-stratum-ca-" + std::to_string(::getpid()) + ".pem");
  { std::ofstream(ca) << test_cert().cert_pem; }
  {
    // Verification against the certificate itself, and the address matches its SAN.
    Sink sink;
    auto o = options(pool);
    o.tls_verify = true;
    o.tls_ca_file = ca.string();
    StratumSession session(o);
    const auto opened = session.open(sink.events());
    ASSERT_TRUE(opened.ok()) << opened.error();
    EXPECT_EQ(sink.snapshot()[0]->job_id, "9");
  }
  {
    // The right CA but the wrong name: the SAN holds only the address 127.0.0.1.
    Sink sink;
    auto o = options(pool);
    o.url = "stratum+ssl://localhost:" + std::to_string(pool.port());
    o.tls_verify = true;
    o.tls_ca_file = ca.string();
    StratumSession session(o);
    const auto opened = session.open(sink.events());
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().find("TLS handshake"), std::string::npos) << opened.error();
  }
  std::filesystem::remove(ca);
}

}  // namespace
