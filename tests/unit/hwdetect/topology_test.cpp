#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "linux_facts.hpp"
#include "tensority/hwdetect/topology.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

namespace tensority::hwdetect {
namespace {

namespace fs = std::filesystem;
using test::cpu_dir;
using test::online_cpus;
using test::read_line;
using test::sysfs_core_of;
using test::thread_affinity;

std::vector<unsigned> all_pus(const CpuTopology& t) {
  std::vector<unsigned> pus;
  for (const auto& c : t.cores) pus.insert(pus.end(), c.pus.begin(), c.pus.end());
  std::sort(pus.begin(), pus.end());
  return pus;
}

bool is_subset(const std::vector<unsigned>& small, const std::vector<unsigned>& big) {
  return std::all_of(small.begin(), small.end(),
                     [&](unsigned x) { return std::find(big.begin(), big.end(), x) != big.end(); });
}

#if defined(__linux__)
// Restores the calling thread's affinity when a test that pins it ends, so the
// tests after it (same process when the binary runs alone) are not confined.
class AffinityGuard {
 public:
  AffinityGuard() {
    CPU_ZERO(&saved_);
    ok_ = sched_getaffinity(0, sizeof saved_, &saved_) == 0;
  }
  ~AffinityGuard() {
    if (ok_) sched_setaffinity(0, sizeof saved_, &saved_);
  }
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;

 private:
  cpu_set_t saved_{};
  bool ok_ = false;
};
#endif

TEST(Topology, ComesFromHwloc) {
  const CpuTopology t = detect_topology();
  EXPECT_EQ(t.source, "hwloc") << (t.notes.empty() ? std::string() : t.notes.front());
  EXPECT_GE(t.package_count, 1u);
  EXPECT_GE(t.core_count, 1u);
  EXPECT_GE(t.thread_count, t.core_count);
  EXPECT_EQ(t.cores.size(), t.core_count);
}

TEST(Topology, CoresPartitionTheHardwareThreads) {
  const CpuTopology t = detect_topology();
  const auto pus = all_pus(t);
  EXPECT_EQ(pus.size(), t.thread_count);
  EXPECT_EQ(std::adjacent_find(pus.begin(), pus.end()), pus.end()) << "a PU belongs to two cores";
  for (std::size_t i = 0; i < t.cores.size(); ++i) {
    EXPECT_EQ(t.cores[i].index, i);
    EXPECT_FALSE(t.cores[i].pus.empty()) << "core " << i;
    EXPECT_LT(t.cores[i].package, t.package_count) << "core " << i;
  }
}

TEST(Topology, ThreadsAgreeWithTheKernel) {
  const auto online = online_cpus();
  if (online.empty()) GTEST_SKIP() << "no /sys/devices/system/cpu/online";
  const CpuTopology t = detect_topology();
  const auto pus = all_pus(t);
  const auto affinity = thread_affinity();
  // hwloc lists what the cgroup allows, which contains this thread's affinity
  // and is contained in the online CPUs.
  EXPECT_TRUE(is_subset(affinity, pus));
  EXPECT_TRUE(is_subset(pus, online));
  if (affinity.size() == online.size()) {
    EXPECT_EQ(t.thread_count, online.size());
    EXPECT_EQ(t.thread_count, std::thread::hardware_concurrency());
  }
}

TEST(Topology, CoresGroupThreadsAsSysfsDoes) {
  const CpuTopology t = detect_topology();
  if (t.cores.empty() || !sysfs_core_of(t.cores.front().pus.front())) GTEST_SKIP() << "no sysfs topology";
  std::set<std::pair<int, int>> seen;
  std::set<int> packages;
  for (const auto& core : t.cores) {
    const auto id = sysfs_core_of(core.pus.front());
    ASSERT_TRUE(id.has_value());
    for (const unsigned pu : core.pus) EXPECT_EQ(sysfs_core_of(pu), id) << "PU " << pu << " of core " << core.index;
    EXPECT_TRUE(seen.insert(*id).second) << "two hwloc cores are one sysfs core (" << id->first << ", "
                                         << id->second << ")";
    packages.insert(id->first);
  }
  EXPECT_EQ(packages.size(), t.package_count);
}

TEST(Topology, CachesAreSaneAndNested) {
  const CpuTopology t = detect_topology();
  ASSERT_FALSE(t.caches.empty()) << "hwloc reported no caches";
  std::map<unsigned, std::uint64_t> largest_data_cache;  // per level, data or unified
  std::map<std::pair<unsigned, CacheKind>, unsigned> cores_covered;
  for (const auto& c : t.caches) {
    SCOPED_TRACE(testing::Message() << 'L' << c.level << ' ' << to_string(c.kind));
    EXPECT_GE(c.level, 1u);
    EXPECT_GT(c.size_bytes, 0u);
    EXPECT_GT(c.line_bytes, 0u);
    EXPECT_GE(c.count, 1u);
    EXPECT_GE(c.cores_per_instance, 1u);
    cores_covered[{c.level, c.kind}] += c.count * c.cores_per_instance;
    if (c.kind != CacheKind::instruction) {
      auto& m = largest_data_cache[c.level];
      m = std::max(m, c.size_bytes);
    }
  }
  for (const auto& [key, covered] : cores_covered) {
    EXPECT_EQ(covered, t.core_count) << "L" << key.first << " " << to_string(key.second)
                                     << " instances do not cover each core exactly once";
  }
  ASSERT_TRUE(largest_data_cache.count(1)) << "no L1 data cache";
  if (largest_data_cache.count(2)) {
    EXPECT_LT(largest_data_cache[1], largest_data_cache[2]);
  }
  if (largest_data_cache.count(2) && largest_data_cache.count(3)) {
    EXPECT_LE(largest_data_cache[2], largest_data_cache[3]);
  }
  EXPECT_TRUE(std::is_sorted(t.caches.begin(), t.caches.end(),
                             [](const CacheInfo& a, const CacheInfo& b) { return a.level < b.level; }));
}

TEST(Topology, CachesMatchSysfs) {
  const CpuTopology t = detect_topology();
  if (t.cores.empty()) GTEST_SKIP();
  const unsigned cpu = t.cores.front().pus.front();
  const fs::path dir = cpu_dir(cpu) + "/cache";
  if (!fs::exists(dir)) GTEST_SKIP() << "no " << dir;
  const auto pus = all_pus(t);
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("index", 0) != 0) continue;
    const auto level = read_line(entry.path() / "level");
    const auto type = read_line(entry.path() / "type");
    const auto size = read_line(entry.path() / "size");
    const auto line = read_line(entry.path() / "coherency_line_size");
    if (!level || !type || !size || !line) continue;
    const CacheKind kind = *type == "Data" ? CacheKind::data
                           : *type == "Instruction" ? CacheKind::instruction
                                                    : CacheKind::unified;
    // Instances of this cache across the machine: distinct shared_cpu_list values.
    std::set<std::string> instances;
    for (const unsigned pu : pus) {
      if (auto shared = read_line(cpu_dir(pu) + "/cache/" + name + "/shared_cpu_list")) instances.insert(*shared);
    }
    SCOPED_TRACE(name + ": L" + *level + " " + *type + " " + *size);
    const auto it = std::find_if(t.caches.begin(), t.caches.end(), [&](const CacheInfo& c) {
      return std::to_string(c.level) == *level && c.kind == kind &&
             c.size_bytes == test::parse_sysfs_size(*size);
    });
    ASSERT_NE(it, t.caches.end()) << "sysfs cache missing from the topology";
    EXPECT_EQ(std::to_string(it->line_bytes), *line);
    EXPECT_EQ(it->count, instances.size());
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(Topology, NumaNodesCoverTheCores) {
  const CpuTopology t = detect_topology();
  ASSERT_FALSE(t.numa_nodes.empty());
  std::vector<unsigned> node_pus;
  std::set<int> ids;
  for (const auto& n : t.numa_nodes) {
    EXPECT_GT(n.memory_bytes, 0u) << "node " << n.os_index;
    node_pus.insert(node_pus.end(), n.pus.begin(), n.pus.end());
    ids.insert(static_cast<int>(n.os_index));
  }
  std::sort(node_pus.begin(), node_pus.end());
  EXPECT_EQ(node_pus, all_pus(t));
  for (const auto& c : t.cores) EXPECT_TRUE(ids.count(c.numa_node)) << "core " << c.index;
  if (const auto online = read_line("/sys/devices/system/node/online")) {
    EXPECT_LE(t.numa_nodes.size(), test::parse_cpu_list(*online).size());
  }
}

#if defined(__linux__)

TEST(Binding, CoreZeroPinsToItsThreadsOrSaysWhy) {
  const AffinityGuard guard;
  const CpuTopology t = detect_topology();
  const BindResult r = bind_current_thread_to_core(0);
  if (!r) {
    EXPECT_FALSE(r.reason.empty());
    GTEST_SKIP() << "binding refused: " << r.reason;
  }
  EXPECT_TRUE(r.reason.empty());
  EXPECT_EQ(thread_affinity(), t.cores.front().pus);
}

TEST(Binding, EveryCoreCanBeTargeted) {
  const AffinityGuard guard;
  const CpuTopology t = detect_topology();
  for (const auto& core : t.cores) {
    const BindResult r = bind_current_thread_to_core(core.index);
    if (!r) GTEST_SKIP() << "binding refused: " << r.reason;
    EXPECT_EQ(thread_affinity(), core.pus) << "core " << core.index;
  }
}

TEST(Binding, MissingCoreIsRefusedWithAReason) {
  const AffinityGuard guard;
  const auto before = thread_affinity();
  const BindResult r = bind_current_thread_to_core(detect_topology().cores.size());
  EXPECT_FALSE(r.bound);
  EXPECT_NE(r.reason.find("does not exist"), std::string::npos) << r.reason;
  EXPECT_EQ(thread_affinity(), before);
}

TEST(AllowedCores, MatchTheAffinityMask) {
  // Distinct sysfs cores among the CPUs this (single-threaded) process may use.
  std::set<std::pair<int, int>> cores;
  for (const unsigned cpu : thread_affinity()) {
    const auto id = sysfs_core_of(cpu);
    if (!id) GTEST_SKIP() << "no sysfs topology for cpu " << cpu;
    cores.insert(*id);
  }
  EXPECT_EQ(allowed_core_count(), cores.size());
}

TEST(AllowedCores, FollowTheUnionOfThreadAffinities) {
  const CpuTopology t = detect_topology();
  if (t.core_count < 2) GTEST_SKIP() << "needs two cores";
  const unsigned before = allowed_core_count();
  if (before != t.core_count) GTEST_SKIP() << "the test process already runs confined (taskset?)";
  // Threads a GPU runtime started once a probe ran (PoCL's workers, the CUDA
  // driver's) keep the process able to run everywhere, so the last check below
  // only holds while this thread is the only one.
  std::error_code ec;
  const auto tasks = std::distance(fs::directory_iterator("/proc/self/task", ec), fs::directory_iterator());
  if (ec || tasks != 1) GTEST_SKIP() << "other threads are running in this process (" << tasks << " in all)";

  const AffinityGuard guard;
  // An unpinned second thread keeps the process able to run everywhere.
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::thread helper([&] {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return release; });
  });
  const BindResult r = bind_current_thread_to_core(0);
  const unsigned with_helper = allowed_core_count();
  {
    const std::lock_guard lock(m);
    release = true;
  }
  cv.notify_one();
  helper.join();
  if (!r) GTEST_SKIP() << "binding refused: " << r.reason;
  EXPECT_EQ(with_helper, before);
  // With only the pinned thread left, the process is confined to core 0.
  EXPECT_EQ(allowed_core_count(), 1u);
}

#endif

}  // namespace
}  // namespace tensority::hwdetect
