// Addresses come from users (config, CLI, RPC): any text either decodes or is refused with
// one line, and what decodes re-encodes to the same address in lower case.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/chain/address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::chain;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const Network net : {Network::mainnet, Network::regtest}) {
    const auto program = address_to_program(text, net);
    if (!program) {
      FUZZ_CHECK(!program.error().empty() && program.error().find('\n') == std::string::npos);
      continue;
    }
    std::string lower(text);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto again = program_to_address(*program, net);
    FUZZ_CHECK(again.ok() && *again == lower);
  }
  return 0;
}
