// NodeSession against a bytomd-shaped node on loopback: get-work and submit-work over HTTP,
// no wait-new-block (bytomd's HTTP 500 "not Found"), and new blocks pushed on `/websocket-subscribe` as spec
// docs/spec/stratum.md 4.5 and examples.json describe them. A second node offers no websocket either
// and must be polled.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "vectors.hpp"

#include "tensority/core/hex.hpp"
#include "tensority/miner/node_session.hpp"

namespace tensority::miner {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;

const json& examples() { return test::stratum_examples(); }

// One thread, one connection at a time is enough: the session's HTTP calls are sequential
// and its websocket is handled on a thread of its own.
class BytomdLike {
 public:
  explicit BytomdLike(bool offer_websocket) : offer_websocket_(offer_websocket) {
    const json ex = examples()["node_rpc"]["get_work"]["response"];
    header_hex_ = ex["data"]["block_header"].get<std::string>();
    seed_hex_ = ex["data"]["seed"].get<std::string>();
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~BytomdLike() {
    stop_ = true;
    // A blocking accept() is not woken by closing the acceptor from another thread: a last
    // connection does it.
    beast::error_code ec;
    asio::io_context wake_ioc;
    tcp::socket wake(wake_ioc);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    {
      std::lock_guard lock(m_);
      cv_.notify_all();
    }
    thread_.join();
    for (auto& t : ws_threads_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int get_work_calls() const { return get_work_calls_.load(); }
  bool subscribed() const { return subscribed_.load(); }

  // A new block: get-work now answers with another parent, and subscribers hear of it.
  void new_block() {
    std::lock_guard lock(m_);
    auto bytes = *core::from_hex(header_hex_);
    auto parsed = *core::parse_header(bytes);
    parsed.header.previous_block_id[0] ^= 0xff;
    parsed.header.height += 1;
    header_hex_ = core::to_hex(core::serialize_header(parsed.header));
    ++pushes_;
    cv_.notify_all();
  }

 private:
  void serve() {
    while (!stop_) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      if (websocket::is_upgrade(req)) {
        if (!offer_websocket_) {  // as bytomd at its websocket limit
          http::response<http::string_body> res{http::status::bad_request, req.version()};
          res.body() = "400 Bad Request.";
          res.prepare_payload();
          http::write(socket, res, ec);
          continue;
        }
        ws_threads_.emplace_back([this, s = std::move(socket), r = std::move(req)]() mutable { websocket_session(std::move(s), r); });
        continue;
      }
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      const std::string path(req.target());
      if (path == "/get-work") {
        ++get_work_calls_;
        std::lock_guard lock(m_);
        res.body() = json{{"status", "success"}, {"data", {{"block_header", header_hex_}, {"seed", seed_hex_}}}}.dump();
      } else if (path == "/submit-work") {
        res.body() = R"({"status":"success","data":true})";
      } else {
        // bytomd v1.1.1's answer to a path it does not serve (its mux's catch-all): HTTP 500,
        // not 404, which is what hid wait-new-block's absence from an earlier version of this
        // test.
        res.result(http::status::internal_server_error);
        res.body() = R"({"code":"BTM000","msg":"Bytom API Error","status":"fail","detail":"not Found","temporary":true})" "\n";
      }
      res.prepare_payload();
      http::write(socket, res, ec);
    }
  }

  void websocket_session(tcp::socket socket, const http::request<http::string_body>& req) {
    websocket::stream<tcp::socket> ws(std::move(socket));
    beast::error_code ec;
    ws.accept(req, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    ws.read(buffer, ec);
    if (ec) return;
    const json sub = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    if (sub.is_discarded() || sub.value("topic", "") != "notify_raw_blocks") return;
    subscribed_ = true;
    int sent = 0;
    std::unique_lock lock(m_);
    while (!stop_) {
      cv_.wait(lock, [&] { return stop_ || pushes_ > sent; });
      if (stop_) break;
      ++sent;
      const std::string note = json{{"notification_type", "raw_blocks_connected"}, {"data", header_hex_}}.dump();
      lock.unlock();
      ws.write(asio::buffer(note), ec);
      lock.lock();
      if (ec) return;
    }
    ws.close(websocket::close_code::going_away, ec);
  }

  bool offer_websocket_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::thread> ws_threads_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::atomic<int> get_work_calls_{0};
  std::mutex m_;
  std::condition_variable cv_;
  std::string header_hex_, seed_hex_;
  int pushes_ = 0;
};

struct Collected {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::shared_ptr<const Work>> works;
  bool wait_for(std::size_t n, std::chrono::milliseconds limit) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, limit, [&] { return works.size() >= n; });
  }
  SessionEvents events() {
    SessionEvents e;
    e.on_work = [this](std::shared_ptr<const Work> w) {
      std::lock_guard lock(m);
      works.push_back(std::move(w));
      cv.notify_all();
    };
    return e;
  }
};

TEST(NodeSessionPush, FollowsBytomdsWebsocketNotifications) {
  BytomdLike node(true);
  NodeSessionOptions o;
  o.url = node.url();
  o.poll_interval = 60s;  // a new block seen within the test can only have come by push
  o.refresh_interval = 60s;
  NodeSession session(o);
  Collected got;
  ASSERT_TRUE(session.open(got.events()).ok());
  EXPECT_EQ(session.push_channel(), noderpc::PushChannel::websocket);
  // The server reads the subscription on its own thread.
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (!node.subscribed() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(node.subscribed());
  ASSERT_TRUE(got.wait_for(1, 1s));
  EXPECT_EQ(got.works[0]->header.height, 2342u);
  std::thread runner([&] { (void)session.run(); });
  const int calls = node.get_work_calls();
  node.new_block();
  ASSERT_TRUE(got.wait_for(2, 5s));
  EXPECT_EQ(got.works[1]->header.height, 2343u);
  EXPECT_TRUE(got.works[1]->new_block);
  EXPECT_EQ(node.get_work_calls(), calls + 1);  // fetched because of the push, not polled
  session.close();
  runner.join();
}

TEST(NodeSessionPush, PollsANodeWithNeitherChannel) {
  BytomdLike node(false);
  NodeSessionOptions o;
  o.url = node.url();
  o.poll_interval = 50ms;
  NodeSession session(o);
  Collected got;
  ASSERT_TRUE(session.open(got.events()).ok());
  EXPECT_EQ(session.push_channel(), noderpc::PushChannel::none);
  std::thread runner([&] { (void)session.run(); });
  node.new_block();
  ASSERT_TRUE(got.wait_for(2, 5s));
  EXPECT_EQ(got.works[1]->header.height, 2343u);
  session.close();
  runner.join();
}

}  // namespace
}  // namespace tensority::miner
