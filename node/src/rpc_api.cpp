#include "tensority/node/rpc_api.hpp"

#include <functional>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "tensority/core/hex.hpp"
#include "tensority/core/target.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/chain/validation.hpp"

namespace tensority::node {

using chain::Block;
using chain::CoinbaseInput;
using chain::Hash;
using chain::IssuanceInput;
using chain::Network;
using chain::SpendInput;
using chain::Transaction;
using chain::TxEntries;
using chain::TxInput;
using chain::TxOutput;
using chain::address_to_program;
using chain::kCoinbaseMaturity;
using chain::kMaxBlockGas;
using chain::map_transaction;
using chain::parse_block;
using chain::parse_transaction;
using chain::program_to_address;
using chain::signature_hash;

namespace {

using core::Hash;
using core::to_hex;
// Keys in the order they are set, as bytomd writes them (and an asset definition's own order).
using json = nlohmann::ordered_json;

// bytomd's two error envelopes (docs/rpc.md):
// - a call that fails: HTTP 200, {"status":"fail","code":"BTM000","msg":"Bytom API Error",
//   "error_detail":why}; every refusal of ours (a block, a transaction, a missing block) is this;
// - a request it cannot read: HTTP 400, {"code":"BTM002","msg":"Invalid request body",
//   "status":"fail","detail":why,"temporary":false}; an unknown path: HTTP 500, BTM000,
//   detail "not Found", temporary true.
struct RpcError {
  bool bad_body = false;  // the second envelope
  std::string detail;
};

[[noreturn]] void bad_request(const std::string& detail) { throw RpcError{true, detail}; }
[[noreturn]] void refused(const std::string& detail) { throw RpcError{false, detail}; }

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

json parse_body(std::string_view body) {
  std::string_view trimmed = body;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.remove_prefix(1);
  if (trimmed.empty()) return json::object();
  json j = json::parse(trimmed, nullptr, false);
  if (j.is_discarded()) bad_request("malformed JSON in the request body");
  if (!j.is_object()) bad_request("the request body must be a JSON object");
  return j;
}

// uint64 fields are read as JSON integers only: a float would have lost precision.
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

Hash req_hash(const std::string& text, const char* key) {
  auto h = core::hash_from_hex(text);
  if (!h) bad_request(std::string("field '") + key + "': " + h.error());
  return *h;
}

core::wire::Bytes req_hex(const std::string& text, const char* key) {
  auto b = core::from_hex(text);
  if (!b) bad_request(std::string("field '") + key + "': " + b.error());
  return std::move(b).value();
}

json header_json(const core::BlockHeader& h) {
  return json{{"version", h.version},
              {"height", h.height},
              {"previous_block_hash", to_hex(h.previous_block_id)},
              {"timestamp", h.timestamp},
              {"nonce", h.nonce},
              {"bits", h.bits},
              {"block_commitment",
               {{"transaction_merkle_root", to_hex(h.transactions_merkle_root)},
                {"transaction_status_hash", to_hex(h.transaction_status_hash)}}}};
}

core::BlockHeader header_from_json(const json& j) {
  if (!j.is_object()) bad_request("field 'block_header' must be an object");
  core::BlockHeader h;
  h.version = req_u64(j, "version");
  h.height = req_u64(j, "height");
  h.previous_block_id = req_hash(req_str(j, "previous_block_hash"), "previous_block_hash");
  h.timestamp = req_u64(j, "timestamp");
  h.nonce = req_u64(j, "nonce");
  h.bits = req_u64(j, "bits");
  auto c = j.find("block_commitment");
  if (c == j.end() || !c->is_object()) bad_request("missing object 'block_commitment'");
  h.transactions_merkle_root = req_hash(req_str(*c, "transaction_merkle_root"), "transaction_merkle_root");
  h.transaction_status_hash = req_hash(req_str(*c, "transaction_status_hash"), "transaction_status_hash");
  return h;
}

// An issuance's definition as bytomd shows it: the JSON it holds, else {} (not hex).
json asset_definition_json(const core::wire::Bytes& definition) {
  json parsed = json::parse(definition.begin(), definition.end(), nullptr, false);
  return parsed.is_discarded() ? json::object() : parsed;
}

std::string address_or_empty(std::span<const std::uint8_t> program, Network net) {
  auto a = program_to_address(program, net);
  return a ? *a : std::string();
}

}  // namespace

net::HttpResponse RpcApi::unknown_path() {
  const json j{{"code", "BTM000"}, {"msg", "Bytom API Error"}, {"status", "fail"}, {"detail", "not Found"},
               {"temporary", true}};
  return {500, "application/json", j.dump()};
}

RpcApi::RpcApi(RpcContext context) : ctx_(std::move(context)) {
  waiter_thread_ = std::thread([this] { waiter_loop(); });
}

RpcApi::~RpcApi() {
  stop();
  if (waiter_thread_.joinable()) waiter_thread_.join();
}

void RpcApi::stop() {
  stopping_ = true;
}

net::HttpResponse RpcApi::tip_response() const {
  const TipInfo t = ctx_.chain->tip();
  return envelope_ok(json{{"hash", to_hex(t.id)}, {"height", t.height}});
}

// One thread answers every long-poll: woken by tip changes (through the chain's wait) and
// by new waiters, it answers those whose tip moved on and those whose time is up.
void RpcApi::waiter_loop() {
  Hash last{};
  while (!stopping_) {
    const TipInfo tip = ctx_.chain->wait_for_tip_change(last, std::chrono::milliseconds(100));
    last = tip.id;
    std::vector<net::Respond> due;
    {
      std::lock_guard lock(waiters_mutex_);
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(waiters_, [&](Waiter& w) {
        if (w.after != tip.id || now >= w.deadline) {
          due.push_back(std::move(w.respond));
          return true;
        }
        return false;
      });
    }
    for (auto& respond : due) respond(tip_response());
  }
  std::vector<Waiter> rest;
  {
    std::lock_guard lock(waiters_mutex_);
    rest.swap(waiters_);
  }
  for (auto& w : rest) w.respond(tip_response());
}

void RpcApi::install(net::HttpServer& server) {
  server.route("GET", "/", [this](const net::HttpRequest&, net::Respond respond) {
    const TipInfo t = ctx_.chain->tip();
    respond(envelope_ok(json{{"name", "tensority node"},
                             {"version", ctx_.version},
                             {"network", ctx_.chain->params().name},
                             {"height", t.height}}));
  });
  static const char* const kMethods[] = {
      "get-work", "get-work-json", "submit-work", "submit-work-json", "submit-block", "get-block",
      "get-raw-block", "get-block-header", "get-block-hash", "get-block-count", "get-difficulty",
      "get-hash-rate", "net-info", "submit-transaction", "get-unspent-outputs", "get-mempool",
      "get-transaction", "generate", "is-mining"};
  for (const char* m : kMethods) {
    const std::string method = m;
    // Any HTTP method, as bytomd (it never looks at the method).
    server.route("/" + method, [this, method](const net::HttpRequest& req, net::Respond respond) {
      respond(call(method, req.body));
    });
  }
  server.route("/wait-new-block", [this](const net::HttpRequest& req, net::Respond respond) {
    try {
      const json body = parse_body(req.body);
      Hash after{};
      if (auto a = opt_str(body, "after_hash")) after = req_hash(*a, "after_hash");
      const std::uint64_t timeout_ms = std::min<std::uint64_t>(opt_u64(body, "timeout_ms").value_or(30'000), 120'000);
      if (ctx_.chain->tip().id != after || timeout_ms == 0 || stopping_) {
        respond(tip_response());
        return;
      }
      std::lock_guard lock(waiters_mutex_);
      waiters_.push_back(
          Waiter{after, std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms), std::move(respond)});
    } catch (const RpcError& e) {
      respond(envelope_fail(e));
    }
  });
}

net::HttpResponse RpcApi::call(std::string_view method_view, std::string_view body_text) {
  Chain& chain = *ctx_.chain;
  const Network net = chain.params().network;
  const std::string method(method_view);

  // zero_is_tip: height 0 (or none) means the tip, as bytomd's get-hash-rate has it.
  auto block_by_request = [&](const json& body, bool zero_is_tip) -> Hash {
    if (auto h = opt_str(body, "block_hash")) {
      const Hash id = req_hash(*h, "block_hash");
      if (!chain.header(id)) refused("no block " + *h);
      return id;
    }
    const TipInfo tip = chain.tip();
    std::uint64_t height = opt_u64(body, "block_height").value_or(0);
    if (zero_is_tip && height == 0) height = tip.height;
    auto id = chain.hash_at(height);
    if (!id) refused("no block at height " + std::to_string(height) + " (best height " + std::to_string(tip.height) + ")");
    return *id;
  };

  auto submit = [&](const Block& block) -> json {
    const ProcessResult r = chain.process_block(block);
    switch (r.outcome) {
      case BlockOutcome::connected: return true;
      case BlockOutcome::duplicate: refused("block " + to_hex(r.id) + " is already known");
      case BlockOutcome::orphan: refused("block " + to_hex(r.id) + " is an orphan: its parent is unknown");
      case BlockOutcome::side_chain: refused("block " + to_hex(r.id) + " was stored on a side chain");
      case BlockOutcome::invalid: refused("block rejected: " + r.error);
    }
    return false;
  };

  auto work_template = [&]() -> BlockTemplate {
    if (!ctx_.templates->has_coinbase_program()) {
      refused("no mining address: start the node with --mining-address to serve work");
    }
    return ctx_.templates->current();
  };

  // bytomd's annotated transaction: every input and output field its get-block has.
  auto tx_json = [&](const Transaction& tx, bool status_fail) -> json {
    const TxEntries e = map_transaction(tx);
    const std::string zeros = to_hex(Hash{});
    json inputs = json::array();
    for (std::size_t j = 0; j < tx.inputs.size(); ++j) {
      const TxInput& in = tx.inputs[j];
      json i;
      json arguments = nullptr;  // bytomd: null when there are none
      auto set_arguments = [&](const std::vector<core::wire::Bytes>& args) {
        if (args.empty()) return;
        arguments = json::array();
        for (const auto& a : args) arguments.push_back(to_hex(a));
      };
      const bool coinbase = std::holds_alternative<CoinbaseInput>(in.kind);
      if (const auto* s = std::get_if<SpendInput>(&in.kind)) {
        i = json{{"type", "spend"},
                 {"asset_id", to_hex(s->output.asset_id)},
                 {"asset_definition", json::object()},
                 {"amount", s->output.amount},
                 {"control_program", to_hex(s->output.control_program)}};
        if (auto a = address_or_empty(s->output.control_program, net); !a.empty()) i["address"] = a;
        i["spent_output_id"] = to_hex(e.spent_output_ids[j]);
        set_arguments(s->arguments);
      } else if (const auto* is = std::get_if<IssuanceInput>(&in.kind)) {
        i = json{{"type", "issue"},
                 {"asset_id", to_hex(is->asset_id)},
                 {"asset_definition", asset_definition_json(is->asset_definition)},
                 {"amount", is->amount},
                 {"issuance_program", to_hex(is->issuance_program)}};
        set_arguments(is->arguments);
      } else if (const auto* cb = std::get_if<CoinbaseInput>(&in.kind)) {
        i = json{{"type", "coinbase"},
                 {"asset_id", zeros},
                 {"asset_definition", json::object()},
                 {"amount", 0},
                 {"arbitrary", to_hex(cb->arbitrary)}};
      } else {
        i = json{{"type", "unknown"}, {"asset_version", in.asset_version}};
      }
      i["input_id"] = to_hex(e.input_ids[j]);
      i["witness_arguments"] = arguments;
      i["sign_data"] = coinbase ? zeros : to_hex(signature_hash(e.input_ids[j], e.tx_id));
      inputs.push_back(std::move(i));
    }
    json outputs = json::array();
    for (std::size_t k = 0; k < tx.outputs.size(); ++k) {
      const TxOutput& o = tx.outputs[k];
      json out{{"type", e.retired[k] ? "retire" : "control"},
               {"id", to_hex(e.result_ids[k])},
               {"position", k},
               {"asset_id", to_hex(o.asset_id)},
               {"asset_definition", json::object()},
               {"amount", o.amount},
               {"control_program", to_hex(o.control_program)}};
      if (auto a = address_or_empty(o.control_program, net); !a.empty()) out["address"] = a;
      outputs.push_back(std::move(out));
    }
    return json{{"id", to_hex(e.tx_id)},   {"version", tx.version},      {"size", tx.serialized_size},
                {"time_range", tx.time_range}, {"inputs", inputs},        {"outputs", outputs},
                {"status_fail", status_fail}, {"mux_id", to_hex(e.mux_id)}};
  };

  try {
    const json body = parse_body(body_text);
    json data;
    if (method == "get-work") {
      const BlockTemplate t = work_template();
      data = json{{"block_header", to_hex(core::serialize_header(t.block.header))}, {"seed", to_hex(t.seed)}};
    } else if (method == "get-work-json") {
      const BlockTemplate t = work_template();
      data = json{{"block_header", header_json(t.block.header)}, {"seed", to_hex(t.seed)}};
    } else if (method == "submit-work" || method == "submit-work-json") {
      core::BlockHeader submitted;
      if (method == "submit-work") {
        const auto raw = req_hex(req_str(body, "block_header"), "block_header");
        auto parsed = core::parse_header(raw, true);
        if (!parsed) bad_request("block_header: " + parsed.error());
        submitted = parsed->header;
      } else {
        auto it = body.find("block_header");
        if (it == body.end()) bad_request("missing field 'block_header'");
        submitted = header_from_json(*it);
      }
      if (submitted.previous_block_id != chain.tip().id) {
        refused("stale work: the chain tip moved on since this template was made");
      }
      auto block = ctx_.templates->complete(submitted);
      if (!block) refused("unknown work: no recent template has these merkle roots");
      data = submit(*block);
    } else if (method == "submit-block") {
      const auto raw = req_hex(req_str(body, "raw_block"), "raw_block");
      auto block = parse_block(raw);
      if (!block) bad_request("raw_block: " + block.error());
      data = submit(*block);
    } else if (method == "get-block" || method == "get-raw-block" || method == "get-block-header") {
      const Hash id = block_by_request(body, false);
      auto raw = chain.raw_block(id);
      if (!raw) refused("block " + to_hex(id) + " has no stored body");
      auto block = parse_block(*raw);
      if (!block) refused("stored block " + to_hex(id) + " is damaged: " + block.error());
      if (method == "get-raw-block") {
        // {} for a transaction that passed, {"status_fail":true} for one that failed.
        json verify = json::array();
        const auto meta = chain.meta(id);
        for (std::size_t i = 0; i < block->transactions.size(); ++i) {
          const bool failed = meta && i < meta->status_fail.size() && meta->status_fail[i];
          verify.push_back(failed ? json{{"status_fail", true}} : json::object());
        }
        data = json{{"raw_block", to_hex(*raw)}, {"transaction_status", {{"version", 1}, {"verify_status", verify}}}};
      } else if (method == "get-block-header") {
        const std::uint64_t reward = block->transactions.empty() || block->transactions[0].outputs.empty()
                                         ? 0
                                         : block->transactions[0].outputs[0].amount;
        data = json{{"block_header", to_hex(core::serialize_header(block->header))}, {"reward", reward}};
      } else {
        const auto meta = chain.meta(id);
        const core::BlockHeader& h = block->header;
        json txs = json::array();
        for (std::size_t i = 0; i < block->transactions.size(); ++i) {
          const bool failed = meta && i < meta->status_fail.size() && meta->status_fail[i];
          txs.push_back(tx_json(block->transactions[i], failed));
        }
        data = json{{"hash", to_hex(id)},
                    {"size", raw->size() * 2},  // bytomd reports the hex length
                    {"version", h.version},
                    {"height", h.height},
                    {"previous_block_hash", to_hex(h.previous_block_id)},
                    {"timestamp", h.timestamp},
                    {"nonce", h.nonce},
                    {"bits", h.bits},
                    {"difficulty", core::calc_work(h.bits).str()},
                    {"transaction_merkle_root", to_hex(h.transactions_merkle_root)},
                    {"transaction_status_hash", to_hex(h.transaction_status_hash)},
                    {"transactions", txs}};
      }
    } else if (method == "get-block-hash") {
      const Hash id = body.contains("block_height") ? block_by_request(body, false) : chain.tip().id;
      data = json{{"block_hash", to_hex(id)}};
    } else if (method == "get-block-count") {
      data = json{{"block_count", chain.tip().height}};
    } else if (method == "get-difficulty") {
      const Hash id = block_by_request(body, false);  // no parameters: genesis, as bytomd
      const core::BlockHeader h = *chain.header(id);
      data = json{{"hash", to_hex(id)}, {"height", h.height}, {"bits", h.bits}, {"difficulty", core::calc_work(h.bits).str()}};
    } else if (method == "get-hash-rate") {
      Hash id = block_by_request(body, true);
      const core::BlockHeader h = *chain.header(id);
      std::uint64_t rate = 0;
      if (h.height > 0) {
        const core::BlockHeader parent = *chain.header(h.previous_block_id);
        const std::uint64_t dt = h.timestamp > parent.timestamp ? h.timestamp - parent.timestamp : 1;
        // A JSON integer, the low 64 bits as bytomd's big.Int.Uint64 gives them.
        const core::BigInt r = core::calc_work(h.bits) / dt;
        rate = static_cast<std::uint64_t>(r & core::BigInt(std::numeric_limits<std::uint64_t>::max()));
      }
      data = json{{"hash", to_hex(id)}, {"height", h.height}, {"hash_rate", rate}};
    } else if (method == "net-info") {
      const TipInfo t = chain.tip();
      // bytomd's keys in its order, then ours (network: our name for it; version).
      data = json{{"listening", false},
                  {"syncing", false},
                  {"mining", false},
                  {"peer_count", 0},
                  {"current_block", t.height},
                  {"highest_block", t.height},
                  {"network_id", chain.params().wire_name},
                  {"version_info", {{"version", ctx_.version}, {"update", 0}, {"new_version", ctx_.version}}},
                  {"network", chain.params().name},
                  {"version", ctx_.version}};
    } else if (method == "is-mining") {
      data = json{{"is_mining", false}};
    } else if (method == "submit-transaction") {
      const auto raw = req_hex(req_str(body, "raw_transaction"), "raw_transaction");
      auto tx = parse_transaction(raw);
      if (!tx) bad_request("raw_transaction: " + tx.error());
      auto added = ctx_.mempool->add(*tx);
      if (!added) refused(added.error());
      data = json{{"tx_id", to_hex(*added)}};
    } else if (method == "get-unspent-outputs") {
      core::wire::Bytes program;
      if (auto a = opt_str(body, "address")) {
        auto p = address_to_program(*a, net);
        if (!p) bad_request("address: " + p.error());
        program = std::move(p).value();
      } else if (auto p = opt_str(body, "program")) {
        program = req_hex(*p, "program");
      } else {
        bad_request("give 'address' or 'program'");
      }
      std::optional<Hash> asset;
      if (auto a = opt_str(body, "asset_id")) asset = req_hash(*a, "asset_id");
      data = json::array();
      for (const auto& [id, u] : chain.utxos_by_program(program, 10'000)) {
        if (asset && u.asset_id != *asset) continue;
        if (ctx_.mempool->spends(id)) continue;
        data.push_back(json{{"id", to_hex(id)},
                            {"source_id", to_hex(u.source_id)},
                            {"source_pos", u.source_position},
                            {"asset_id", to_hex(u.asset_id)},
                            {"amount", u.amount},
                            {"vm_version", u.vm_version},
                            {"control_program", to_hex(u.control_program)},
                            {"address", address_or_empty(u.control_program, net)},
                            {"block_height", u.block_height},
                            {"is_coinbase", u.is_coinbase},
                            {"valid_height", u.is_coinbase ? u.block_height + kCoinbaseMaturity : 0}});
      }
    } else if (method == "get-mempool") {
      json txs = json::array();
      for (const MempoolEntry& e : ctx_.mempool->entries()) {
        txs.push_back(json{{"tx_id", to_hex(e.entries.tx_id)},
                           {"gas", e.validation.gas_used},
                           {"fee", e.validation.fee},
                           {"status_fail", e.validation.status_fail}});
      }
      data = json{{"transactions", txs}};
    } else if (method == "get-transaction") {
      const Hash tx_id = req_hash(req_str(body, "tx_id"), "tx_id");
      if (auto e = ctx_.mempool->get(tx_id)) {
        data = json{{"tx_id", to_hex(tx_id)}, {"status", "mempool"}, {"status_fail", e->validation.status_fail}};
      } else {
        const TipInfo tip = chain.tip();
        const std::uint64_t lowest = tip.height > 1000 ? tip.height - 1000 : 0;
        for (std::uint64_t h = tip.height + 1; h-- > lowest && data.is_null();) {
          const Hash id = *chain.hash_at(h);
          auto block = chain.block(id);
          if (!block) continue;
          for (std::size_t i = 0; i < block->transactions.size(); ++i) {
            if (map_transaction(block->transactions[i]).tx_id != tx_id) continue;
            const auto meta = chain.meta(id);
            data = json{{"tx_id", to_hex(tx_id)},
                        {"status", "confirmed"},
                        {"block_height", h},
                        {"block_hash", to_hex(id)},
                        {"status_fail", meta && i < meta->status_fail.size() && meta->status_fail[i]}};
            break;
          }
        }
        if (data.is_null()) refused("transaction " + to_hex(tx_id) + " is neither in the mempool nor in the last 1000 blocks");
      }
    } else if (method == "generate") {
      if (!chain.params().allow_generate) refused("generate is only available on regtest");
      const std::uint64_t count = req_u64(body, "count");
      if (count == 0 || count > 1000) bad_request("field 'count' must be between 1 and 1000");
      core::wire::Bytes program = ctx_.mining_program;
      if (auto a = opt_str(body, "address")) {
        auto p = address_to_program(*a, net);
        if (!p) bad_request("address: " + p.error());
        program = std::move(p).value();
      }
      if (program.empty()) bad_request("no 'address' given and the node has no --mining-address");
      json hashes = json::array();
      for (std::uint64_t n = 0; n < count; ++n) {
        BlockTemplate t = build_block_template(chain.next_block(), ctx_.mempool->select(kMaxBlockGas), program, chain.now());
        auto block = mine_block_cpu(std::move(t), ctx_.mining_threads, &stopping_);
        if (!block) refused("generate stopped after " + std::to_string(n) + " blocks");
        submit(*block);
        hashes.push_back(to_hex(core::block_id(block->header)));
      }
      data = json{{"block_hashes", hashes}};
    } else {
      return unknown_path();
    }
    return envelope_ok(data);
  } catch (const RpcError& e) {
    return envelope_fail(e);
  } catch (const json::exception& e) {
    return envelope_fail(RpcError{true, std::string("bad request: ") + e.what()});
  }
}

}  // namespace tensority::node
