// A node's get-work and submit-work replies reach the miner and the pool from the network: any bytes
// either decode or are refused with one line, and what decodes is a header that re-encodes
// to bytes that decode to the same header.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/noderpc/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const noderpc::Reply reply = noderpc::parse_reply(text);
  FUZZ_CHECK(reply.success || !reply.message.empty());
  FUZZ_CHECK(reply.message.find('\n') == std::string::npos);
  (void)noderpc::is_unknown_method_reply(500, text);
  const auto work = noderpc::parse_get_work_reply(text);
  if (!work) {
    FUZZ_CHECK(!work.error().empty() && work.error().find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(reply.success);
  const auto bytes = core::serialize_header(work->header);
  const auto again = core::parse_header(bytes, true);
  FUZZ_CHECK(again.ok() && again->header == work->header);
  return 0;
}
