// A stand-in for the NVIDIA driver's libcuda.so.1: just the driver-API calls
// the "cuda" probe makes, answering for two made-up GPUs. The fake-GPU tests
// run with LD_LIBRARY_PATH pointing at it, so the probe's real dlopen path
// runs on machines without an NVIDIA GPU. FAKE_CUDA_INIT_RESULT (a CUresult
// for cuInit) and FAKE_CUDA_DEVICE_COUNT change its answers between calls.

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace {

struct FakeDevice {
  const char* name;
  const char* bus_id;  // as the driver spells it: upper case, 4-digit domain
  std::size_t memory;
  int sms, clock_khz, cc_major, cc_minor, l2, smem_per_sm;
};

constexpr FakeDevice kDevices[] = {
    {"NVIDIA H100 80GB HBM3", "0000:3B:00.0", 85520809984ull, 132, 1980000, 9, 0, 52428800, 233472},
    {"NVIDIA GeForce RTX 4090", "0000:AF:00.0", 25393692672ull, 128, 2520000, 8, 9, 75497472, 102400},
};
constexpr int kDeviceCount = 2;

constexpr int kSuccess = 0;
constexpr int kInvalidValue = 1;
constexpr int kInvalidDevice = 101;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

int device_count() { return env_int("FAKE_CUDA_DEVICE_COUNT", kDeviceCount); }

const FakeDevice* device(int dev) { return dev >= 0 && dev < kDeviceCount ? &kDevices[dev] : nullptr; }

const char* error_name(int rc) {
  switch (rc) {
    case 0: return "CUDA_SUCCESS";
    case 1: return "CUDA_ERROR_INVALID_VALUE";
    case 34: return "CUDA_ERROR_STUB_LIBRARY";
    case 100: return "CUDA_ERROR_NO_DEVICE";
    case 101: return "CUDA_ERROR_INVALID_DEVICE";
    case 999: return "CUDA_ERROR_UNKNOWN";
    default: return nullptr;
  }
}

const char* error_string(int rc) {
  switch (rc) {
    case 0: return "no error";
    case 1: return "invalid argument";
    case 34: return "CUDA driver is a stub library";
    case 100: return "no CUDA-capable device is detected";
    case 101: return "invalid device ordinal";
    case 999: return "unknown error";
    default: return nullptr;
  }
}

}  // namespace

extern "C" {

// Lets a test tell this library from a real driver.
extern const int tensority_fake_cuda_marker;
const int tensority_fake_cuda_marker = 1;

int cuInit(unsigned flags) { return flags != 0 ? kInvalidValue : env_int("FAKE_CUDA_INIT_RESULT", kSuccess); }

int cuDriverGetVersion(int* version) {
  if (version == nullptr) return kInvalidValue;
  *version = 13000;
  return kSuccess;
}

int cuDeviceGetCount(int* count) {
  if (count == nullptr) return kInvalidValue;
  *count = device_count();
  return kSuccess;
}

int cuDeviceGet(int* dev, int ordinal) {
  if (dev == nullptr) return kInvalidValue;
  if (ordinal < 0 || ordinal >= device_count() || device(ordinal) == nullptr) return kInvalidDevice;
  *dev = ordinal;
  return kSuccess;
}

int cuDeviceGetName(char* name, int len, int dev) {
  const FakeDevice* d = device(dev);
  if (d == nullptr) return kInvalidDevice;
  if (name == nullptr || len <= 0) return kInvalidValue;
  std::snprintf(name, static_cast<std::size_t>(len), "%s", d->name);
  return kSuccess;
}

int cuDeviceTotalMem_v2(std::size_t* bytes, int dev) {
  const FakeDevice* d = device(dev);
  if (d == nullptr) return kInvalidDevice;
  *bytes = d->memory;
  return kSuccess;
}

int cuDeviceGetAttribute(int* value, int attribute, int dev) {
  const FakeDevice* d = device(dev);
  if (d == nullptr) return kInvalidDevice;
  switch (attribute) {
    case 13: *value = d->clock_khz; return kSuccess;
    case 16: *value = d->sms; return kSuccess;
    case 38: *value = d->l2; return kSuccess;
    case 75: *value = d->cc_major; return kSuccess;
    case 76: *value = d->cc_minor; return kSuccess;
    case 81: *value = d->smem_per_sm; return kSuccess;
    default: return kInvalidValue;
  }
}

int cuDeviceGetPCIBusId(char* bus_id, int len, int dev) {
  const FakeDevice* d = device(dev);
  if (d == nullptr) return kInvalidDevice;
  if (bus_id == nullptr || len < 13) return kInvalidValue;  // the driver's documented minimum
  std::snprintf(bus_id, static_cast<std::size_t>(len), "%s", d->bus_id);
  return kSuccess;
}

int cuGetErrorName(int rc, const char** out) {
  *out = error_name(rc);
  return *out != nullptr ? kSuccess : kInvalidValue;
}

int cuGetErrorString(int rc, const char** out) {
  *out = error_string(rc);
  return *out != nullptr ? kSuccess : kInvalidValue;
}

}  // extern "C"
