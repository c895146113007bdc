#pragma once
// The one client of a node's RPC (docs/rpc.md) for the miner, the pool and the wallet, against
// our node and bytomd 1.x alike: one envelope parser, one place that knows each method's
// request and answer. Blocking calls, one connection each, safe from several threads; a Client
// is a value (URL, token, timeout) and cheap to copy.
//
// Failures are one line that names the call and keeps the node's own reason and code:
// "node get-block-header: no block at height 9 (best height 3) (BTM000)" when the node
// refused (is_refusal), other words when there was no usable answer.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tensority/core/block_header.hpp"
#include "tensority/core/types.hpp"
#include "tensority/net/http.hpp"
#include "tensority/net/websocket.hpp"

namespace tensority::noderpc {

// A block header and seed as get-work returns them.
struct Work {
  core::BlockHeader header;
  core::Hash seed{};
};

// A bytomd-style envelope's verdict: success, or the node's words.
struct Reply {
  bool success = false;
  std::string code;     // "BTM000"..., when the node gave one
  std::string message;  // the node's reason, then its code: "block rejected: ... (BTM000)"
};
// The envelope parser: {"status":"success",...} or the reason from error_detail (a failed
// call) or detail (bytomd's transport errors), with msg when it adds something.
Reply parse_reply(std::string_view body);
// Whether a reply says the node has no such method: 404 from ours or a plain server, HTTP 500
// with detail "not Found" from bytomd (or its redirect to /error when its wallet is off).
bool is_unknown_method_reply(unsigned http_status, std::string_view body);
// Whether a Client failure is the node's own refusal (it answered and said no: a transaction
// or block refused, a missing block) rather than no usable answer (unreachable, timeout, a
// token refused, an unknown method, an answer this client cannot read).
bool is_refusal(std::string_view error);
// A get-work reply body ({"status":"success","data":{"block_header":hex,"seed":hex}}).
core::Result<Work> parse_get_work_reply(std::string_view body);

struct TxStatus {
  core::Hash tx_id{};
  std::string status;  // "mempool" or "confirmed"
  std::optional<std::uint64_t> block_height;
  bool status_fail = false;
};

class Client {
 public:
  // url: http://HOST:PORT. A token containing ':' (bytomd's ID:SECRET) goes as HTTP Basic,
  // any other as a bearer token. token_option: how the user gives it, named when the node
  // refuses it ("--node-token", the wallet's "--rpc-token").
  static core::Result<Client> create(std::string_view url, std::string token,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                     std::string token_option = "--node-token");
  Client(net::Url url, std::string token, std::chrono::milliseconds timeout, std::string token_option = "--node-token");

  const net::Url& url() const { return url_; }
  const std::string& url_text() const { return url_text_; }

  // One call: `body` a JSON object (empty: {}); answers the reply's "data" as JSON text.
  core::Result<std::string> call(std::string_view method, std::string_view body) const;

  // Mining.
  core::Result<Work> get_work() const;
  // The node's verdict on a header carrying the winning nonce; a failure only when no verdict
  // came back (connection, timeout).
  core::Result<Reply> submit_work(const core::BlockHeader& header) const;
  // Our node's long-poll: the tip when it differs from `after`, nothing when `wait` passed
  // without a change. Fails with exactly "unsupported" on a node without the call.
  core::Result<std::optional<core::Hash>> wait_new_block(const core::Hash& after, std::chrono::milliseconds wait) const;
  // bytomd's push channel, subscribed to new blocks; nothing on a node without it. Each
  // message containing "raw_blocks_connected" announces a block.
  std::unique_ptr<net::WebSocketClient> subscribe_new_blocks() const;

  // The chain.
  core::Result<std::uint64_t> block_count() const;
  // The ID of the main-chain block at this height, nothing above the tip. Asks for the header
  // by height and hashes it: bytomd's get-block-hash ignores a height.
  core::Result<std::optional<core::Hash>> main_block_at(std::uint64_t height) const;
  // The coinbase's first output of a block (get-block-header's reward).
  core::Result<std::uint64_t> block_reward(const core::Hash& block) const;
  // net-info's network_id (bytomd's chain_id: mainnet, wisdom, solonet; ours also regtest);
  // empty when the node does not say.
  core::Result<std::string> network_id() const;

  // Transactions.
  core::Result<core::Hash> submit_transaction(std::span<const std::uint8_t> raw) const;
  core::Result<TxStatus> get_transaction(const core::Hash& tx_id) const;
  // get-unspent-outputs for an address: the "data" array as JSON text (the wallet reads it).
  core::Result<std::string> unspent_outputs(std::string_view address) const;

 private:
  net::HttpClientOptions options(std::chrono::milliseconds extra = std::chrono::milliseconds(0)) const;
  // call() without writing the data back out: the reply is parsed once.
  core::Result<nlohmann::json> call_data(std::string_view method, std::string_view body) const;
  // call_data(), and the data must be a JSON object.
  core::Result<nlohmann::json> call_object(std::string_view method, const nlohmann::json& body) const;

  net::Url url_;
  std::string url_text_;
  std::string token_;
  std::chrono::milliseconds timeout_;
  std::string token_option_;
};

}  // namespace tensority::noderpc
