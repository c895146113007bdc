#include "tensority/chain/address.hpp"

#include <array>
#include <cctype>

namespace tensority::chain {
namespace {

using core::wire::Bytes;

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint32_t polymod(const Bytes& values) {
  constexpr std::array<std::uint32_t, 5> kGen = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::uint32_t chk = 1;
  for (const std::uint8_t v : values) {
    const std::uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (std::size_t i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  }
  return chk;
}

Bytes hrp_expand(std::string_view hrp) {
  Bytes out;
  for (const char c : hrp) out.push_back(static_cast<std::uint8_t>(static_cast<unsigned char>(c) >> 5));
  out.push_back(0);
  for (const char c : hrp) out.push_back(static_cast<std::uint8_t>(static_cast<unsigned char>(c) & 31));
  return out;
}

// Regroups bits (8 -> 5 with padding, or 5 -> 8 without), as BIP 173's convertbits.
bool convert_bits(std::span<const std::uint8_t> in, int from, int to, bool pad, Bytes& out) {
  std::uint32_t acc = 0;
  int bits = 0;
  const std::uint32_t maxv = (1u << to) - 1;
  for (const std::uint8_t v : in) {
    if ((v >> from) != 0) return false;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<std::uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
    return false;
  }
  return true;
}

}  // namespace

std::string_view address_prefix(Network net) {
  switch (net) {
    case Network::mainnet: return "bm";
    case Network::testnet: return "tm";
    case Network::solonet:
    case Network::regtest: return "sm";
  }
  return "bm";
}

std::string bech32_encode(std::string_view hrp, std::span<const std::uint8_t> data5) {
  Bytes values = hrp_expand(hrp);
  values.insert(values.end(), data5.begin(), data5.end());
  values.insert(values.end(), 6, 0);
  const std::uint32_t mod = polymod(values) ^ 1;
  std::string out(hrp);
  out.push_back('1');
  for (const std::uint8_t d : data5) out.push_back(kCharset[d]);
  for (int i = 0; i < 6; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

core::Result<Bech32Decoded> bech32_decode(std::string_view text) {
  using R = core::Result<Bech32Decoded>;
  if (text.size() > 90) return R::failure("address longer than 90 characters");
  bool lower = false, upper = false;
  for (const char c : text) {
    if (c < 33 || c > 126) return R::failure("address has a character outside printable ASCII");
    lower = lower || (c >= 'a' && c <= 'z');
    upper = upper || (c >= 'A' && c <= 'Z');
  }
  if (lower && upper) return R::failure("address mixes upper and lower case");
  const std::size_t sep = text.rfind('1');
  if (sep == std::string_view::npos || sep == 0 || sep + 7 > text.size()) {
    return R::failure("address has no '1' separator followed by a 6-character checksum");
  }
  Bech32Decoded out;
  for (std::size_t i = 0; i < sep; ++i) out.hrp.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
  Bytes data;
  for (std::size_t i = sep + 1; i < text.size(); ++i) {
    const auto pos = kCharset.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
    if (pos == std::string_view::npos) return R::failure("address character '" + std::string(1, text[i]) + "' is not bech32");
    data.push_back(static_cast<std::uint8_t>(pos));
  }
  Bytes values = hrp_expand(out.hrp);
  values.insert(values.end(), data.begin(), data.end());
  if (polymod(values) != 1) return R::failure("address checksum does not match");
  out.data5.assign(data.begin(), data.end() - 6);
  return out;
}

core::Result<Bytes> address_to_program(std::string_view address, Network net) {
  using R = core::Result<Bytes>;
  auto decoded = bech32_decode(address);
  if (!decoded) return R::failure(decoded.error());
  if (decoded->hrp != address_prefix(net)) {
    return R::failure("address prefix '" + decoded->hrp + "' is not this network's '" +
                      std::string(address_prefix(net)) + "'");
  }
  if (decoded->data5.empty() || decoded->data5[0] != 0) return R::failure("address witness version is not 0");
  Bytes program;
  if (!convert_bits(std::span(decoded->data5).subspan(1), 5, 8, false, program)) {
    return R::failure("address program has invalid padding");
  }
  if (program.size() != 20 && program.size() != 32) {
    return R::failure("address program is " + std::to_string(program.size()) + " bytes (want 20 or 32)");
  }
  Bytes out = {0x00, static_cast<std::uint8_t>(program.size())};
  out.insert(out.end(), program.begin(), program.end());
  return out;
}

core::Result<std::string> program_to_address(std::span<const std::uint8_t> program, Network net) {
  using R = core::Result<std::string>;
  if (program.size() < 2 || program[0] != 0x00 || program[1] != program.size() - 2 ||
      (program[1] != 20 && program[1] != 32)) {
    return R::failure("control program is not P2WPKH or P2WSH");
  }
  Bytes data5 = {0};
  convert_bits(program.subspan(2), 8, 5, true, data5);
  return bech32_encode(address_prefix(net), data5);
}

}  // namespace tensority::chain
