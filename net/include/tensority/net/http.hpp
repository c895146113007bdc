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

// The Authorization value a client sends for a node token: bytomd's access tokens
// "<id>:<secret>" go as HTTP Basic (what bytomd checks for remote callers), anything else as
// "Bearer <token>". Our server takes both.
std::string authorization_for(std::string_view token);

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see HttpServer::port)
  std::size_t max_body_bytes = 1 << 20;
  // Non-empty: every request needs "Authorization: Bearer <token>", or bytomd's HTTP Basic
  // form: the Basic credentials "<id>:<secret>" equal to the token, or a password equal to it;
  // others get 401 (BTM860, as bytomd).
  std::string bearer_token;
  unsigned threads = 2;
  std::chrono::milliseconds idle_timeout{60'000};  // a connection silent this long is closed
  std::size_t max_connections = 512;  // beyond it a new connection gets 503 and is closed
  // Once the first byte of a request has arrived its header must be complete within
  // header_timeout, and then its body within body_timeout (slow-sender protection).
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  // Answers requests to paths no route has; empty: 404. (The node answers as bytomd does.)
  Handler not_found;
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

  // Binds and starts serving; the error names the address when binding fails. Once only.
  core::Result<std::uint16_t> start();
  // Closes the listener and every connection and joins the threads; idempotent. Responds still
  // held by handlers (long-polls) become no-ops. Call it from outside the handlers: called from
  // a server thread it only stops the work, and the destructor finishes the join.
  void stop();
  std::uint16_t port() const;
  std::size_t connection_count() const;  // open connections, for tests and metrics

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A Prometheus label value as the text format wants it: backslash, double quote and newline
// escaped. Shared by every /metrics endpoint.
std::string prometheus_label(std::string_view value);

struct Url {
  std::string scheme;  // "http"
  std::string host;
  std::uint16_t port = 80;
  std::string path;    // base path, "" or "/prefix"
};
// "http://HOST:PORT[/path]"; a clear error for anything else.
// HOST is a name, an IPv4 address or a bracketed IPv6 address ("[::1]"; Url::host keeps it
// without brackets). Trailing slashes of the path are dropped; query, fragment and user info
// are refused.
core::Result<Url> parse_url(std::string_view text);
// "http://host:port/path", which parse_url reads back to the same Url.
std::string to_string(const Url& url);

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10'000};  // connect + request + response
  std::string bearer_token;
  std::size_t max_response_bytes = 64 << 20;
};

// Blocking requests on a fresh connection. Transport failures are errors; any HTTP status
// is a response. The request target is base.path followed by path ("/" is put in front of a
// path that lacks it).
core::Result<HttpResponse> http_post(const Url& base, std::string_view path, std::string_view body,
                                     const HttpClientOptions& options = {});
core::Result<HttpResponse> http_get(const Url& base, std::string_view path, const HttpClientOptions& options = {});

}  // namespace tensority::net
