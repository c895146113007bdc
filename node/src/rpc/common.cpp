#include "common.hpp"

#include <cctype>

#include "tensority/chain/address.hpp"
#include "tensority/core/hex.hpp"

namespace tensority::node::rpc {

using core::to_hex;

void bad_request(const std::string& detail) { throw RpcError{true, detail}; }
void refused(const std::string& detail) { throw RpcError{false, detail}; }

net::HttpResponse envelope_ok(const json& data) {
  return {200, "application/json", json{{"status", "success"}, {"data", data}}.dump()};
}

net::HttpResponse envelope_fail(const RpcError& e) {
  if (e.bad_body) {
    const json j{{"code", "BTM002"}, {"msg", "Invalid request body"}, {"status", "fail"}, {"detail", e.detail},
                 {"temporary", false}};
    return {400, "application/json", j.dump()};
  }
  const json j{{"status", "fail"}, {"code", "BTM000"}, {"msg", "Bytom API Error"}, {"error_detail", e.detail}};
  return {200, "application/json", j.dump()};
}

tensority::chain::Network Call::network() const { return ctx.chain->params().network; }

json parse_body(std::string_view body) {
  std::string_view trimmed = body;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.remove_prefix(1);
  if (trimmed.empty()) return json::object();
  json j = json::parse(trimmed, nullptr, false);
  if (j.is_discarded()) bad_request("malformed JSON in the request body");
  if (!j.is_object()) bad_request("the request body must be a JSON object");
  return j;
}

std::optional<std::uint64_t> opt_u64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    if (v >= 0) return static_cast<std::uint64_t>(v);
  }
  bad_request(std::string("field '") + key + "' must be a non-negative integer");
}

std::uint64_t req_u64(const json& j, const char* key) {
  auto v = opt_u64(j, key);
  if (!v) bad_request(std::string("missing field '") + key + "'");
  return *v;
}

std::optional<std::string> opt_str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad_request(std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

std::string req_str(const json& j, const char* key) {
  auto v = opt_str(j, key);
  if (!v) bad_request(std::string("missing field '") + key + "'");
  return *v;
}

core::Hash req_hash(const std::string& text, const char* key) {
  auto h = core::hash_from_hex(text);
  if (!h) bad_request(std::string("field '") + key + "': " + h.error());
  return *h;
}

core::wire::Bytes req_hex(const std::string& text, const char* key) {
  auto b = core::from_hex(text);
  if (!b) bad_request(std::string("field '") + key + "': " + b.error());
  return std::move(b).value();
}

core::wire::Bytes req_address_program(const std::string& address, tensority::chain::Network net) {
  auto p = tensority::chain::address_to_program(address, net);
  if (!p) bad_request("address: " + p.error());
  return std::move(p).value();
}

std::string address_or_empty(std::span<const std::uint8_t> program, tensority::chain::Network net) {
  auto a = tensority::chain::program_to_address(program, net);
  return a ? *a : std::string();
}

core::Hash block_by_request(const Call& c, bool zero_is_tip) {
  Chain& chain = c.chain();
  if (auto h = opt_str(c.body, "block_hash")) {
    const core::Hash id = req_hash(*h, "block_hash");
    if (!chain.header(id)) refused("no block " + *h);
    return id;
  }
  const TipInfo tip = chain.tip();
  std::uint64_t height = opt_u64(c.body, "block_height").value_or(0);
  if (zero_is_tip && height == 0) height = tip.height;
  auto id = chain.hash_at(height);
  if (!id) refused("no block at height " + std::to_string(height) + " (best height " + std::to_string(tip.height) + ")");
  return *id;
}

bool tx_status_fail(const std::optional<BlockMeta>& meta, std::size_t tx) {
  return meta && tx < meta->status_fail.size() && meta->status_fail[tx];
}

json submit_block_to_chain(const Call& c, const tensority::chain::Block& block) {
  const ProcessResult r = c.chain().process_block(block);
  switch (r.outcome) {
    case BlockOutcome::connected: return true;
    case BlockOutcome::duplicate: refused("block " + to_hex(r.id) + " is already known");
    case BlockOutcome::orphan: refused("block " + to_hex(r.id) + " is an orphan: its parent is unknown");
    case BlockOutcome::side_chain: refused("block " + to_hex(r.id) + " was stored on a side chain");
    case BlockOutcome::invalid: refused("block rejected: " + r.error);
  }
  return false;
}

}  // namespace tensority::node::rpc
