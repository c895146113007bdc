#include "tensority/chain/programs.hpp"

#include <limits>
#include <stdexcept>

#include "tensority/core/sha3.hpp"
#include "tensority/chain/vm.hpp"

namespace tensority::chain {

using Bytes = core::wire::Bytes;

namespace {

using bvm::Instruction;

// Two instructions, a version push (any opcode up to OP_16) then a hash push of `size` bytes:
// upstream's segwit test, which is looser than the wallet's OP_0 form.
bool is_witness_shape(const std::vector<Instruction>& insts, std::uint8_t hash_op, std::size_t size) {
  return insts.size() == 2 && insts[0].op <= bvm::kOp16 && insts[1].op == hash_op && insts[1].data.size() == size;
}

Bytes multisig_body(const std::vector<PubKey>& pubkeys, unsigned m) {
  if (m < 1 || m > pubkeys.size() || pubkeys.size() > 20) {
    throw std::invalid_argument("multisig needs 1 <= m <= n <= 20, got m=" + std::to_string(m) +
                                " n=" + std::to_string(pubkeys.size()));
  }
  Bytes p = {bvm::kOpTxSigHash};
  for (const PubKey& k : pubkeys) bvm::push_data(p, k);
  bvm::push_int64(p, m);
  bvm::push_int64(p, static_cast<std::int64_t>(pubkeys.size()));
  p.push_back(bvm::kOpCheckMultiSig);
  return p;
}

}  // namespace

ProgramKind classify_program(std::span<const std::uint8_t> program) {
  if (!program.empty() && program[0] == bvm::kOpFail) return ProgramKind::op_fail;
  const auto insts = bvm::parse_program(program);
  if (!insts) return ProgramKind::other;
  if (insts->size() == 1 && (*insts)[0].op == bvm::kOp1) return ProgramKind::op_true;
  if (insts->size() != 2 || (*insts)[0].op != bvm::kOp0) return ProgramKind::other;
  if (is_witness_shape(*insts, bvm::kOpData20, 20)) return ProgramKind::p2wpkh;
  if (is_witness_shape(*insts, bvm::kOpData32, 32)) return ProgramKind::p2wsh;
  return ProgramKind::other;
}

bool is_p2w_program(std::span<const std::uint8_t> program) {
  const auto insts = bvm::parse_program(program);
  if (!insts) return false;
  if (insts->size() == 1) return (*insts)[0].op == bvm::kOp1 || (*insts)[0].op == bvm::kOpFail;
  return is_witness_shape(*insts, bvm::kOpData20, 20) || is_witness_shape(*insts, bvm::kOpData32, 32);
}

Bytes p2wpkh_program(const Hash160& pubkey_hash) {
  Bytes p = {bvm::kOp0};
  bvm::push_data(p, pubkey_hash);
  return p;
}

Bytes p2wpkh_program_for_key(const PubKey& pubkey) { return p2wpkh_program(ripemd160(pubkey)); }

Bytes p2wsh_program(const core::Hash& script_hash) {
  Bytes p = {bvm::kOp0};
  bvm::push_data(p, script_hash);
  return p;
}

Bytes p2wsh_program_for_script(std::span<const std::uint8_t> witness_script) {
  return p2wsh_program(core::sha3_256(witness_script));
}

Bytes multisig_script(const std::vector<PubKey>& pubkeys, unsigned m) { return multisig_body(pubkeys, m); }

Bytes multisig_script_with_height(const std::vector<PubKey>& pubkeys, unsigned m, std::uint64_t height_limit) {
  if (height_limit > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw std::invalid_argument("multisig height limit past 2^63-1");
  }
  Bytes body = multisig_body(pubkeys, m);
  if (height_limit == 0) return body;  // upstream adds no prefix for height 0
  // <limit> BLOCKHEIGHT GREATERTHAN VERIFY: valid while the spending block is below the limit.
  Bytes p;
  bvm::push_int64(p, static_cast<std::int64_t>(height_limit));
  p.insert(p.end(), {bvm::kOpBlockHeight, bvm::kOpGreaterThan, bvm::kOpVerify});
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

Bytes retirement_program(std::span<const std::uint8_t> data) {
  Bytes p = {bvm::kOpFail};
  if (!data.empty()) bvm::push_data(p, data);
  return p;
}

}  // namespace tensority::chain
