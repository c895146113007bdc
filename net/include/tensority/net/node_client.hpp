#pragma once
// A client of a node's mining RPC (spec node.md, stratum.md section 4) for whoever mines or
// serves work without linking the node: the miner's solo session and the pool. Works against
// our node and bytomd 1.x alike: get-work, submit-work, our node's `wait-new-block` long-poll
// and bytomd's `/websocket-subscribe` new-block push. Blocking calls, one connection each,
// safe from several threads.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tensority/core/block_header.hpp"
#include "tensority/core/types.hpp"
#include "tensority/net/http.hpp"
#include "tensority/net/websocket.hpp"

namespace tensority::net {

// A block header and seed as get-work returns them.
struct NodeWork {
  core::BlockHeader header;
  core::Hash seed{};
};
// Decodes a get-work reply body ({"status":"success","data":{"block_header":hex,"seed":hex}}).
core::Result<NodeWork> parse_get_work_reply(std::string_view body);

// A bytomd-style envelope: success, or the node's words (msg and error_detail).
struct NodeReply {
  bool success = false;
  std::string code;     // "BTM000"..., when the node gave one
  std::string message;  // the node's reason, then its code: "block rejected: ... (BTM000)"
};
NodeReply parse_node_reply(std::string_view body);
// Whether a reply says the node has no such method: 404 from ours or a plain server, HTTP 500
// with detail "not Found" from bytomd (or its redirect to /error when its wallet is off).
bool is_unknown_method_reply(unsigned http_status, std::string_view body);

class NodeClient {
 public:
  NodeClient(Url url, std::string bearer_token, std::chrono::milliseconds timeout);

  const Url& url() const { return url_; }
  core::Result<NodeWork> get_work() const;
  // The node's verdict on a header carrying the winning nonce; a failure only when no verdict
  // came back (connection, timeout).
  core::Result<NodeReply> submit_work(const core::BlockHeader& header) const;
  // Our node's long-poll: the tip when it differs from `after`, nothing when `wait` passed
  // without a change. Fails with exactly "unsupported" on a node without the call.
  core::Result<std::optional<core::Hash>> wait_new_block(const core::Hash& after, std::chrono::milliseconds wait) const;
  // bytomd's push channel, subscribed to new blocks; nothing on a node without it. Each
  // message containing "raw_blocks_connected" announces a block.
  std::unique_ptr<WebSocketClient> subscribe_new_blocks() const;

 private:
  HttpClientOptions options(std::chrono::milliseconds extra = std::chrono::milliseconds(0)) const;

  Url url_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

}  // namespace tensority::net
