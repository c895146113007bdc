// Node and pool URLs come from users (config, CLI): any text either parses or is refused with
// one line, and what parses is well formed and prints back to text that parses to the same URL.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/net/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::net;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto url = parse_url(text);
  if (!url) {
    FUZZ_CHECK(!url.error().empty() && url.error().find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(url->scheme == "http");
  FUZZ_CHECK(!url->host.empty() && url->port != 0);
  FUZZ_CHECK(url->path.empty() || (url->path.front() == '/' && url->path.back() != '/'));
  for (const char c : url->host + url->path) FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f);
  const auto again = parse_url(to_string(*url));
  FUZZ_CHECK(again.ok() && again->host == url->host && again->port == url->port && again->path == url->path);
  return 0;
}
