#include "tensority/chain/vm.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <utility>

#include "tensority/core/sha3.hpp"
#include "tensority/chain/crypto.hpp"

namespace tensority::chain::bvm {
namespace {

using R = core::Result<Instruction>;

// CHECKPREDICATE recursion is bounded by gas (every level reserves 256 before its child runs),
// so consensus runs (at most 200,000 gas) never nest past ~780. This only keeps a caller with
// an absurd run limit from exhausting the C++ stack.
constexpr int kMaxDepth = 1000;

// Opcodes assigned in Bytom v1.1.1's table (protocol/vm/ops.go). Every other byte is an
// expansion slot: disallowed at top level of a version-1 transaction, a 1-gas NOP elsewhere.
const char* assigned_name(std::uint8_t op) {
  switch (op) {
    case 0x00: return "FALSE";
    case 0x4c: return "PUSHDATA1";
    case 0x4d: return "PUSHDATA2";
    case 0x4e: return "PUSHDATA4";
    case 0x4f: return "1NEGATE";
    case 0x61: return "NOP";
    case 0x63: return "JUMP";
    case 0x64: return "JUMPIF";
    case 0x69: return "VERIFY";
    case 0x6a: return "FAIL";
    case 0x6b: return "TOALTSTACK";
    case 0x6c: return "FROMALTSTACK";
    case 0x6d: return "2DROP";
    case 0x6e: return "2DUP";
    case 0x6f: return "3DUP";
    case 0x70: return "2OVER";
    case 0x71: return "2ROT";
    case 0x72: return "2SWAP";
    case 0x73: return "IFDUP";
    case 0x74: return "DEPTH";
    case 0x75: return "DROP";
    case 0x76: return "DUP";
    case 0x77: return "NIP";
    case 0x78: return "OVER";
    case 0x79: return "PICK";
    case 0x7a: return "ROLL";
    case 0x7b: return "ROT";
    case 0x7c: return "SWAP";
    case 0x7d: return "TUCK";
    case 0x7e: return "CAT";
    case 0x7f: return "SUBSTR";
    case 0x80: return "LEFT";
    case 0x81: return "RIGHT";
    case 0x82: return "SIZE";
    case 0x83: return "INVERT";
    case 0x84: return "AND";
    case 0x85: return "OR";
    case 0x86: return "XOR";
    case 0x87: return "EQUAL";
    case 0x88: return "EQUALVERIFY";
    case 0x89: return "CATPUSHDATA";
    case 0x8b: return "1ADD";
    case 0x8c: return "1SUB";
    case 0x8d: return "2MUL";
    case 0x8e: return "2DIV";
    case 0x8f: return "NEGATE";
    case 0x90: return "ABS";
    case 0x91: return "NOT";
    case 0x92: return "0NOTEQUAL";
    case 0x93: return "ADD";
    case 0x94: return "SUB";
    case 0x95: return "MUL";
    case 0x96: return "DIV";
    case 0x97: return "MOD";
    case 0x98: return "LSHIFT";
    case 0x99: return "RSHIFT";
    case 0x9a: return "BOOLAND";
    case 0x9b: return "BOOLOR";
    case 0x9c: return "NUMEQUAL";
    case 0x9d: return "NUMEQUALVERIFY";
    case 0x9e: return "NUMNOTEQUAL";
    case 0x9f: return "LESSTHAN";
    case 0xa0: return "GREATERTHAN";
    case 0xa1: return "LESSTHANOREQUAL";
    case 0xa2: return "GREATERTHANOREQUAL";
    case 0xa3: return "MIN";
    case 0xa4: return "MAX";
    case 0xa5: return "WITHIN";
    case 0xa8: return "SHA256";
    case 0xaa: return "SHA3";
    case 0xab: return "HASH160";
    case 0xac: return "CHECKSIG";
    case 0xad: return "CHECKMULTISIG";
    case 0xae: return "TXSIGHASH";
    case 0xc0: return "CHECKPREDICATE";
    case 0xc1: return "CHECKOUTPUT";
    case 0xc2: return "ASSET";
    case 0xc3: return "AMOUNT";
    case 0xc4: return "PROGRAM";
    case 0xc9: return "INDEX";
    case 0xca: return "ENTRYID";
    case 0xcb: return "OUTPUTID";
    case 0xcd: return "BLOCKHEIGHT";
    default: return nullptr;
  }
}

bool is_push_range(std::uint8_t op) { return (op >= kOpData1 && op <= kOpPushData4) || (op >= kOp1 && op <= kOp16); }

bool is_expansion(std::uint8_t op) { return op != kOp0 && !is_push_range(op) && assigned_name(op) == nullptr; }

std::string hex_byte(std::uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string{kDigits[b >> 4], kDigits[b & 15]};
}

std::int64_t stack_cost(const std::vector<Bytes>& stack) {
  std::int64_t cost = 0;
  for (const Bytes& item : stack) cost += 8 + static_cast<std::int64_t>(item.size());
  return cost;
}

Bytes p2pkh_sig_program(std::span<const std::uint8_t> hash) {
  Bytes p = {kOpDup, kOpHash160};
  push_data(p, hash);
  p.insert(p.end(), {kOpEqualVerify, kOpTxSigHash, kOpSwap, kOpCheckSig});
  return p;
}

Bytes p2sh_program(std::span<const std::uint8_t> hash) {
  Bytes p = {kOpDup, kOpSha3};
  push_data(p, hash);
  p.push_back(kOpEqualVerify);
  push_int64(p, -1);  // take every argument below the script into the child VM
  p.push_back(kOpSwap);
  push_int64(p, 0);  // run limit 0: the child gets all the gas that is left
  p.push_back(kOpCheckPredicate);
  return p;
}

// One VM instance: the top-level program or a CHECKPREDICATE child. Costs follow upstream
// step by step, including which charges land at once and which are deferred to the end of the
// instruction, because a run that hits the limit mid-instruction must fail exactly where
// upstream fails, and a child's leftover gas and stack flow back to its parent.
class Machine {
 public:
  Machine(const Context& context, std::span<const std::uint8_t> program, std::int64_t run_limit, int depth,
          bool expansion_reserved)
      : ctx_(context), program_(program), run_limit_(run_limit), depth_(depth), expansion_reserved_(expansion_reserved) {}

  bool run() {
    for (pc_ = 0; pc_ < program_.size();) {
      if (!step()) return false;
    }
    return true;
  }

  // Empty stack or a false top item: the program did not approve.
  bool false_result() const { return stack_.empty() || !as_bool(stack_.back()); }

  bool push(Bytes item, bool deferred) {
    const std::int64_t cost = 8 + static_cast<std::int64_t>(item.size());
    if (deferred) {
      deferred_ += cost;
    } else if (!apply_cost(cost)) {
      return false;
    }
    stack_.push_back(std::move(item));
    return true;
  }

  std::int64_t run_limit() const { return run_limit_; }
  Status status() const { return status_; }
  const std::string& error() const { return error_; }
  void set_error(Status status, std::string error) {
    status_ = status;
    error_ = std::move(error);
  }
  // Why the last CHECKPREDICATE child said false, for the message of a false result.
  const std::string& child_failure() const { return child_failure_; }

 private:
  std::string where(const std::string& why) const {
    std::string s = why + " at pc " + std::to_string(pc_) + " (" + op_name(op_) + ")";
    if (depth_ > 0) s += " inside a CHECKPREDICATE predicate (depth " + std::to_string(depth_) + ")";
    return s;
  }
  bool fail(const std::string& why) {
    set_error(Status::failed, where(why));
    return false;
  }
  bool non_standard(const std::string& why) {
    set_error(Status::non_standard, "non-standard program: " + where(why));
    return false;
  }

  // Upstream zeroes the run limit when a charge does not fit; that matters for a child VM,
  // whose leftover limit is refunded to the parent even when the child failed.
  bool apply_cost(std::int64_t n) {
    if (n > run_limit_) {
      run_limit_ = 0;
      return fail("run limit exceeded");
    }
    run_limit_ -= n;
    return true;
  }

  // A popped item gives back what pushing it cost (8 + length), at once or at the end of the
  // instruction.
  bool pop(Bytes& out, bool deferred) {
    if (stack_.empty()) return fail("data stack underflow");
    out = std::move(stack_.back());
    stack_.pop_back();
    const std::int64_t refund = 8 + static_cast<std::int64_t>(out.size());
    if (deferred) {
      deferred_ -= refund;
    } else {
      run_limit_ += refund;
    }
    return true;
  }

  bool pop_int64(std::int64_t& out, bool deferred) {
    Bytes item;
    if (!pop(item, deferred)) return false;
    const auto n = as_int64(item);
    if (!n) return fail("bad value: a number longer than 8 bytes");
    out = *n;
    return true;
  }

  bool push_bool(bool b, bool deferred) { return push(b ? Bytes{1} : Bytes{}, deferred); }

  bool step() {
    auto inst = parse_op(program_, pc_);
    if (!inst) {
      op_ = program_[pc_];
      set_error(Status::failed, inst.error());
      return false;
    }
    op_ = inst->op;
    const std::size_t next = pc_ + inst->len;
    if (is_expansion(op_)) {
      if (expansion_reserved_) return fail("disallowed opcode: unassigned opcodes are reserved in version-1 transactions");
      if (!apply_cost(1)) return false;
      pc_ = next;
      return true;
    }
    deferred_ = 0;
    if (!execute(inst.value())) return false;
    if (!apply_cost(deferred_)) return false;
    pc_ = next;
    return true;
  }

  bool execute(Instruction& inst) {
    const std::uint8_t op = inst.op;
    if (op == kOp0) return apply_cost(1) && push(Bytes{}, false);
    if (is_push_range(op)) return apply_cost(1) && push(std::move(inst.data), false);
    switch (op) {
      case kOp1Negate: return apply_cost(1) && push(int64_bytes(-1), false);
      case kOpNop: return apply_cost(1);
      case kOpVerify: return op_verify();
      case kOpFail: return apply_cost(1) && fail("FAIL executed: the program is unspendable");
      case kOpDup: return op_dup();
      case kOpSwap: return op_swap();
      case kOpEqualVerify: return op_equal_verify();
      case kOpGreaterThan: return op_greater_than();
      case kOpSha3: return op_sha3();
      case kOpHash160: return op_hash160();
      case kOpTxSigHash: return op_txsighash();
      case kOpCheckSig: return op_checksig();
      case kOpCheckMultiSig: return op_checkmultisig();
      case kOpCheckPredicate: return op_checkpredicate();
      case kOpBlockHeight: return apply_cost(1) && push(int64_bytes(static_cast<std::int64_t>(ctx_.block_height)), true);
      default: return non_standard("opcode 0x" + hex_byte(op) + " is outside this node's BVM subset");
    }
  }

  bool op_verify() {
    Bytes p;
    if (!apply_cost(1) || !pop(p, true)) return false;
    return as_bool(p) || fail("VERIFY failed: false on the stack");
  }

  bool op_dup() {
    if (!apply_cost(1)) return false;
    if (stack_.empty()) return fail("data stack underflow");
    return push(stack_.back(), false);
  }

  bool op_swap() {
    if (!apply_cost(1)) return false;
    if (stack_.size() < 2) return fail("data stack underflow");
    std::swap(stack_[stack_.size() - 1], stack_[stack_.size() - 2]);
    return true;
  }

  // Charged 1 plus the length of the shorter operand; both pops refund at the end.
  bool op_equal_verify() {
    Bytes b;
    Bytes a;
    if (!apply_cost(1) || !pop(b, true) || !pop(a, true)) return false;
    if (!apply_cost(static_cast<std::int64_t>(std::min(a.size(), b.size())))) return false;
    return a == b || fail("EQUALVERIFY failed: the items differ");
  }

  bool op_greater_than() {
    std::int64_t y = 0;
    std::int64_t x = 0;
    if (!apply_cost(2) || !pop_int64(y, true) || !pop_int64(x, true)) return false;
    return push_bool(x > y, true);
  }

  // Hashes cost the input length, at least 64; the input's refund comes back first.
  bool op_sha3() {
    Bytes x;
    if (!pop(x, false)) return false;
    if (!apply_cost(std::max<std::int64_t>(64, static_cast<std::int64_t>(x.size())))) return false;
    const core::Hash h = core::sha3_256(x);
    return push(Bytes(h.begin(), h.end()), false);
  }

  // Bytom's HASH160 is one RIPEMD-160, charged length + 64.
  bool op_hash160() {
    Bytes x;
    if (!pop(x, false)) return false;
    if (!apply_cost(static_cast<std::int64_t>(x.size()) + 64)) return false;
    const Hash160 h = ripemd160(x);
    return push(Bytes(h.begin(), h.end()), false);
  }

  bool op_txsighash() {
    if (!apply_cost(256)) return false;
    if (!ctx_.tx_sighash) return fail("TXSIGHASH without a transaction context");
    return push(Bytes(ctx_.tx_sighash->begin(), ctx_.tx_sighash->end()), false);
  }

  bool op_checksig() {
    Bytes pubkey;
    Bytes msg;
    Bytes sig;
    if (!apply_cost(1024) || !pop(pubkey, true) || !pop(msg, true) || !pop(sig, true)) return false;
    if (msg.size() != 32) return fail("bad value: CHECKSIG message is not 32 bytes");
    if (pubkey.size() != 32) return push_bool(false, true);
    return push_bool(ed25519_verify(sig, msg, pubkey), true);
  }

  // Stack: ... SIG.. MSG PUB.. M N. 1024 per key is charged before anything else is checked;
  // signatures must appear in key order (each key is tried once, in order).
  bool op_checkmultisig() {
    std::int64_t npub = 0;
    if (!pop_int64(npub, true)) return false;
    if (npub < 0 || npub > std::numeric_limits<std::int64_t>::max() / 1024) {
      return fail("bad value: CHECKMULTISIG key count");
    }
    if (!apply_cost(npub * 1024)) return false;
    std::int64_t nsig = 0;
    if (!pop_int64(nsig, true)) return false;
    if (nsig < 0 || nsig > npub || (npub > 0 && nsig == 0)) return fail("bad value: CHECKMULTISIG signature count");
    std::vector<Bytes> pubkeys;  // top first, as popped
    for (std::int64_t i = 0; i < npub; ++i) {
      Bytes k;
      if (!pop(k, true)) return false;
      pubkeys.push_back(std::move(k));
    }
    Bytes msg;
    if (!pop(msg, true)) return false;
    if (msg.size() != 32) return fail("bad value: CHECKMULTISIG message is not 32 bytes");
    std::vector<Bytes> sigs;
    for (std::int64_t i = 0; i < nsig; ++i) {
      Bytes s;
      if (!pop(s, true)) return false;
      sigs.push_back(std::move(s));
    }
    for (const Bytes& k : pubkeys) {
      if (k.size() != 32) return push_bool(false, true);
    }
    std::size_t s = 0;
    for (std::size_t k = 0; s < sigs.size() && k < pubkeys.size(); ++k) {
      if (ed25519_verify(sigs[s], msg, pubkeys[k])) ++s;
    }
    return push_bool(s == sigs.size(), true);
  }

  // Stack: ... ARGS.. N PREDICATE LIMIT. Reserves 256 and refunds 192 of it; LIMIT 0 hands the
  // child everything left, which is charged up front and refunded (with the cost of what the
  // child leaves on its stack) when the child ends. The child's failure is just a false result.
  bool op_checkpredicate() {
    if (!apply_cost(256)) return false;
    deferred_ += -256 + 64;
    std::int64_t limit = 0;
    std::int64_t n = 0;
    Bytes predicate;
    if (!pop_int64(limit, true) || !pop(predicate, true) || !pop_int64(n, true)) return false;
    if (limit < 0) return fail("bad value: negative CHECKPREDICATE run limit");
    const auto l = static_cast<std::int64_t>(stack_.size());
    if (n == -1) n = l;  // what the P2WSH rewrite pushes: the whole stack
    if (n < 0) return fail("bad value: negative CHECKPREDICATE item count");
    if (n > l) return fail("data stack underflow: CHECKPREDICATE wants " + std::to_string(n) + " items");
    if (limit == 0) limit = run_limit_;
    if (!apply_cost(limit)) return false;
    if (depth_ + 1 > kMaxDepth) return non_standard("CHECKPREDICATE nested deeper than " + std::to_string(kMaxDepth));

    Machine child(ctx_, predicate, limit, depth_ + 1, /*expansion_reserved=*/false);
    const auto first = stack_.end() - static_cast<std::ptrdiff_t>(n);
    child.stack_.assign(std::make_move_iterator(first), std::make_move_iterator(stack_.end()));
    stack_.erase(first, stack_.end());
    const bool child_ok = child.run();
    // Upstream would have run what this subset cannot: that is not a false result.
    if (!child_ok && child.status_ == Status::non_standard) {
      set_error(Status::non_standard, child.error_);
      return false;
    }
    if (!child_ok) {
      child_failure_ = child.error_;
    } else if (child.false_result()) {
      child_failure_ = "a CHECKPREDICATE predicate (depth " + std::to_string(depth_ + 1) + ") left false";
    }
    deferred_ -= child.run_limit_;
    deferred_ -= stack_cost(child.stack_);  // the child has no alt-stack ops in this subset
    return push_bool(child_ok && !child.false_result(), true);
  }

  const Context& ctx_;
  std::span<const std::uint8_t> program_;
  std::int64_t run_limit_;
  int depth_;
  bool expansion_reserved_;
  std::size_t pc_ = 0;
  std::uint8_t op_ = 0;
  std::int64_t deferred_ = 0;
  std::vector<Bytes> stack_;
  Status status_ = Status::ok;
  std::string error_;
  std::string child_failure_;
};

}  // namespace

std::string op_name(std::uint8_t op) {
  if (op >= kOpData1 && op <= kOpData75) return "DATA_" + std::to_string(op);
  if (op >= kOp1 && op <= kOp16) return std::to_string(op - kOp1 + 1);
  if (const char* name = assigned_name(op)) return name;
  return "NOPx" + hex_byte(op);
}

R parse_op(std::span<const std::uint8_t> program, std::size_t pc) {
  const std::size_t l = program.size();
  if (l > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return R::failure("program longer than 2^31-1 bytes");
  }
  if (pc >= l) return R::failure("short program: no instruction at pc " + std::to_string(pc));
  Instruction inst;
  inst.op = program[pc];
  const std::uint8_t op = inst.op;
  // header: opcode plus length bytes; n: pushed bytes after them.
  auto take = [&](std::size_t header, std::uint64_t n) -> R {
    const std::uint64_t end = pc + header + n;
    if (end > l) {
      return R::failure("short program: " + op_name(op) + " at pc " + std::to_string(pc) + " needs " +
                        std::to_string(header + n) + " bytes, " + std::to_string(l - pc) + " left");
    }
    inst.len = static_cast<std::uint32_t>(header + n);
    inst.data.assign(program.begin() + static_cast<std::ptrdiff_t>(pc + header),
                     program.begin() + static_cast<std::ptrdiff_t>(end));
    return inst;
  };
  auto short_header = [&] {
    return R::failure("short program: " + op_name(op) + " at pc " + std::to_string(pc) + " has no complete length");
  };
  if (op >= kOp1 && op <= kOp16) {
    inst.data = {static_cast<std::uint8_t>(op - kOp1 + 1)};
    return inst;
  }
  if (op >= kOpData1 && op <= kOpData75) return take(1, op);
  if (op == kOpPushData1) {
    if (pc + 1 >= l) return short_header();
    return take(2, program[pc + 1]);
  }
  if (op == kOpPushData2) {
    if (pc + 3 > l) return short_header();
    return take(3, static_cast<std::uint64_t>(program[pc + 1]) | static_cast<std::uint64_t>(program[pc + 2]) << 8);
  }
  if (op == kOpPushData4) {
    if (pc + 5 > l) return short_header();
    std::uint64_t n = 0;
    for (int i = 3; i >= 0; --i) n = n << 8 | program[pc + 1 + static_cast<std::size_t>(i)];
    return take(5, n);
  }
  if (op == kOpJump || op == kOpJumpIf) return take(1, 4);
  return inst;
}

core::Result<std::vector<Instruction>> parse_program(std::span<const std::uint8_t> program) {
  std::vector<Instruction> out;
  for (std::size_t pc = 0; pc < program.size();) {
    auto inst = parse_op(program, pc);
    if (!inst) return core::Result<std::vector<Instruction>>::failure(inst.error());
    pc += inst->len;
    out.push_back(std::move(inst).value());
  }
  return out;
}

Bytes int64_bytes(std::int64_t n) {
  Bytes b;
  auto u = static_cast<std::uint64_t>(n);
  while (u != 0) {
    b.push_back(static_cast<std::uint8_t>(u & 0xff));
    u >>= 8;
  }
  return b;
}

std::optional<std::int64_t> as_int64(std::span<const std::uint8_t> item) {
  if (item.size() > 8) return std::nullopt;
  std::uint64_t u = 0;
  for (std::size_t i = item.size(); i-- > 0;) u = u << 8 | item[i];
  return static_cast<std::int64_t>(u);
}

bool as_bool(std::span<const std::uint8_t> item) {
  return std::any_of(item.begin(), item.end(), [](std::uint8_t b) { return b != 0; });
}

void push_data(Bytes& program, std::span<const std::uint8_t> data) {
  const std::size_t n = data.size();
  if (n == 0) {
    program.push_back(kOp0);
    return;
  }
  if (n <= 75) {
    program.push_back(static_cast<std::uint8_t>(kOpData1 + n - 1));
  } else if (n < (1u << 8)) {
    program.insert(program.end(), {kOpPushData1, static_cast<std::uint8_t>(n)});
  } else if (n < (1u << 16)) {
    program.insert(program.end(), {kOpPushData2, static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8)});
  } else {
    program.insert(program.end(), {kOpPushData4, static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8),
                                   static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 24)});
  }
  program.insert(program.end(), data.begin(), data.end());
}

void push_int64(Bytes& program, std::int64_t n) {
  if (n == 0) {
    program.push_back(kOp0);
  } else if (n >= 1 && n <= 16) {
    program.push_back(static_cast<std::uint8_t>(kOp1 + n - 1));
  } else {
    push_data(program, int64_bytes(n));
  }
}

Bytes witness_program(std::span<const std::uint8_t> program) {
  Bytes same(program.begin(), program.end());
  const auto insts = parse_program(program);
  if (!insts || insts->size() != 2 || (*insts)[0].op > kOp16) return same;
  const Instruction& version = (*insts)[0];
  const Instruction& hash = (*insts)[1];
  // Upstream recognises any version number OP_0..OP_16 but only rewrites version 0; the other
  // versions run as plain pushes.
  if (hash.op == kOpData20 && hash.data.size() == 20) return version.op == kOp0 ? p2pkh_sig_program(hash.data) : same;
  if (hash.op == kOpData32 && hash.data.size() == 32) return version.op == kOp0 ? p2sh_program(hash.data) : same;
  return same;
}

Outcome verify(const Context& context, std::span<const std::uint8_t> program, std::span<const Bytes> arguments,
               std::int64_t gas_limit) {
  Outcome out;
  if (context.vm_version != 1) {
    out.gas_left = gas_limit;
    out.error = "unsupported VM version " + std::to_string(context.vm_version);
    return out;
  }
  Machine m(context, program, gas_limit, 0, context.tx_version == 1);
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    if (!m.push(arguments[i], false)) {
      out.gas_left = m.run_limit();
      out.error = "run limit exceeded pushing argument " + std::to_string(i);
      return out;
    }
  }
  const bool ran = m.run();
  out.gas_left = m.run_limit();
  if (!ran) {
    out.status = m.status();
    out.error = m.error();
  } else if (m.false_result()) {
    out.error = "false result: the program ended with an empty stack or false on top";
    if (!m.child_failure().empty()) out.error += " (" + m.child_failure() + ")";
  } else {
    out.status = Status::ok;
  }
  return out;
}

}  // namespace tensority::chain::bvm
