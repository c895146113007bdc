#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tensority/hwdetect/system.hpp"

namespace tensority::hwdetect {
namespace {

// Test-only probes: they exercise the registry the CUDA and OpenCL probes will use.
class FakeGpuProbe final : public AcceleratorProbe {
 public:
  [[nodiscard]] std::string_view name() const override { return "fakegpu"; }
  [[nodiscard]] ProbeResult probe() override {
    ++calls;
    ProbeResult r;
    AcceleratorInfo a;
    a.id = "0000:65:00.0";
    a.name = "Fake Tensor Card";
    a.vendor = "Test Vendor";
    a.driver_version = "1.2.3";
    a.memory_bytes = 24ull << 30;
    a.compute_units = 84;
    a.clock_mhz = 1800;
    a.properties["compute_capability"] = "8.6";
    r.devices.push_back(a);
    a.api = "opencl";  // a probe may report devices of another API explicitly
    a.id = "0000:b3:00.0";
    a.properties.clear();
    r.devices.push_back(a);
    r.notes.emplace_back("second device is slow");
    return r;
  }
  int calls = 0;
};

class BrokenProbe final : public AcceleratorProbe {
 public:
  [[nodiscard]] std::string_view name() const override { return "broken"; }
  [[nodiscard]] ProbeResult probe() override {
    ProbeResult r = ProbeResult::failure("driver not found");
    r.devices.push_back(AcceleratorInfo{});  // ignored because the probe failed
    return r;
  }
};

class ThrowingProbe final : public AcceleratorProbe {
 public:
  [[nodiscard]] std::string_view name() const override { return "throwing"; }
  [[nodiscard]] ProbeResult probe() override { throw std::runtime_error("boom"); }
};

// Registered by a static object, the way a backend folder registers its probe.
class StaticProbe final : public AcceleratorProbe {
 public:
  [[nodiscard]] std::string_view name() const override { return "static-test"; }
  [[nodiscard]] ProbeResult probe() override {
    ProbeResult r;
    r.devices.push_back(AcceleratorInfo{"static", "static-0", "Static Device", "", "", 0, 0, 0, {}});
    return r;
  }
};
const ProbeRegistration<StaticProbe> kStaticProbe;

// Unregisters on scope exit so one test's probes do not leak into the next
// when the whole binary runs in one process.
class ScopedProbe {
 public:
  explicit ScopedProbe(std::unique_ptr<AcceleratorProbe> p) : name_(p->name()) {
    registered_ = register_probe(std::move(p));
  }
  ~ScopedProbe() {
    if (registered_) unregister_probe(name_);
  }
  ScopedProbe(const ScopedProbe&) = delete;
  ScopedProbe& operator=(const ScopedProbe&) = delete;
  [[nodiscard]] bool registered() const { return registered_; }

 private:
  std::string name_;
  bool registered_ = false;
};

const AcceleratorInfo* find_device(const SystemInfo& s, const std::string& id) {
  const auto it = std::find_if(s.accelerators.begin(), s.accelerators.end(),
                               [&](const AcceleratorInfo& a) { return a.id == id; });
  return it == s.accelerators.end() ? nullptr : &*it;
}

bool has_note(const SystemInfo& s, const std::string& text) {
  return std::find(s.notes.begin(), s.notes.end(), text) != s.notes.end();
}

TEST(Registry, StaticRegistrationRuns) {
  EXPECT_TRUE(kStaticProbe.registered());
  const auto names = registered_probe_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "static-test"), names.end());
  const SystemInfo s = detect_system();
  const AcceleratorInfo* d = find_device(s, "static-0");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->api, "static");
}

TEST(Registry, RegisteredProbeDevicesAppearInDetectSystem) {
  auto owned = std::make_unique<FakeGpuProbe>();
  FakeGpuProbe* probe = owned.get();
  const ScopedProbe scoped(std::move(owned));
  ASSERT_TRUE(scoped.registered());

  const SystemInfo s = detect_system();
  EXPECT_EQ(probe->calls, 1);
  const AcceleratorInfo* first = find_device(s, "0000:65:00.0");
  const AcceleratorInfo* second = find_device(s, "0000:b3:00.0");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->api, "fakegpu") << "an empty api takes the probe's name";
  EXPECT_EQ(second->api, "opencl");
  EXPECT_EQ(first->name, "Fake Tensor Card");
  EXPECT_EQ(first->memory_bytes, 24ull << 30);
  EXPECT_EQ(first->compute_units, 84u);
  EXPECT_EQ(first->clock_mhz, 1800u);
  EXPECT_EQ(first->properties.at("compute_capability"), "8.6");
  EXPECT_TRUE(has_note(s, "fakegpu: second device is slow"));
}

TEST(Registry, UnregisteredProbeIsNoLongerRun) {
  {
    const ScopedProbe scoped(std::make_unique<FakeGpuProbe>());
    ASSERT_NE(find_device(detect_system(), "0000:65:00.0"), nullptr);
  }
  const auto names = registered_probe_names();
  EXPECT_EQ(std::find(names.begin(), names.end(), "fakegpu"), names.end());
  EXPECT_EQ(find_device(detect_system(), "0000:65:00.0"), nullptr);
  EXPECT_EQ(unregister_probe("fakegpu"), nullptr);
}

TEST(Registry, DuplicateNameIsRejected) {
  const ScopedProbe scoped(std::make_unique<FakeGpuProbe>());
  ASSERT_TRUE(scoped.registered());
  EXPECT_FALSE(register_probe(std::make_unique<FakeGpuProbe>()));
  EXPECT_FALSE(register_probe(nullptr));
  const SystemInfo s = detect_system();
  EXPECT_EQ(std::count_if(s.accelerators.begin(), s.accelerators.end(),
                          [](const AcceleratorInfo& a) { return a.id == "0000:65:00.0"; }),
            1);
}

TEST(Registry, FailuresBecomeNotesAndDoNotStopOtherProbes) {
  const ScopedProbe broken(std::make_unique<BrokenProbe>());
  const ScopedProbe throwing(std::make_unique<ThrowingProbe>());
  const ScopedProbe fake(std::make_unique<FakeGpuProbe>());
  const SystemInfo s = detect_system();
  EXPECT_TRUE(has_note(s, "broken: driver not found"));
  EXPECT_TRUE(has_note(s, "throwing: probe threw: boom"));
  EXPECT_NE(find_device(s, "0000:65:00.0"), nullptr) << "a probe after a failing one still runs";
  EXPECT_EQ(find_device(s, ""), nullptr) << "a failed probe's devices were kept";
}

TEST(DetectSystem, CarriesCpuFacts) {
  const SystemInfo s = detect_system();
  EXPECT_EQ(s.cpu.features, detect_cpu_features());
  EXPECT_EQ(s.cpu.identity.brand, detect_cpu_identity().brand);
  EXPECT_EQ(s.cpu.topology.core_count, detect_topology().core_count);
  for (const auto& note : s.cpu.topology.notes) EXPECT_TRUE(has_note(s, note)) << note;
}

TEST(Json, HasTheDocumentedShape) {
  const ScopedProbe fake(std::make_unique<FakeGpuProbe>());
  const SystemInfo s = detect_system();
  // Through text and back, as `tensority devices --json` consumers see it.
  const nlohmann::json j = nlohmann::json::parse(to_json(s).dump());

  ASSERT_TRUE(j.is_object());
  for (const char* key : {"cpu", "accelerators", "notes"}) EXPECT_TRUE(j.contains(key)) << key;
  const auto& cpu = j.at("cpu");
  for (const char* key : {"vendor", "brand", "family", "model", "stepping", "features", "topology"}) {
    EXPECT_TRUE(cpu.contains(key)) << "cpu." << key;
  }
  EXPECT_EQ(cpu.at("brand"), s.cpu.identity.brand);
  EXPECT_EQ(cpu.at("family"), s.cpu.identity.family);
  std::vector<std::string> features;
  for (const auto name : s.cpu.features.names()) features.emplace_back(name);
  EXPECT_EQ(cpu.at("features").get<std::vector<std::string>>(), features);

  const auto& topo = cpu.at("topology");
  EXPECT_EQ(topo.at("source"), s.cpu.topology.source);
  EXPECT_EQ(topo.at("package_count"), s.cpu.topology.package_count);
  EXPECT_EQ(topo.at("core_count"), s.cpu.topology.core_count);
  EXPECT_EQ(topo.at("thread_count"), s.cpu.topology.thread_count);
  ASSERT_EQ(topo.at("cores").size(), s.cpu.topology.cores.size());
  ASSERT_FALSE(topo.at("cores").empty());
  EXPECT_EQ(topo.at("cores")[0].at("pus").get<std::vector<unsigned>>(), s.cpu.topology.cores[0].pus);
  ASSERT_EQ(topo.at("caches").size(), s.cpu.topology.caches.size());
  for (const auto& c : topo.at("caches")) {
    for (const char* key : {"level", "kind", "size_bytes", "line_bytes", "count", "cores_per_instance"}) {
      EXPECT_TRUE(c.contains(key)) << "cache." << key;
    }
    const std::string kind = c.at("kind");
    EXPECT_TRUE(kind == "data" || kind == "instruction" || kind == "unified") << kind;
  }
  ASSERT_EQ(topo.at("numa_nodes").size(), s.cpu.topology.numa_nodes.size());

  const auto& accs = j.at("accelerators");
  ASSERT_EQ(accs.size(), s.accelerators.size());
  const auto gpu = std::find_if(accs.begin(), accs.end(), [](const auto& a) { return a.at("id") == "0000:65:00.0"; });
  ASSERT_NE(gpu, accs.end());
  for (const char* key : {"api", "id", "name", "vendor", "driver_version", "memory_bytes", "compute_units",
                          "clock_mhz", "properties"}) {
    EXPECT_TRUE(gpu->contains(key)) << "accelerator." << key;
  }
  EXPECT_EQ(gpu->at("memory_bytes").get<std::uint64_t>(), 24ull << 30);
  EXPECT_EQ(gpu->at("properties").at("compute_capability"), "8.6");
  EXPECT_EQ(j.at("notes").get<std::vector<std::string>>(), s.notes);
}

TEST(Summary, MentionsWhatWasFound) {
  const ScopedProbe fake(std::make_unique<FakeGpuProbe>());
  const ScopedProbe broken(std::make_unique<BrokenProbe>());
  const SystemInfo s = detect_system();
  const std::string text = format_summary(s);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  if (!s.cpu.identity.brand.empty()) {
    EXPECT_NE(text.find(s.cpu.identity.brand), std::string::npos);
  }
  const std::string counts = std::to_string(s.cpu.topology.core_count) + " core";
  EXPECT_NE(text.find(counts), std::string::npos) << text;
  EXPECT_NE(text.find("Fake Tensor Card (0000:65:00.0)"), std::string::npos) << text;
  EXPECT_NE(text.find("24 GiB"), std::string::npos) << text;
  EXPECT_NE(text.find("broken: driver not found"), std::string::npos) << text;
  for (const auto name : s.cpu.features.names()) EXPECT_NE(text.find(std::string(name)), std::string::npos);
  if (!s.cpu.topology.caches.empty()) {
    EXPECT_NE(text.find("L1"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace tensority::hwdetect
