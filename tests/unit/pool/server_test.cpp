// The stratum server over loopback: the B3 dialect as the Antpool capture and btmcpool have it
// (examples.json), stale and unknown jobs, duplicates, limits, bans and the new-block
// broadcast. Shares are really checked (Tensority on the CPU) by the pool's ShareProcessor;
// only the store behind it is left out, so an accepted share is answered at once.
#include "tensority/pool/server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/pool/accounting.hpp"
#include "tensority/pool/share_processor.hpp"
#include "tensority/stratum/codec.hpp"
#include "vectors.hpp"

namespace tensority::pool {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;

const json& share_vectors() { return test::stratum_examples()["share_vectors"]; }
const json& capture() { return test::stratum_examples()["stratum"]["antpool_capture"]; }

// The share vector's block (mainnet height 17548) as node work.
std::shared_ptr<Template> vector_template(std::uint64_t id, std::uint64_t first_of_block) {
  auto job = stratum::decode_job(share_vectors()["job"]);
  EXPECT_TRUE(job.ok());
  auto t = std::make_shared<Template>();
  t->id = id;
  t->first_of_block = first_of_block;
  t->header = job->header;
  t->seed = job->seed;
  t->network_difficulty = network_difficulty(job->header.bits);
  return t;
}

std::shared_ptr<Template> next_block(const Template& prev, std::uint64_t id) {
  auto t = std::make_shared<Template>(prev);
  t->id = id;
  t->first_of_block = id;
  t->header.previous_block_id = core::block_id(prev.header);
  t->header.height += 1;
  return t;
}

// Accepts what the share check accepts, as the pool does before its store.
class Checker {
 public:
  Checker()
      : processor_(ProcessorOptions{1, 64}, kernels::cpu::make_host_hasher(kernels::cpu::shared_cache_store()),
                   [this](const Submission& s, const ShareCheck& c, ShareProcessor::Done done) {
                     {
                       std::lock_guard lock(mutex_);
                       accepted_.push_back(s);
                     }
                     SubmitResult r;
                     r.verdict = SubmitVerdict::accepted;
                     r.block = c.verdict == ShareVerdict::block;
                     done(r);
                   }) {}
  ShareProcessor& processor() { return processor_; }
  std::vector<Submission> accepted() {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

 private:
  std::mutex mutex_;
  std::vector<Submission> accepted_;
  ShareProcessor processor_;
};

struct ServerFixture {
  explicit ServerFixture(ServerOptions o = defaults())
      : server(o, checker.processor(), [](bool, const std::string&) {}) {
    server.publish(vector_template(1, 1), true);
    auto p = server.start();
    EXPECT_TRUE(p.ok()) << (p ? "" : p.error());
    port = p ? *p : 0;
  }
  static ServerOptions defaults() {
    ServerOptions o;
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.instance = 3;
    o.vardiff.start = 256;  // target field 00000001, the share vector's
    o.vardiff.min = 2;
    o.ban_min_submits = 1000;
    return o;
  }
  Checker checker;
  StratumServer server;
  std::uint16_t port = 0;
};

class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void send(const std::string& line) { asio::write(socket_, asio::buffer(line)); }
  void send(const json& j) { send(j.dump() + "\n"); }
  std::string raw_line() {
    boost::system::error_code ec;
    asio::read_until(socket_, buffer_, '\n', ec);
    std::istream in(&buffer_);
    std::string line;
    std::getline(in, line);
    return line;
  }
  // The next line, or nothing when the server closed the connection (or 5 s passed).
  std::optional<json> read() {
    boost::system::error_code ec;
    asio::read_until(socket_, buffer_, '\n', ec);
    if (ec) return std::nullopt;
    std::istream in(&buffer_);
    std::string line;
    std::getline(in, line);
    return json::parse(line);
  }
  // The reply with this id, skipping pushes (kept for next_push).
  json reply(int id) {
    for (;;) {
      auto m = read();
      if (!m) return json();
      if (m->contains("id") && (*m)["id"] == id) return *m;
      pushes_.push_back(*m);
    }
  }
  std::optional<json> next_push() {
    if (!pushes_.empty()) {
      json j = pushes_.front();
      pushes_.erase(pushes_.begin());
      return j;
    }
    return read();
  }
  bool closed() {
    auto m = read();
    return !m.has_value();
  }
  // Reads what was sent before the server closed the connection.
  bool drained_and_closed() {
    for (int i = 0; i < 5000; ++i) {
      if (!read()) return true;
    }
    return false;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  asio::streambuf buffer_;
  std::vector<json> pushes_;
};

const std::string kLogin = "sm1qaddress0.rig1";

json login(Client& c, const std::string& user = kLogin) {
  c.send(
      json{{"id", 1}, {"method", "login"}, {"params", {{"login", user}, {"pass", "x"}, {"agent", "bmminer/2.0.0"}}}});
  return c.reply(1);
}

json submit(Client& c, int id, const std::string& job_id, const std::string& nonce, const std::string& user = kLogin) {
  c.send(json{{"id", id}, {"method", "submit"}, {"params", {{"id", user}, {"job_id", job_id}, {"nonce", nonce}}}});
  return c.reply(id);
}

// A distinct low-difficulty-looking nonce per abuser and line.
std::string fmt_nonce(int abuser, int i) {
  char text[17];
  std::snprintf(text, sizeof text, "00003%03x%08x", abuser, i);
  return text;
}

int error_code_of(const json& reply) { return reply["error"].is_object() ? reply["error"]["code"].get<int>() : 0; }

TEST(JobLineRenderer, WritesExactlyWhatTheCodecWrites) {
  auto t = vector_template(1, 1);
  const JobLineRenderer r(*t);
  for (std::uint64_t d : {2ull, 256ull, 65537ull, 100000ull, 1ull << 32}) {
    const auto job = stratum::make_job("9876543210", t->header, t->seed, 0x0300000500000000ull, d);
    EXPECT_EQ(r.render(job.job_id, job.nonce_start, job.target_field), stratum::job_notification(job)) << d;
  }
}

// The Antpool capture's message shapes, replayed: what an Antminer B3 sends, and what it
// must get back, key for key.
TEST(StratumServer, AnswersTheB3CaptureShapes) {
  ServerFixture f;
  Client c(f.port);
  json request = capture()["login_request"];  // no "jsonrpc", agent bmminer/2.0.0
  request["params"]["login"] = kLogin;
  c.send(request);
  const json reply = c.reply(1);
  const json& want = capture()["login_response"];
  ASSERT_TRUE(reply.contains("result")) << reply.dump();
  EXPECT_EQ(reply["jsonrpc"], "2.0");
  EXPECT_TRUE(reply["error"].is_null());
  EXPECT_EQ(reply["result"]["status"], "OK");
  EXPECT_EQ(reply["result"]["id"], kLogin);  // echoed, as Antpool echoes "antminer_1"
  for (const auto& [key, value] : want["result"]["job"].items()) {
    ASSERT_TRUE(reply["result"]["job"].contains(key)) << key;
    ASSERT_TRUE(reply["result"]["job"][key].is_string()) << key;
    // job_id is decimal of any width up to 2^63 (btmcpool's are random u64s); the rest are fixed-width hex.
    if (key != "job_id") {
      EXPECT_EQ(reply["result"]["job"][key].get<std::string>().size(), value.get<std::string>().size()) << key;
    }
  }
  EXPECT_EQ(reply["result"]["job"].size(), want["result"]["job"].size());
  auto job = stratum::decode_job(reply["result"]["job"]);
  ASSERT_TRUE(job.ok()) << job.error();
  EXPECT_EQ(job->target_field, "00000001");
  EXPECT_EQ(job->nonce_start >> 56, 3u);  // instance 3 in the high bits
  EXPECT_EQ(job->nonce_start & 0xffffffffu, 0u);

  // The share vector's accepted nonce, in the capture's submit shape (no jsonrpc, with result).
  const json& share = share_vectors()["cases"][1];
  json s = capture()["submit_request"];
  s["params"]["id"] = kLogin;
  s["params"]["job_id"] = job->job_id;
  s["params"]["nonce"] = share["nonce_submit_hex"];
  s["params"]["result"] = share["tensority_result"];
  c.send(s);
  const json ok = c.reply(3);
  EXPECT_EQ(ok, capture()["submit_response_ok"]) << ok.dump();

  // A low-difficulty nonce: an error object with a code and a message.
  s["id"] = 41;
  s["params"]["nonce"] = share_vectors()["cases"][0]["nonce_submit_hex"];
  s["params"].erase("result");
  c.send(s);
  const json low = c.reply(41);
  EXPECT_TRUE(low["result"].is_null());
  EXPECT_EQ(error_code_of(low), stratum::kErrLowDifficultyShare);
  EXPECT_TRUE(low["error"]["message"].is_string());

  // getjob and keepalived (the recommended extensions) in their shapes.
  json g = test::stratum_examples()["stratum"]["recommended_extensions"]["getjob_request"];
  g["params"]["id"] = kLogin;
  c.send(g);
  const json gj = c.reply(4);
  EXPECT_TRUE(stratum::decode_job(gj["result"]).ok()) << gj.dump();
  json k = test::stratum_examples()["stratum"]["recommended_extensions"]["keepalived_request"];
  k["params"]["id"] = kLogin;
  c.send(k);
  EXPECT_EQ(c.reply(5), test::stratum_examples()["stratum"]["recommended_extensions"]["keepalived_response"]);
  ASSERT_EQ(f.checker.accepted().size(), 1u);
  EXPECT_EQ(f.checker.accepted()[0].address, "sm1qaddress0");
  EXPECT_EQ(f.checker.accepted()[0].worker, "rig1");
}

TEST(StratumServer, AShortNonceTakesTheSessionsHighBits) {
  ServerFixture f;
  Client c(f.port);
  const json r = login(c);
  auto job = stratum::decode_job(r["result"]["job"]);
  ASSERT_TRUE(job.ok());
  // 8 hex digits, as in the Antpool doc: the pool ORs in the range's high bits. Whatever the
  // verdict, the share checked is the one inside this session's range.
  submit(c, 2, job->job_id, "000000b9");
  EXPECT_EQ(f.server.counters().out_of_range, 0u);
  EXPECT_EQ(f.server.counters().low_difficulty + f.server.counters().accepted, 1u);
}

TEST(StratumServer, RefusesWhatTheDialectForbids) {
  ServerFixture f;
  Client c(f.port);
  // Before login.
  EXPECT_EQ(error_code_of(submit(c, 2, "1", "00")), stratum::kErrUnauthorizedWorker);
  // Not an address.
  EXPECT_EQ(error_code_of(login(c, "antminer_1!")), stratum::kErrInvalidAuthorizeFormat);
  const json r = login(c);
  ASSERT_TRUE(r["error"].is_null()) << r.dump();
  EXPECT_EQ(error_code_of(login(c)), stratum::kErrMultipleAuthorization);
  const std::string job_id = r["result"]["job"]["job_id"];
  EXPECT_EQ(error_code_of(submit(c, 3, "12345", "00002000000000b9")), stratum::kErrJobNotFound);
  EXPECT_EQ(error_code_of(submit(c, 4, job_id, "xyz")), stratum::kErrInvalidSubmitFormat);
  EXPECT_EQ(error_code_of(submit(c, 5, job_id, "00002000000000b9", "someone.else")), stratum::kErrUnauthorizedWorker);
  c.send(json{{"id", 6}, {"method", "mining.subscribe"}, {"params", json::array()}});
  EXPECT_EQ(error_code_of(c.reply(6)), stratum::kErrUnsupportedMethod);
  // Malformed JSON: an error, and the session stays.
  c.send(std::string("{\"id\":7,\"method\":\n"));
  auto bad = c.read();
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(error_code_of(*bad), stratum::kErrUnknown);
  // The same share twice: the second is a duplicate.
  EXPECT_TRUE(submit(c, 8, job_id, "00002000000000b9")["error"].is_null());
  EXPECT_EQ(error_code_of(submit(c, 9, job_id, "00002000000000b9")), stratum::kErrDuplicateShare);
  EXPECT_EQ(error_code_of(submit(c, 10, job_id, "00002000000000d5")), 0);
  const auto counters = f.server.counters();
  EXPECT_EQ(counters.accepted, 2u);
  EXPECT_EQ(counters.duplicate, 1u);
  EXPECT_EQ(counters.malformed, 2u);  // the bad nonce and the bad line
}

TEST(StratumServer, NewBlockReachesEverySessionAndOldJobsGoStale) {
  ServerFixture f;
  Client a(f.port), b(f.port);
  const std::string job_a = login(a)["result"]["job"]["job_id"];
  login(b, "sm1qother.w");
  auto first = vector_template(1, 1);
  f.server.publish(next_block(*first, 2), true);
  for (Client* c : {&a, &b}) {
    auto push = c->next_push();
    ASSERT_TRUE(push.has_value());
    EXPECT_EQ((*push)["method"], "job");
    EXPECT_EQ((*push)["params"]["previous_block_hash"], stratum::encode_hash(core::block_id(first->header)));
  }
  const json stale = submit(a, 2, job_a, "00002000000000b9");
  EXPECT_EQ(error_code_of(stale), stratum::kErrJobNotFound);
  EXPECT_EQ(stale["error"]["message"], "Block expired");
  EXPECT_EQ(f.server.counters().stale, 1u);
  EXPECT_EQ(f.server.counters().broadcasts, 1u);
}

TEST(StratumServer, ClosesFloodsAndBansInvalidSubmitters) {
  ServerOptions o = ServerFixture::defaults();
  o.max_line = 600;
  o.ban_min_submits = 4;
  o.ban_invalid_ratio = 0.5;
  o.ban_duration = 60s;
  ServerFixture f(o);
  {
    Client flood(f.port);
    flood.send(std::string(700, 'x'));
    EXPECT_TRUE(flood.closed());
  }
  Client c(f.port);
  const std::string job_id = login(c)["result"]["job"]["job_id"];
  // Four low-difficulty nonces in a row (each really hashed): banned on the fourth.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(error_code_of(submit(c, 10 + i, job_id, "000020000000000" + std::to_string(i))),
              stratum::kErrLowDifficultyShare);
  }
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(f.server.counters().bans, 1u);
  // The login is banned, not its IP: a farm behind NAT is one address, and its other miners
  // did nothing wrong.
  Client again(f.port);
  EXPECT_EQ(error_code_of(login(again)), stratum::kErrUnauthorizedWorker);
  EXPECT_TRUE(again.closed());
  Client neighbour(f.port);
  EXPECT_TRUE(login(neighbour, "sm1qaddress0.rig2")["error"].is_null());
  EXPECT_EQ(f.server.counters().bans, 1u);
}

// A login flood is what bans an IP.
TEST(StratumServer, ALoginFloodBansTheIp) {
  ServerOptions o = ServerFixture::defaults();
  o.login_rate = 0.01;
  o.login_burst = 2;
  o.ban_duration = 60s;
  ServerFixture f(o);
  for (int i = 0; i < 2; ++i) {
    Client c(f.port);
    EXPECT_TRUE(login(c)["error"].is_null());
  }
  Client flood(f.port);
  EXPECT_EQ(error_code_of(login(flood)), stratum::kErrGeneric);
  EXPECT_EQ(f.server.counters().bans, 1u);
  Client after(f.port);
  EXPECT_TRUE(after.closed());
}

// Cheap refusals (over the rate limit, another login's id) count toward the ban: padding a
// stream of junk shares with them must not keep a session under the invalid share that bans
// it. And naming another login does not get around the rate limit.
TEST(StratumServer, RefusedSubmitsCountTowardTheBan) {
  ServerOptions o = ServerFixture::defaults();
  o.ban_min_submits = 6;
  o.ban_invalid_ratio = 0.5;
  o.ban_duration = 60s;
  o.submit_rate = 0.01;
  o.submit_burst = 3;
  ServerFixture f(o);
  Client c(f.port);
  const std::string job_id = login(c)["result"]["job"]["job_id"];
  const std::string other = "sm1qaddress0.someone_else";
  EXPECT_EQ(error_code_of(submit(c, 2, job_id, "0000200000000001", other)), stratum::kErrUnauthorizedWorker);
  EXPECT_EQ(error_code_of(submit(c, 3, job_id, "0000200000000002", other)), stratum::kErrUnauthorizedWorker);
  EXPECT_EQ(error_code_of(submit(c, 4, job_id, "0000200000000003", other)), stratum::kErrUnauthorizedWorker);
  EXPECT_EQ(error_code_of(submit(c, 5, job_id, "0000200000000004", other)), stratum::kErrGeneric);  // rate limit
  EXPECT_EQ(error_code_of(submit(c, 6, job_id, "0000200000000005")), stratum::kErrGeneric);
  EXPECT_EQ(error_code_of(submit(c, 7, job_id, "0000200000000006")), stratum::kErrGeneric);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(f.server.counters().bans, 1u);
  EXPECT_EQ(f.server.counters().low_difficulty + f.server.counters().accepted, 0u);  // nothing was hashed
}

// Eight sessions send junk shares padded with refusals, as seen against an earlier version
// (383 junk shares hashed, no ban, an honest miner's answers at 3-10 s). Now each is banned
// after a few junk shares and the honest miner is answered promptly.
TEST(StratumServer, AbusersPaddingJunkWithRefusalsAreBannedAndTheHonestMinerIsServed) {
  ServerOptions o = ServerFixture::defaults();
  o.ban_min_submits = 20;
  o.ban_invalid_ratio = 0.5;
  o.ban_duration = 60s;
  ServerFixture f(o);
  std::vector<std::unique_ptr<Client>> abusers;
  for (int a = 0; a < 8; ++a) {
    abusers.push_back(std::make_unique<Client>(f.port));
    const std::string user = "sm1qaddress0.abuser" + std::to_string(a);
    const std::string job_id = login(*abusers.back(), user)["result"]["job"]["job_id"];
    std::string burst;
    for (int i = 0; i < 400; ++i) {
      const bool junk = i % 4 == 0;
      burst += json{{"id", 100 + i},
                    {"method", "submit"},
                    {"params", {{"id", junk ? user : "sm1qaddress0.victim"}, {"job_id", job_id}, {"nonce", fmt_nonce(a, i)}}}}
                   .dump() +
               "\n";
    }
    abusers.back()->send(burst);
  }
  Client honest(f.port);
  const std::string job_id = login(honest)["result"]["job"]["job_id"];
  const auto t0 = std::chrono::steady_clock::now();
  const json verdict = submit(honest, 2, job_id, "00002000000000b9");  // the share vector's accepted nonce
  const auto waited = std::chrono::steady_clock::now() - t0;
  RecordProperty("honest_wait_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
  EXPECT_TRUE(verdict["error"].is_null()) << verdict.dump();
  EXPECT_LT(waited, 5s) << "the honest miner waited " << std::chrono::duration<double>(waited).count() << " s";
  for (auto& a : abusers) EXPECT_TRUE(a->drained_and_closed());
  EXPECT_EQ(f.server.counters().bans, 8u);
  // At most ban_min_submits / 4 junk shares per abuser reached a check (a junk nonce may even
  // meet the share target), plus the honest share.
  EXPECT_LE(f.server.counters().low_difficulty + f.server.counters().accepted, 8u * 5u + 1u);
}

// The pool stops its server before its checkers, so a verdict can come back after the server
// is gone: it is dropped, and nothing it points at is touched.
TEST(StratumServer, AVerdictAfterTheServerIsGoneIsDropped) {
  struct Holder : ShareHandler {
    std::mutex mutex;
    std::vector<std::function<void(SubmitResult)>> held;
    void handle(Submission, std::function<void(SubmitResult)> done) override {
      std::lock_guard lock(mutex);
      held.push_back(std::move(done));
    }
    std::size_t size() {
      std::lock_guard lock(mutex);
      return held.size();
    }
  } holder;
  auto server = std::make_unique<StratumServer>(ServerFixture::defaults(), holder, [](bool, const std::string&) {});
  server->publish(vector_template(1, 1), true);
  auto port = server->start();
  ASSERT_TRUE(port.ok());
  {
    Client c(*port);
    const std::string job_id = login(c)["result"]["job"]["job_id"];
    c.send(json{{"id", 2}, {"method", "submit"}, {"params", {{"id", kLogin}, {"job_id", job_id}, {"nonce", "00002000000000b9"}}}});
    for (int i = 0; i < 500 && holder.size() == 0; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(holder.size(), 1u);
    server.reset();
  }
  SubmitResult r;
  r.verdict = SubmitVerdict::accepted;
  holder.held[0](r);
  holder.held.clear();  // the session it held goes with it
}

// A client that restarts its scan on every job resends its own shares after a vardiff job
// (same header): Duplicate Share, never a ban.
TEST(StratumServer, ResubmittingItsOwnShareIsADuplicateThatNeverBans) {
  ServerOptions o = ServerFixture::defaults();
  o.ban_min_submits = 4;
  o.ban_invalid_ratio = 0.5;
  o.ban_duration = 60s;
  ServerFixture f(o);
  Client c(f.port);
  const std::string job_id = login(c)["result"]["job"]["job_id"];
  EXPECT_TRUE(submit(c, 2, job_id, "00002000000000b9")["error"].is_null());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(error_code_of(submit(c, 3 + i, job_id, "00002000000000b9")), stratum::kErrDuplicateShare);
  EXPECT_EQ(f.server.counters().bans, 0u);
  EXPECT_TRUE(submit(c, 20, job_id, "00002000000000d5")["error"].is_null());  // still served
}

// 16 hex digits are the nonce the miner hashed, even when its value is below 2^32.
TEST(StratumServer, ASixteenDigitNonceIsTakenAsSent) {
  ServerFixture f;
  Client c(f.port);
  const json r = login(c);
  auto job = stratum::decode_job(r["result"]["job"]);
  ASSERT_TRUE(job.ok());
  ASSERT_GE(job->nonce_start, std::uint64_t{1} << 32);
  submit(c, 2, job->job_id, "00000000000000b9");
  EXPECT_EQ(f.server.counters().out_of_range, 1u);  // 0xb9 itself, outside this session's range
}

// Request ids are echoed byte for byte.
TEST(StratumServer, EchoesRequestIdsVerbatim) {
  ServerFixture f;
  Client c(f.port);
  login(c);
  c.send(std::string(R"({"id":123456789012345678901234567890,"method":"keepalived","params":{"id":"x"}})") + "\n");
  // Read the raw line: json would turn the id back into a double.
  const std::string line = c.raw_line();
  EXPECT_NE(line.find(R"("id":123456789012345678901234567890,)"), std::string::npos) << line;
}

// A share target harder than the network's would hide every block between the two from the
// pool (the miner only sends hashes that meet the share target): jobs are capped at the
// network difficulty.
TEST(StratumServer, JobsAreNeverHarderThanTheNetwork) {
  ServerFixture f;
  auto easy = vector_template(2, 2);
  easy->header.previous_block_id = core::block_id(easy->header);
  easy->network_difficulty = 20;
  f.server.publish(easy, true);
  Client c(f.port);
  const json r = login(c);
  EXPECT_EQ(r["result"]["job"]["target"], stratum::target_field_for_difficulty(20)) << r.dump();
}

TEST(StratumServer, SubmitRateIsLimited) {
  ServerOptions o = ServerFixture::defaults();
  o.submit_rate = 0.01;
  o.submit_burst = 2;
  ServerFixture f(o);
  Client c(f.port);
  const std::string job_id = login(c)["result"]["job"]["job_id"];
  EXPECT_NE(error_code_of(submit(c, 2, job_id, "0000200000000001")), stratum::kErrGeneric);
  EXPECT_NE(error_code_of(submit(c, 3, job_id, "0000200000000002")), stratum::kErrGeneric);
  const json limited = submit(c, 4, job_id, "0000200000000003");
  EXPECT_EQ(error_code_of(limited), stratum::kErrGeneric);
  EXPECT_EQ(f.server.counters().rate_limited, 1u);
  // getjob draws on the same bucket: each job costs the pool a render.
  c.send(json{{"id", 5}, {"method", "getjob"}, {"params", {{"id", kLogin}}}});
  const json job = c.reply(5);
  EXPECT_EQ(error_code_of(job), stratum::kErrGeneric) << job.dump();
  EXPECT_TRUE(job["result"].is_null());
  EXPECT_EQ(f.server.counters().rate_limited, 2u);
}

// A login, then `getjobs` job requests (ids 2, 3, ...), as one block of lines: each costs the
// pool a rendered job of about 500 bytes.
std::string login_then_getjobs(int getjobs) {
  const json hello{{"id", 1}, {"method", "login"}, {"params", {{"login", kLogin}, {"pass", "x"}}}};
  std::string lines = hello.dump() + "\n";
  for (int i = 2; i < 2 + getjobs; ++i) {
    lines += json{{"id", i}, {"method", "getjob"}, {"params", {{"id", kLogin}}}}.dump() + "\n";
  }
  return lines;
}

// Replies go straight into the socket until it is full, then through the session's queue:
// a client that reads slowly (a small receive buffer) still gets every line, in order.
TEST(StratumServer, ASlowReaderGetsEveryLineInOrder) {
  ServerOptions o = ServerFixture::defaults();
  o.submit_burst = 1e6;  // getjob draws on the submit bucket
  ServerFixture f(o);
  asio::io_context io;
  tcp::socket s(io);
  s.open(tcp::v4());
  const int small = 4096;  // set before connecting, so the window stays small
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port));
  timeval tv{10, 0};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  // About 3 MB of job replies, read only after a pause: more than the kernel takes for a
  // reader with a 4 KiB window, less than the 4 MiB a session may queue.
  constexpr int kRequests = 6'000;
  const std::string requests = login_then_getjobs(kRequests);
  std::thread writer([&] {
    boost::system::error_code ignored;
    asio::write(s, asio::buffer(requests), ignored);
  });
  struct Joiner {  // on an early failed assertion too: unblock the writer, then wait for it
    tcp::socket& s;
    std::thread& t;
    ~Joiner() {
      boost::system::error_code ignored;
      s.shutdown(tcp::socket::shutdown_both, ignored);
      t.join();
    }
  } joiner{s, writer};
  std::this_thread::sleep_for(500ms);
  asio::streambuf buffer;
  std::istream in(&buffer);
  int expected = 1;
  std::set<std::string> job_ids;
  while (expected < 2 + kRequests) {
    boost::system::error_code ec;
    asio::read_until(s, buffer, '\n', ec);
    ASSERT_FALSE(ec) << "after reply " << expected - 1 << ": " << ec.message();
    std::string line;
    std::getline(in, line);
    const json m = json::parse(line, nullptr, false);
    ASSERT_FALSE(m.is_discarded()) << "after reply " << expected - 1 << ", not JSON: " << line.substr(0, 200);
    if (!m.contains("id")) continue;  // the job push after the login
    ASSERT_EQ(m["id"], expected) << line;
    const json& job = expected == 1 ? m["result"]["job"] : m["result"];
    job_ids.insert(job["job_id"].get<std::string>());
    ++expected;
  }
  EXPECT_EQ(job_ids.size(), static_cast<std::size_t>(kRequests + 1));
}

// A client that never reads is closed once its unsent lines pass the limit, not buffered
// without end.
TEST(StratumServer, AClientThatNeverReadsIsClosed) {
  ServerOptions o = ServerFixture::defaults();
  o.submit_burst = 1e6;
  ServerFixture f(o);
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port));
  const std::string requests = login_then_getjobs(40'000);  // about 20 MB of job replies
  boost::system::error_code ec;
  asio::write(s, asio::buffer(requests), ec);  // may fail once the pool has closed the session
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.server.counters().sessions != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(f.server.counters().sessions, 0u);
}

}  // namespace
}  // namespace tensority::pool
