// The CUDA probe and the NVML sensor reader against the fake driver libraries
// (fake_libcuda.cpp, fake_libnvml.cpp). ctest runs this binary with
// LD_LIBRARY_PATH set to their folder, so dlopen("libcuda.so.1") finds the
// fakes ahead of any real driver and every answer is known. Run by hand
// without that, the tests skip.

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <dlfcn.h>

#include <gtest/gtest.h>

#include "tensority/hwdetect/gpu_probes.hpp"
#include "tensority/hwdetect/gpu_sensors.hpp"
#include "tensority/hwdetect/system.hpp"

namespace tensority::hwdetect {
namespace {

void* fake_symbol(const char* library, const char* symbol) {
  void* h = dlopen(library, RTLD_NOW | RTLD_LOCAL);  // the same instance the probes open
  return h != nullptr ? dlsym(h, symbol) : nullptr;
}

int nvml_init_calls() {
  using Fn = int();
  auto* fn = reinterpret_cast<Fn*>(fake_symbol("libnvidia-ml.so.1", "tensority_fake_nvml_init_calls"));
  return fn != nullptr ? fn() : -1;
}

bool has_note_starting(const std::vector<std::string>& notes, const std::string& prefix) {
  return std::any_of(notes.begin(), notes.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

class FakeDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fake_symbol("libcuda.so.1", "tensority_fake_cuda_marker") == nullptr ||
        fake_symbol("libnvidia-ml.so.1", "tensority_fake_nvml_marker") == nullptr) {
      GTEST_SKIP() << "the fake libcuda.so.1 / libnvidia-ml.so.1 are not on the library path; run through ctest";
    }
    reset();
  }
  void TearDown() override { reset(); }
  static void reset() {
    unsetenv("FAKE_CUDA_INIT_RESULT");
    unsetenv("FAKE_CUDA_DEVICE_COUNT");
  }
};

TEST_F(FakeDriver, CudaProbeDescribesEachDevice) {
  const ProbeResult r = make_cuda_probe()->probe();
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.devices.size(), 2u);

  const AcceleratorInfo& h100 = r.devices[0];
  EXPECT_EQ(h100.api, "cuda");
  EXPECT_EQ(h100.id, "0000:3b:00.0") << "the driver's upper-case bus id, lower-cased";
  EXPECT_EQ(h100.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(h100.vendor, "NVIDIA");
  EXPECT_EQ(h100.driver_version, "13.0");
  EXPECT_EQ(h100.memory_bytes, 85520809984ull);
  EXPECT_EQ(h100.compute_units, 132u);
  EXPECT_EQ(h100.clock_mhz, 1980u);
  const std::map<std::string, std::string> expected{
      {"index", "0"},           {"compute_capability", "9.0"}, {"l2_bytes", "52428800"},
      {"smem_per_sm_bytes", "233472"}, {"temperature_c", "41"}, {"power_w", "72.3"},
      {"sm_clock_mhz", "1755"}, {"mem_clock_mhz", "2619"},
  };
  EXPECT_EQ(h100.properties, expected) << "fan_percent must be absent: the fake has no fan";

  const AcceleratorInfo& rtx = r.devices[1];
  EXPECT_EQ(rtx.id, "0000:af:00.0");
  EXPECT_EQ(rtx.name, "NVIDIA GeForce RTX 4090");
  EXPECT_EQ(rtx.compute_units, 128u);
  EXPECT_EQ(rtx.properties.at("index"), "1");
  EXPECT_EQ(rtx.properties.at("compute_capability"), "8.9");
  EXPECT_EQ(rtx.properties.count("temperature_c"), 0u) << "NVML does not know this GPU";
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "NVML: no GPU at 00000000:AF:00.0: error 6 (Not Found)");
}

TEST_F(FakeDriver, DevicesReachDetectSystem) {
  // Only the CUDA probe here: on a machine with a real NVIDIA GPU its OpenCL
  // driver would load libcuda.so.1 too, get the fake, and fail in its own way.
  ensure_builtin_probes();
  std::unique_ptr<AcceleratorProbe> opencl = unregister_probe("opencl");
  const SystemInfo s = detect_system();
  if (opencl) register_probe(std::move(opencl));
  const auto it = std::find_if(s.accelerators.begin(), s.accelerators.end(),
                               [](const AcceleratorInfo& a) { return a.id == "0000:3b:00.0"; });
  ASSERT_NE(it, s.accelerators.end());
  EXPECT_EQ(it->api, "cuda");
  EXPECT_TRUE(has_note_starting(s.notes, "cuda: NVML: no GPU at 00000000:AF:00.0"));
  EXPECT_FALSE(has_note_starting(s.notes, "cuda: NVIDIA driver not found"));
  EXPECT_NE(format_summary(s).find("[cuda] NVIDIA H100 80GB HBM3 (0000:3b:00.0): NVIDIA, "), std::string::npos);
}

TEST_F(FakeDriver, CuInitFailureIsAnError) {
  setenv("FAKE_CUDA_INIT_RESULT", "999", 1);
  ProbeResult r = make_cuda_probe()->probe();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, "cuInit failed: CUDA_ERROR_UNKNOWN (999): unknown error");

  setenv("FAKE_CUDA_INIT_RESULT", "34", 1);
  r = make_cuda_probe()->probe();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error.rfind("cuInit failed: CUDA_ERROR_STUB_LIBRARY (34): CUDA driver is a stub library; ", 0), 0u)
      << r.error;

  setenv("FAKE_CUDA_INIT_RESULT", "12345", 1);  // a code the driver has no name for
  r = make_cuda_probe()->probe();
  EXPECT_EQ(r.error, "cuInit failed: error 12345");

  unsetenv("FAKE_CUDA_INIT_RESULT");
  EXPECT_TRUE(make_cuda_probe()->probe().ok()) << "a later call sees the driver recover";
}

TEST_F(FakeDriver, NoDevicesIsANoteNotAnError) {
  setenv("FAKE_CUDA_INIT_RESULT", "100", 1);
  ProbeResult r = make_cuda_probe()->probe();
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.devices.empty());
  EXPECT_EQ(r.notes, std::vector<std::string>{
                         "no CUDA devices (cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected)"});

  unsetenv("FAKE_CUDA_INIT_RESULT");
  setenv("FAKE_CUDA_DEVICE_COUNT", "0", 1);
  r = make_cuda_probe()->probe();
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.devices.empty());
  EXPECT_EQ(r.notes, std::vector<std::string>{"no CUDA devices"});
}

TEST_F(FakeDriver, SensorsAcceptEveryBusIdSpelling) {
  for (const char* id : {"0000:3b:00.0", "0000:3B:00.0", "00000000:3B:00.0", "3b:00.0"}) {
    SCOPED_TRACE(id);
    const GpuSensors s = read_nvidia_sensors(id);
    EXPECT_EQ(s.error, "");
    EXPECT_EQ(s.temperature_c, 41);
    ASSERT_TRUE(s.power_w.has_value());
    EXPECT_DOUBLE_EQ(*s.power_w, 72.345);
    EXPECT_FALSE(s.fan_percent.has_value());
    EXPECT_EQ(s.sm_clock_mhz, 1755u);
    EXPECT_EQ(s.mem_clock_mhz, 2619u);
  }
  const GpuSensors missing = read_nvidia_sensors("0000:01:00.0");
  EXPECT_EQ(missing.error, "NVML: no GPU at 00000000:01:00.0: error 6 (Not Found)");
  EXPECT_FALSE(missing.temperature_c.has_value());
}

TEST_F(FakeDriver, NvmlIsInitialisedOnceAcrossThreads) {
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (std::size_t t = 0; t < ok.size(); ++t) {
    threads.emplace_back([&ok, t] {
      for (int i = 0; i < 50; ++i) ok[t] += read_nvidia_sensors("0000:3b:00.0").error.empty() ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  for (const int n : ok) EXPECT_EQ(n, 50);
  EXPECT_EQ(nvml_init_calls(), 1);
}

}  // namespace
}  // namespace tensority::hwdetect
