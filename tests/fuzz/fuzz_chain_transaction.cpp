// Transactions from peers, RPC callers and files: any bytes either parse or are refused with
// a one-line message. What parses maps to entries, re-serialises canonically, and parses
// back to the same transaction.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/chain/transaction.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::chain;
  const auto tx = parse_transaction(std::span(data, size));
  if (!tx) {
    FUZZ_CHECK(!tx.error().empty() && tx.error().find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(tx->serialized_size == size);
  const Bytes canonical = serialize_transaction(*tx);
  const auto again = parse_transaction(canonical);
  FUZZ_CHECK(again.ok());
  Transaction expect = *tx;
  expect.serialized_size = canonical.size();  // non-minimal varints shrink when re-encoded
  FUZZ_CHECK(*again == expect);
  FUZZ_CHECK(serialize_transaction(*again) == canonical);
  const TxEntries e = map_transaction(*tx);
  FUZZ_CHECK(e.result_ids.size() == tx->outputs.size() && e.input_ids.size() == tx->inputs.size());
  FUZZ_CHECK(map_transaction(*again).tx_id == e.tx_id);
  return 0;
}
