#pragma once

// Live readings of an NVIDIA GPU through NVML (libnvidia-ml.so.1, part of the
// driver), loaded with dlopen at the first call so that nothing here needs the
// driver at build or start-up time.

#include <optional>
#include <string>

namespace tensority::hwdetect {

struct GpuSensors {
  std::optional<int> temperature_c;          // GPU core
  std::optional<double> power_w;             // board power draw
  std::optional<int> fan_percent;            // none on passively cooled (data-centre) boards
  std::optional<unsigned> sm_clock_mhz;      // current SM clock
  std::optional<unsigned> mem_clock_mhz;     // current memory clock
  // Non-empty when nothing could be read: NVML missing or failing to start, a
  // malformed bus id, or no GPU at that address. A single reading the board
  // does not support is only left empty.
  std::string error;
};

// Reads the GPU at this PCI bus id, in any spelling parse_pci_bus_id accepts
// (the CUDA probe's "0000:3b:00.0" id, NVML's "00000000:3B:00.0"). NVML is
// loaded and initialised once per process and stays initialised, because
// nvmlInit costs tens of milliseconds and the miner polls for status lines.
// Thread-safe; never throws except std::bad_alloc.
[[nodiscard]] GpuSensors read_nvidia_sensors(const std::string& pci_bus_id);

}  // namespace tensority::hwdetect
