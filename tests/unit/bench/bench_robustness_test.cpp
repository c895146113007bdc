// bench::run with several devices: one that fails its self-test is disabled with its
// reason, one that fails mid-run stops with its reason, and the healthy CPU device's
// figures still come back. With a single device selected, its failure is the result.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "tensority/bench/bench.hpp"
#include "tensority/kernels/cpu/backend.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::bench {
namespace {

using kernels::hal::Status;
using kernels::hal::StatusCode;

// A device whose worker answers like a broken GPU: a wrong self-test, or a launch
// failure after some hashes.
class BrokenWorker final : public kernels::hal::Worker {
 public:
  BrokenWorker(kernels::hal::DeviceInfo info, bool fail_self_test) : info_(std::move(info)), fail_self_test_(fail_self_test) {}
  const kernels::hal::DeviceInfo& device() const override { return info_; }
  std::string kernel_name() const override { return "broken"; }
  unsigned parallelism() const override { return 1; }
  Status prepare(const core::Hash&) override { return Status::success(); }
  Status search(const kernels::hal::SearchJob&, std::uint64_t, std::uint64_t, const core::Target256&,
                kernels::hal::SearchResult& out, const std::atomic<bool>*) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out.hashes_done += 3;
    hashes_ += 3;
    return Status::error(StatusCode::device_error, "unspecified launch failure");
  }
  Status hash(const core::Hash&, core::Hash& result) override {
    result = {};
    return Status::success();
  }
  Status self_test(std::string& report) override {
    report = "test";
    if (fail_self_test_) return Status::error(StatusCode::self_test_failed, "mainnet genesis: expected 3a9d..., got 0000...");
    return Status::success();
  }
  std::uint64_t hashes_total() const override { return hashes_; }

 private:
  kernels::hal::DeviceInfo info_;
  bool fail_self_test_;
  std::atomic<std::uint64_t> hashes_{0};
};

class BrokenDevice final : public kernels::hal::Device {
 public:
  BrokenDevice(std::string id, bool fail_self_test) : fail_self_test_(fail_self_test) {
    info_.backend = "fake";
    info_.id = std::move(id);
    info_.name = "broken GPU";
  }
  const kernels::hal::DeviceInfo& info() const override { return info_; }
  Status create_worker(const kernels::hal::WorkerOptions&, std::unique_ptr<kernels::hal::Worker>& out) override {
    out = std::make_unique<BrokenWorker>(info_, fail_self_test_);
    return Status::success();
  }

 private:
  kernels::hal::DeviceInfo info_;
  bool fail_self_test_;
};

class FakeBackend final : public kernels::hal::Backend {
 public:
  std::string_view name() const override { return "fake"; }
  std::vector<std::shared_ptr<kernels::hal::Device>> devices() override {
    return {std::make_shared<BrokenDevice>("fake:0", true), std::make_shared<BrokenDevice>("fake:1", false)};
  }
};

kernels::hal::Registry registry_with_broken_devices() {
  kernels::hal::Registry r;
  r.add("cpu", [] { return kernels::cpu::make_backend(kernels::cpu::shared_cache_store()); });
  r.add("fake", [] { return std::make_unique<FakeBackend>(); });
  return r;
}

TEST(BenchRobustness, BrokenDevicesAreSetAsideAndTheRestIsMeasured) {
  auto registry = registry_with_broken_devices();
  Options o;
  o.device = "all";
  o.threads = 1;
  o.seconds = 0.5;
  auto r = run(registry, o);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->devices.size(), 3u);
  int healthy = 0;
  for (const auto& d : r->devices) {
    if (d.device_id == "cpu:0") {
      EXPECT_TRUE(d.error.empty()) << d.error;
      EXPECT_GT(d.hashes, 0u);
      ++healthy;
    } else if (d.device_id == "fake:0") {
      EXPECT_NE(d.error.find("self-test failed"), std::string::npos) << d.error;
    } else {
      EXPECT_EQ(d.device_id, "fake:1");
      EXPECT_NE(d.error.find("unspecified launch failure"), std::string::npos) << d.error;
    }
  }
  EXPECT_EQ(healthy, 1);
  EXPECT_GT(r->hashes_per_second, 0.0);
}

TEST(BenchRobustness, ASingleFailingDeviceIsTheResult) {
  auto registry = registry_with_broken_devices();
  Options o;
  o.device = "fake:0";
  o.seconds = 0.2;
  auto r = run(registry, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("fake:0: self-test failed"), std::string::npos) << r.error();
  o.device = "fake:1";
  r = run(registry, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("unspecified launch failure"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace tensority::bench
