// The HTTP server and client against each other over loopback (real sockets, ephemeral ports),
// plus raw sockets for what the client never sends: malformed requests, pipelining, silence,
// slow headers. Timeouts are short so the whole suite takes a few seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tensority/net/http.hpp"

namespace tensority::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// --- helpers --------------------------------------------------------------------------------

Url url_of(const HttpServer& server, const std::string& base_path = "") {
  return Url{"http", "127.0.0.1", server.port(), base_path};
}

HttpClientOptions quick_client(std::chrono::milliseconds timeout = 5000ms) {
  HttpClientOptions o;
  o.timeout = timeout;
  return o;
}

std::uint16_t start_or_fail(HttpServer& server) {
  auto port = server.start();
  EXPECT_TRUE(port.ok()) << port.error();
  return port.ok() ? *port : 0;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A plain TCP connection to 127.0.0.1.
class RawConn {
 public:
  explicit RawConn(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConn() { close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads more into the buffer; false on EOF, error or timeout (eof() tells which).
  bool read_more(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  // One complete response (the server always sends Content-Length), or "" on EOF / timeout.
  std::string read_response(std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto head_end = buf_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        std::string head = buf_.substr(0, head_end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto cl = head.find("content-length:");
        if (cl != std::string::npos) length = std::stoul(head.substr(cl + 15));
        const std::size_t total = head_end + 4 + length;
        if (buf_.size() >= total) {
          std::string response = buf_.substr(0, total);
          buf_.erase(0, total);
          return response;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms || !read_more(left)) return {};
    }
  }

  // True when the server closes the connection within the timeout (data before it is dropped).
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!eof_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return false;
      if (!read_more(left) && !eof_) return false;
    }
    return true;
  }

  const std::string& buffered() const { return buf_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

std::string body_of(const std::string& response) {
  const auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? std::string() : response.substr(p + 4);
}

// A listening socket on an ephemeral port that accepts only if asked to.
class RawListener {
 public:
  RawListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~RawListener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }
  int accept_one() { return ::accept(fd_, nullptr, nullptr); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Handlers that answer from their own threads; joined by the destructor.
class Workers {
 public:
  ~Workers() { join(); }
  void spawn(std::function<void()> fn) {
    const std::lock_guard lock(mu_);
    threads_.emplace_back(std::move(fn));
  }
  void join() {
    std::vector<std::thread> threads;
    {
      const std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

void add_echo_routes(HttpServer& server) {
  server.route("POST", "/echo", [](const HttpRequest& req, Respond respond) {
    respond(HttpResponse{200, "application/json", req.body});
  });
  server.route("GET", "/info", [](const HttpRequest& req, Respond respond) {
    respond(HttpResponse{200, "text/plain", req.method + " " + req.target + " " + req.path + " " + req.remote_address +
                                                 (req.from_loopback ? " loopback" : " remote")});
  });
}

// --- parse_url ------------------------------------------------------------------------------

TEST(ParseUrl, AcceptsHostPortAndBasePath) {
  auto u = parse_url("http://127.0.0.1:9888");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9888);
  EXPECT_EQ(u->path, "");

  u = parse_url("http://node.example/api/v1/");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->host, "node.example");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/api/v1");

  u = parse_url("HTTP://localhost:1/");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->port, 1);
  EXPECT_EQ(u->path, "");

  u = parse_url("http://[::1]:8080/x");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/x");
  EXPECT_EQ(to_string(*u), "http://[::1]:8080/x");
  EXPECT_EQ(to_string(*parse_url("http://a:65535")), "http://a:65535");
}

TEST(ParseUrl, RefusesEverythingElseWithAReason) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "expected http://"},
      {"127.0.0.1:9888", "expected http://"},
      {"https://pool.example", "https is not supported"},
      {"ftp://h", "unsupported scheme 'ftp'"},
      {"http://", "missing host"},
      {"http://:80", "missing host"},
      {"http:///path", "missing host"},
      {"http://h:", "missing port"},
      {"http://h:0", "port out of range"},
      {"http://h:65536", "port out of range"},
      {"http://h:12a", "bad port"},
      {"http://h:123456", "bad port"},
      {"http://h/p?q=1", "query or fragment"},
      {"http://h#frag", "query or fragment"},
      {"http://user:pw@h", "user info"},
      {"http://::1:80", "IPv6 address needs brackets"},
      {"http://[::1", "missing ']'"},
      {"http://[zz]:1", "bad IPv6 address"},
      {"http://[fe80::1%eth0]:1", "bad IPv6 address"},
      {"http://[::1]x", "unexpected text after ']'"},
      {"http://h h", "bad character in host"},
      {"http://h/a b", "bad character in path"},
  };
  for (const auto& c : cases) {
    const auto u = parse_url(c.text);
    ASSERT_FALSE(u.ok()) << c.text;
    EXPECT_TRUE(contains(u.error(), c.reason)) << c.text << " -> " << u.error();
    EXPECT_TRUE(contains(u.error(), "invalid URL")) << u.error();
  }
  // Control characters are not echoed raw; a NUL does not cut the text short.
  const auto u = parse_url("http://h\n:1");
  ASSERT_FALSE(u.ok());
  EXPECT_FALSE(contains(u.error(), "\n"));
  const auto nul = parse_url(std::string_view("http://[::1\0]:1", 15));
  ASSERT_FALSE(nul.ok());
  EXPECT_TRUE(contains(nul.error(), "bad IPv6 address '::1\\x00'")) << nul.error();
}

// --- server and client ----------------------------------------------------------------------

TEST(HttpServer, EchoesAndReportsRequestFields) {
  HttpServer server(HttpServerOptions{});
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  EXPECT_NE(server.port(), 0);

  auto r = http_post(url_of(server), "/echo", R"({"x":1})", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, R"({"x":1})");

  r = http_get(url_of(server), "info?height=3", quick_client());  // a leading '/' is added
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->content_type, "text/plain");
  EXPECT_EQ(r->body, "GET /info?height=3 /info 127.0.0.1 loopback");
}

TEST(HttpServer, ClientAppendsPathToTheBasePath) {
  HttpServer server(HttpServerOptions{});
  server.route("/api/echo", [](const HttpRequest& req, Respond respond) {
    respond(HttpResponse{200, "application/json", req.method + " " + req.body});
  });
  ASSERT_NE(start_or_fail(server), 0);
  auto base = parse_url("http://127.0.0.1:" + std::to_string(server.port()) + "/api/");
  ASSERT_TRUE(base.ok()) << base.error();
  auto r = http_post(*base, "/echo", "{}", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->body, "POST {}");
  r = http_get(*base, "/echo", quick_client());  // a route without a method takes any
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->body, "GET ");
}

TEST(HttpServer, UnknownPathIs404AndWrongMethodIs405) {
  HttpServer server(HttpServerOptions{});
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);

  auto r = http_post(url_of(server), "/nope", "{}", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 404u);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, R"({"status":"fail","code":"BTM000","msg":"unknown path /nope"})");

  r = http_get(url_of(server), "/echo", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 405u);
  EXPECT_EQ(r->body, R"({"status":"fail","code":"BTM000","msg":"method GET not allowed for /echo"})");

  // Both are answered on a connection that stays usable, with Allow on the 405.
  RawConn c(server.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /info HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string first = c.read_response();
  EXPECT_TRUE(first.starts_with("HTTP/1.1 405")) << first;
  EXPECT_TRUE(contains(first, "Allow: POST")) << first;
  EXPECT_TRUE(c.read_response().starts_with("HTTP/1.1 200"));
}

TEST(HttpServer, BodyOverTheLimitIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  const std::string expected = R"j({"status":"fail","code":"BTM000","msg":"request body too large (limit 1024 bytes)"})j";

  auto r = http_post(url_of(server), "/echo", std::string(1024, 'a'), quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body.size(), 1024u);

  r = http_post(url_of(server), "/echo", std::string(1025, 'a'), quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 413u);
  EXPECT_EQ(r->body, expected);

  // Far over the limit: the server answers without reading it all, and the client still
  // gets the answer rather than a reset.
  r = http_post(url_of(server), "/echo", std::string(8u << 20, 'a'), quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 413u);
  EXPECT_EQ(r->body, expected);

  // Chunked, where the size shows only while reading.
  RawConn c(server.port());
  ASSERT_TRUE(c.connected());
  const std::string chunk(1000, 'b');
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + chunk +
                     "\r\n3e8\r\n" + chunk + "\r\n0\r\n\r\n"));
  const std::string response = c.read_response();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 413")) << response;
  EXPECT_EQ(body_of(response), expected);
  EXPECT_TRUE(c.closed_within(3000ms));
}

TEST(HttpServer, BearerTokenIsRequiredWhenSet) {
  HttpServerOptions options;
  options.bearer_token = "s3cret";
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);

  auto r = http_post(url_of(server), "/echo", "{}", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 401u);
  EXPECT_EQ(r->body, R"({"code":"BTM860","msg":"Request could not be authenticated","status":"fail","detail":"no token","temporary":false})");

  auto client = quick_client();
  client.bearer_token = "wrong";
  r = http_post(url_of(server), "/echo", "{}", client);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 401u);
  client.bearer_token = "s3cre";
  r = http_get(url_of(server), "/info", client);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 401u);

  client.bearer_token = "s3cret";
  r = http_post(url_of(server), "/echo", "{\"ok\":true}", client);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "{\"ok\":true}");

  // The unknown path needs the token too: no probing for routes without it.
  r = http_get(url_of(server), "/nope", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 401u);
}

// bytomd's clients send an access token "<id>:<secret>" as HTTP Basic; ours send such a token
// that way too, and the server takes the credentials whole or the password alone.
TEST(HttpServer, TokenAlsoTakesBytomdsHttpBasicForm) {
  HttpServerOptions options;
  options.bearer_token = "miner:0123abcd";
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  auto raw_auth = [&](const std::string& authorization) {
    RawConn c(server.port());
    EXPECT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: " + authorization +
                       "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"));
    const std::string reply = c.read_response();
    return reply.substr(0, reply.find("\r\n"));
  };
  EXPECT_EQ(raw_auth("Basic bWluZXI6MDEyM2FiY2Q="), "HTTP/1.1 200 OK");        // miner:0123abcd
  EXPECT_EQ(raw_auth("basic eDptaW5lcjowMTIzYWJjZA=="), "HTTP/1.1 200 OK");    // x:miner:0123abcd
  EXPECT_EQ(raw_auth("Basic bWluZXI6MDEyM2FiY2U="), "HTTP/1.1 401 Unauthorized");  // miner:0123abce
  EXPECT_EQ(raw_auth("Basic !!!"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(raw_auth("Bearer miner:0123abcd"), "HTTP/1.1 200 OK");

  auto client = quick_client();
  client.bearer_token = "miner:0123abcd";  // sent as Basic
  auto r = http_post(url_of(server), "/echo", "{}", client);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(authorization_for("miner:0123abcd"), "Basic bWluZXI6MDEyM2FiY2Q=");
  EXPECT_EQ(authorization_for("plain"), "Bearer plain");
  client.bearer_token = "miner:wrong";
  r = http_post(url_of(server), "/echo", "{}", client);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 401u);
  EXPECT_TRUE(contains(r->body, R"("detail":"invalid token")")) << r->body;
}

TEST(HttpServer, NotFoundHandlerAnswersUnknownPaths) {
  HttpServerOptions options;
  options.not_found = [](const HttpRequest& req, Respond respond) {
    respond(HttpResponse{500, "application/json", "{\"path\":\"" + req.path + "\"}"});
  };
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  auto r = http_get(url_of(server), "/nope", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 500u);
  EXPECT_EQ(r->body, R"({"path":"/nope"})");
  r = http_post(url_of(server), "/echo", "{\"ok\":1}", quick_client());  // routes still win
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->body, R"({"ok":1})");
}

TEST(HttpServer, TokenlessServerAcceptsAnyAuthorization) {
  HttpServer server(HttpServerOptions{});
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  auto client = quick_client();
  client.bearer_token = "whatever";
  const auto r = http_get(url_of(server), "/info", client);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
}

TEST(HttpServer, MalformedRequestIs400AndClosed) {
  HttpServer server(HttpServerOptions{});
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  for (const std::string& bad : {std::string("THIS IS NOT HTTP\r\n\r\n"),
                                std::string("POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
                                std::string("GET /info HTTP/1.1\r\nBad Header\r\n\r\n")}) {
    RawConn c(server.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(bad));
    const std::string response = c.read_response();
    EXPECT_TRUE(response.starts_with("HTTP/1.1 400")) << bad << " -> " << response;
    EXPECT_TRUE(contains(body_of(response), R"("code":"BTM000")")) << response;
    EXPECT_TRUE(c.closed_within(3000ms)) << bad;
  }
  // Still serving.
  const auto r = http_get(url_of(server), "/info", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
}

TEST(HttpServer, ThrowingHandlerIs500AndTheServerKeepsServing) {
  HttpServer server(HttpServerOptions{});
  add_echo_routes(server);
  server.route("/boom", [](const HttpRequest&, Respond) { throw std::runtime_error("boom"); });
  server.route("/forget", [](const HttpRequest&, Respond) {});  // drops the Respond
  server.route("/bad-status", [](const HttpRequest&, Respond respond) { respond(HttpResponse{1000, "", ""}); });
  ASSERT_NE(start_or_fail(server), 0);
  for (int i = 0; i < 3; ++i) {
    auto r = http_post(url_of(server), "/boom", "{}", quick_client());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->status, 500u);
    EXPECT_EQ(r->body, R"({"status":"fail","code":"BTM000","msg":"internal error: boom"})");
    r = http_post(url_of(server), "/echo", "after", quick_client());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->body, "after");
  }
  auto r = http_get(url_of(server), "/forget", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 500u);
  EXPECT_TRUE(contains(r->body, "did not respond")) << r->body;
  r = http_get(url_of(server), "/bad-status", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 500u);
}

TEST(HttpServer, LongPollIsAnsweredFromAnotherThread) {
  Workers workers;
  HttpServer server(HttpServerOptions{});
  server.route("POST", "/wait-new-block", [&](const HttpRequest& req, Respond respond) {
    workers.spawn([respond = std::move(respond), body = req.body] {
      std::this_thread::sleep_for(150ms);
      respond(HttpResponse{200, "application/json", "pushed " + body});
    });
  });
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);

  // Several at once, while other requests keep being served.
  std::vector<std::future<core::Result<HttpResponse>>> polls;
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) {
    polls.push_back(std::async(std::launch::async, [&server, i] {
      return http_post(url_of(server), "/wait-new-block", std::to_string(i), quick_client());
    }));
  }
  const auto quick = http_get(url_of(server), "/info", quick_client());
  ASSERT_TRUE(quick.ok()) << quick.error();
  EXPECT_LT(Clock::now() - t0, 150ms);
  for (int i = 0; i < 5; ++i) {
    const auto r = polls[static_cast<std::size_t>(i)].get();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->body, "pushed " + std::to_string(i));
  }
  EXPECT_GE(Clock::now() - t0, 150ms);
}

TEST(HttpServer, SecondRespondIsIgnored) {
  HttpServer server(HttpServerOptions{});
  server.route("/twice", [](const HttpRequest&, Respond respond) {
    respond(HttpResponse{200, "text/plain", "first"});
    respond(HttpResponse{200, "text/plain", "second"});
  });
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  RawConn c(server.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /twice HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(body_of(c.read_response()), "first");
  ASSERT_TRUE(c.send("GET /info HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string next = c.read_response();
  EXPECT_TRUE(contains(body_of(next), "GET /info")) << next;
  EXPECT_FALSE(c.read_more(100ms));  // nothing else arrives
  EXPECT_EQ(c.buffered(), "");
}

TEST(HttpServer, RespondAfterTheClientLeftIsHarmless) {
  std::mutex mu;
  std::vector<Respond> held;
  std::promise<void> entered;
  HttpServer server(HttpServerOptions{});
  server.route("/hold", [&](const HttpRequest&, Respond respond) {
    const std::lock_guard lock(mu);
    held.push_back(std::move(respond));
    entered.set_value();
  });
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  {
    RawConn c(server.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(entered.get_future().wait_for(3s), std::future_status::ready);
  }  // the client hangs up
  std::this_thread::sleep_for(20ms);
  {
    const std::lock_guard lock(mu);
    held[0](HttpResponse{200, "text/plain", "late"});
  }
  // The failed write closes the connection; the server goes on.
  for (int i = 0; i < 100 && server.connection_count() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.connection_count(), 0u);
  const auto r = http_get(url_of(server), "/info", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
}

TEST(HttpServer, ManyConcurrentClients) {
  HttpServerOptions options;
  options.threads = 4;
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  constexpr int kThreads = 50;
  constexpr int kRequests = 20;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        const auto r = http_post(url_of(server), "/echo", body, quick_client());
        if (r.ok() && r->status == 200 && r->body == body) {
          ++ok;
        } else {
          const std::lock_guard lock(mu);
          if (first_error.empty()) first_error = r.ok() ? "status " + std::to_string(r->status) : r.error();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kRequests) << first_error;
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpServer server(HttpServerOptions{});
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  RawConn c(server.port());
  ASSERT_TRUE(c.connected());
  // Two pipelined in one write, then a third after the answers.
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
                     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo"));
  EXPECT_EQ(body_of(c.read_response()), "one");
  EXPECT_EQ(body_of(c.read_response()), "two");
  EXPECT_EQ(server.connection_count(), 1u);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthree"));
  const std::string last = c.read_response();
  EXPECT_EQ(body_of(last), "three");
  EXPECT_TRUE(contains(last, "Connection: close")) << last;
  EXPECT_TRUE(c.closed_within(2000ms));
}

TEST(HttpServer, AnswersExpectContinueAndHttp10) {
  HttpServer server(HttpServerOptions{});
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  {
    RawConn c(server.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    EXPECT_TRUE(c.read_response().starts_with("HTTP/1.1 100 Continue"));
    ASSERT_TRUE(c.send("hello"));
    EXPECT_EQ(body_of(c.read_response()), "hello");
  }
  {
    RawConn c(server.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("GET /info HTTP/1.0\r\n\r\n"));
    const std::string response = c.read_response();
    EXPECT_TRUE(response.starts_with("HTTP/1.0 200")) << response;
    EXPECT_TRUE(c.closed_within(2000ms));
  }
}

TEST(HttpServer, IdleConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout = 150ms;
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  RawConn c(server.port());
  ASSERT_TRUE(c.connected());
  const auto t0 = Clock::now();
  EXPECT_TRUE(c.closed_within(3000ms));
  EXPECT_GE(Clock::now() - t0, 100ms);
  // Also after a request on a kept-alive connection.
  RawConn k(server.port());
  ASSERT_TRUE(k.send("GET /info HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(k.read_response().starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(k.closed_within(3000ms));
  for (int i = 0; i < 100 && server.connection_count() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.connection_count(), 0u);
}

TEST(HttpServer, SlowHeadersAreCutOff) {
  HttpServerOptions options;
  options.idle_timeout = 10s;
  options.header_timeout = 200ms;
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  RawConn c(server.port());
  ASSERT_TRUE(c.connected());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.send("GET /info HTTP/1.1\r\n"));
  bool closed = false;
  for (int i = 0; i < 60 && !closed; ++i) {  // one header line every 50 ms, never finishing
    if (!c.send("X-Slow: " + std::to_string(i) + "\r\n")) break;
    closed = c.closed_within(50ms);
  }
  EXPECT_TRUE(closed || c.closed_within(1000ms));
  EXPECT_LT(Clock::now() - t0, 2s);
}

TEST(HttpServer, ConnectionsBeyondTheLimitAreRefused) {
  HttpServerOptions options;
  options.max_connections = 2;
  HttpServer server(options);
  add_echo_routes(server);
  ASSERT_NE(start_or_fail(server), 0);
  auto a = std::make_unique<RawConn>(server.port());
  RawConn b(server.port());
  for (RawConn* c : {a.get(), &b}) {  // both registered once answered
    ASSERT_TRUE(c->send("GET /info HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(c->read_response().starts_with("HTTP/1.1 200"));
  }
  EXPECT_EQ(server.connection_count(), 2u);
  {
    RawConn c(server.port());
    ASSERT_TRUE(c.connected());  // the kernel accepts; the server answers 503 and closes
    EXPECT_TRUE(c.closed_within(2000ms));
    EXPECT_TRUE(c.buffered().empty() || c.buffered().starts_with("HTTP/1.1 503")) << c.buffered();
  }
  a.reset();
  for (int i = 0; i < 100 && server.connection_count() != 1; ++i) std::this_thread::sleep_for(10ms);
  const auto r = http_get(url_of(server), "/info", quick_client());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 200u);
}

TEST(HttpServer, StopWithPendingLongPollNeitherHangsNorCrashes) {
  std::mutex mu;
  Respond held;  // outlives the server
  std::promise<void> entered;
  {
    HttpServer server(HttpServerOptions{});
    server.route("/wait", [&](const HttpRequest&, Respond respond) {
      const std::lock_guard lock(mu);
      held = std::move(respond);
      entered.set_value();
    });
    ASSERT_NE(start_or_fail(server), 0);
    auto poll = std::async(std::launch::async, [&server] { return http_post(url_of(server), "/wait", "{}", quick_client()); });
    ASSERT_EQ(entered.get_future().wait_for(3s), std::future_status::ready);
    RawConn idle(server.port());  // another, silent connection
    ASSERT_TRUE(idle.connected());

    const auto t0 = Clock::now();
    server.stop();
    EXPECT_LT(Clock::now() - t0, 1s);
    EXPECT_EQ(server.connection_count(), 0u);
    const auto r = poll.get();
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error(), "closed the connection")) << r.error();
    EXPECT_TRUE(idle.closed_within(1000ms));
    {
      const std::lock_guard lock(mu);
      held(HttpResponse{200, "application/json", "too late"});  // a no-op now
    }
    server.stop();  // again: nothing happens
    EXPECT_FALSE(http_get(url_of(server), "/wait", quick_client(500ms)).ok());
  }
  held(HttpResponse{});  // the server is gone: still a no-op
}

TEST(HttpServer, StopFromInsideAHandlerDoesNotDeadlock) {
  auto server = std::make_unique<HttpServer>(HttpServerOptions{});
  std::promise<void> stopped;
  server->route("/stop", [&](const HttpRequest&, Respond) {
    server->stop();
    stopped.set_value();
  });
  ASSERT_NE(start_or_fail(*server), 0);
  RawConn c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /stop HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(stopped.get_future().wait_for(2s), std::future_status::ready);
  server.reset();  // joins and closes
  EXPECT_TRUE(c.closed_within(1000ms));
  EXPECT_EQ(c.buffered(), "");
}

TEST(HttpServer, BindErrorNamesTheAddress) {
  HttpServer first(HttpServerOptions{});
  const std::uint16_t port = start_or_fail(first);
  ASSERT_NE(port, 0);
  HttpServerOptions options;
  options.port = port;
  HttpServer second(options);
  const auto r = second.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");

  options.bind_address = "not-an-address";
  HttpServer third(options);
  const auto bad = third.start();
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.error(), "not-an-address:" + std::to_string(port))) << bad.error();

  EXPECT_FALSE(first.start().ok());  // once only
}

TEST(HttpServer, RoutesAfterStartAreRefused) {
  HttpServer server(HttpServerOptions{});
  ASSERT_NE(start_or_fail(server), 0);
  EXPECT_THROW(server.route("/late", [](const HttpRequest&, Respond) {}), std::logic_error);
}

TEST(HttpClient, TimesOutAgainstAServerThatNeverAnswers) {
  RawListener listener;  // accepts at the TCP level (backlog), never reads or answers
  ASSERT_NE(listener.port(), 0);
  const Url url{"http", "127.0.0.1", listener.port(), ""};
  const auto t0 = Clock::now();
  const auto r = http_post(url, "/get-work", "{}", quick_client(200ms));
  const auto took = Clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "POST http://127.0.0.1:" + std::to_string(listener.port()) + "/get-work: timed out after 200 ms");
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);

  // Same against a real server whose handler holds the answer.
  Respond held;
  HttpServer server(HttpServerOptions{});
  server.route("/hold", [&](const HttpRequest&, Respond respond) { held = std::move(respond); });
  ASSERT_NE(start_or_fail(server), 0);
  const auto r2 = http_get(url_of(server), "/hold", quick_client(200ms));
  ASSERT_FALSE(r2.ok());
  EXPECT_TRUE(contains(r2.error(), "timed out after 200 ms")) << r2.error();
}

TEST(HttpClient, ConnectionRefusedNamesTheAddress) {
  std::uint16_t port = 0;
  {
    RawListener listener;  // a port that was free a moment ago and is closed again
    port = listener.port();
  }
  ASSERT_NE(port, 0);
  const auto r = http_get(Url{"http", "127.0.0.1", port, ""}, "/", quick_client());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(HttpClient, ResponseSizeIsLimited) {
  HttpServer server(HttpServerOptions{});
  server.route("/big", [](const HttpRequest&, Respond respond) {
    respond(HttpResponse{200, "text/plain", std::string(10000, 'z')});
  });
  ASSERT_NE(start_or_fail(server), 0);
  auto client = quick_client();
  client.max_response_bytes = 1000;
  const auto r = http_get(url_of(server), "/big", client);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error(), "response larger than 1000 bytes")) << r.error();
  client.max_response_bytes = 10000;
  const auto ok = http_get(url_of(server), "/big", client);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->body.size(), 10000u);

  // Chunked, where the size shows only while reading.
  RawListener listener;
  ASSERT_NE(listener.port(), 0);
  std::thread peer([&] {
    const int fd = listener.accept_one();
    if (fd < 0) return;
    char buf[4096];
    (void)::recv(fd, buf, sizeof buf, 0);
    std::string answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i) answer += "3e8\r\n" + std::string(1000, 'c') + "\r\n";
    answer += "0\r\n\r\n";
    (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(fd);
  });
  client.max_response_bytes = 4000;
  const auto chunked = http_get(Url{"http", "127.0.0.1", listener.port(), ""}, "/", client);
  peer.join();
  ASSERT_FALSE(chunked.ok());
  EXPECT_TRUE(contains(chunked.error(), "response larger than 4000 bytes")) << chunked.error();
}

TEST(HttpClient, SendsTheExpectedRequest) {
  RawListener listener;
  ASSERT_NE(listener.port(), 0);
  std::string seen;
  std::thread peer([&] {
    const int fd = listener.accept_one();
    if (fd < 0) return;
    char buf[4096];
    while (seen.find("\r\n\r\n") == std::string::npos || !seen.ends_with("{\"a\":1}")) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      seen.append(buf, static_cast<std::size_t>(n));
    }
    const std::string answer = "HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
    (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(fd);
  });
  auto client = quick_client();
  client.bearer_token = "tok";
  const Url base{"http", "127.0.0.1", listener.port(), "/base"};
  const auto r = http_post(base, "/submit-work", "{\"a\":1}", client);
  peer.join();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 202u);
  EXPECT_EQ(r->content_type, "text/plain");
  EXPECT_EQ(r->body, "ok");
  EXPECT_TRUE(seen.starts_with("POST /base/submit-work HTTP/1.1\r\n")) << seen;
  EXPECT_TRUE(contains(seen, "Host: 127.0.0.1:" + std::to_string(listener.port()) + "\r\n")) << seen;
  EXPECT_TRUE(contains(seen, "Authorization: Bearer tok\r\n")) << seen;
  EXPECT_TRUE(contains(seen, "Content-Type: application/json\r\n")) << seen;
  EXPECT_TRUE(contains(seen, "Content-Length: 7\r\n")) << seen;

  EXPECT_FALSE(http_get(base, "/with space", client).ok());  // never put on the wire
}

}  // namespace
}  // namespace tensority::net
