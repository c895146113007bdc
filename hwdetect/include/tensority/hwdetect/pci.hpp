#pragma once

// PCI bus ids in the spellings the GPU libraries use. The CUDA driver says
// "0000:3B:00.0", NVML wants "00000000:3B:00.0", sysfs and lspci -D say
// "0000:3b:00.0", lspci without -D says "3b:00.0". Accelerator ids use the
// sysfs form so that a card keeps one id whichever API reported it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tensority::hwdetect {

struct PciAddress {
  std::uint32_t domain = 0;  // 16 bits on most machines; VMD and some hypervisors use more
  std::uint8_t bus = 0;
  std::uint8_t device = 0;    // 0..0x1f
  std::uint8_t function = 0;  // 0..7

  friend bool operator==(const PciAddress&, const PciAddress&) = default;
};

// Accepts "domain:bus:device.function" with a domain of 1 to 8 hex digits and
// "bus:device.function" (domain 0), in either case, with surrounding blanks.
// nullopt for anything else, including out-of-range device or function numbers.
[[nodiscard]] std::optional<PciAddress> parse_pci_bus_id(std::string_view text);

// "0000:3b:00.0": lower case, domain at least 4 digits (the Linux sysfs form).
[[nodiscard]] std::string format_pci_bus_id(const PciAddress& address);

// "00000000:3B:00.0": upper case, 8-digit domain (the form NVML reports).
[[nodiscard]] std::string format_nvml_bus_id(const PciAddress& address);

// parse_pci_bus_id then format_pci_bus_id; nullopt when the text is not a bus id.
[[nodiscard]] std::optional<std::string> normalize_pci_bus_id(std::string_view text);

}  // namespace tensority::hwdetect
