// tensority hash: one Tensority result, from a block ID or from a wire-serialised header.
#include <cstdio>
#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tensority/core/block_header.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/core/target.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::cli {
namespace {

struct HashArgs {
  std::string block_hash;
  std::string header;
  std::string seed;
  std::string device = "cpu";
  std::string kernel;
  bool json = false;
};

core::Hash parse_hash_arg(const std::string& flag, const std::string& text) {
  auto h = core::hash_from_hex(text);
  if (!h) throw UsageError(flag + ": " + h.error());
  return *h;
}

// 256-bit big-endian hex of a target, or a note when it cannot be met or exceeds 2^256.
std::string target_text(std::uint64_t bits) {
  const core::BigInt t = core::compact_to_big(bits);
  if (t < 0) return "negative (no hash can meet it)";
  const core::BigInt max256 = (core::BigInt(1) << 256) - 1;
  if (t > max256) return "above 2^256 (every hash meets it)";
  std::string hex = t.str(0, std::ios_base::hex);
  for (auto& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::string(64 - hex.size(), '0') + hex;
}

core::Hash compute(const HashArgs& a, const core::Hash& seed, const core::Hash& id) {
  auto& registry = kernels::hal::builtin_registry();
  auto devices = registry.select(a.device);
  if (!devices) throw UsageError("--device: " + devices.error());
  auto& device = devices->front();
  kernels::hal::WorkerOptions wo;
  wo.threads = 1;
  wo.batch = 1;  // one hash: no launch tuning on a GPU
  wo.kernel = a.kernel;
  std::unique_ptr<kernels::hal::Worker> worker;
  auto st = device->create_worker(wo, worker);
  if (st.code == kernels::hal::StatusCode::unsupported) throw UsageError("--kernel: " + st.message);
  if (!st) throw std::runtime_error(device->info().id + ": " + st.message);
  if (!(st = worker->prepare(seed))) throw std::runtime_error(device->info().id + ": " + st.message);
  core::Hash result{};
  if (!(st = worker->hash(id, result))) throw std::runtime_error(device->info().id + ": " + st.message);
  return result;
}

int run_hash(const HashArgs& a) {
  if (a.block_hash.empty() == a.header.empty()) {
    throw UsageError("give exactly one of --block-hash or --header");
  }
  if (!a.block_hash.empty()) {
    if (a.seed.empty()) throw UsageError("--block-hash needs --seed");
    const core::Hash id = parse_hash_arg("--block-hash", a.block_hash);
    const core::Hash seed = parse_hash_arg("--seed", a.seed);
    const core::Hash result = compute(a, seed, id);
    if (a.json) {
      nlohmann::json j{{"block_hash", core::to_hex(id)}, {"seed", core::to_hex(seed)}, {"result", core::to_hex(result)}};
      std::puts(j.dump(2).c_str());
    } else {
      std::puts(core::to_hex(result).c_str());
    }
    return kExitOk;
  }

  auto bytes = core::from_hex(a.header);
  if (!bytes) throw UsageError("--header: " + bytes.error());
  auto parsed = core::parse_header(*bytes, /*require_exact=*/true);
  if (!parsed) throw UsageError("--" + parsed.error());  // the parser says "header: ..."
  const core::BlockHeader& h = parsed->header;
  core::Hash seed{};
  std::string seed_note;
  if (!a.seed.empty()) {
    seed = parse_hash_arg("--seed", a.seed);
  } else if (!core::seed_ancestor_height(h.height)) {
    seed = core::initial_seed();
    seed_note = "InitialSeed (height <= 256)";
  } else {
    throw UsageError(fmt::format("--header at height {} needs --seed (the ID of block {})", h.height,
                                 *core::seed_ancestor_height(h.height)));
  }
  const core::Hash id = core::block_id(h);
  const core::Hash result = compute(a, seed, id);
  const bool valid = core::check_pow(result, h.bits);
  const std::string work = core::calc_work(h.bits).str();
  if (a.json) {
    nlohmann::json j{{"block_id", core::to_hex(id)},     {"height", h.height},
                     {"nonce", h.nonce},                 {"bits", h.bits},
                     {"seed", core::to_hex(seed)},       {"result", core::to_hex(result)},
                     {"target", target_text(h.bits)},    {"difficulty", work},
                     {"pow_valid", valid}};
    std::puts(j.dump(2).c_str());
  } else {
    fmt::print("block id    {}\n", core::to_hex(id));
    fmt::print("height      {}\n", h.height);
    fmt::print("nonce       {}\n", h.nonce);
    fmt::print("seed        {}{}\n", core::to_hex(seed), seed_note.empty() ? "" : "  " + seed_note);
    fmt::print("result      {}\n", core::to_hex(result));
    fmt::print("target      {}  (bits 0x{:016x})\n", target_text(h.bits), h.bits);
    fmt::print("difficulty  {}\n", work);
    fmt::print("pow         {}\n", valid ? "valid" : "NOT valid");
  }
  return kExitOk;
}

}  // namespace

Runner add_hash(CLI::App& app) {
  auto args = std::make_shared<HashArgs>();
  auto* sub = app.add_subcommand("hash", "Compute one Tensority result (from a block ID, or a serialised header)");
  sub->add_option("--block-hash", args->block_hash, "32-byte block ID, 64 hex digits (storage order)");
  sub->add_option("--header", args->header,
                  "wire-serialised block header in hex (serflag 01, as in getwork's block_header)");
  sub->add_option("--seed", args->seed, "32-byte epoch seed, 64 hex digits (default with --header at "
                                        "height <= 256: InitialSeed)");
  sub->add_option("--device", args->device,
                  "device to hash on: a backend (cpu, cuda, opencl) or device id (cpu:0, cuda:N, opencl:P:D)")
      ->capture_default_str();
  sub->add_option("--kernel", args->kernel, "kernel variant (default: fastest supported; see 'devices')");
  sub->add_flag("--json", args->json, "print JSON");
  return [args] { return run_hash(*args); };
}

}  // namespace tensority::cli
