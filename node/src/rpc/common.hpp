#pragma once
// What every RPC method shares (node-internal): the request readers, bytomd's error envelopes
// and the helpers several methods use. A method is a plain function from a Call to the `data`
// of a success; it refuses by throwing RpcError through refused() or bad_request(), which
// RpcApi::call turns into bytomd's envelopes (docs/rpc.md).
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tensority/chain/block.hpp"
#include "tensority/chain/chain_params.hpp"
#include "tensority/core/types.hpp"
#include "tensority/net/http.hpp"
#include "tensority/node/rpc_api.hpp"

namespace tensority::node::rpc {

// Keys in the order they are set, as bytomd writes them (and an asset definition's own order).
using json = nlohmann::ordered_json;

// bytomd's two error envelopes:
// - a call that fails: HTTP 200, {"status":"fail","code":"BTM000","msg":"Bytom API Error",
//   "error_detail":why}; every refusal of ours (a block, a transaction, a missing block) is this;
// - a request it cannot read: HTTP 400, {"code":"BTM002","msg":"Invalid request body",
//   "status":"fail","detail":why,"temporary":false}.
struct RpcError {
  bool bad_body = false;  // the second envelope
  std::string detail;
};
[[noreturn]] void bad_request(const std::string& detail);
[[noreturn]] void refused(const std::string& detail);
net::HttpResponse envelope_ok(const json& data);
net::HttpResponse envelope_fail(const RpcError& e);

// One request: the node's parts, the parsed body, and the flag that cancels long work.
struct Call {
  const RpcContext& ctx;
  const json& body;
  const std::atomic<bool>& stopping;
  Chain& chain() const { return *ctx.chain; }
  tensority::chain::Network network() const;
};
using Method = json (*)(const Call&);

// An empty body is {}; anything but a JSON object is refused.
json parse_body(std::string_view body);
// uint64 fields are read as JSON integers only: a float would have lost precision.
std::optional<std::uint64_t> opt_u64(const json& j, const char* key);
std::uint64_t req_u64(const json& j, const char* key);
std::optional<std::string> opt_str(const json& j, const char* key);
std::string req_str(const json& j, const char* key);
core::Hash req_hash(const std::string& text, const char* key);
core::wire::Bytes req_hex(const std::string& text, const char* key);
// The program an 'address' field names on this node's network.
core::wire::Bytes req_address_program(const std::string& address, chain::Network net);
std::string address_or_empty(std::span<const std::uint8_t> program, chain::Network net);

// The block a request names by block_hash or block_height; zero_is_tip: height 0 (or none)
// means the tip, as bytomd's get-hash-rate has it.
core::Hash block_by_request(const Call& c, bool zero_is_tip);
// Whether transaction `tx` of a block failed (status_fail), by the block's stored meta; false
// when the meta is not known.
bool tx_status_fail(const std::optional<BlockMeta>& meta, std::size_t tx);
// Processes a block and answers true when it connected; refuses with the reason otherwise.
json submit_block_to_chain(const Call& c, const chain::Block& block);

// The methods, by area; RpcApi's table (rpc_api.cpp) names them.
json get_work(const Call&);  // mining.cpp
json get_work_json(const Call&);
json submit_work(const Call&);
json submit_work_json(const Call&);
json submit_block(const Call&);
json is_mining(const Call&);
json generate(const Call&);
json get_block(const Call&);  // blocks.cpp
json get_raw_block(const Call&);
json get_block_header(const Call&);
json get_block_hash(const Call&);
json get_block_count(const Call&);
json get_difficulty(const Call&);
json get_hash_rate(const Call&);
json submit_transaction(const Call&);  // transactions.cpp
json get_unspent_outputs(const Call&);
json get_mempool(const Call&);
json get_transaction(const Call&);
json net_info(const Call&);  // network.cpp

}  // namespace tensority::node::rpc
