#include "tensority/chain/entries.hpp"

#include <array>
#include <string>

#include "tensority/core/sha3.hpp"

namespace tensority::chain {
namespace {

using core::wire::put_bytes;
using core::wire::put_le64;
using core::wire::put_uvarint;
using core::wire::put_varstr;

struct ValueSource {
  Hash ref{};
  Hash asset{};
  std::uint64_t amount = 0;
  std::uint64_t position = 0;
};

void put_source(Bytes& b, const ValueSource& s) {
  put_bytes(b, s.ref);
  put_bytes(b, s.asset);
  put_le64(b, s.amount);
  put_le64(b, s.position);
}

void put_program(Bytes& b, std::uint64_t vm_version, std::span<const std::uint8_t> code) {
  put_le64(b, vm_version);
  put_varstr(b, code);
}

}  // namespace

Hash entry_id(std::string_view type, std::span<const std::uint8_t> body) {
  const Hash inner = core::sha3_256(body);
  std::string outer = "entryid:";
  outer.append(type);
  outer.push_back(':');
  outer.append(reinterpret_cast<const char*>(inner.data()), inner.size());
  return core::sha3_256(std::span(reinterpret_cast<const std::uint8_t*>(outer.data()), outer.size()));
}

Hash spent_output_id(const SpendCommitment& o) {
  Bytes b;
  put_source(b, {o.source_id, o.asset_id, o.amount, o.source_position});
  put_program(b, o.vm_version, o.control_program);
  return entry_id("output1", b);
}

Hash asset_id(std::uint64_t vm_version, std::span<const std::uint8_t> issuance_program,
              std::span<const std::uint8_t> definition) {
  Bytes b;
  put_le64(b, vm_version);
  put_varstr(b, issuance_program);
  put_bytes(b, core::sha3_256(definition));
  return core::sha3_256(b);
}

Hash signature_hash(const Hash& input_id, const Hash& tx_id) {
  std::array<std::uint8_t, 64> b{};
  std::copy(input_id.begin(), input_id.end(), b.begin());
  std::copy(tx_id.begin(), tx_id.end(), b.begin() + 32);
  return core::sha3_256(b);
}

TxEntries map_transaction(const Transaction& tx) {
  TxEntries e;
  e.input_ids.resize(tx.inputs.size());
  e.spent_output_ids.resize(tx.inputs.size());
  std::vector<ValueSource> sources;
  for (std::size_t i = 0; i < tx.inputs.size(); ++i) {
    const TxInput& in = tx.inputs[i];
    Bytes body;
    if (const auto* cb = std::get_if<CoinbaseInput>(&in.kind)) {
      put_varstr(body, cb->arbitrary);
      e.input_ids[i] = entry_id("coinbase1", body);
      // The coinbase's value is whatever output 0 carries.
      ValueSource s{e.input_ids[i], kBtmAssetId, 0, 0};
      if (!tx.outputs.empty()) {
        s.asset = tx.outputs[0].asset_id;
        s.amount = tx.outputs[0].amount;
      }
      sources.push_back(s);
    } else if (const auto* sp = std::get_if<SpendInput>(&in.kind)) {
      e.spent_output_ids[i] = spent_output_id(sp->output);
      put_bytes(body, e.spent_output_ids[i]);
      e.input_ids[i] = entry_id("spend1", body);
      sources.push_back({e.input_ids[i], sp->output.asset_id, sp->output.amount, 0});
    } else if (const auto* is = std::get_if<IssuanceInput>(&in.kind)) {
      put_bytes(body, core::sha3_256(is->nonce));
      put_bytes(body, is->asset_id);
      put_le64(body, is->amount);
      e.input_ids[i] = entry_id("issuance1", body);
      sources.push_back({e.input_ids[i], is->asset_id, is->amount, 0});
    }
  }

  Bytes mux;
  put_uvarint(mux, sources.size());
  for (const auto& s : sources) put_source(mux, s);
  const std::uint8_t op_true[] = {kOpTrue};
  put_program(mux, 1, op_true);
  e.mux_id = entry_id("mux1", mux);

  e.result_ids.resize(tx.outputs.size());
  e.retired.resize(tx.outputs.size());
  for (std::size_t j = 0; j < tx.outputs.size(); ++j) {
    const TxOutput& o = tx.outputs[j];
    Bytes body;
    put_source(body, {e.mux_id, o.asset_id, o.amount, j});
    e.retired[j] = !o.control_program.empty() && o.control_program[0] == kOpFail;
    if (e.retired[j]) {
      e.result_ids[j] = entry_id("retirement1", body);
    } else {
      put_program(body, o.vm_version, o.control_program);
      e.result_ids[j] = entry_id("output1", body);
    }
  }

  Bytes header;
  put_le64(header, tx.version);
  put_le64(header, tx.time_range);
  put_uvarint(header, e.result_ids.size());
  for (const auto& id : e.result_ids) put_bytes(header, id);
  e.tx_id = entry_id("txheader", header);
  return e;
}

}  // namespace tensority::chain
