#include "tensority/chain/transaction.hpp"

#include <string>

namespace tensority::chain {
namespace {

using core::wire::put_bytes;
using core::wire::put_uvarint;
using core::wire::put_varstr;
using core::wire::put_varstr_list;
using core::wire::Reader;

constexpr std::uint8_t kIssuanceType = 0;
constexpr std::uint8_t kSpendType = 1;
constexpr std::uint8_t kCoinbaseType = 2;

Bytes tail(const Reader& r) { return Bytes(r.rest().begin(), r.rest().end()); }

// Counts are varint31s; each item takes at least one byte, so a count beyond the bytes left
// is refused before anything is reserved.
bool read_count(Reader& r, std::uint64_t& n, const char* field) {
  if (!r.varint31(n, field)) return false;
  if (n > r.remaining()) {
    return r.fail(std::string(field) + " " + std::to_string(n) + " exceeds the " + std::to_string(r.remaining()) +
                  " bytes left");
  }
  return true;
}

bool read_spend_commitment(Reader& outer, SpendCommitment& sc) {
  Reader r(std::span<const std::uint8_t>{}, "transaction");
  if (!outer.extstr(r, "spend commitment")) return false;
  if (!r.raw(sc.source_id, "spend source id") || !r.raw(sc.asset_id, "spend asset id") ||
      !r.varint63(sc.amount, "spend amount") || !r.varint63(sc.source_position, "spend source position") ||
      !r.varint63(sc.vm_version, "spend vm version") || !r.varstr(sc.control_program, "spend control program")) {
    return outer.adopt(r);
  }
  sc.suffix = tail(r);
  return true;
}

bool read_input(Reader& r, TxInput& in) {
  if (!r.varint63(in.asset_version, "input asset version")) return false;
  Reader c(std::span<const std::uint8_t>{}, "transaction");
  if (!r.extstr(c, "input commitment")) return false;
  if (in.asset_version != 1) {
    in.kind = OpaqueInput{};
    in.commitment_suffix = tail(c);
  } else {
    std::uint8_t type = 0;
    if (!c.byte(type, "input type")) return r.adopt(c);
    switch (type) {
      case kIssuanceType: {
        IssuanceInput is;
        if (!c.varstr(is.nonce, "issuance nonce") || !c.raw(is.asset_id, "issuance asset id") ||
            !c.varint63(is.amount, "issuance amount")) {
          return r.adopt(c);
        }
        in.kind = std::move(is);
        break;
      }
      case kSpendType: {
        SpendInput sp;
        if (!read_spend_commitment(c, sp.output)) return r.adopt(c);
        in.kind = std::move(sp);
        break;
      }
      case kCoinbaseType: {
        CoinbaseInput cb;
        if (!c.varstr(cb.arbitrary, "coinbase arbitrary data")) return r.adopt(c);
        in.kind = std::move(cb);
        break;
      }
      default:
        return r.fail("unknown input type " + std::to_string(type) + " at byte " +
                      std::to_string(c.absolute_pos() - 1));
    }
    in.commitment_suffix = tail(c);
  }

  Reader w(std::span<const std::uint8_t>{}, "transaction");
  if (!r.extstr(w, "input witness")) return false;
  if (auto* is = std::get_if<IssuanceInput>(&in.kind)) {
    if (!w.varstr(is->asset_definition, "asset definition") || !w.varint63(is->vm_version, "issuance vm version") ||
        !w.varstr(is->issuance_program, "issuance program") || !w.varstr_list(is->arguments, "issuance arguments")) {
      return r.adopt(w);
    }
  } else if (auto* sp = std::get_if<SpendInput>(&in.kind)) {
    if (!w.varstr_list(sp->arguments, "spend arguments")) return r.adopt(w);
  }
  in.witness_suffix = tail(w);
  return true;
}

bool read_output(Reader& r, TxOutput& out) {
  if (!r.varint63(out.asset_version, "output asset version")) return false;
  Reader c(std::span<const std::uint8_t>{}, "transaction");
  if (!r.extstr(c, "output commitment")) return false;
  if (out.asset_version == 1) {
    if (!c.raw(out.asset_id, "output asset id") || !c.varint63(out.amount, "output amount") ||
        !c.varint63(out.vm_version, "output vm version") || !c.varstr(out.control_program, "output control program")) {
      return r.adopt(c);
    }
  }
  out.commitment_suffix = tail(c);
  Reader w(std::span<const std::uint8_t>{}, "transaction");
  if (!r.extstr(w, "output witness")) return false;
  out.witness = tail(w);
  return true;
}

Bytes input_commitment_body(const TxInput& in) {
  Bytes b;
  if (const auto* is = std::get_if<IssuanceInput>(&in.kind)) {
    b.push_back(kIssuanceType);
    put_varstr(b, is->nonce);
    put_bytes(b, is->asset_id);
    put_uvarint(b, is->amount);
  } else if (const auto* sp = std::get_if<SpendInput>(&in.kind)) {
    b.push_back(kSpendType);
    Bytes nested;
    put_bytes(nested, sp->output.source_id);
    put_bytes(nested, sp->output.asset_id);
    put_uvarint(nested, sp->output.amount);
    put_uvarint(nested, sp->output.source_position);
    put_uvarint(nested, sp->output.vm_version);
    put_varstr(nested, sp->output.control_program);
    put_bytes(nested, sp->output.suffix);
    put_varstr(b, nested);
  } else if (const auto* cb = std::get_if<CoinbaseInput>(&in.kind)) {
    b.push_back(kCoinbaseType);
    put_varstr(b, cb->arbitrary);
  }
  put_bytes(b, in.commitment_suffix);
  return b;
}

Bytes input_witness_body(const TxInput& in) {
  Bytes b;
  if (const auto* is = std::get_if<IssuanceInput>(&in.kind)) {
    put_varstr(b, is->asset_definition);
    put_uvarint(b, is->vm_version);
    put_varstr(b, is->issuance_program);
    put_varstr_list(b, is->arguments);
  } else if (const auto* sp = std::get_if<SpendInput>(&in.kind)) {
    put_varstr_list(b, sp->arguments);
  }
  put_bytes(b, in.witness_suffix);
  return b;
}

}  // namespace

bool read_transaction(Reader& r, Transaction& tx) {
  const std::size_t start = r.pos();
  std::uint8_t flag = 0;
  if (!r.byte(flag, "transaction serialization flag")) return false;
  if (flag != kTxSerFlag) {
    return r.fail("unsupported transaction serialization flag " + std::to_string(flag) + " at byte " +
                  std::to_string(r.absolute_pos() - 1) + " (want 7)");
  }
  std::uint64_t n = 0;
  if (!r.varint63(tx.version, "transaction version") || !r.varint63(tx.time_range, "time range") ||
      !read_count(r, n, "input count")) {
    return false;
  }
  tx.inputs.assign(static_cast<std::size_t>(n), TxInput{});
  for (auto& in : tx.inputs) {
    if (!read_input(r, in)) return false;
  }
  if (!read_count(r, n, "output count")) return false;
  tx.outputs.assign(static_cast<std::size_t>(n), TxOutput{});
  for (auto& out : tx.outputs) {
    if (!read_output(r, out)) return false;
  }
  tx.serialized_size = r.pos() - start;
  return true;
}

core::Result<Transaction> parse_transaction(std::span<const std::uint8_t> bytes) {
  Reader r(bytes, "transaction");
  Transaction tx;
  if (!read_transaction(r, tx)) return core::Result<Transaction>::failure(r.error());
  if (r.remaining() != 0) {
    return core::Result<Transaction>::failure("transaction: " + std::to_string(r.remaining()) +
                                              " trailing bytes from byte " + std::to_string(r.pos()));
  }
  return tx;
}

void write_transaction(Bytes& out, const Transaction& tx) {
  out.push_back(kTxSerFlag);
  put_uvarint(out, tx.version);
  put_uvarint(out, tx.time_range);
  put_uvarint(out, tx.inputs.size());
  for (const auto& in : tx.inputs) {
    put_uvarint(out, in.asset_version);
    put_varstr(out, input_commitment_body(in));
    put_varstr(out, input_witness_body(in));
  }
  put_uvarint(out, tx.outputs.size());
  for (const auto& o : tx.outputs) {
    put_uvarint(out, o.asset_version);
    Bytes c;
    if (o.asset_version == 1) {
      put_bytes(c, o.asset_id);
      put_uvarint(c, o.amount);
      put_uvarint(c, o.vm_version);
      put_varstr(c, o.control_program);
    }
    put_bytes(c, o.commitment_suffix);
    put_varstr(out, c);
    put_varstr(out, o.witness);
  }
}

Bytes serialize_transaction(const Transaction& tx) {
  Bytes out;
  write_transaction(out, tx);
  return out;
}

}  // namespace tensority::chain
