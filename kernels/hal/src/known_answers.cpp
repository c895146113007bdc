#include "tensority/kernels/hal/known_answers.hpp"

#include <array>

#include "tensority/core/hex.hpp"
#include "tensority/core/retarget.hpp"
#include "tensority/kernels/hal/device.hpp"

namespace tensority::kernels::hal {
namespace {

core::Hash h(const char* hex) { return *core::hash_from_hex(hex); }

}  // namespace

std::span<const KnownAnswer> known_answers() {
  static const std::array<KnownAnswer, 2> answers{{
      {"mainnet genesis", core::initial_seed(), h("a75483474799ea1aa6bb910a1a5025b4372bf20bef20f246a2c2dc5e12e8a053"),
       h("3a9d805453ab6d5304b933764d29066e8cf963abf04718cc81fecd6278000000")},
      {"T01", h("0737520781345b11b7bd0f843c1bdd9aea81b6da94fd141cc9f2df53ac6744d2"),
       h("d0dad73fb2dabf3353fda15571b4e5f6ac62ff187b354fadd4840d9ff2f1afdf"),
       h("e35da54795d82f8549c0e580cbf2e3757ab5ef8fed1bdbe439416c7e6f8df227")},
  }};
  return answers;
}

Status run_known_answers(Worker& worker, std::string& report) {
  report.clear();
  for (const KnownAnswer& ka : known_answers()) {
    Status st = worker.prepare(ka.seed);
    core::Hash got{};
    if (st) st = worker.hash(ka.block_id, got);
    if (!st) return Status::error(StatusCode::self_test_failed, std::string(ka.name) + ": " + st.message);
    if (got != ka.result) {
      return Status::error(StatusCode::self_test_failed, std::string(ka.name) + ": expected " +
                                                             core::to_hex(ka.result) + ", got " + core::to_hex(got));
    }
    report += std::string(report.empty() ? "" : "; ") + ka.name + " ok";
  }
  report += " (" + worker.kernel_name() + ")";
  return Status::success();
}

}  // namespace tensority::kernels::hal
