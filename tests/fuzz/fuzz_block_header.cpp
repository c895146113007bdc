// parse_header on arbitrary bytes. Beyond "no crash, no over-read":
//  * a success consumed no more than it was given (all of it with require_exact);
//  * every varint field is within varint63 and the flag is 0x01 or 0x03;
//  * serialize_header reproduces the consumed bytes exactly, unless the input used
//    non-minimal varints, in which case the output is strictly shorter and parses back to
//    the same header;
//  * a failure is one line starting with "header: ".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fuzz_check.hpp"
#include "tensority/core/block_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::core;
  const std::span<const std::uint8_t> input(data, size);
  constexpr std::uint64_t kMax63 = 0x7FFFFFFFFFFFFFFFULL;

  for (const bool exact : {false, true}) {
    const auto parsed = parse_header(input, exact);
    if (!parsed) {
      const std::string& e = parsed.error();
      FUZZ_CHECK(e.rfind("header: ", 0) == 0);
      FUZZ_CHECK(e.find('\n') == std::string::npos);
      continue;
    }
    const BlockHeader& h = parsed->header;
    FUZZ_CHECK(parsed->consumed <= size);
    FUZZ_CHECK(!exact || parsed->consumed == size);
    FUZZ_CHECK(parsed->serflag == kSerFlagHeader || parsed->serflag == kSerFlagBlock);
    FUZZ_CHECK(h.version <= kMax63 && h.height <= kMax63 && h.timestamp <= kMax63);
    FUZZ_CHECK(h.nonce <= kMax63 && h.bits <= kMax63);

    const auto wire = serialize_header(h, parsed->serflag);
    const auto consumed = input.first(parsed->consumed);
    if (wire.size() == consumed.size()) {
      FUZZ_CHECK(std::equal(wire.begin(), wire.end(), consumed.begin()));
    } else {
      FUZZ_CHECK(wire.size() < consumed.size());
      const auto again = parse_header(wire, true);
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(again->header == h);
      FUZZ_CHECK(again->serflag == parsed->serflag);
    }
    // The ID body is a pure function of the fields.
    FUZZ_CHECK(block_id(h) == block_id_from_body(id_body(h)));
  }
  return 0;
}
