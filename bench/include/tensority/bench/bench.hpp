#pragma once
// `tensority bench`: sustained hash rate of real devices through the device layer, the same
// path the miner uses (prepare a seed, search nonce ranges), with the target set so that no
// result qualifies and nothing but hashing is measured.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensority/core/types.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::bench {

struct Options {
  std::string device = "cpu";  // registry selector: backend, device id, or "all"
  unsigned threads = 0;        // per device; 0 = the device's default (all allowed cores)
  double seconds = 10.0;
  std::string kernel;          // empty = fastest supported
  bool pin_threads = true;
  std::uint64_t batch = 0;     // GPU nonces per launch; 0 = autotuned
};

struct Progress {
  std::string device_id;
  double elapsed_seconds = 0;
  double target_seconds = 0;
  std::uint64_t hashes = 0;
  double hashes_per_second = 0;  // over the run so far
};

struct DeviceResult {
  std::string device_id;
  std::string device_name;
  std::string backend;
  std::string kernel;
  unsigned threads = 0;
  std::string self_test;
  double prepare_ms = 0;     // cache build (or upload) for the bench seed
  std::uint64_t hashes = 0;
  double seconds = 0;
  double hashes_per_second = 0;
  std::vector<std::string> notes;
  std::string error;  // set when the device was disabled at start or stopped during the run
};

struct Result {
  std::vector<DeviceResult> devices;
  double hashes_per_second = 0;  // sum over devices
};

using ProgressFn = std::function<void(const Progress&)>;

// Runs every selected device at once for options.seconds. With one device selected, a
// failure (unknown device, worker creation, self-test) is the result: a one-line message.
// With several, a device that fails at start is disabled and one that fails during the
// run stops; each keeps its error in its DeviceResult and the others run on. The run fails
// only when no device produced a result.
core::Result<Result> run(kernels::hal::Registry& registry, const Options& options,
                         const ProgressFn& progress = {});

}  // namespace tensority::bench
