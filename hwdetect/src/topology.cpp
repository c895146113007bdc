#include "tensority/hwdetect/topology.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>

#include <hwloc.h>

#if HWLOC_API_VERSION < 0x00020000
#error "hwdetect needs hwloc 2.x: NUMA nodes as memory children and cache type filters"
#endif

namespace tensority::hwdetect {
namespace {

struct BitmapFree {
  void operator()(hwloc_bitmap_s* b) const { hwloc_bitmap_free(b); }
};
using Bitmap = std::unique_ptr<hwloc_bitmap_s, BitmapFree>;

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::vector<unsigned> os_indices(hwloc_const_cpuset_t set) {
  std::vector<unsigned> out;
  for (int i = hwloc_bitmap_first(set); i != -1; i = hwloc_bitmap_next(set, i)) {
    out.push_back(static_cast<unsigned>(i));
  }
  return out;
}

CacheKind cache_kind(hwloc_obj_cache_type_t t) {
  switch (t) {
    case HWLOC_OBJ_CACHE_DATA: return CacheKind::data;
    case HWLOC_OBJ_CACHE_INSTRUCTION: return CacheKind::instruction;
    case HWLOC_OBJ_CACHE_UNIFIED: break;
  }
  return CacheKind::unified;
}

CpuTopology fallback_topology(std::string why) {
  CpuTopology out;
  out.source = "fallback";
  out.notes.push_back(std::move(why));
  unsigned n = std::thread::hardware_concurrency();
  if (n == 0) {
    out.notes.emplace_back("topology: std::thread::hardware_concurrency() returned 0; assuming 1 thread");
    n = 1;
  }
  out.package_count = 1;
  out.core_count = n;
  out.thread_count = n;
  out.notes.push_back("topology: using std::thread::hardware_concurrency() = " + std::to_string(n) +
                      " as the core count; SMT, caches and NUMA are unknown");
  return out;
}

std::vector<CacheInfo> collect_caches(hwloc_topology_t t, int core_depth) {
  std::vector<CacheInfo> caches;
  const int depth_count = hwloc_topology_get_depth(t);
  for (int depth = 0; depth < depth_count; ++depth) {
    if (!hwloc_obj_type_is_cache(hwloc_get_depth_type(t, depth))) continue;
    const unsigned n = hwloc_get_nbobjs_by_depth(t, depth);
    for (unsigned i = 0; i < n; ++i) {
      const hwloc_obj_t obj = hwloc_get_obj_by_depth(t, depth, i);
      const auto& attr = obj->attr->cache;
      CacheInfo c;
      c.level = attr.depth;
      c.kind = cache_kind(attr.type);
      c.size_bytes = attr.size;
      c.line_bytes = attr.linesize;
      c.cores_per_instance = static_cast<unsigned>(
          hwloc_get_nbobjs_inside_cpuset_by_depth(t, obj->cpuset, core_depth));
      const auto same_shape = [&](const CacheInfo& e) {
        return e.level == c.level && e.kind == c.kind && e.size_bytes == c.size_bytes &&
               e.line_bytes == c.line_bytes && e.cores_per_instance == c.cores_per_instance;
      };
      if (auto it = std::find_if(caches.begin(), caches.end(), same_shape); it != caches.end()) {
        ++it->count;
      } else {
        c.count = 1;
        caches.push_back(c);
      }
    }
  }
  std::sort(caches.begin(), caches.end(), [](const CacheInfo& a, const CacheInfo& b) {
    return std::tie(a.level, a.kind, a.size_bytes) < std::tie(b.level, b.kind, b.size_bytes);
  });
  return caches;
}

CpuTopology describe(hwloc_topology_t t, int core_depth) {
  CpuTopology out;
  out.source = "hwloc";
  out.thread_count = static_cast<unsigned>(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU));
  if (hwloc_get_type_depth(t, HWLOC_OBJ_CORE) < 0) {
    out.notes.emplace_back("hwloc: no core objects reported; treating each hardware thread as a core");
  }

  for (hwloc_obj_t node = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, nullptr); node != nullptr;
       node = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, node)) {
    NumaNodeInfo n;
    n.os_index = node->os_index;
    n.memory_bytes = node->attr->numanode.local_memory;
    n.pus = os_indices(node->cpuset);
    out.numa_nodes.push_back(std::move(n));
  }

  const unsigned ncores = hwloc_get_nbobjs_by_depth(t, core_depth);
  for (unsigned i = 0; i < ncores; ++i) {
    const hwloc_obj_t core = hwloc_get_obj_by_depth(t, core_depth, i);
    CoreInfo c;
    c.index = i;
    if (const hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, core)) {
      c.package = pkg->logical_index;
    }
    for (hwloc_obj_t node = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, nullptr); node != nullptr;
         node = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, node)) {
      if (hwloc_bitmap_isincluded(core->cpuset, node->cpuset)) {
        c.numa_node = static_cast<int>(node->os_index);
        break;
      }
    }
    c.pus = os_indices(core->cpuset);
    out.cores.push_back(std::move(c));
  }
  out.core_count = ncores;

  const int packages = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
  if (packages > 0) {
    out.package_count = static_cast<unsigned>(packages);
  } else {
    // Some platforms (several ARM boards, odd hypervisors) expose no package
    // information; one package is the only reading consistent with the cores seen.
    out.package_count = 1;
    out.notes.emplace_back("hwloc: no package objects reported; assuming 1 package");
  }

  out.caches = collect_caches(t, core_depth);
  return out;
}

// One hwloc topology per process: loading it reads sysfs and costs milliseconds,
// and binding needs the same object afterwards. hwloc allows concurrent
// read-only use, which is all that happens after construction.
class LoadedTopology {
 public:
  LoadedTopology() {
    const unsigned runtime_api = hwloc_get_api_version();
    if ((runtime_api >> 16) != (HWLOC_API_VERSION >> 16)) {
      info_ = fallback_topology("hwloc: run-time library API " + std::to_string(runtime_api >> 16) +
                                ".x does not match the " + std::to_string(HWLOC_API_VERSION >> 16) +
                                ".x it was built against");
      return;
    }
    if (hwloc_topology_init(&topo_) != 0) {
      topo_ = nullptr;
      info_ = fallback_topology("hwloc: topology init failed: " + errno_text(errno));
      return;
    }
    // hwloc 2 drops instruction caches by default; the report lists them.
    hwloc_topology_set_cache_types_filter(topo_, HWLOC_TYPE_FILTER_KEEP_ALL);
    hwloc_topology_set_icache_types_filter(topo_, HWLOC_TYPE_FILTER_KEEP_ALL);
    if (hwloc_topology_load(topo_) != 0) {
      const int err = errno;
      hwloc_topology_destroy(topo_);
      topo_ = nullptr;
      info_ = fallback_topology("hwloc: topology load failed: " + errno_text(err));
      return;
    }
    core_depth_ = hwloc_get_type_or_below_depth(topo_, HWLOC_OBJ_CORE);
    info_ = describe(topo_, core_depth_);
    if (info_.core_count == 0) {
      hwloc_topology_destroy(topo_);
      topo_ = nullptr;
      info_ = fallback_topology("hwloc: topology has no cores");
    }
  }
  ~LoadedTopology() {
    if (topo_ != nullptr) hwloc_topology_destroy(topo_);
  }
  LoadedTopology(const LoadedTopology&) = delete;
  LoadedTopology& operator=(const LoadedTopology&) = delete;

  [[nodiscard]] hwloc_topology_t get() const { return topo_; }
  [[nodiscard]] int core_depth() const { return core_depth_; }
  [[nodiscard]] const CpuTopology& info() const { return info_; }

 private:
  hwloc_topology_t topo_ = nullptr;
  int core_depth_ = 0;
  CpuTopology info_;
};

const LoadedTopology& loaded() {
  static const LoadedTopology topology;
  return topology;
}

}  // namespace

std::string_view to_string(CacheKind kind) {
  switch (kind) {
    case CacheKind::data: return "data";
    case CacheKind::instruction: return "instruction";
    case CacheKind::unified: break;
  }
  return "unified";
}

CpuTopology detect_topology() { return loaded().info(); }

BindResult bind_current_thread_to_core(std::size_t core_index) {
  const LoadedTopology& lt = loaded();
  const hwloc_topology_t t = lt.get();
  if (t == nullptr) {
    return {false, "no hwloc topology to bind with (" +
                       (lt.info().notes.empty() ? std::string("unknown reason") : lt.info().notes.front()) + ")"};
  }
  if (core_index >= lt.info().cores.size()) {
    return {false, "core " + std::to_string(core_index) + " does not exist (" +
                       std::to_string(lt.info().cores.size()) + " cores)"};
  }
  const hwloc_topology_support* support = hwloc_topology_get_support(t);
  if (support == nullptr || support->cpubind == nullptr || support->cpubind->set_thisthread_cpubind == 0) {
    return {false, "this operating system does not let hwloc bind threads"};
  }
  const hwloc_obj_t core = hwloc_get_obj_by_depth(t, lt.core_depth(), static_cast<unsigned>(core_index));
  if (core == nullptr) return {false, "hwloc has no object for core " + std::to_string(core_index)};
  if (hwloc_set_cpubind(t, core->cpuset, HWLOC_CPUBIND_THREAD) != 0) {
    return {false, "binding to core " + std::to_string(core_index) + " refused: " + errno_text(errno)};
  }
  return {true, {}};
}

unsigned allowed_core_count() {
  const LoadedTopology& lt = loaded();
  const hwloc_topology_t t = lt.get();
  if (t == nullptr) return std::max(1u, lt.info().core_count);

  Bitmap usable(hwloc_bitmap_alloc());
  if (!usable) return std::max(1u, lt.info().core_count);
  // The process binding is the union of its threads' affinities, so a worker
  // that pinned itself does not shrink the answer while any thread is unpinned.
  if (hwloc_get_cpubind(t, usable.get(), HWLOC_CPUBIND_PROCESS) != 0) {
    hwloc_bitmap_copy(usable.get(), hwloc_topology_get_allowed_cpuset(t));
  } else {
    hwloc_bitmap_and(usable.get(), usable.get(), hwloc_topology_get_allowed_cpuset(t));
  }

  unsigned count = 0;
  const unsigned ncores = hwloc_get_nbobjs_by_depth(t, lt.core_depth());
  for (unsigned i = 0; i < ncores; ++i) {
    if (hwloc_bitmap_intersects(hwloc_get_obj_by_depth(t, lt.core_depth(), i)->cpuset, usable.get())) ++count;
  }
  return std::max(1u, count);
}

}  // namespace tensority::hwdetect
