#include "tensority/net/websocket.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "tensority/net/http.hpp"

namespace tensority::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct WebSocketClient::Impl {
  asio::io_context ioc;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws;
  beast::flat_buffer buffer;
  bool reading = false;   // an async_read is pending
  bool read_done = false;
  error_code read_error;
  std::string failure;    // once set, the connection is unusable

  // Runs the io_context until done() or the deadline; false on timeout.
  template <typename Done>
  bool run_until(Done done, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    ioc.restart();
    while (!done()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return false;
      if (ioc.run_one_for(until - now) == 0 && ioc.stopped()) ioc.restart();
    }
    return true;
  }
};

WebSocketClient::WebSocketClient() : impl_(std::make_unique<Impl>()) {}
WebSocketClient::~WebSocketClient() { close(); }

core::Result<bool> WebSocketClient::connect(const Url& base, std::string_view path, std::chrono::milliseconds timeout,
                                            const std::string& bearer_token) {
  using R = core::Result<bool>;
  Impl& s = *impl_;
  s.ws = std::make_unique<websocket::stream<beast::tcp_stream>>(s.ioc);
  s.ws->read_message_max(max_message_bytes);
  beast::get_lowest_layer(*s.ws).expires_after(timeout);
  tcp::resolver resolver(s.ioc);
  bool done = false;
  error_code ec;
  const std::string target = base.path + (path.empty() || path.front() != '/' ? "/" : "") + std::string(path);
  const std::string host = base.host + ":" + std::to_string(base.port);
  resolver.async_resolve(base.host, std::to_string(base.port), [&](error_code e, tcp::resolver::results_type r) {
    if (e) {
      ec = e;
      done = true;
      return;
    }
    beast::get_lowest_layer(*s.ws).async_connect(r, [&](error_code e2, const tcp::endpoint&) {
      if (e2) {
        ec = e2;
        done = true;
        return;
      }
      beast::get_lowest_layer(*s.ws).expires_never();
      // No stream timeouts of Beast's own: every call here has its deadline, and a pending
      // 30 s handshake timer would hold close() up.
      s.ws->set_option(websocket::stream_base::decorator([bearer_token](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, "tensority");
        if (!bearer_token.empty()) req.set(beast::http::field::authorization, authorization_for(bearer_token));
      }));
      s.ws->async_handshake(host, target, [&](error_code e3) {
        ec = e3;
        done = true;
      });
    });
  });
  if (!s.run_until([&] { return done; }, timeout)) {
    resolver.cancel();
    close();  // runs the cancelled handlers, which still point at this frame, to completion
    return R::failure("websocket " + host + target + ": no handshake within " + std::to_string(timeout.count()) + " ms");
  }
  if (ec) {
    close();
    return R::failure("websocket " + host + target + ": " + ec.message());
  }
  s.failure.clear();
  return true;
}

core::Result<bool> WebSocketClient::send(std::string_view text, std::chrono::milliseconds timeout) {
  using R = core::Result<bool>;
  Impl& s = *impl_;
  if (!s.ws || !s.failure.empty()) return R::failure(s.failure.empty() ? "websocket not connected" : s.failure);
  bool done = false;
  error_code ec;
  s.ws->text(true);
  s.ws->async_write(asio::buffer(text.data(), text.size()), [&](error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!s.run_until([&] { return done; }, timeout)) {
    close();
    s.failure = "websocket: write timed out";
    return R::failure(s.failure);
  }
  if (ec) {
    s.failure = "websocket: " + ec.message();
    return R::failure(s.failure);
  }
  return true;
}

core::Result<std::optional<std::string>> WebSocketClient::read(std::chrono::milliseconds timeout) {
  using R = core::Result<std::optional<std::string>>;
  Impl& s = *impl_;
  if (!s.ws || !s.failure.empty()) return R::failure(s.failure.empty() ? "websocket not connected" : s.failure);
  if (!s.reading) {
    s.reading = true;
    s.read_done = false;
    s.ws->async_read(s.buffer, [&s](error_code e, std::size_t) {
      s.read_error = e;
      s.read_done = true;
    });
  }
  if (!s.run_until([&] { return s.read_done; }, timeout)) return std::optional<std::string>{};
  s.reading = false;
  if (s.read_error) {
    s.failure = s.read_error == websocket::error::closed ? "websocket closed by the server"
                                                          : "websocket: " + s.read_error.message();
    return R::failure(s.failure);
  }
  std::string message = beast::buffers_to_string(s.buffer.data());
  s.buffer.consume(s.buffer.size());
  return std::optional<std::string>{std::move(message)};
}

void WebSocketClient::close() {
  Impl& s = *impl_;
  if (!s.ws) return;
  error_code ignored;
  beast::get_lowest_layer(*s.ws).expires_never();
  beast::get_lowest_layer(*s.ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(*s.ws).socket().close(ignored);
  // Every pending handler (a read, a timed-out write or handshake) completes as cancelled
  // here, before the stream and the frames its handlers point into go away. With the socket
  // closed and no timer left that takes microseconds; the bound is only a safety net.
  s.ioc.restart();
  s.ioc.run_for(std::chrono::seconds(2));
  s.reading = false;
  s.ws.reset();
  s.buffer.consume(s.buffer.size());
}

}  // namespace tensority::net
