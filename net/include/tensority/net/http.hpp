#pragma once
// Small HTTP/1.1 server and client on Boost.Beast, shared by the node RPC, the miner API and
// the pool API, and by the clients that talk to a node (miner, pool, wallet). JSON bodies are
// strings here; callers parse them.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/core/types.hpp"

namespace tensority::net {

struct HttpRequest {
  std::string method;          // "GET", "POST", ...
  std::string target;          // path and query as sent, e.g. "/get-work"
  std::string path;            // target without the query
  std::string body;
  std::string remote_address;  // peer IP as text
  bool from_loopback = false;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Call exactly once, from any thread, now or later (long-poll): the connection waits for it.
using Respond = std::function<void(HttpResponse)>;
using Handler = std::function<void(const HttpRequest&, Respond)>;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see HttpServer::port)
  std::size_t max_body_bytes = 1 << 20;
  std::string bearer_token;  // non-empty: requests without "Authorization: Bearer <token>" get 401
  unsigned threads = 2;
  std::chrono::milliseconds idle_timeout{60'000};  // a connection silent this long is closed
  std::size_t max_connections = 512;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Register before start(). An exact path ("/get-work"), any method unless one is given.
  void route(std::string path, Handler handler);
  void route(std::string method, std::string path, Handler handler);

  // Binds and starts serving; the error names the address when binding fails.
  core::Result<std::uint16_t> start();
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Url {
  std::string scheme;  // "http"
  std::string host;
  std::uint16_t port = 80;
  std::string path;    // base path, "" or "/prefix"
};
// "http://HOST:PORT[/path]"; a clear error for anything else.
core::Result<Url> parse_url(std::string_view text);

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10'000};  // connect + request + response
  std::string bearer_token;
  std::size_t max_response_bytes = 64 << 20;
};

// Blocking requests on a fresh connection. Transport failures are errors; any HTTP status
// is a response.
core::Result<HttpResponse> http_post(const Url& base, std::string_view path, std::string_view body,
                                     const HttpClientOptions& options = {});
core::Result<HttpResponse> http_get(const Url& base, std::string_view path, const HttpClientOptions& options = {});

}  // namespace tensority::net
