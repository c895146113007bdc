// The BVM subset and transaction validation on arbitrary bytes: programs, arguments and whole
// transactions from peers never crash the node, every failure is one line, and a successful
// run never ends with more gas than it started with.
//
// Input: byte 0 picks the mode.
//   even: VM.  Bytes 1-2 little-endian gas / 4, byte 3 the block height, byte 4 flags (bit 0:
//         transaction version 2, bit 1: apply the P2WPKH/P2WSH rewrite); then items of
//         [length byte][bytes], the first the program and the rest (at most 16) arguments.
//   odd:  a wire transaction, validated at two heights and in both block slots.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/chain/programs.hpp"
#include "tensority/chain/transaction.hpp"
#include "tensority/chain/validation.hpp"
#include "tensority/chain/vm.hpp"

namespace {

using namespace tensority::chain;

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

void check_outcome(const bvm::Outcome& out, std::int64_t gas) {
  if (out.ok()) {
    FUZZ_CHECK(out.error.empty());
    FUZZ_CHECK(out.gas_left >= 0 && out.gas_left <= gas);
  } else {
    FUZZ_CHECK(one_line(out.error));
  }
  if (out.status == bvm::Status::non_standard) FUZZ_CHECK(out.error.rfind("non-standard program: ", 0) == 0);
}

void fuzz_vm(std::span<const std::uint8_t> in) {
  if (in.size() < 4) return;
  const std::int64_t gas = static_cast<std::int64_t>(in[0] | in[1] << 8) * 4;
  bvm::Context ctx;
  ctx.block_height = in[2];
  ctx.tx_version = (in[3] & 1) != 0 ? 2 : 1;
  ctx.tx_sighash = tensority::core::Hash{};
  const bool rewrite = (in[3] & 2) != 0;
  in = in.subspan(4);

  std::vector<bvm::Bytes> items;
  while (!in.empty() && items.size() < 17) {
    const std::size_t n = std::min<std::size_t>(in[0], in.size() - 1);
    items.emplace_back(in.begin() + 1, in.begin() + 1 + static_cast<std::ptrdiff_t>(n));
    in = in.subspan(1 + n);
  }
  if (items.empty()) items.emplace_back();
  const bvm::Bytes program = rewrite ? bvm::witness_program(items[0]) : items[0];
  const std::span<const bvm::Bytes> args(items.data() + 1, items.size() - 1);
  check_outcome(bvm::verify(ctx, program, args, gas), gas);

  // Program parsing and the standard-program tests agree with each other.
  const auto parsed = bvm::parse_program(items[0]);
  if (!parsed) FUZZ_CHECK(one_line(parsed.error()));
  const ProgramKind kind = classify_program(items[0]);
  if (kind == ProgramKind::p2wpkh || kind == ProgramKind::p2wsh || kind == ProgramKind::op_true) {
    FUZZ_CHECK(is_p2w_program(items[0]));
  }
}

void fuzz_tx(std::span<const std::uint8_t> in) {
  const auto tx = parse_transaction(in);
  if (!tx) return;
  const TxEntries e = map_transaction(*tx);
  for (const std::uint64_t height : {std::uint64_t{1000}, kStandardInputIdHeight}) {
    for (const bool slot : {false, true}) {
      const TxValidation v = validate_transaction(*tx, e, height, slot);
      FUZZ_CHECK(!v.status_fail || v.gas_valid);
      FUZZ_CHECK(v.error.empty() || one_line(v.error));
      FUZZ_CHECK(!(v.gas_valid && !v.status_fail) || v.error.empty());
      // Used plus left is always the budget, which is capped.
      FUZZ_CHECK(!v.gas_valid || v.gas_used <= kMaxTxGas);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    fuzz_vm(in);
  } else {
    fuzz_tx(in);
  }
  return 0;
}
