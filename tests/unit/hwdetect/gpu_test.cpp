// The built-in GPU probes against whatever this machine really has. Where the
// hardware decides the outcome (a driver present or not), each test accepts
// either outcome but checks the one it got; the CUDA probe's device path is
// also covered, on any machine, by fake_gpu_test.cpp.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <dlfcn.h>

#include <gtest/gtest.h>

#include "tensority/hwdetect/gpu_probes.hpp"
#include "tensority/hwdetect/gpu_sensors.hpp"
#include "tensority/hwdetect/pci.hpp"
#include "tensority/hwdetect/system.hpp"

namespace tensority::hwdetect {
namespace {

// Opened the way the probes open it; never closed, as the probes never close
// GPU libraries either.
bool can_dlopen(const char* name) { return dlopen(name, RTLD_NOW | RTLD_LOCAL) != nullptr; }

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::vector<const AcceleratorInfo*> devices_of(const SystemInfo& s, const std::string& api) {
  std::vector<const AcceleratorInfo*> out;
  for (const auto& a : s.accelerators) {
    if (a.api == api) out.push_back(&a);
  }
  return out;
}

std::vector<std::string> notes_of(const SystemInfo& s, const std::string& probe) {
  std::vector<std::string> out;
  for (const auto& n : s.notes) {
    if (starts_with(n, probe + ": ")) out.push_back(n);
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + '\n';
  return out;
}

// What `clinfo -l` lists, as a second opinion on the OpenCL probe: platform
// index, device index and device name. nullopt when clinfo cannot be run.
struct ClinfoDevice {
  unsigned platform = 0;
  unsigned device = 0;
  std::string name;
};

std::optional<std::vector<ClinfoDevice>> clinfo_devices() {
  FILE* pipe = popen("clinfo -l 2>/dev/null", "r");
  if (pipe == nullptr) return std::nullopt;
  std::string text;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  if (pclose(pipe) != 0) return std::nullopt;

  // "Platform #0: Portable Computing Language"
  // " `-- Device #0: pthread-skylake-avx512-AMD EPYC 9654"
  static const std::regex platform_line(R"(^Platform #(\d+): (.*)$)");
  static const std::regex device_line(R"(Device #(\d+): (.*)$)");
  std::vector<ClinfoDevice> out;
  std::istringstream lines(text);
  std::string line;
  unsigned platform = 0;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, m, platform_line)) {
      platform = static_cast<unsigned>(std::stoul(m[1]));
    } else if (std::regex_search(line, m, device_line)) {
      out.push_back({platform, static_cast<unsigned>(std::stoul(m[1])), m[2]});
    }
  }
  return out;
}

TEST(PciBusId, NormalisesTheSpellingsGpuLibrariesUse) {
  EXPECT_EQ(normalize_pci_bus_id("0000:3B:00.0"), "0000:3b:00.0");      // CUDA driver
  EXPECT_EQ(normalize_pci_bus_id("00000000:3B:00.0"), "0000:3b:00.0");  // NVML
  EXPECT_EQ(normalize_pci_bus_id("0000:3b:00.0"), "0000:3b:00.0");      // sysfs, lspci -D
  EXPECT_EQ(normalize_pci_bus_id("3b:00.0"), "0000:3b:00.0");           // lspci
  EXPECT_EQ(normalize_pci_bus_id(" 0000:AF:1F.7\n"), "0000:af:1f.7");
  EXPECT_EQ(normalize_pci_bus_id("10000:01:00.0"), "10000:01:00.0");    // VMD domains exceed 16 bits
  EXPECT_EQ(normalize_pci_bus_id("1:2:3.4"), "0001:02:03.4");
}

TEST(PciBusId, ParsesFieldsAndFormatsForNvml) {
  const auto a = parse_pci_bus_id("0001:65:1a.3");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->domain, 1u);
  EXPECT_EQ(a->bus, 0x65);
  EXPECT_EQ(a->device, 0x1a);
  EXPECT_EQ(a->function, 3);
  EXPECT_EQ(format_nvml_bus_id(*a), "00000001:65:1A.3");
  EXPECT_EQ(format_pci_bus_id(*a), "0001:65:1a.3");
  EXPECT_EQ(parse_pci_bus_id(format_nvml_bus_id(*a)), a);
  EXPECT_EQ(format_nvml_bus_id(PciAddress{0, 0x3b, 0, 0}), "00000000:3B:00.0");
}

TEST(PciBusId, RejectsWhatIsNotABusId) {
  for (const char* bad : {"", "3b", "0000:3b:00", "0000:3b:20.0" /* device > 0x1f */, "0000:3b:00.8",
                          "0000:3g:00.0", "000000000:3b:00.0" /* 9-digit domain */, "0000:3b:00.0.0",
                          "0000:100:00.0", ":3b:00.0", "0000::00.0", "a:b:c:00.0", "cuda:0", "opencl:0:0",
                          "0000:3b:00.", "0000:3b:000.0"}) {
    EXPECT_FALSE(parse_pci_bus_id(bad).has_value()) << '"' << bad << '"';
    EXPECT_FALSE(normalize_pci_bus_id(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(BuiltinProbes, AreRegisteredOnce) {
  ensure_builtin_probes();
  ensure_builtin_probes();
  const auto names = registered_probe_names();
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuda"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "opencl"), 1);
  EXPECT_FALSE(register_probe(make_cuda_probe())) << "a second cuda probe was accepted";
  EXPECT_FALSE(register_probe(make_opencl_probe())) << "a second opencl probe was accepted";
}

TEST(CudaProbe, ExplainsAMissingDriverOrDescribesTheGpus) {
  const SystemInfo s = detect_system();
  const auto cuda = devices_of(s, "cuda");
  const auto notes = notes_of(s, "cuda");

  if (!can_dlopen("libcuda.so.1") && !can_dlopen("libcuda.so")) {
    EXPECT_TRUE(cuda.empty());
    ASSERT_EQ(notes.size(), 1u) << joined(s.notes);
    EXPECT_TRUE(starts_with(notes[0], "cuda: NVIDIA driver not found (dlopen libcuda.so.1: ")) << notes[0];
    EXPECT_GT(notes[0].size(), std::string("cuda: NVIDIA driver not found (dlopen libcuda.so.1: )").size())
        << "the dlerror text is missing";
    return;
  }

  // A driver is here: either GPUs, or a note saying why there are none.
  if (cuda.empty()) {
    EXPECT_FALSE(notes.empty()) << "a driver but no GPUs and no reason given\n" << joined(s.notes);
    return;
  }
  for (std::size_t i = 0; i < cuda.size(); ++i) {
    const AcceleratorInfo& a = *cuda[i];
    SCOPED_TRACE(a.id);
    EXPECT_EQ(normalize_pci_bus_id(a.id), a.id) << "id is not a lower-case PCI bus id";
    EXPECT_FALSE(a.name.empty());
    EXPECT_EQ(a.vendor, "NVIDIA");
    EXPECT_TRUE(std::regex_match(a.driver_version, std::regex(R"(\d+\.\d+)"))) << a.driver_version;
    EXPECT_GT(a.memory_bytes, 0u);
    EXPECT_GT(a.compute_units, 0u);
    EXPECT_EQ(a.properties.at("index"), std::to_string(i));
    EXPECT_TRUE(std::regex_match(a.properties.at("compute_capability"), std::regex(R"(\d+\.\d+)")));
    EXPECT_GT(std::stoull(a.properties.at("l2_bytes")), 0u);
    EXPECT_GT(std::stoull(a.properties.at("smem_per_sm_bytes")), 0u);
  }
}

TEST(NvidiaSensors, SayWhyNothingWasRead) {
  const GpuSensors bad = read_nvidia_sensors("gpu0");
  EXPECT_EQ(bad.error, "not a PCI bus id: 'gpu0'");
  EXPECT_FALSE(bad.temperature_c || bad.power_w || bad.fan_percent || bad.sm_clock_mhz || bad.mem_clock_mhz);

  if (!can_dlopen("libnvidia-ml.so.1") && !can_dlopen("libnvidia-ml.so")) {
    const GpuSensors s = read_nvidia_sensors("0000:3b:00.0");
    EXPECT_TRUE(starts_with(s.error, "NVML not found: sensors unavailable (dlopen libnvidia-ml.so.1: ")) << s.error;
    EXPECT_FALSE(s.temperature_c || s.power_w || s.fan_percent || s.sm_clock_mhz || s.mem_clock_mhz);
    // The CUDA probe only asks NVML when it found GPUs; then the note appears once.
    const SystemInfo info = detect_system();
    const auto notes = notes_of(info, "cuda");
    if (!devices_of(info, "cuda").empty()) {
      EXPECT_EQ(std::count_if(notes.begin(), notes.end(),
                              [](const std::string& n) { return starts_with(n, "cuda: NVML not found"); }),
                1);
    }
    return;
  }

  // NVML is here: every CUDA GPU must be readable through its probe id.
  for (const AcceleratorInfo* a : devices_of(detect_system(), "cuda")) {
    const GpuSensors s = read_nvidia_sensors(a->id);
    EXPECT_EQ(s.error, "") << a->id;
    if (s.temperature_c) {
      EXPECT_GT(*s.temperature_c, 0) << a->id;
      EXPECT_LT(*s.temperature_c, 130) << a->id;
    }
    if (s.power_w) {
      EXPECT_GT(*s.power_w, 0.0) << a->id;
    }
    if (s.sm_clock_mhz) {
      EXPECT_GT(*s.sm_clock_mhz, 0u) << a->id;
    }
  }
}

TEST(OpenClProbe, FindsTheInstalledDevices) {
  if (!can_dlopen("libOpenCL.so.1")) GTEST_SKIP() << "no OpenCL ICD loader (libOpenCL.so.1) on this machine";

  const ProbeResult r = make_opencl_probe()->probe();
  ASSERT_TRUE(r.ok()) << r.error;

  static const std::regex id_pattern(R"(opencl:(\d+):(\d+))");
  for (const auto& d : r.devices) {
    SCOPED_TRACE(d.id);
    EXPECT_EQ(d.api, "opencl");
    EXPECT_TRUE(std::regex_match(d.id, id_pattern));
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.memory_bytes, 0u);
    EXPECT_GT(d.compute_units, 0u);
    const auto type = d.properties.at("device_type");
    EXPECT_TRUE(type == "cpu" || type == "gpu" || type == "accelerator" || type == "custom") << type;
    EXPECT_TRUE(starts_with(d.properties.at("device_version"), "OpenCL ")) << d.properties.at("device_version");
    EXPECT_TRUE(starts_with(d.properties.at("platform_version"), "OpenCL "))
        << d.properties.at("platform_version");
    EXPECT_GT(std::stoull(d.properties.at("local_mem_bytes")), 0u);
    EXPECT_GT(std::stoull(d.properties.at("max_work_group_size")), 0u);
    if (d.properties.count("pci_bus_id") != 0) {
      EXPECT_EQ(normalize_pci_bus_id(d.properties.at("pci_bus_id")), d.properties.at("pci_bus_id"));
    }
  }

  // clinfo, where installed, must list the same devices under the same numbers.
  const auto listed = clinfo_devices();
  if (listed && !listed->empty()) {
    EXPECT_EQ(r.devices.size(), listed->size());
    for (const auto& c : *listed) {
      const std::string id = "opencl:" + std::to_string(c.platform) + ':' + std::to_string(c.device);
      const auto it = std::find_if(r.devices.begin(), r.devices.end(),
                                   [&](const AcceleratorInfo& d) { return d.id == id; });
      ASSERT_NE(it, r.devices.end()) << "clinfo lists " << id << " (" << c.name << ") but the probe does not";
      EXPECT_EQ(it->name, c.name) << id;
    }
  } else if (r.devices.empty()) {
    EXPECT_FALSE(r.notes.empty()) << "no devices and no reason given";
  }

  // The same devices reach detect_system() and the text report.
  const SystemInfo s = detect_system();
  const auto found = devices_of(s, "opencl");
  ASSERT_EQ(found.size(), r.devices.size());
  const std::string text = format_summary(s);
  for (std::size_t i = 0; i < found.size(); ++i) {
    EXPECT_EQ(found[i]->id, r.devices[i].id);
    EXPECT_NE(text.find("[opencl] " + found[i]->name + " (" + found[i]->id + ")"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace tensority::hwdetect
