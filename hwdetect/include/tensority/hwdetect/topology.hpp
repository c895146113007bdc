#pragma once

// Sockets, cores, hardware threads, NUMA nodes and caches, discovered with hwloc.
// The topology lists what this process may use (hwloc drops PUs that the cgroup
// cpuset or an offline state forbids), which is what a miner sizes its thread
// pool by.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tensority::hwdetect {

enum class CacheKind { data, instruction, unified };

[[nodiscard]] std::string_view to_string(CacheKind kind);

// One entry per distinct cache shape: instances that share level, kind, size,
// line size and sharing are folded together, so a hybrid CPU whose P-cores and
// E-core clusters have different L2s gets two L2 entries.
struct CacheInfo {
  unsigned level = 0;
  CacheKind kind = CacheKind::unified;
  std::uint64_t size_bytes = 0;
  unsigned line_bytes = 0;
  unsigned count = 0;           // instances of this shape
  unsigned cores_per_instance = 0;  // cores sharing one instance
};

struct CoreInfo {
  unsigned index = 0;    // position in CpuTopology::cores, the argument to bind_current_thread_to_core
  unsigned package = 0;  // logical package (socket) index
  int numa_node = -1;    // OS index of the NUMA node holding this core, -1 if unknown
  std::vector<unsigned> pus;  // OS indices of its hardware threads (as sched_setaffinity numbers them)
};

struct NumaNodeInfo {
  unsigned os_index = 0;
  std::uint64_t memory_bytes = 0;  // local memory; 0 if the OS did not say
  std::vector<unsigned> pus;       // OS indices of the PUs local to this node
};

struct CpuTopology {
  // "hwloc" when discovered; "fallback" when hwloc failed and only the thread
  // count from std::thread::hardware_concurrency() is known (then core_count equals
  // thread_count, the lists below are empty and the reason is in notes).
  std::string source;
  unsigned package_count = 0;
  unsigned core_count = 0;
  unsigned thread_count = 0;
  std::vector<CoreInfo> cores;
  std::vector<NumaNodeInfo> numa_nodes;
  std::vector<CacheInfo> caches;  // ordered by level, then data before instruction before unified
  std::vector<std::string> notes;
};

// Loads the topology once per process; later calls return a copy of the first
// result. Never throws for a hwloc failure: it falls back and says why in notes.
[[nodiscard]] CpuTopology detect_topology();

struct BindResult {
  bool bound = false;
  std::string reason;  // why binding was refused; empty when bound
  explicit operator bool() const { return bound; }
};

// Pins the calling thread to all hardware threads of core `core_index` (an index
// into CpuTopology::cores). Containers and some schedulers refuse binding;
// the reason comes back instead of an error so callers can run unpinned.
[[nodiscard]] BindResult bind_current_thread_to_core(std::size_t core_index);

// Cores on which this process may currently run: those in the topology with at
// least one PU inside the process's CPU affinity (so `taskset` is honoured).
// Falls back to std::thread::hardware_concurrency() without hwloc; at least 1.
[[nodiscard]] unsigned allowed_core_count();

}  // namespace tensority::hwdetect
