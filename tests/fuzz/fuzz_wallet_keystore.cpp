// Key store files are outside input (a copied, damaged or hostile file): any bytes either parse
// or are refused with one line, never a crash. What parses re-serialises to text that parses
// back to the same store, and a plain store's keys sign. The other two parsers of outside
// text in the wallet (asset definition files, get-unspent-outputs answers) run on the same
// bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/chain/crypto.hpp"
#include "tensority/wallet/wallet.hpp"

namespace {

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensority::wallet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto ks = Keystore::parse(text);
  if (!ks) {
    FUZZ_CHECK(one_line(ks.error()));
  } else {
    const std::string canonical = ks->serialize();
    const auto again = Keystore::parse(canonical);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->serialize() == canonical);
    FUZZ_CHECK(again->keys().size() == ks->keys().size());
    FUZZ_CHECK(again->addresses().size() == ks->addresses().size());
    for (const auto& a : ks->addresses()) FUZZ_CHECK(ks->find_program(a.program) != nullptr);
    if (!ks->encrypted() && !ks->keys().empty()) {
      const std::uint8_t msg[32] = {1, 2, 3};
      const auto sig = ks->sign(0, msg);
      FUZZ_CHECK(sig.ok());
      FUZZ_CHECK(tensority::chain::ed25519_verify(*sig, msg, ks->keys()[0].public_key));
    }
  }

  const auto def = canonical_asset_definition(text);
  if (!def) {
    FUZZ_CHECK(one_line(def.error()));
  } else {
    const std::string_view first(reinterpret_cast<const char*>(def->data()), def->size());
    const auto twice = canonical_asset_definition(first);
    FUZZ_CHECK(twice.ok() && *twice == *def);
  }

  const auto utxos = parse_unspent_outputs(text);
  if (!utxos) FUZZ_CHECK(one_line(utxos.error()));
  return 0;
}
