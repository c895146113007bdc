#include "tensority/noderpc/client.hpp"

#include "tensority/core/hex.hpp"
#include "tensority/noderpc/json.hpp"

namespace tensority::noderpc {
namespace {

using json = nlohmann::json;

// A node's answers are shallow: an envelope, a block's transactions, their inputs' arguments.
constexpr std::size_t kMaxReplyDepth = 16;

std::string text_member(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

constexpr std::string_view kRefusalPrefix = "node ";

// The node answered and said no: "node <method>: <its reason>" (is_refusal() reads this).
template <class T>
core::Result<T> refusal(std::string_view method, const std::string& why) {
  return core::Result<T>::failure(std::string(kRefusalPrefix) + std::string(method) + ": " + why);
}

// The node answered yes, with something this client cannot read.
template <class T>
core::Result<T> fail(std::string_view method, const std::string& why) {
  return core::Result<T>::failure("unexpected " + std::string(method) + " answer from the node: " + why);
}

// The verdict of an envelope already parsed (a JSON object).
Reply reply_of(const json& j) {
  Reply r;
  if (text_member(j, "status") == "success") {
    r.success = true;
    return r;
  }
  // The reason is in error_detail (a failed call) or detail (bytomd's transport errors: a bad
  // body, a token, an unknown path); msg is often only the code's name ("Bytom API Error").
  r.code = one_line(text_member(j, "code"));
  r.message = text_member(j, "error_detail");
  if (r.message.empty()) r.message = text_member(j, "detail");
  if (const std::string msg = text_member(j, "msg"); !msg.empty() && r.message.find(msg) == std::string::npos) {
    r.message = r.message.empty() ? msg : msg + ": " + r.message;
  }
  if (r.message.empty()) r.message = "the node said no and gave no reason";
  if (!r.code.empty()) r.message += " (" + r.code + ")";
  r.message = one_line(std::move(r.message));
  return r;
}

// doc: the reply body parsed, or null when it is not JSON.
bool unknown_method(unsigned http_status, const json* doc) {
  if (http_status == 404) return true;
  // bytomd answers an unknown path with 500 and detail "not Found", or, with its wallet off,
  // with a redirect to /error.
  if (http_status == 301 || http_status == 302) return true;
  return doc != nullptr && doc->is_object() && text_member(*doc, "detail") == "not Found";
}

}  // namespace

Reply parse_reply(std::string_view body) {
  auto doc = parse_json(body, kMaxReplyDepth);
  if (!doc || !doc->is_object()) {
    Reply r;
    r.message = "the node's reply is not a JSON object";
    return r;
  }
  return reply_of(*doc);
}

bool is_refusal(std::string_view error) { return error.starts_with(kRefusalPrefix); }

bool is_unknown_method_reply(unsigned http_status, std::string_view body) {
  auto doc = parse_json(body, kMaxReplyDepth);
  return unknown_method(http_status, doc ? &*doc : nullptr);
}

core::Result<Work> parse_get_work_reply(std::string_view body) {
  using R = core::Result<Work>;
  auto doc = parse_json(body, kMaxReplyDepth);
  if (!doc || !doc->is_object()) return R::failure("get-work: the reply is not a JSON object");
  const Reply reply = reply_of(*doc);
  if (!reply.success) return R::failure("get-work: " + reply.message);
  const auto data = doc->find("data");
  if (data == doc->end() || !data->is_object()) return R::failure("get-work: the reply has no data object");
  const std::string header_hex = text_member(*data, "block_header");
  const std::string seed_hex = text_member(*data, "seed");
  if (header_hex.empty()) return R::failure("get-work: data.block_header is not a string");
  if (seed_hex.empty()) return R::failure("get-work: data.seed is not a string");
  const auto bytes = core::from_hex(header_hex);
  if (!bytes) return R::failure("get-work: block_header: " + bytes.error());
  auto parsed = core::parse_header(*bytes, true);
  if (!parsed) return R::failure("get-work: block_header: " + parsed.error());
  if (parsed->serflag != core::kSerFlagHeader) {
    return R::failure("get-work: block_header has serialization flag " + std::to_string(parsed->serflag) + ", not 1");
  }
  const auto seed = core::hash_from_hex(seed_hex);
  if (!seed) return R::failure("get-work: seed: " + seed.error());
  return Work{std::move(parsed->header), *seed};
}

core::Result<Client> Client::create(std::string_view url, std::string token, std::chrono::milliseconds timeout,
                                   std::string token_option) {
  auto parsed = net::parse_url(url);
  if (!parsed) return core::Result<Client>::failure("node URL: " + parsed.error());
  Client c(std::move(parsed).value(), std::move(token), timeout, std::move(token_option));
  c.url_text_ = std::string(url);
  return c;
}

Client::Client(net::Url url, std::string token, std::chrono::milliseconds timeout, std::string token_option)
    : url_(std::move(url)),
      url_text_(net::to_string(url_)),
      token_(std::move(token)),
      timeout_(timeout),
      token_option_(std::move(token_option)) {}

net::HttpClientOptions Client::options(std::chrono::milliseconds extra) const {
  net::HttpClientOptions o;
  o.timeout = timeout_ + extra;
  o.bearer_token = token_;
  return o;
}

core::Result<std::string> Client::call(std::string_view method, std::string_view body) const {
  auto data = call_data(method, body);
  if (!data) return core::Result<std::string>::failure(data.error());
  return data->dump();
}

core::Result<nlohmann::json> Client::call_data(std::string_view method, std::string_view body) const {
  using R = core::Result<json>;
  const std::string path = "/" + std::string(method);
  auto resp = net::http_post(url_, path, body.empty() ? std::string_view("{}") : body, options());
  if (!resp) return R::failure("cannot reach the node at " + url_text_ + ": " + one_line(resp.error()));
  if (resp->status == 401) {
    return R::failure("the node at " + url_text_ + " refused " + std::string(method) +
                      " (HTTP 401): wrong or missing " + token_option_ + " (" + parse_reply(resp->body).message + ")");
  }
  auto doc = parse_json(resp->body, kMaxReplyDepth);
  if (!doc || !doc->is_object()) {
    return R::failure("the node answered " + std::string(method) + " with HTTP " + std::to_string(resp->status) +
                      " and no JSON envelope" + (resp->status == 404 ? " (no such RPC method: is this a Bytom node?)" : ""));
  }
  const std::string status = text_member(*doc, "status");
  if (status == "success") {
    const auto data = doc->find("data");
    return data == doc->end() ? json() : std::move(*data);
  }
  if (status == "fail") {
    if (unknown_method(resp->status, &*doc)) {
      return R::failure("the node at " + url_text_ + " has no " + std::string(method) + " method");
    }
    return refusal<json>(method, reply_of(*doc).message);
  }
  return R::failure("the node answered " + std::string(method) + " with HTTP " + std::to_string(resp->status) +
                    " and an unknown envelope");
}

core::Result<Work> Client::get_work() const {
  auto response = net::http_post(url_, "/get-work", "{}", options());
  if (!response) return core::Result<Work>::failure("get-work: " + response.error());
  if (response->status == 401) {
    return core::Result<Work>::failure(token_.empty() ? "get-work: the node wants a token (" + token_option_ + ")"
                                                      : "get-work: the node refused the token given (" + token_option_ + ")");
  }
  return parse_get_work_reply(response->body);
}

core::Result<Reply> Client::submit_work(const core::BlockHeader& header) const {
  const json body{{"block_header", core::to_hex(core::serialize_header(header))}};
  auto response = net::http_post(url_, "/submit-work", body.dump(), options());
  if (!response) return core::Result<Reply>::failure("submit-work: " + response.error());
  return parse_reply(response->body);
}

core::Result<std::optional<core::Hash>> Client::wait_new_block(const core::Hash& after,
                                                               std::chrono::milliseconds wait) const {
  using R = core::Result<std::optional<core::Hash>>;
  const json body{{"after_hash", core::to_hex(after)}, {"timeout_ms", wait.count()}};
  auto response = net::http_post(url_, "/wait-new-block", body.dump(), options(wait));
  if (!response) return R::failure("wait-new-block: " + response.error());
  auto doc = parse_json(response->body, kMaxReplyDepth);
  const bool object = doc && doc->is_object();
  if (unknown_method(response->status, object ? &*doc : nullptr)) return R::failure("unsupported");
  const json* data = object && doc->contains("data") ? &(*doc)["data"] : nullptr;
  const std::string hash_hex = data != nullptr && data->is_object() ? text_member(*data, "hash") : std::string();
  if (hash_hex.empty()) {
    const Reply reply = object ? reply_of(*doc) : parse_reply(response->body);
    return R::failure("wait-new-block: " + (reply.success ? std::string("no hash in the reply") : reply.message));
  }
  const auto hash = core::hash_from_hex(hash_hex);
  if (!hash) return R::failure("wait-new-block: hash: " + hash.error());
  if (*hash == after) return std::optional<core::Hash>{};
  return std::optional<core::Hash>{*hash};
}

std::unique_ptr<net::WebSocketClient> Client::subscribe_new_blocks() const {
  auto ws = std::make_unique<net::WebSocketClient>();
  if (!ws->connect(url_, "/websocket-subscribe", timeout_, token_)) return nullptr;
  if (!ws->send(R"({"topic":"notify_raw_blocks"})", timeout_)) return nullptr;
  return ws;
}

core::Result<nlohmann::json> Client::call_object(std::string_view method, const nlohmann::json& body) const {
  auto data = call_data(method, body.dump());
  if (!data) return data;
  if (!data->is_object()) return fail<json>(method, "the answer's data is not a JSON object");
  return data;
}

namespace {

core::Result<std::uint64_t> u64_member(const json& j, std::string_view method, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return fail<std::uint64_t>(method, std::string("no ") + key + " in the answer");
  return it->get<std::uint64_t>();
}

core::Result<core::Hash> hash_member(const json& j, std::string_view method, const char* key) {
  auto h = core::hash_from_hex(text_member(j, key));
  if (!h) return fail<core::Hash>(method, std::string(key) + ": " + h.error());
  return *h;
}

}  // namespace

core::Result<std::uint64_t> Client::block_count() const {
  auto j = call_object("get-block-count", json::object());
  if (!j) return core::Result<std::uint64_t>::failure(j.error());
  return u64_member(*j, "get-block-count", "block_count");
}

core::Result<std::optional<core::Hash>> Client::main_block_at(std::uint64_t height) const {
  using R = core::Result<std::optional<core::Hash>>;
  auto tip = block_count();
  if (!tip) return R::failure(tip.error());
  if (height > *tip) return std::optional<core::Hash>{};
  auto j = call_object("get-block-header", json{{"block_height", height}});
  if (!j) return R::failure(j.error());
  auto raw = core::from_hex(text_member(*j, "block_header"));
  if (!raw) return fail<std::optional<core::Hash>>("get-block-header", "block_header: " + raw.error());
  auto header = core::parse_header(*raw);
  if (!header) return fail<std::optional<core::Hash>>("get-block-header", "block_header: " + header.error());
  if (header->header.height != height) {
    return fail<std::optional<core::Hash>>("get-block-header", "asked for height " + std::to_string(height) + ", got " +
                                                                   std::to_string(header->header.height));
  }
  return std::optional<core::Hash>(core::block_id(header->header));
}

core::Result<std::uint64_t> Client::block_reward(const core::Hash& block) const {
  auto j = call_object("get-block-header", json{{"block_hash", core::to_hex(block)}});
  if (!j) return core::Result<std::uint64_t>::failure(j.error());
  return u64_member(*j, "get-block-header", "reward");
}

core::Result<std::string> Client::network_id() const {
  auto j = call_object("net-info", json::object());
  if (!j) return core::Result<std::string>::failure(j.error());
  return one_line(text_member(*j, "network_id"));
}

core::Result<core::Hash> Client::submit_transaction(std::span<const std::uint8_t> raw) const {
  auto j = call_object("submit-transaction", json{{"raw_transaction", core::to_hex(raw)}});
  if (!j) return core::Result<core::Hash>::failure(j.error());
  return hash_member(*j, "submit-transaction", "tx_id");
}

core::Result<TxStatus> Client::get_transaction(const core::Hash& tx_id) const {
  using R = core::Result<TxStatus>;
  auto j = call_object("get-transaction", json{{"tx_id", core::to_hex(tx_id)}});
  if (!j) return R::failure(j.error());
  TxStatus s;
  auto id = hash_member(*j, "get-transaction", "tx_id");
  if (!id) return R::failure(id.error());
  s.tx_id = *id;
  s.status = one_line(text_member(*j, "status"));
  if (s.status.empty()) return fail<TxStatus>("get-transaction", "no status in the answer");
  if (const auto h = j->find("block_height"); h != j->end() && !h->is_null()) {
    if (!h->is_number_unsigned()) return fail<TxStatus>("get-transaction", "block_height is not an integer");
    s.block_height = h->get<std::uint64_t>();
  }
  if (const auto f = j->find("status_fail"); f != j->end()) {
    if (!f->is_boolean()) return fail<TxStatus>("get-transaction", "status_fail is not a boolean");
    s.status_fail = f->get<bool>();
  }
  return s;
}

core::Result<std::string> Client::unspent_outputs(std::string_view address) const {
  return call("get-unspent-outputs", json{{"address", std::string(address)}}.dump());
}

}  // namespace tensority::noderpc
