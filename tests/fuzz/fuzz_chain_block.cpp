// Blocks from peers, submit-block and the block store: any bytes either parse or are refused
// with a one-line message; what parses re-serialises canonically and parses back unchanged.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "tensority/chain/block.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::chain;
  const auto block = parse_block(std::span(data, size));
  if (!block) {
    FUZZ_CHECK(!block.error().empty() && block.error().find('\n') == std::string::npos);
    return 0;
  }
  const Bytes canonical = serialize_block(*block);
  const auto again = parse_block(canonical);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(serialize_block(*again) == canonical);
  FUZZ_CHECK(again->header == block->header && again->transactions.size() == block->transactions.size());
  (void)compute_transactions_root(*block);
  return 0;
}
