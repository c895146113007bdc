#pragma once
// Known answers every backend's self_test runs with its real kernel: the mainnet genesis
// PoW (seed = InitialSeed) and upstream vector T01, so two different caches are exercised.
#include <span>
#include <string>

#include "tensority/core/types.hpp"

namespace tensority::kernels::hal {

struct KnownAnswer {
  const char* name;
  core::Hash seed;
  core::Hash block_id;
  core::Hash result;
};

std::span<const KnownAnswer> known_answers();

class Worker;
struct Status;
// Prepares each known answer's seed on the worker, hashes its block ID and compares.
// The report names each answer checked; the first mismatch fails with both values.
Status run_known_answers(Worker& worker, std::string& report);

}  // namespace tensority::kernels::hal
