// A stand-in for the NVIDIA driver's libnvidia-ml.so.1, paired with
// fake_libcuda.cpp. It knows only the first fake GPU, and only by NVML's own
// bus-id spelling ("00000000:3B:00.0"), so a test sees whether the caller
// converted the id. The second GPU gets NVML_ERROR_NOT_FOUND, as a GPU that
// NVML cannot see would.

#include <atomic>
#include <cstring>

namespace {

struct FakeNvmlDevice {
  int unused;
};
FakeNvmlDevice g_device{0};

constexpr int kSuccess = 0;
constexpr int kUninitialized = 1;
constexpr int kInvalidArgument = 2;
constexpr int kNotSupported = 3;
constexpr int kNotFound = 6;

std::atomic<int> g_init_calls{0};

bool initialised() { return g_init_calls.load() > 0; }

}  // namespace

extern "C" {

extern const int tensority_fake_nvml_marker;
const int tensority_fake_nvml_marker = 1;

// How often nvmlInit_v2 ran, for the test that NVML is initialised once.
int tensority_fake_nvml_init_calls() { return g_init_calls.load(); }

int nvmlInit_v2() {
  ++g_init_calls;
  return kSuccess;
}

const char* nvmlErrorString(int rc) {
  switch (rc) {
    case kSuccess: return "Success";
    case kUninitialized: return "Uninitialized";
    case kInvalidArgument: return "Invalid Argument";
    case kNotSupported: return "Not Supported";
    case kNotFound: return "Not Found";
    default: return "Unknown Error";
  }
}

int nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id, FakeNvmlDevice** device) {
  if (!initialised()) return kUninitialized;
  if (bus_id == nullptr || device == nullptr) return kInvalidArgument;
  if (std::strcmp(bus_id, "00000000:3B:00.0") != 0) return kNotFound;
  *device = &g_device;
  return kSuccess;
}

int nvmlDeviceGetTemperature(FakeNvmlDevice* device, int sensor, unsigned* value) {
  if (device != &g_device || value == nullptr || sensor != 0) return kInvalidArgument;
  *value = 41;
  return kSuccess;
}

int nvmlDeviceGetPowerUsage(FakeNvmlDevice* device, unsigned* milliwatts) {
  if (device != &g_device || milliwatts == nullptr) return kInvalidArgument;
  *milliwatts = 72345;
  return kSuccess;
}

// Passively cooled, like an H100: no fan reading.
int nvmlDeviceGetFanSpeed(FakeNvmlDevice* device, unsigned* /*percent*/) {
  return device != &g_device ? kInvalidArgument : kNotSupported;
}

// Distinct values per clock domain so that asking for the wrong one shows.
int nvmlDeviceGetClockInfo(FakeNvmlDevice* device, int type, unsigned* mhz) {
  if (device != &g_device || mhz == nullptr) return kInvalidArgument;
  switch (type) {
    case 0: *mhz = 1980; return kSuccess;  // NVML_CLOCK_GRAPHICS
    case 1: *mhz = 1755; return kSuccess;  // NVML_CLOCK_SM
    case 2: *mhz = 2619; return kSuccess;  // NVML_CLOCK_MEM
    case 3: *mhz = 1635; return kSuccess;  // NVML_CLOCK_VIDEO
    default: return kInvalidArgument;
  }
}

}  // extern "C"
