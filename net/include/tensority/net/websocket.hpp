#pragma once
// A small blocking WebSocket client (Boost.Beast) for push channels such as bytomd 1.x's
// `/websocket-subscribe` (new-block notifications). Every call runs a private io_context on
// the calling thread under its own deadline; a read that times out leaves the connection
// usable, with the read still pending for the next call.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tensority/core/types.hpp"
#include "tensority/net/http.hpp"

namespace tensority::net {

class WebSocketClient {
 public:
  WebSocketClient();
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // ws://HOST:PORT<base.path><path>; the handshake must finish within timeout.
  core::Result<bool> connect(const Url& base, std::string_view path, std::chrono::milliseconds timeout,
                             const std::string& bearer_token = {});
  core::Result<bool> send(std::string_view text, std::chrono::milliseconds timeout);
  // The next text message, or nothing when none came within timeout. Messages larger than
  // max_message_bytes end the connection with an error.
  core::Result<std::optional<std::string>> read(std::chrono::milliseconds timeout);
  void close();

  std::size_t max_message_bytes = 16 << 20;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tensority::net
