#pragma once
// The BVM subset this node runs (docs/spec/node.md 1.4, 1.6; docs/bvm.md): Bytom v1.1.1's instruction
// format, its stack machine and its gas accounting, for the opcodes the standard programs use.
// Programs are interpreted, not matched against templates, so anything built from the supported
// opcodes runs exactly as upstream runs it, gas included. A defined opcode outside the subset
// stops the run with a "non-standard program: ..." error instead of being guessed at.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"

namespace tensority::chain::bvm {

using Bytes = core::wire::Bytes;

// Opcodes the node names in code (the full v1.1.1 table is in vm.cpp, for names and parsing).
inline constexpr std::uint8_t kOp0 = 0x00;  // also FALSE
inline constexpr std::uint8_t kOpData1 = 0x01;
inline constexpr std::uint8_t kOpData20 = 0x14;
inline constexpr std::uint8_t kOpData32 = 0x20;
inline constexpr std::uint8_t kOpData75 = 0x4b;
inline constexpr std::uint8_t kOpPushData1 = 0x4c;
inline constexpr std::uint8_t kOpPushData2 = 0x4d;
inline constexpr std::uint8_t kOpPushData4 = 0x4e;
inline constexpr std::uint8_t kOp1Negate = 0x4f;
inline constexpr std::uint8_t kOp1 = 0x51;  // also TRUE
inline constexpr std::uint8_t kOp16 = 0x60;
inline constexpr std::uint8_t kOpNop = 0x61;
inline constexpr std::uint8_t kOpJump = 0x63;
inline constexpr std::uint8_t kOpJumpIf = 0x64;
inline constexpr std::uint8_t kOpVerify = 0x69;
inline constexpr std::uint8_t kOpFail = 0x6a;
inline constexpr std::uint8_t kOpDup = 0x76;
inline constexpr std::uint8_t kOpSwap = 0x7c;
inline constexpr std::uint8_t kOpEqualVerify = 0x88;
inline constexpr std::uint8_t kOpGreaterThan = 0xa0;
inline constexpr std::uint8_t kOpSha3 = 0xaa;
inline constexpr std::uint8_t kOpHash160 = 0xab;
inline constexpr std::uint8_t kOpCheckSig = 0xac;
inline constexpr std::uint8_t kOpCheckMultiSig = 0xad;
inline constexpr std::uint8_t kOpTxSigHash = 0xae;
inline constexpr std::uint8_t kOpCheckPredicate = 0xc0;
inline constexpr std::uint8_t kOpBlockHeight = 0xcd;

// Upstream's name for an opcode ("DUP", "DATA_20", "CHECKSIG"); unassigned opcodes are the
// expansion slots "NOPx50" and so on.
std::string op_name(std::uint8_t op);

struct Instruction {
  std::uint8_t op = 0;
  std::uint32_t len = 1;  // bytes the instruction occupies in the program
  Bytes data;             // what a push pushes (OP_1..OP_16: the one-byte number); JUMP: its 4 bytes
};

// Decodes the instruction at pc the way upstream's ParseOp does (OP_DATA_n, PUSHDATA1/2/4 with
// little-endian lengths, JUMP/JUMPIF with 4 bytes); a push running past the end is an error.
core::Result<Instruction> parse_op(std::span<const std::uint8_t> program, std::size_t pc);
core::Result<std::vector<Instruction>> parse_program(std::span<const std::uint8_t> program);

// Numbers on the stack: little-endian two's complement, trailing zero bytes dropped (0 is the
// empty string); at most 8 bytes are read back. Any non-zero byte is true.
Bytes int64_bytes(std::int64_t n);
std::optional<std::int64_t> as_int64(std::span<const std::uint8_t> item);
bool as_bool(std::span<const std::uint8_t> item);

// Program building with upstream's minimal encodings: push_data picks OP_0, OP_DATA_n or
// PUSHDATA1/2/4 by length; push_int64 uses OP_0 and OP_1..OP_16 where it can.
void push_data(Bytes& program, std::span<const std::uint8_t> data);
void push_int64(Bytes& program, std::int64_t n);

// What upstream executes for a control or issuance program: a version-0 P2WPKH program
// (OP_0 <20 bytes>) becomes DUP HASH160 <hash> EQUALVERIFY TXSIGHASH SWAP CHECKSIG, a version-0
// P2WSH program (OP_0 <32 bytes>) becomes DUP SHA3 <hash> EQUALVERIFY -1 SWAP 0 CHECKPREDICATE,
// and everything else runs as it is.
Bytes witness_program(std::span<const std::uint8_t> program);

struct Context {
  std::uint64_t vm_version = 1;    // anything else is refused, as upstream refuses it
  std::uint64_t tx_version = 1;    // version 1 reserves the unassigned opcodes at top level
  std::uint64_t block_height = 0;  // what BLOCKHEIGHT pushes
  std::optional<core::Hash> tx_sighash;  // what TXSIGHASH pushes; without it TXSIGHASH fails
};

enum class Status {
  ok,            // ran to the end with a true value on top
  failed,        // a rule of the VM failed (bad signature, run limit, false result, ...)
  non_standard,  // an opcode or form outside this node's subset: upstream may have run it
};

struct Outcome {
  Status status = Status::failed;
  std::int64_t gas_left = 0;  // the run limit left; only meaningful when ok (as upstream)
  std::string error;          // one line naming the rule and the pc; empty when ok
  bool ok() const { return status == Status::ok; }
};

// Upstream's vm.Verify: pushes the arguments (8 + length gas each) and runs the program on a
// run limit of gas_limit. The caller applies witness_program first where upstream does.
Outcome verify(const Context& context, std::span<const std::uint8_t> program, std::span<const Bytes> arguments,
               std::int64_t gas_limit);

}  // namespace tensority::chain::bvm
