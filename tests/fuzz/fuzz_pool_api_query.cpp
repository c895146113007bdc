// The pool API's query strings come from anyone who can reach its port: any request target
// parses without a crash, decoding only ever shrinks text, and a query written from known
// pairs reads back exactly, both plain (letters and digits) and with every byte %-escaped.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.hpp"
#include "tensority/pool/api.hpp"

namespace {

using Query = std::map<std::string, std::string, std::less<>>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// The input read as "k=v&k=v...": '&' ends a pair and its first '=' splits it. Raw bytes,
// no decoding: these are the pairs the round trips below write out again.
Pairs split_pairs(std::string_view text) {
  Pairs pairs;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      pairs.emplace_back(std::string(pair), std::string());
    } else {
      pairs.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    }
  }
  return pairs;
}

std::string alphanumeric(std::string_view raw) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (const char c : raw) out += kAlphabet[static_cast<unsigned char>(c) % kAlphabet.size()];
  return out;
}

// Every byte as %XX; the byte's low bit picks the hex case, since both must decode.
std::string escape_all(std::string_view raw) {
  static constexpr std::string_view kLower = "0123456789abcdef", kUpper = "0123456789ABCDEF";
  std::string out;
  for (const char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    const std::string_view digits = (b & 1) != 0 ? kUpper : kLower;
    out += '%';
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tensority::pool::parse_query;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Any target: no crash, and nothing decodes longer than it was written.
  const Query any = parse_query(text);
  const auto question = text.find('?');
  if (question == std::string_view::npos) {
    FUZZ_CHECK(any.empty());
  } else {
    std::size_t decoded = 0;
    for (const auto& [k, v] : any) decoded += k.size() + v.size();
    FUZZ_CHECK(decoded <= size - question - 1);
    FUZZ_CHECK(any.size() <= size - question);  // at most one pair per '&'-separated piece
  }

  // The input's own pairs, written out again in two safe encodings, read back exactly.
  const Pairs pairs = split_pairs(text);
  for (const bool escaped : {false, true}) {
    std::string target = "/v1/miner?";
    Query expected;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      const auto& [key, value] = pairs[i];
      const std::string plain_key = escaped ? key : alphanumeric(key);
      const std::string plain_value = escaped ? value : alphanumeric(value);
      if (i > 0) target += '&';
      target += (escaped ? escape_all(plain_key) : plain_key) + "=" + (escaped ? escape_all(plain_value) : plain_value);
      expected[plain_key] = plain_value;  // later keys win
    }
    FUZZ_CHECK(parse_query(target) == expected);
  }
  return 0;
}
