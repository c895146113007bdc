// The device layer without a real backend: Registry with fake backends, SearchJob, Status.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel_test_util.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/kernels/hal/device.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::kernels::hal {
namespace {

class FakeDevice final : public Device {
 public:
  FakeDevice(std::string backend, std::string id) {
    info_.backend = std::move(backend);
    info_.id = std::move(id);
  }
  const DeviceInfo& info() const override { return info_; }
  Status create_worker(const WorkerOptions&, std::unique_ptr<Worker>&) override {
    return Status::error(StatusCode::unsupported, "fake");
  }

 private:
  DeviceInfo info_;
};

class FakeBackend final : public Backend {
 public:
  FakeBackend(std::string name, int devices) : name_(std::move(name)) {
    for (int i = 0; i < devices; ++i) devices_.push_back(std::make_shared<FakeDevice>(name_, name_ + ":" + std::to_string(i)));
  }
  std::string_view name() const override { return name_; }
  std::vector<std::shared_ptr<Device>> devices() override { return devices_; }

 private:
  std::string name_;
  std::vector<std::shared_ptr<Device>> devices_;
};

std::vector<std::string> ids(const std::vector<std::shared_ptr<Device>>& devices) {
  std::vector<std::string> out;
  for (const auto& d : devices) out.push_back(d->info().id);
  return out;
}

TEST(Registry, InstantiatesLazilyOnceInRegistrationOrder) {
  Registry r;
  int made_a = 0;
  int made_b = 0;
  r.add("alpha", [&] {
    ++made_a;
    return std::make_unique<FakeBackend>("alpha", 2);
  });
  r.add("beta", [&] {
    ++made_b;
    return std::make_unique<FakeBackend>("beta", 1);
  });
  EXPECT_EQ(r.backend_names(), (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(made_a + made_b, 0) << "backends must be instantiated lazily";
  const auto list = r.backends();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->name(), "alpha");
  EXPECT_EQ(list[1]->name(), "beta");
  r.backends();
  r.devices();
  EXPECT_EQ(made_a, 1);
  EXPECT_EQ(made_b, 1);
  EXPECT_EQ(r.backend("beta"), list[1]);
  EXPECT_EQ(r.backend("gamma"), nullptr);
  EXPECT_EQ(ids(r.devices()), (std::vector<std::string>{"alpha:0", "alpha:1", "beta:0"}));
}

TEST(Registry, SelectByBackendIdOrAll) {
  Registry r;
  r.add("alpha", [] { return std::make_unique<FakeBackend>("alpha", 2); });
  r.add("beta", [] { return std::make_unique<FakeBackend>("beta", 1); });
  r.add("empty", [] { return std::make_unique<FakeBackend>("empty", 0); });
  r.add("broken", [] { return std::unique_ptr<Backend>(); });  // a factory may fail

  auto all = r.select("all");
  ASSERT_TRUE(all) << all.error();
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"alpha:0", "alpha:1", "beta:0"}));

  auto alpha = r.select("alpha");
  ASSERT_TRUE(alpha) << alpha.error();
  EXPECT_EQ(ids(*alpha), (std::vector<std::string>{"alpha:0", "alpha:1"}));

  auto one = r.select("alpha:1");
  ASSERT_TRUE(one) << one.error();
  EXPECT_EQ(ids(*one), (std::vector<std::string>{"alpha:1"}));

  auto beta0 = r.select("beta:0");
  ASSERT_TRUE(beta0) << beta0.error();
  EXPECT_EQ(ids(*beta0), (std::vector<std::string>{"beta:0"}));

  auto empty = r.select("empty");
  EXPECT_FALSE(empty);

  auto unknown = r.select("gpu7");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("gpu7"), std::string::npos) << unknown.error();
  EXPECT_NE(unknown.error().find("alpha"), std::string::npos) << unknown.error();
  EXPECT_NE(unknown.error().find("beta"), std::string::npos) << unknown.error();

  EXPECT_FALSE(r.select(""));
  EXPECT_FALSE(r.select("alpha:2"));
  EXPECT_EQ(r.backends().size(), 3u) << "a factory returning null is left out";
}

TEST(SearchJob, BlockIdIsTheHeaderIdWithThatNonce) {
  test::TestRng rng(0x4A4F42ULL);
  core::BlockHeader header;
  header.version = 1;
  header.height = rng.next() >> 20;
  header.previous_block_id = rng.hash();
  header.timestamp = 1528945000;
  header.transactions_merkle_root = rng.hash();
  header.transaction_status_hash = rng.hash();
  header.nonce = rng.next();  // ignored: the job fills the nonce in
  header.bits = 0x20000000000ccccc;
  const core::Hash seed = rng.hash();
  const SearchJob job = SearchJob::from_header(header, seed);
  EXPECT_EQ(job.seed, seed);
  for (const std::uint64_t nonce : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0x0102030405060708},
                                    rng.next(), UINT64_MAX}) {
    core::BlockHeader h = header;
    h.nonce = nonce;
    EXPECT_EQ(core::to_hex(job.block_id(nonce)), core::to_hex(core::block_id(h))) << "nonce " << nonce;
  }
}

TEST(Status, SuccessErrorAndNames) {
  EXPECT_TRUE(Status::success().ok());
  EXPECT_TRUE(static_cast<bool>(Status::success()));
  const Status e = Status::error(StatusCode::not_prepared, "why");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.code, StatusCode::not_prepared);
  EXPECT_EQ(e.message, "why");
  for (const StatusCode c : {StatusCode::ok, StatusCode::invalid_argument, StatusCode::not_prepared,
                             StatusCode::unsupported, StatusCode::out_of_memory, StatusCode::device_error,
                             StatusCode::self_test_failed}) {
    EXPECT_FALSE(to_string(c).empty());
    EXPECT_NE(to_string(c), "unknown");
  }
}

}  // namespace
}  // namespace tensority::kernels::hal
