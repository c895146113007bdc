// The tuning state file and the batch search, and `--device all` de-duplication.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "tensority/kernels/hal/paths.hpp"
#include "tensority/kernels/hal/registry.hpp"
#include "tensority/kernels/hal/tuning.hpp"

namespace tensority::kernels::hal {
namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tensority-" + name + "-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
              std::to_string(std::rand()));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(TuningStore, SavesLoadsAndKeepsOtherEntries) {
  const auto dir = fresh_dir("tuning");
  TuningStore store(dir / "state" / "tuning.json");
  EXPECT_FALSE(store.load("a").has_value());
  ASSERT_TRUE(store.save("a", {{"batch", 64}}).ok());
  ASSERT_TRUE(store.save("b", {{"batch", 128}}).ok());
  ASSERT_TRUE(store.load("a").has_value());
  EXPECT_EQ((*store.load("a"))["batch"], 64);
  EXPECT_EQ((*store.load("b"))["batch"], 128);
  // A second store on the same file sees what the first wrote.
  TuningStore again(dir / "state" / "tuning.json");
  EXPECT_EQ((*again.load("b"))["batch"], 128);
  std::filesystem::remove_all(dir);
}

TEST(TuningStore, ADamagedFileCostsARetuneNotAFailure) {
  const auto dir = fresh_dir("tuning-bad");
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "tuning.json") << "{ not json"; }
  TuningStore store(dir / "tuning.json");
  EXPECT_FALSE(store.load("a").has_value());
  ASSERT_TRUE(store.save("a", {{"batch", 8}}).ok());
  EXPECT_EQ((*store.load("a"))["batch"], 8);
  std::filesystem::remove_all(dir);
}

TEST(TuningStore, KeyChangesWithDriverAndKernel) {
  DeviceInfo info;
  info.backend = "cuda";
  info.id = "cuda:0";
  info.stable_id = "0000:3b:00.0";
  info.name = "GPU";
  info.driver_version = "13.0";
  const auto k1 = tuning_key(info, "imma");
  EXPECT_NE(k1, tuning_key(info, "dp4a"));
  info.driver_version = "13.1";
  EXPECT_NE(k1, tuning_key(info, "imma"));
}

TEST(Paths, EnvironmentOverridesWin) {
  ::setenv("TENSORITY_STATE_DIR", "/tmp/tensority-state-test", 1);
  ::setenv("TENSORITY_CACHE_DIR", "/tmp/tensority-cache-test", 1);
  EXPECT_EQ(state_directory(), std::filesystem::path("/tmp/tensority-state-test"));
  EXPECT_EQ(cache_directory(), std::filesystem::path("/tmp/tensority-cache-test"));
  ::unsetenv("TENSORITY_STATE_DIR");
  ::unsetenv("TENSORITY_CACHE_DIR");
  ::setenv("XDG_STATE_HOME", "/tmp/xdg-state", 1);
  EXPECT_EQ(state_directory(), std::filesystem::path("/tmp/xdg-state/tensority"));
  ::unsetenv("XDG_STATE_HOME");
}

TEST(Autotune, DoublesWhileItPaysAndKeepsTheBest) {
  // A device that saturates at 64: rate grows linearly, then flat.
  std::map<std::uint64_t, int> calls;
  auto measure = [&](std::uint64_t batch) -> core::Result<double> {
    ++calls[batch];
    return static_cast<double>(std::min<std::uint64_t>(batch, 64)) * 10.0;
  };
  auto r = autotune_batch(8, 4096, measure);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->batch, 64u);
  EXPECT_EQ(calls.count(128), 1u);  // one step past the knee to see it flatten
  EXPECT_EQ(calls.count(256), 0u);
  EXPECT_EQ(r->trials.size(), 5u);
}

TEST(Autotune, StopsAtTheLimitAndAtTheFirstFailure) {
  auto grows = [](std::uint64_t batch) -> core::Result<double> { return static_cast<double>(batch); };
  auto r = autotune_batch(8, 100, grows);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batch, 64u);
  auto oom = [](std::uint64_t batch) -> core::Result<double> {
    if (batch > 32) return core::Result<double>::failure("out of memory");
    return static_cast<double>(batch);
  };
  r = autotune_batch(8, 4096, oom);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batch, 32u);
  auto broken = [](std::uint64_t) -> core::Result<double> { return core::Result<double>::failure("launch failed"); };
  r = autotune_batch(8, 4096, broken);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("launch failed"), std::string::npos);
}

class OneDevice final : public Device {
 public:
  OneDevice(std::string backend, std::string id, std::string stable, bool in_all) {
    info_.backend = std::move(backend);
    info_.id = std::move(id);
    info_.stable_id = std::move(stable);
    info_.in_all = in_all;
  }
  const DeviceInfo& info() const override { return info_; }
  Status create_worker(const WorkerOptions&, std::unique_ptr<Worker>&) override {
    return Status::error(StatusCode::unsupported, "test device");
  }

 private:
  DeviceInfo info_;
};

class ListBackend final : public Backend {
 public:
  ListBackend(std::string name, std::vector<std::shared_ptr<Device>> d) : name_(std::move(name)), devices_(std::move(d)) {}
  std::string_view name() const override { return name_; }
  std::vector<std::shared_ptr<Device>> devices() override { return devices_; }

 private:
  std::string name_;
  std::vector<std::shared_ptr<Device>> devices_;
};

TEST(RegistryAll, SkipsSecondViewsOfOneGpuAndOptOutDevices) {
  Registry r;
  r.add("cuda", [] {
    return std::make_unique<ListBackend>(
        "cuda", std::vector<std::shared_ptr<Device>>{std::make_shared<OneDevice>("cuda", "cuda:0", "0000:3b:00.0", true)});
  });
  r.add("opencl", [] {
    return std::make_unique<ListBackend>(
        "opencl", std::vector<std::shared_ptr<Device>>{
                      std::make_shared<OneDevice>("opencl", "opencl:0:0", "0000:3b:00.0", true),
                      std::make_shared<OneDevice>("opencl", "opencl:1:0", "opencl:pocl:cpu", false),
                      std::make_shared<OneDevice>("opencl", "opencl:2:0", "0000:5e:00.0", true)});
  });
  auto all = r.select("all");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0]->info().id, "cuda:0");
  EXPECT_EQ((*all)[1]->info().id, "opencl:2:0");
  // Named explicitly, every device is still reachable.
  auto one = r.select("opencl:1:0");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)[0]->info().id, "opencl:1:0");
  EXPECT_EQ(r.select("opencl")->size(), 3u);
}

}  // namespace
}  // namespace tensority::kernels::hal
