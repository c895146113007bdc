// HTTP/1.1 server on Boost.Beast: one strand per connection, an io_context run by a few
// threads, and handlers that may answer later from any thread (long-poll).
//
// Lifetimes. The server's registry owns every open connection (Session). Asynchronous
// operations hold the session too while they are pending. A Respond holds only a weak
// reference plus the Gate: it posts onto the session's strand under the gate's mutex while the
// gate is open, and stop() closes the gate before it stops the io_context, so no Respond can
// touch the io_context, or keep a socket alive, once the server is stopping. That is what lets
// a handler keep a Respond past stop() and past the server's destruction.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>

#include "tensority/net/http.hpp"

namespace tensority::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kFirstRead = 4096;
// After an answer that closes a connection whose request was not read in full (413, 401),
// the rest is read and dropped for a while, so the client gets to read the answer instead of a
// reset ("lingering close").
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerMaxBytes = 64u << 20;
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

HttpResponse error_response(unsigned status, std::string_view msg) {
  HttpResponse r;
  r.status = status;
  r.body = R"({"status":"fail","code":"BTM000","msg":")" + json_escape(msg) + "\"}";
  return r;
}

std::string address_text(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

std::string endpoint_text(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool same_secret(std::string_view given, std::string_view token) {  // constant time in the token's length
  if (given.size() != token.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  return diff == 0;
}

// "Bearer <token>", or "Basic base64(credentials)" as bytomd's clients send an access token
// "<id>:<secret>": the credentials equal to the token, or a password equal to it. Schemes in
// any case.
bool token_matches(std::string_view header, std::string_view token) {
  auto after_scheme = [&](std::string_view scheme) -> std::optional<std::string_view> {
    if (header.size() < scheme.size() || !iequals(header.substr(0, scheme.size()), scheme)) return std::nullopt;
    std::string_view given = header.substr(scheme.size());
    while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
    while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
    return given;
  };
  if (auto given = after_scheme("bearer ")) return same_secret(*given, token);
  auto encoded = after_scheme("basic ");
  if (!encoded || encoded->size() > 4096) return false;
  std::string credentials(beast::detail::base64::decoded_size(encoded->size()), '\0');
  const auto [written, read] = beast::detail::base64::decode(credentials.data(), encoded->data(), encoded->size());
  std::string_view unpadded = *encoded;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
  if (read < unpadded.size()) return false;  // a character outside base64
  credentials.resize(written);
  if (same_secret(credentials, token)) return true;
  const auto colon = credentials.find(':');
  return colon != std::string::npos && same_secret(std::string_view(credentials).substr(colon + 1), token);
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::need_more &&
         ec != http::error::body_limit && ec != http::error::header_limit && ec != http::error::bad_alloc &&
         ec != http::error::buffer_overflow;
}

struct Route {
  std::string method;  // empty: any
  Handler handler;
};

// What a Respond may touch once the server is gone.
struct Gate {
  std::mutex mu;
  bool open = true;
};

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, std::uint64_t id, tcp::socket socket, std::string remote, bool loopback)
      : server_(server),
        id_(id),
        stream_(std::move(socket)),
        executor_(stream_.get_executor()),
        remote_(std::move(remote)),
        loopback_(loopback) {}

  void start() {
    asio::dispatch(executor_, [self = shared_from_this()] { self->read_request(); });
  }
  // On the session's strand.
  void deliver(std::uint64_t seq, HttpResponse res);
  // Only once the server threads are joined (stop()): nothing else runs then.
  void abort() {
    closed_ = true;
    stream_.close();
  }
  // Any thread: the strand, fixed at construction.
  const asio::any_io_executor& executor() const { return executor_; }

 private:
  void read_request();
  void on_first_bytes(const error_code& ec, std::size_t n);
  void read_header();
  void on_header(const error_code& ec);
  void on_continue_sent(const error_code& ec);
  void read_body();
  void on_body(const error_code& ec);
  bool handle_read_error(const error_code& ec);
  void dispatch();
  void write(HttpResponse res, bool keep_alive, bool linger_after, std::string allow = {});
  void on_write(const error_code& ec, bool close_after, bool linger_after);
  void linger();
  void on_linger(const error_code& ec, std::size_t n);
  void close();

  Server& server_;
  const std::uint64_t id_;
  beast::tcp_stream stream_;
  const asio::any_io_executor executor_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> out_;  // the response being written
  std::vector<char> drain_;
  std::size_t drained_ = 0;
  const std::string remote_;
  const bool loopback_;
  std::uint64_t seq_ = 0;         // the request being answered
  unsigned version_ = 11;         // of that request, 10 or 11
  bool awaiting_response_ = false;
  bool keep_alive_ = false;
  bool closed_ = false;
};

// The Respond given to a handler: the first call wins, later calls are ignored, and a Respond
// dropped without any call answers 500 so the client is not left waiting.
class Responder {
 public:
  Responder(std::shared_ptr<Gate> gate, std::weak_ptr<Session> session, std::uint64_t seq)
      : gate_(std::move(gate)), session_(std::move(session)), seq_(seq) {}
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder() {
    if (done_.load()) return;
    try {
      complete(error_response(500, "the handler did not respond"));
    } catch (...) {
    }
  }

  void complete(HttpResponse res) {
    if (done_.exchange(true)) return;
    const std::lock_guard lock(gate_->mu);
    if (!gate_->open) return;
    // Taken and released under the lock: past stop() no session reference survives here.
    if (auto s = session_.lock()) {
      const auto ex = s->executor();
      asio::post(ex, [s = std::move(s), seq = seq_, res = std::move(res)]() mutable { s->deliver(seq, std::move(res)); });
    }
  }

 private:
  std::shared_ptr<Gate> gate_;
  std::weak_ptr<Session> session_;
  const std::uint64_t seq_;
  std::atomic<bool> done_{false};
};

class Server {
 public:
  explicit Server(HttpServerOptions options)
      : ioc_(static_cast<int>(std::max(1u, options.threads))), options_(std::move(options)) {
    if (options_.threads == 0) options_.threads = 1;
  }
  ~Server() { stop(); }

  void route(std::string method, std::string path, Handler handler) {
    if (state_.load() != State::idle) throw std::logic_error("HttpServer::route called after start()");
    for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    routes_[std::move(path)].push_back(Route{std::move(method), std::move(handler)});
  }

  core::Result<std::uint16_t> start();
  void stop();
  std::uint16_t port() const { return port_.load(); }
  std::size_t connection_count() const {
    const std::lock_guard lock(sessions_mu_);
    return sessions_.size();
  }

  // Used by sessions.
  const HttpServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  const std::shared_ptr<Gate>& gate() const { return gate_; }
  const std::vector<Route>* find_path(const std::string& path) const {
    const auto it = routes_.find(path);
    return it == routes_.end() ? nullptr : &it->second;
  }
  void forget(std::uint64_t id) {
    std::shared_ptr<Session> gone;  // destroyed after the lock is released
    const std::lock_guard lock(sessions_mu_);
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    gone = std::move(it->second);
    sessions_.erase(it);
  }

 private:
  enum class State { idle, running, stopped };

  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](const error_code& ec, tcp::socket socket) {
      on_accept(ec, std::move(socket));
    });
  }
  void on_accept(const error_code& ec, tcp::socket socket);
  void refuse(tcp::socket& socket);

  // Declared first so it is destroyed last: sessions still held by queued handlers die with it.
  asio::io_context ioc_;
  HttpServerOptions options_;
  std::unordered_map<std::string, std::vector<Route>> routes_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  tcp::acceptor acceptor_{ioc_};
  asio::steady_timer accept_retry_{ioc_};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex lifecycle_mu_;
  std::atomic<State> state_{State::idle};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint16_t> port_{0};
  mutable std::mutex sessions_mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::uint64_t next_id_ = 0;
};

// --- Server ---------------------------------------------------------------------------------

// The server whose thread this is, so stop() can tell a call from one of its own handlers.
thread_local const void* tl_server = nullptr;

core::Result<std::uint16_t> Server::start() {
  const std::lock_guard lock(lifecycle_mu_);
  if (state_.load() != State::idle) return core::Result<std::uint16_t>::failure("HTTP server already started (or stopped)");
  const std::string where = endpoint_text(options_.bind_address, options_.port);
  error_code ec;
  const auto address = asio::ip::make_address(options_.bind_address, ec);
  if (ec) return core::Result<std::uint16_t>::failure("cannot listen on " + where + ": not an IP address");
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  tcp::endpoint local;
  if (!ec) local = acceptor_.local_endpoint(ec);
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    return core::Result<std::uint16_t>::failure("cannot listen on " + where + ": " + ec.message());
  }
  port_.store(local.port());

  work_.emplace(asio::make_work_guard(ioc_));
  accept();
  state_.store(State::running);
  for (unsigned i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] {
      tl_server = this;
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          // Only allocation failures and the like get here; keep serving.
          std::fprintf(stderr, "tensority http server: %s\n", e.what());
        }
      }
    });
  }
  return local.port();
}

void Server::stop() {
  stopping_.store(true);
  {
    const std::lock_guard gate_lock(gate_->mu);
    gate_->open = false;
  }
  if (tl_server == this) {
    ioc_.stop();  // from a handler: stop the work; joining waits for a call from outside
    return;
  }
  const std::lock_guard lock(lifecycle_mu_);
  state_.store(State::stopped);
  if (threads_.empty()) return;  // never started, or stopped already
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();

  // Nothing runs now: close everything from here, then run the cancelled operations' handlers
  // (they see stopping() and end) so the sessions they hold are released.
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions;
  {
    const std::lock_guard sessions_lock(sessions_mu_);
    sessions.swap(sessions_);
  }
  for (auto& [id, s] : sessions) s->abort();
  ioc_.restart();
  try {
    ioc_.poll();
  } catch (const std::exception&) {
  }
  sessions.clear();
}

void Server::on_accept(const error_code& ec, tcp::socket socket) {
  if (stopping()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // Out of descriptors and the like: try again shortly instead of spinning.
    accept_retry_.expires_after(kAcceptRetry);
    accept_retry_.async_wait([this](const error_code& wait_ec) {
      if (!wait_ec && !stopping()) accept();
    });
    return;
  }
  error_code remote_ec;
  const auto remote = socket.remote_endpoint(remote_ec);
  std::shared_ptr<Session> session;
  if (!remote_ec) {
    const std::lock_guard lock(sessions_mu_);
    if (sessions_.size() >= options_.max_connections) {
      refuse(socket);
    } else {
      const std::uint64_t id = next_id_++;
      session = std::make_shared<Session>(*this, id, std::move(socket), address_text(remote.address()),
                                          is_loopback(remote.address()));
      sessions_.emplace(id, session);
    }
  }
  if (session) session->start();
  accept();
}

// Over max_connections: a best-effort 503 without blocking, then close.
void Server::refuse(tcp::socket& socket) {
  static const std::string kResponse = [] {
    const std::string body = error_response(503, "too many connections").body;
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }();
  error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(kResponse), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

// --- Session --------------------------------------------------------------------------------

void Session::read_request() {
  if (closed_) return;
  if (server_.stopping()) return close();
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(server_.options().max_body_bytes);
  if (buffer_.size() > 0) return read_header();  // pipelined: the next request is here already
  // Waiting for a request: the idle timeout applies.
  stream_.expires_after(server_.options().idle_timeout);
  stream_.async_read_some(buffer_.prepare(kFirstRead),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_first_bytes(ec, n); });
}

void Session::on_first_bytes(const error_code& ec, std::size_t n) {
  if (ec || server_.stopping()) return close();  // idle timeout, the client left, or stop()
  buffer_.commit(n);
  read_header();
}

void Session::read_header() {
  stream_.expires_after(server_.options().header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_header(ec); });
}

// True when the error ended the exchange (answered or closed).
bool Session::handle_read_error(const error_code& ec) {
  if (!ec) return false;
  if (ec == http::error::body_limit) {
    write(error_response(413, "request body too large (limit " + std::to_string(server_.options().max_body_bytes) +
                                  " bytes)"),
          false, true);
  } else if (ec == http::error::header_limit) {
    write(error_response(431, "request header too large (limit " + std::to_string(kHeaderLimit) + " bytes)"), false,
          true);
  } else if (is_parse_error(ec)) {
    write(error_response(400, "malformed HTTP request: " + ec.message()), false, true);
  } else {
    close();  // timeout (the stream is closed already), the client left, a socket error
  }
  return true;
}

void Session::on_header(const error_code& ec) {
  if (server_.stopping()) return close();
  if (handle_read_error(ec)) return;
  const auto& req = parser_->get();
  const std::string& token = server_.options().bearer_token;
  version_ = req.version();
  if (!token.empty() && !token_matches(sv(req[http::field::authorization]), token)) {
    // The body is not read: answered and closed (lingering) unless there is none. bytomd's
    // shape, so its clients read it.
    const bool done = parser_->is_done();
    HttpResponse r;
    r.status = 401;
    r.body = std::string(R"({"code":"BTM860","msg":"Request could not be authenticated","status":"fail","detail":")") +
             (req[http::field::authorization].empty() ? "no token" : "invalid token") + R"(","temporary":false})";
    write(std::move(r), done && req.keep_alive(), !done);
    return;
  }
  if (parser_->is_done()) return dispatch();
  if (iequals(sv(req[http::field::expect]), "100-continue")) {
    auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
    out_ = cont;
    stream_.expires_after(server_.options().idle_timeout);
    http::async_write(stream_, *cont, [self = shared_from_this()](const error_code& wec, std::size_t) {
      self->on_continue_sent(wec);
    });
    return;
  }
  read_body();
}

void Session::on_continue_sent(const error_code& ec) {
  if (ec || server_.stopping()) return close();
  read_body();
}

void Session::read_body() {
  stream_.expires_after(server_.options().body_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_body(ec); });
}

void Session::on_body(const error_code& ec) {
  if (server_.stopping()) return close();
  if (handle_read_error(ec)) return;
  dispatch();
}

void Session::dispatch() {
  stream_.expires_never();  // the handler may take its time (long-poll); nothing is pending
  auto& msg = parser_->get();
  keep_alive_ = msg.keep_alive();

  HttpRequest req;
  req.method = std::string(sv(msg.method_string()));
  req.target = std::string(sv(msg.target()));
  req.path = req.target.substr(0, req.target.find('?'));
  req.body = std::move(msg.body());
  req.remote_address = remote_;
  req.from_loopback = loopback_;
  parser_.reset();

  const std::vector<Route>* routes = server_.find_path(req.path);
  const Handler* fallback = nullptr;
  if (routes == nullptr && server_.options().not_found) fallback = &server_.options().not_found;
  if (routes == nullptr && fallback == nullptr) {
    return write(error_response(404, "unknown path " + req.path), keep_alive_, false);
  }
  const Route* route = nullptr;
  std::string allow;
  static const std::vector<Route> kNoRoutes;
  for (const auto& r : routes != nullptr ? *routes : kNoRoutes) {
    if (r.method.empty() || r.method == req.method) {
      route = &r;
      break;
    }
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  if (route == nullptr && fallback == nullptr) {
    return write(error_response(405, "method " + req.method + " not allowed for " + req.path), keep_alive_, false,
                 std::move(allow));
  }

  ++seq_;
  awaiting_response_ = true;
  auto responder = std::make_shared<Responder>(server_.gate(), weak_from_this(), seq_);
  Respond respond = [responder](HttpResponse res) { responder->complete(std::move(res)); };
  try {
    (route != nullptr ? route->handler : *fallback)(req, std::move(respond));
  } catch (const std::exception& e) {
    responder->complete(error_response(500, std::string("internal error: ") + e.what()));
  } catch (...) {
    responder->complete(error_response(500, "internal error"));
  }
}

void Session::deliver(std::uint64_t seq, HttpResponse res) {
  if (closed_ || server_.stopping() || !awaiting_response_ || seq != seq_) return;
  awaiting_response_ = false;
  write(std::move(res), keep_alive_, false);
}

void Session::write(HttpResponse res, bool keep_alive, bool linger_after, std::string allow) {
  if (closed_) return;
  if (res.status < 100 || res.status > 999) {
    res = error_response(500, "handler answered with invalid status " + std::to_string(res.status));
  }
  auto out = std::make_shared<http::response<http::string_body>>();
  out->version(version_ == 10 ? 10 : 11);
  out->result(res.status);
  out->set(http::field::server, "tensority");
  if (!res.content_type.empty()) out->set(http::field::content_type, res.content_type);
  if (!allow.empty()) out->set(http::field::allow, allow);
  out->body() = std::move(res.body);
  out->keep_alive(keep_alive);
  out->prepare_payload();
  out_ = out;
  stream_.expires_after(server_.options().idle_timeout);  // a client that does not read
  http::async_write(stream_, *out,
                    [self = shared_from_this(), close_after = !keep_alive, linger_after](
                        const error_code& ec, std::size_t) { self->on_write(ec, close_after, linger_after); });
}

void Session::on_write(const error_code& ec, bool close_after, bool linger_after) {
  out_.reset();
  if (ec || server_.stopping()) return close();
  if (!close_after) return read_request();
  if (linger_after) return linger();
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  close();
}

void Session::linger() {
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  drain_.resize(16 * 1024);
  drained_ = 0;
  stream_.expires_after(kLingerTime);
  stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
    self->on_linger(ec, n);
  });
}

void Session::on_linger(const error_code& ec, std::size_t n) {
  drained_ += n;
  if (ec || server_.stopping() || drained_ > kLingerMaxBytes) return close();
  stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](const error_code& rec, std::size_t m) {
    self->on_linger(rec, m);
  });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  stream_.close();
  server_.forget(id_);
}

}  // namespace

// --- HttpServer -----------------------------------------------------------------------------

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions options) : server(std::move(options)) {}
  Server server;
};

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpServer::~HttpServer() { impl_->server.stop(); }

void HttpServer::route(std::string path, Handler handler) {
  impl_->server.route({}, std::move(path), std::move(handler));
}
void HttpServer::route(std::string method, std::string path, Handler handler) {
  impl_->server.route(std::move(method), std::move(path), std::move(handler));
}
core::Result<std::uint16_t> HttpServer::start() { return impl_->server.start(); }
void HttpServer::stop() { impl_->server.stop(); }
std::uint16_t HttpServer::port() const { return impl_->server.port(); }
std::size_t HttpServer::connection_count() const { return impl_->server.connection_count(); }

std::string prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace tensority::net
