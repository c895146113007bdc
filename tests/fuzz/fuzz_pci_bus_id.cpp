// PCI bus ids come from drivers (CUDA, NVML, OpenCL vendor extensions): any bytes must parse
// or be refused without a crash, and whatever parses must format and re-parse to itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/hwdetect/pci.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::hwdetect;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_pci_bus_id(text);
  if (!parsed) {
    FUZZ_CHECK(!normalize_pci_bus_id(text).has_value());
    return 0;
  }
  FUZZ_CHECK(parsed->device <= 0x1f && parsed->function <= 7);
  const auto linux_form = format_pci_bus_id(*parsed);
  const auto nvml_form = format_nvml_bus_id(*parsed);
  FUZZ_CHECK(parse_pci_bus_id(linux_form) == parsed);
  FUZZ_CHECK(parse_pci_bus_id(nvml_form) == parsed);
  FUZZ_CHECK(normalize_pci_bus_id(text) == linux_form);
  return 0;
}
