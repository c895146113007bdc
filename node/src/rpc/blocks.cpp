// Chain queries: blocks (annotated as bytomd's get-block, raw with the transaction status,
// header with the reward), block hashes and counts, difficulty and hash rate.
#include <limits>

#include "common.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/target.hpp"

namespace tensority::node::rpc {
namespace {

using core::to_hex;
using tensority::chain::CoinbaseInput;
using tensority::chain::IssuanceInput;
using tensority::chain::SpendInput;
using tensority::chain::Transaction;

struct StoredBlock {
  core::Hash id;
  core::wire::Bytes raw;
  tensority::chain::Block block;
};

StoredBlock requested_block(const Call& c) {
  const core::Hash id = block_by_request(c, false);
  auto raw = c.chain().raw_block(id);
  if (!raw) refused("block " + to_hex(id) + " has no stored body");
  auto block = tensority::chain::parse_block(*raw);
  if (!block) refused("stored block " + to_hex(id) + " is damaged: " + block.error());
  return StoredBlock{id, std::move(*raw), std::move(block).value()};
}

// An issuance's definition as bytomd shows it: the JSON it holds, else {} (not hex).
json asset_definition_json(const core::wire::Bytes& definition) {
  json parsed = json::parse(definition.begin(), definition.end(), nullptr, false);
  return parsed.is_discarded() ? json::object() : parsed;
}

// bytomd's annotated transaction: every input and output field its get-block has.
json tx_json(const Transaction& tx, bool status_fail, tensority::chain::Network net) {
  const tensority::chain::TxEntries e = tensority::chain::map_transaction(tx);
  const std::string zeros = to_hex(core::Hash{});
  json inputs = json::array();
  for (std::size_t j = 0; j < tx.inputs.size(); ++j) {
    const tensority::chain::TxInput& in = tx.inputs[j];
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
    i["sign_data"] = coinbase ? zeros : to_hex(tensority::chain::signature_hash(e.input_ids[j], e.tx_id));
    inputs.push_back(std::move(i));
  }
  json outputs = json::array();
  for (std::size_t k = 0; k < tx.outputs.size(); ++k) {
    const tensority::chain::TxOutput& o = tx.outputs[k];
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
  return json{{"id", to_hex(e.tx_id)},       {"version", tx.version},   {"size", tx.serialized_size},
              {"time_range", tx.time_range}, {"inputs", inputs},        {"outputs", outputs},
              {"status_fail", status_fail},  {"mux_id", to_hex(e.mux_id)}};
}

}  // namespace

json get_block(const Call& c) {
  const StoredBlock b = requested_block(c);
  const auto meta = c.chain().meta(b.id);
  const core::BlockHeader& h = b.block.header;
  json txs = json::array();
  for (std::size_t i = 0; i < b.block.transactions.size(); ++i) {
    txs.push_back(tx_json(b.block.transactions[i], tx_status_fail(meta, i), c.network()));
  }
  return json{{"hash", to_hex(b.id)},
              {"size", b.raw.size() * 2},  // bytomd reports the hex length
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

json get_raw_block(const Call& c) {
  const StoredBlock b = requested_block(c);
  const auto meta = c.chain().meta(b.id);
  // {} for a transaction that passed, {"status_fail":true} for one that failed.
  json verify = json::array();
  for (std::size_t i = 0; i < b.block.transactions.size(); ++i) {
    verify.push_back(tx_status_fail(meta, i) ? json{{"status_fail", true}} : json::object());
  }
  return json{{"raw_block", to_hex(b.raw)}, {"transaction_status", {{"version", 1}, {"verify_status", verify}}}};
}

json get_block_header(const Call& c) {
  const StoredBlock b = requested_block(c);
  const auto& txs = b.block.transactions;
  const std::uint64_t reward = txs.empty() || txs[0].outputs.empty() ? 0 : txs[0].outputs[0].amount;
  return json{{"block_header", to_hex(core::serialize_header(b.block.header))}, {"reward", reward}};
}

json get_block_hash(const Call& c) {
  const core::Hash id = c.body.contains("block_height") ? block_by_request(c, false) : c.chain().tip().id;
  return json{{"block_hash", to_hex(id)}};
}

json get_block_count(const Call& c) { return json{{"block_count", c.chain().tip().height}}; }

json get_difficulty(const Call& c) {
  const core::Hash id = block_by_request(c, false);  // no parameters: genesis, as bytomd
  const core::BlockHeader h = *c.chain().header(id);
  return json{{"hash", to_hex(id)}, {"height", h.height}, {"bits", h.bits}, {"difficulty", core::calc_work(h.bits).str()}};
}

json get_hash_rate(const Call& c) {
  const core::Hash id = block_by_request(c, true);
  const core::BlockHeader h = *c.chain().header(id);
  std::uint64_t rate = 0;
  if (h.height > 0) {
    const core::BlockHeader parent = *c.chain().header(h.previous_block_id);
    const std::uint64_t dt = h.timestamp > parent.timestamp ? h.timestamp - parent.timestamp : 1;
    // A JSON integer, the low 64 bits as bytomd's big.Int.Uint64 gives them.
    const core::BigInt r = core::calc_work(h.bits) / dt;
    rate = static_cast<std::uint64_t>(r & core::BigInt(std::numeric_limits<std::uint64_t>::max()));
  }
  return json{{"hash", to_hex(id)}, {"height", h.height}, {"hash_rate", rate}};
}

}  // namespace tensority::node::rpc
