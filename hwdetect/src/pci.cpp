#include "tensority/hwdetect/pci.hpp"

#include <cstdio>

namespace tensority::hwdetect {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 1..max_digits hex digits and nothing else.
std::optional<std::uint32_t> parse_hex(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint32_t value = 0;
  for (const char c : s) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    value = value * 16 + static_cast<std::uint32_t>(d);
  }
  return value;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\0')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::optional<PciAddress> parse_pci_bus_id(std::string_view text) {
  text = trim(text);
  const auto dot = text.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto function = parse_hex(text.substr(dot + 1), 1);
  const std::string_view head = text.substr(0, dot);  // [domain:]bus:device

  const auto last_colon = head.rfind(':');
  if (last_colon == std::string_view::npos) return std::nullopt;
  const auto device = parse_hex(head.substr(last_colon + 1), 2);
  const std::string_view rest = head.substr(0, last_colon);  // [domain:]bus

  std::optional<std::uint32_t> domain = 0;
  std::optional<std::uint32_t> bus;
  const auto first_colon = rest.find(':');
  if (first_colon == std::string_view::npos) {
    bus = parse_hex(rest, 2);
  } else {
    domain = parse_hex(rest.substr(0, first_colon), 8);
    bus = parse_hex(rest.substr(first_colon + 1), 2);
  }
  if (!function || !device || !domain || !bus || *function > 7 || *device > 0x1f) return std::nullopt;

  PciAddress a;
  a.domain = *domain;
  a.bus = static_cast<std::uint8_t>(*bus);
  a.device = static_cast<std::uint8_t>(*device);
  a.function = static_cast<std::uint8_t>(*function);
  return a;
}

std::string format_pci_bus_id(const PciAddress& a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", static_cast<unsigned>(a.domain), unsigned{a.bus},
                unsigned{a.device}, unsigned{a.function});
  return buf;
}

std::string format_nvml_bus_id(const PciAddress& a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X:%02X:%02X.%X", static_cast<unsigned>(a.domain), unsigned{a.bus},
                unsigned{a.device}, unsigned{a.function});
  return buf;
}

std::optional<std::string> normalize_pci_bus_id(std::string_view text) {
  const auto a = parse_pci_bus_id(text);
  if (!a) return std::nullopt;
  return format_pci_bus_id(*a);
}

}  // namespace tensority::hwdetect
