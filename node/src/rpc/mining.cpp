// Mining: bytomd's get-work / submit-work in hex and JSON, submit-block, is-mining, and
// regtest's generate.
#include "common.hpp"
#include "tensority/chain/validation.hpp"
#include "tensority/core/hex.hpp"

namespace tensority::node::rpc {
namespace {

using core::to_hex;

BlockTemplate work_template(const Call& c) {
  if (!c.ctx.templates->has_coinbase_program()) {
    refused("no mining address: start the node with --mining-address to serve work");
  }
  return c.ctx.templates->current();
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
  auto commitment = j.find("block_commitment");
  if (commitment == j.end() || !commitment->is_object()) bad_request("missing object 'block_commitment'");
  h.transactions_merkle_root =
      req_hash(req_str(*commitment, "transaction_merkle_root"), "transaction_merkle_root");
  h.transaction_status_hash =
      req_hash(req_str(*commitment, "transaction_status_hash"), "transaction_status_hash");
  return h;
}

// Only nonce and timestamp are the miner's; the rest must match a recent template.
json submit_header(const Call& c, const core::BlockHeader& submitted) {
  if (submitted.previous_block_id != c.chain().tip().id) {
    refused("stale work: the chain tip moved on since this template was made");
  }
  auto block = c.ctx.templates->complete(submitted);
  if (!block) refused("unknown work: no recent template has these merkle roots");
  return submit_block_to_chain(c, *block);
}

}  // namespace

json get_work(const Call& c) {
  const BlockTemplate t = work_template(c);
  return json{{"block_header", to_hex(core::serialize_header(t.block.header))}, {"seed", to_hex(t.seed)}};
}

json get_work_json(const Call& c) {
  const BlockTemplate t = work_template(c);
  return json{{"block_header", header_json(t.block.header)}, {"seed", to_hex(t.seed)}};
}

json submit_work(const Call& c) {
  const auto raw = req_hex(req_str(c.body, "block_header"), "block_header");
  auto parsed = core::parse_header(raw, true);
  if (!parsed) bad_request("block_header: " + parsed.error());
  return submit_header(c, parsed->header);
}

json submit_work_json(const Call& c) {
  auto it = c.body.find("block_header");
  if (it == c.body.end()) bad_request("missing field 'block_header'");
  return submit_header(c, header_from_json(*it));
}

json submit_block(const Call& c) {
  const auto raw = req_hex(req_str(c.body, "raw_block"), "raw_block");
  auto block = tensority::chain::parse_block(raw);
  if (!block) bad_request("raw_block: " + block.error());
  return submit_block_to_chain(c, *block);
}

json is_mining(const Call&) { return json{{"is_mining", false}}; }

json generate(const Call& c) {
  Chain& chain = c.chain();
  if (!chain.params().allow_generate) refused("generate is only available on regtest");
  const std::uint64_t count = req_u64(c.body, "count");
  if (count == 0 || count > 1000) bad_request("field 'count' must be between 1 and 1000");
  core::wire::Bytes program = c.ctx.mining_program;
  if (auto a = opt_str(c.body, "address")) program = req_address_program(*a, c.network());
  if (program.empty()) bad_request("no 'address' given and the node has no --mining-address");
  json hashes = json::array();
  for (std::uint64_t n = 0; n < count; ++n) {
    BlockTemplate t = build_block_template(chain.next_block(), c.ctx.mempool->select(tensority::chain::kMaxBlockGas),
                                           program, chain.now());
    auto block = mine_block_cpu(std::move(t), c.ctx.mining_threads, &c.stopping);
    if (!block) refused("generate stopped after " + std::to_string(n) + " blocks");
    submit_block_to_chain(c, *block);
    hashes.push_back(to_hex(core::block_id(block->header)));
  }
  return json{{"block_hashes", hashes}};
}

}  // namespace tensority::node::rpc
