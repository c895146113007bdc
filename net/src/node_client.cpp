#include "tensority/net/node_client.hpp"

#include <nlohmann/json.hpp>

#include "tensority/core/hex.hpp"

namespace tensority::net {
namespace {

using json = nlohmann::json;

}  // namespace

NodeReply parse_node_reply(std::string_view body) {
  NodeReply r;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.message = "the node's reply is not JSON";
    return r;
  }
  const auto status = j.find("status");
  if (status != j.end() && status->is_string() && *status == "success") {
    r.success = true;
    return r;
  }
  auto text = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  // The reason is in error_detail (a failed call) or detail (bytomd's transport errors: a bad
  // body, a token, an unknown path); msg is often only the code's name ("Bytom API Error").
  r.code = text("code");
  r.message = text("error_detail");
  if (r.message.empty()) r.message = text("detail");
  if (const std::string msg = text("msg"); !msg.empty() && r.message.find(msg) == std::string::npos) {
    r.message = r.message.empty() ? msg : msg + ": " + r.message;
  }
  if (r.message.empty()) r.message = "the node said no and gave no reason";
  if (!r.code.empty()) r.message += " (" + r.code + ")";
  return r;
}

bool is_unknown_method_reply(unsigned http_status, std::string_view body) {
  if (http_status == 404) return true;
  // bytomd answers an unknown path with 500 and detail "not Found", or, with its wallet off,
  // with a redirect to /error.
  if (http_status == 301 || http_status == 302) return true;
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return false;
  const auto detail = j.find("detail");
  return detail != j.end() && detail->is_string() && *detail == "not Found";
}

core::Result<NodeWork> parse_get_work_reply(std::string_view body) {
  using R = core::Result<NodeWork>;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return R::failure("get-work: the reply is not a JSON object");
  const NodeReply reply = parse_node_reply(body);
  if (!reply.success) return R::failure("get-work: " + reply.message);
  const auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return R::failure("get-work: the reply has no data object");
  const auto header_hex = data->find("block_header");
  const auto seed_hex = data->find("seed");
  if (header_hex == data->end() || !header_hex->is_string()) return R::failure("get-work: data.block_header is not a string");
  if (seed_hex == data->end() || !seed_hex->is_string()) return R::failure("get-work: data.seed is not a string");
  const auto bytes = core::from_hex(header_hex->get<std::string>());
  if (!bytes) return R::failure("get-work: block_header: " + bytes.error());
  auto parsed = core::parse_header(*bytes, true);
  if (!parsed) return R::failure("get-work: block_header: " + parsed.error());
  if (parsed->serflag != core::kSerFlagHeader) {
    return R::failure("get-work: block_header has serialization flag " + std::to_string(parsed->serflag) + ", not 1");
  }
  const auto seed = core::hash_from_hex(seed_hex->get<std::string>());
  if (!seed) return R::failure("get-work: seed: " + seed.error());
  return NodeWork{std::move(parsed->header), *seed};
}

NodeClient::NodeClient(Url url, std::string bearer_token, std::chrono::milliseconds timeout)
    : url_(std::move(url)), token_(std::move(bearer_token)), timeout_(timeout) {}

HttpClientOptions NodeClient::options(std::chrono::milliseconds extra) const {
  HttpClientOptions o;
  o.timeout = timeout_ + extra;
  o.bearer_token = token_;
  return o;
}

core::Result<NodeWork> NodeClient::get_work() const {
  auto response = http_post(url_, "/get-work", "{}", options());
  if (!response) return core::Result<NodeWork>::failure("get-work: " + response.error());
  if (response->status == 401) {
    return core::Result<NodeWork>::failure(token_.empty() ? "get-work: the node wants a token (--node-token)"
                                                          : "get-work: the node refused the token given (--node-token)");
  }
  return parse_get_work_reply(response->body);
}

core::Result<NodeReply> NodeClient::submit_work(const core::BlockHeader& header) const {
  const json body{{"block_header", core::to_hex(core::serialize_header(header))}};
  auto response = http_post(url_, "/submit-work", body.dump(), options());
  if (!response) return core::Result<NodeReply>::failure("submit-work: " + response.error());
  return parse_node_reply(response->body);
}

core::Result<std::optional<core::Hash>> NodeClient::wait_new_block(const core::Hash& after,
                                                                   std::chrono::milliseconds wait) const {
  using R = core::Result<std::optional<core::Hash>>;
  const json body{{"after_hash", core::to_hex(after)}, {"timeout_ms", wait.count()}};
  auto response = http_post(url_, "/wait-new-block", body.dump(), options(wait));
  if (!response) return R::failure("wait-new-block: " + response.error());
  if (is_unknown_method_reply(response->status, response->body)) return R::failure("unsupported");
  const json j = json::parse(response->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("data") || !j["data"].is_object() ||
      !j["data"].contains("hash") || !j["data"]["hash"].is_string()) {
    const NodeReply reply = parse_node_reply(response->body);
    return R::failure("wait-new-block: " + (reply.success ? std::string("no hash in the reply") : reply.message));
  }
  const auto hash = core::hash_from_hex(j["data"]["hash"].get<std::string>());
  if (!hash) return R::failure("wait-new-block: hash: " + hash.error());
  if (*hash == after) return std::optional<core::Hash>{};
  return std::optional<core::Hash>{*hash};
}

std::unique_ptr<WebSocketClient> NodeClient::subscribe_new_blocks() const {
  auto ws = std::make_unique<WebSocketClient>();
  if (!ws->connect(url_, "/websocket-subscribe", timeout_, token_)) return nullptr;
  if (!ws->send(R"({"topic":"notify_raw_blocks"})", timeout_)) return nullptr;
  return ws;
}

}  // namespace tensority::net
