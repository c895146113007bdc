#pragma once
// The standard control programs and witness scripts (docs/spec/node.md 1.4): what the BVM subset
// executes, what the standardness rules accept for BTM, and what the wallet builds.
#include <cstdint>
#include <span>
#include <vector>

#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"
#include "tensority/chain/crypto.hpp"

namespace tensority::chain {

enum class ProgramKind { p2wpkh, p2wsh, op_true, op_fail, other };

// Parses the program into instructions: 0x00 0x14 <20 bytes> is P2WPKH, 0x00 0x20 <32 bytes>
// is P2WSH, a lone OP_TRUE is op_true, anything starting with OP_FAIL is op_fail.
ProgramKind classify_program(std::span<const std::uint8_t> program);

// Upstream's consensus test for BTM (segwit.IsP2WScript), looser than classify_program: two
// instructions where the first is any opcode up to OP_16 (a "witness version") and the second
// pushes exactly 20 or 32 bytes, or a lone OP_TRUE or OP_FAIL. Versions other than 0 are not
// rewritten and run as plain pushes.
bool is_p2w_program(std::span<const std::uint8_t> program);

core::wire::Bytes p2wpkh_program(const Hash160& pubkey_hash);
core::wire::Bytes p2wpkh_program_for_key(const PubKey& pubkey);  // RIPEMD-160 of the key
core::wire::Bytes p2wsh_program(const core::Hash& script_hash);   // SHA3-256 of the script
core::wire::Bytes p2wsh_program_for_script(std::span<const std::uint8_t> witness_script);

// M-of-N: TXSIGHASH, the N pubkeys, M, N, CHECKMULTISIG. Spent with the M signatures (in
// pubkey order) as arguments, then the script. 1 <= m <= n <= 20 (throws otherwise).
core::wire::Bytes multisig_script(const std::vector<PubKey>& pubkeys, unsigned m);
// The same, valid only while the spending block's height is below `height_limit`.
core::wire::Bytes multisig_script_with_height(const std::vector<PubKey>& pubkeys, unsigned m,
                                              std::uint64_t height_limit);
// A retirement program: OP_FAIL followed by an optional data push (an OP_RETURN-style anchor).
core::wire::Bytes retirement_program(std::span<const std::uint8_t> data = {});

}  // namespace tensority::chain
