// The wallet library: the key store (file mode, refusal of readable files, encryption, damaged
// files), address derivation, and transactions built and signed from synthetic UTXOs that the
// node's own validate_transaction passes with exactly the gas the fee pays for. The RPC client
// is checked against a real net::HttpServer speaking the node's envelope.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tensority/core/hex.hpp"
#include "tensority/core/sha3.hpp"
#include "tensority/net/http.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/chain/crypto.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/chain/programs.hpp"
#include "tensority/chain/validation.hpp"
#include "tensority/wallet/wallet.hpp"

namespace tensority::wallet {
namespace {

using chain::Network;

constexpr std::uint64_t kBtm = 100'000'000;  // neu

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : std::string("/tmp")) +
                       "/tensority-wallet-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::string cmd = "rm -rf '" + path_ + "'";
    (void)std::system(cmd.c_str());
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
 private:
  std::string path_;
};

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(path.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  return out;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Keystore plain_store(std::size_t keys, Network net = Network::regtest) {
  auto ks = Keystore::create(net, std::nullopt);
  EXPECT_TRUE(ks.ok()) << ks.error();
  Keystore k = std::move(ks).value();
  for (std::size_t i = 0; i < keys; ++i) EXPECT_TRUE(k.add_key().ok());
  return k;
}

Hash hash_of(const std::string& label) {
  return core::sha3_256(std::span(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
}

// An output the wallet could have received: its id is what the node would call it.
Utxo utxo(const Bytes& program, std::uint64_t amount, const std::string& label, Hash asset = chain::kBtmAssetId) {
  Utxo u;
  u.source_id = hash_of(label);
  u.source_pos = 0;
  u.asset_id = asset;
  u.amount = amount;
  u.vm_version = 1;
  u.control_program = program;
  u.block_height = 10;
  u.valid_height = 0;
  u.id = chain::spent_output_id(u.commitment());
  return u;
}

// Checks a built transaction the way a node would: parse the raw bytes, map, validate.
void expect_valid(const BuiltTx& b, std::uint64_t height, unsigned margin) {
  const auto parsed = chain::parse_transaction(b.raw);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const chain::TxEntries e = chain::map_transaction(*parsed);
  EXPECT_EQ(e.tx_id, b.entries.tx_id);
  const chain::TxValidation v = chain::validate_transaction(*parsed, e, height, false);
  EXPECT_TRUE(v.gas_valid) << v.error;
  EXPECT_FALSE(v.status_fail) << v.error;
  EXPECT_EQ(v.error, "");
  EXPECT_EQ(v.gas_used, b.gas_used);
  EXPECT_EQ(v.fee, b.fee);
  EXPECT_GE(b.fee, b.gas_used * chain::kGasRate);
  EXPECT_EQ(b.fee, fee_for_gas(b.gas_used, margin));
  EXPECT_LE(b.gas_used, chain::kMaxTxGas);
}

std::uint64_t sum_outputs(const chain::Transaction& tx, const Hash& asset) {
  std::uint64_t s = 0;
  for (const auto& o : tx.outputs) {
    if (o.asset_id == asset) s += o.amount;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Key store

TEST(WalletKeystore, CreateSaveReloadMode0600) {
  TempDir dir;
  const std::string path = dir.file("sub/wallet-regtest.json");
  Keystore ks = plain_store(2);
  ASSERT_TRUE(ks.add_multisig_address(1, {0, 1}).ok());
  const auto saved = ks.save(path, /*must_not_exist=*/true);
  ASSERT_TRUE(saved.ok()) << saved.error();
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(file_mode(dir.file("sub")), 0700u);
  // Nothing but the store is left in its directory (no temp files).
  EXPECT_EQ(list_dir(dir.file("sub")), std::vector<std::string>{"wallet-regtest.json"});

  const auto again = Keystore::load(path);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->network(), Network::regtest);
  EXPECT_FALSE(again->encrypted());
  EXPECT_TRUE(again->unlocked());
  ASSERT_EQ(again->keys().size(), 2u);
  ASSERT_EQ(again->addresses().size(), 3u);
  EXPECT_EQ(again->serialize(), ks.serialize());
  EXPECT_EQ(again->keys()[1].public_key, ks.keys()[1].public_key);

  // Creating over an existing store is refused; replacing it keeps 0600.
  const auto twice = ks.save(path, true);
  ASSERT_FALSE(twice.ok());
  EXPECT_TRUE(contains(twice.error(), "already exists")) << twice.error();
  Keystore more = std::move(again).value();
  ASSERT_TRUE(more.add_key().ok());
  ASSERT_TRUE(more.save(path).ok());
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(Keystore::load(path)->keys().size(), 3u);
}

TEST(WalletKeystore, RefusesGroupOrWorldReadableFile) {
  TempDir dir;
  const std::string path = dir.file("w.json");
  ASSERT_TRUE(plain_store(1).save(path).ok());
  for (const mode_t mode : {0644, 0640, 0604, 0620}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    const auto ks = Keystore::load(path);
    ASSERT_FALSE(ks.ok()) << std::oct << mode;
    EXPECT_TRUE(contains(ks.error(), "chmod 600")) << ks.error();
    EXPECT_TRUE(contains(ks.error(), "group or others")) << ks.error();
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(Keystore::load(path).ok());
  const auto missing = Keystore::load(dir.file("nope.json"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error(), "no key store")) << missing.error();
}

TEST(WalletKeystore, EncryptedWithPassphrase) {
  TempDir dir;
  const std::string path = dir.file("enc.json");
  auto created = Keystore::create(Network::regtest, std::string("correct horse"), fast_kdf());
  ASSERT_TRUE(created.ok()) << created.error();
  Keystore ks = std::move(created).value();
  EXPECT_TRUE(ks.encrypted());
  EXPECT_TRUE(ks.unlocked());
  ASSERT_TRUE(ks.add_key().ok());
  ASSERT_TRUE(ks.add_key().ok());
  ASSERT_TRUE(ks.save(path, true).ok());
  const std::string text = read_file(path);
  EXPECT_TRUE(contains(text, "sealed_seed"));
  EXPECT_FALSE(contains(text, "\"seed\""));
  EXPECT_TRUE(contains(text, "argon2id13"));

  auto loaded = Keystore::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  Keystore locked = std::move(loaded).value();
  EXPECT_TRUE(locked.encrypted());
  EXPECT_FALSE(locked.unlocked());
  // Public data is there without the passphrase.
  EXPECT_EQ(locked.addresses().size(), 2u);
  EXPECT_EQ(locked.addresses()[0].address, ks.addresses()[0].address);
  const Hash msg = hash_of("message");
  EXPECT_FALSE(locked.sign(0, msg).ok());
  EXPECT_FALSE(locked.add_key().ok());

  const auto wrong = locked.unlock("Correct horse");
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(contains(wrong.error(), "wrong passphrase")) << wrong.error();
  EXPECT_FALSE(locked.unlocked());

  ASSERT_TRUE(locked.unlock("correct horse").ok());
  EXPECT_TRUE(locked.unlocked());
  const auto sig = locked.sign(1, msg);
  ASSERT_TRUE(sig.ok()) << sig.error();
  EXPECT_TRUE(chain::ed25519_verify(*sig, msg, locked.keys()[1].public_key));
  EXPECT_EQ(*sig, *ks.sign(1, msg));  // ed25519 is deterministic: the same seed came back
  // A key added after unlocking is sealed under the same passphrase.
  ASSERT_TRUE(locked.add_key().ok());
  ASSERT_TRUE(locked.save(path).ok());
  auto third = Keystore::load(path);
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(third.value().unlock("correct horse").ok());
  EXPECT_TRUE(third->sign(2, msg).ok());
}

TEST(WalletKeystore, DamagedFilesGiveOneLineErrors) {
  Keystore ks = plain_store(2);
  ASSERT_TRUE(ks.add_multisig_address(2, {0, 1}).ok());
  const std::string good = ks.serialize();
  ASSERT_TRUE(Keystore::parse(good).ok());
  const nlohmann::json doc = nlohmann::json::parse(good);

  auto expect_error = [](const std::string& text, const std::string& part) {
    const auto r = Keystore::parse(text);
    ASSERT_FALSE(r.ok()) << "accepted: " << text.substr(0, 200);
    EXPECT_TRUE(contains(r.error(), part)) << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
  };
  expect_error("", "invalid JSON");
  expect_error(good.substr(0, good.size() / 2), "invalid JSON");
  expect_error("[1,2]", "expected a JSON object");
  expect_error(std::string(100, '[') + std::string(100, ']'), "nested deeper");
  {
    auto j = doc;
    j["format"] = "something-else";
    expect_error(j.dump(), "format");
  }
  {
    auto j = doc;
    j["version"] = 7;
    expect_error(j.dump(), "version");
  }
  {
    auto j = doc;
    j["network"] = "moonnet";
    expect_error(j.dump(), "unknown network");
  }
  {
    auto j = doc;
    std::string pk = j["keys"][1]["public_key"];
    pk[0] = pk[0] == 'a' ? 'b' : 'a';
    j["keys"][1]["public_key"] = pk;
    expect_error(j.dump(), "keys[1]: the seed does not belong to public_key");
  }
  {
    auto j = doc;
    j["keys"][0]["seed"] = "zz";
    expect_error(j.dump(), "keys[0].seed");
  }
  {
    auto j = doc;
    j["keys"][0].erase("seed");
    expect_error(j.dump(), "keys[0].seed: missing");
  }
  {
    auto j = doc;
    j["addresses"][0]["address"] = ks.addresses()[1].address;
    expect_error(j.dump(), "addresses[0].address");
  }
  {
    auto j = doc;
    j["addresses"][2]["m"] = 3;
    expect_error(j.dump(), "addresses[2]");
  }
  {
    auto j = doc;
    j["addresses"][2]["keys"] = {0, 7};
    expect_error(j.dump(), "addresses[2].keys");
  }
  {
    auto j = doc;
    j["addresses"][0]["type"] = "p2sh";
    expect_error(j.dump(), "unknown address type");
  }
  {
    auto j = doc;
    j["keys"][0]["index"] = 5;
    expect_error(j.dump(), "keys[0].index");
  }
  {
    auto j = doc;
    j["encryption"] = {{"kdf", "argon2id13"}, {"cipher", "xsalsa20poly1305"}, {"salt", "00"}};
    expect_error(j.dump(), "encryption.salt");
  }
}

TEST(WalletKeystore, EncryptionParametersAreBounded) {
  auto created = Keystore::create(Network::regtest, std::string("pw"), fast_kdf());
  ASSERT_TRUE(created.ok());
  nlohmann::json j = nlohmann::json::parse(created->serialize());
  j["encryption"]["memlimit"] = std::uint64_t{1} << 40;
  const auto r = Keystore::parse(j.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error(), "encryption.memlimit")) << r.error();
}

TEST(WalletKeystore, LockIsExclusive) {
  TempDir dir;
  const std::string path = dir.file("deeper/w.json");
  auto first = KeystoreLock::acquire(path);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(file_mode(path + ".lock"), 0600u);
  std::atomic<bool> got{false};
  std::thread other([&] {
    auto second = KeystoreLock::acquire(path);
    EXPECT_TRUE(second.ok());
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got.load());
  { KeystoreLock release = std::move(first).value(); }
  other.join();
  EXPECT_TRUE(got.load());
}

TEST(WalletKeystore, DefaultPathFollowsXdg) {
  const char* old = std::getenv("XDG_DATA_HOME");
  const std::string saved = old ? old : "";
  ::setenv("XDG_DATA_HOME", "/data/home", 1);
  EXPECT_EQ(*default_keystore_path(Network::testnet), "/data/home/tensority/wallet-testnet.json");
  ::unsetenv("XDG_DATA_HOME");
  const auto p = default_keystore_path(Network::regtest);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->ends_with("/.local/share/tensority/wallet-regtest.json")) << *p;
  if (old) ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
}

// ---------------------------------------------------------------------------------------------
// Addresses

TEST(WalletAddress, P2wpkhOnRegtestRoundTrips) {
  Keystore ks = plain_store(0);
  const auto a = ks.add_key();
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_TRUE(a->address.starts_with("sm1q")) << a->address;
  EXPECT_EQ(a->program, chain::p2wpkh_program_for_key(ks.keys()[0].public_key));
  EXPECT_EQ(chain::classify_program(a->program), chain::ProgramKind::p2wpkh);
  const auto back = chain::address_to_program(a->address, Network::regtest);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, a->program);
  EXPECT_FALSE(chain::address_to_program(a->address, Network::mainnet).ok());

  Keystore main = plain_store(1, Network::mainnet);
  EXPECT_TRUE(main.addresses()[0].address.starts_with("bm1q"));
  Keystore test = plain_store(1, Network::testnet);
  EXPECT_TRUE(test.addresses()[0].address.starts_with("tm1q"));
}

TEST(WalletAddress, MultisigP2wsh) {
  Keystore ks = plain_store(3);
  const auto a = ks.add_multisig_address(2, {0, 1, 2});
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a->kind, AddressKind::p2wsh);
  EXPECT_TRUE(a->address.starts_with("sm1q"));
  const std::vector<chain::PubKey> pks = {ks.keys()[0].public_key, ks.keys()[1].public_key, ks.keys()[2].public_key};
  EXPECT_EQ(a->witness_script, chain::multisig_script(pks, 2));
  EXPECT_EQ(a->program, chain::p2wsh_program_for_script(a->witness_script));
  EXPECT_EQ(chain::classify_program(a->program), chain::ProgramKind::p2wsh);
  EXPECT_EQ(*chain::address_to_program(a->address, Network::regtest), a->program);
  // Asking again answers the same address without adding it twice.
  EXPECT_EQ(ks.add_multisig_address(2, {0, 1, 2})->address, a->address);
  EXPECT_EQ(ks.addresses().size(), 4u);
  EXPECT_NE(ks.add_multisig_address(2, {1, 0, 2})->address, a->address);  // order matters

  EXPECT_TRUE(contains(ks.add_multisig_address(4, {0, 1, 2}).error(), "between 1 and"));
  EXPECT_TRUE(contains(ks.add_multisig_address(0, {0, 1}).error(), "between 1 and"));
  EXPECT_TRUE(contains(ks.add_multisig_address(1, {0, 9}).error(), "no key 9"));
  EXPECT_TRUE(contains(ks.add_multisig_address(1, {1, 1}).error(), "twice"));
  EXPECT_TRUE(contains(ks.add_multisig_address(1, {}).error(), "at least one key"));
}

// ---------------------------------------------------------------------------------------------
// Transactions

constexpr std::uint64_t kHeight = 1000;

TxRequest pay(const Bytes& program, std::uint64_t amount, Hash asset = chain::kBtmAssetId, unsigned margin = 10) {
  TxRequest r;
  r.outputs.push_back(Payment{asset, amount, program});
  r.height = kHeight;
  r.fee_margin_percent = margin;
  return r;
}

TEST(WalletTx, P2wpkhSpendValidatesWithExactGas) {
  Keystore ks = plain_store(1);
  Keystore other = plain_store(1);
  const Bytes to = other.addresses()[0].program;
  const std::vector<Utxo> utxos = {utxo(ks.addresses()[0].program, 10 * kBtm, "a")};
  for (const unsigned margin : {0u, 10u}) {
    const auto b = build_transaction(ks, utxos, pay(to, 3 * kBtm, chain::kBtmAssetId, margin));
    ASSERT_TRUE(b.ok()) << b.error();
    expect_valid(*b, kHeight, margin);
    ASSERT_EQ(b->tx.inputs.size(), 1u);
    ASSERT_EQ(b->tx.outputs.size(), 2u);
    EXPECT_EQ(b->tx.outputs[0].control_program, to);
    EXPECT_EQ(b->tx.outputs[0].amount, 3 * kBtm);
    EXPECT_EQ(b->tx.outputs[1].control_program, ks.addresses()[0].program);  // change
    EXPECT_EQ(b->tx.outputs[1].amount + 3 * kBtm + b->fee, 10 * kBtm);
    const auto& args = std::get<chain::SpendInput>(b->tx.inputs[0].kind).arguments;
    ASSERT_EQ(args.size(), 2u);  // [signature, pubkey]
    EXPECT_EQ(args[0].size(), 64u);
    EXPECT_EQ(Bytes(ks.keys()[0].public_key.begin(), ks.keys()[0].public_key.end()), args[1]);
    EXPECT_GT(b->gas_used, b->raw.size());  // storage gas plus the program's
  }
}

TEST(WalletTx, FeeBelowTheGasIsNotValid) {
  Keystore ks = plain_store(1);
  Keystore other = plain_store(1);
  const std::vector<Utxo> utxos = {utxo(ks.addresses()[0].program, 10 * kBtm, "a")};
  const auto b = build_transaction(ks, utxos, pay(other.addresses()[0].program, kBtm, chain::kBtmAssetId, 0));
  ASSERT_TRUE(b.ok()) << b.error();
  // Pay back 200 neu of the fee into the change: one gas short.
  chain::Transaction tx = b->tx;
  tx.outputs[1].amount += chain::kGasRate;
  ASSERT_TRUE(sign_transaction(ks, tx).ok());
  const Bytes raw = chain::serialize_transaction(tx);
  tx.serialized_size = raw.size();
  ASSERT_EQ(raw.size(), b->raw.size());
  const chain::TxValidation v = chain::validate_transaction(tx, chain::map_transaction(tx), kHeight, false);
  EXPECT_TRUE(!v.gas_valid || v.status_fail || !v.error.empty()) << "gas " << v.gas_used << " fee " << v.fee;
}

TEST(WalletTx, SelectsSeveralInputsAndSkipsForeignOrImmature) {
  Keystore ks = plain_store(2);
  Keystore other = plain_store(1);
  std::vector<Utxo> utxos = {utxo(ks.addresses()[0].program, 2 * kBtm, "a"),
                             utxo(ks.addresses()[1].program, 2 * kBtm, "b"),
                             utxo(other.addresses()[0].program, 50 * kBtm, "foreign")};
  Utxo immature = utxo(ks.addresses()[0].program, 100 * kBtm, "coinbase");
  immature.is_coinbase = true;
  immature.valid_height = kHeight + 1;
  utxos.push_back(immature);
  const auto b = build_transaction(ks, utxos, pay(other.addresses()[0].program, 3 * kBtm));
  ASSERT_TRUE(b.ok()) << b.error();
  expect_valid(*b, kHeight, 10);
  EXPECT_EQ(b->tx.inputs.size(), 2u);
  EXPECT_EQ(b->spent.size(), 2u);

  const auto poor = build_transaction(ks, utxos, pay(other.addresses()[0].program, 5 * kBtm));
  ASSERT_FALSE(poor.ok());
  EXPECT_TRUE(contains(poor.error(), "insufficient funds")) << poor.error();
  EXPECT_TRUE(contains(poor.error(), "immature")) << poor.error();
  EXPECT_TRUE(contains(poor.error(), "BTM")) << poor.error();

  // Exactly the balance leaves nothing for the fee.
  const auto exact = build_transaction(ks, utxos, pay(other.addresses()[0].program, 4 * kBtm));
  ASSERT_FALSE(exact.ok());
  EXPECT_TRUE(contains(exact.error(), "insufficient funds")) << exact.error();

  // The coinbase matures at its valid height.
  TxRequest later = pay(other.addresses()[0].program, 50 * kBtm);
  later.height = kHeight + 1;
  const auto matured = build_transaction(ks, utxos, later);
  ASSERT_TRUE(matured.ok()) << matured.error();
  expect_valid(*matured, kHeight + 1, 10);
}

TEST(WalletTx, MultisigTwoOfThreeSpendIsValid) {
  Keystore ks = plain_store(3);
  const auto ms = ks.add_multisig_address(2, {0, 1, 2});
  ASSERT_TRUE(ms.ok());
  Keystore other = plain_store(1);
  const std::vector<Utxo> utxos = {utxo(ms->program, 5 * kBtm, "ms")};
  TxRequest req = pay(other.addresses()[0].program, kBtm);
  req.change_program = ms->program;
  const auto b = build_transaction(ks, utxos, req);
  ASSERT_TRUE(b.ok()) << b.error();
  expect_valid(*b, kHeight, 10);
  const auto& args = std::get<chain::SpendInput>(b->tx.inputs[0].kind).arguments;
  ASSERT_EQ(args.size(), 3u);  // two signatures in key order, then the witness script
  EXPECT_EQ(args[2], ms->witness_script);
  EXPECT_EQ(b->tx.outputs[1].control_program, ms->program);
  // Multisig costs 1024 gas per key on top of a single-key spend.
  EXPECT_GT(b->gas_used, 3 * 1024u);
}

TEST(WalletTx, IssuanceIsValidAndAssetIdMatches) {
  Keystore ks = plain_store(2);
  const auto def = canonical_asset_definition(R"({"symbol":"GOLD","name":"Gold","decimals":8,"description":"test"})");
  ASSERT_TRUE(def.ok()) << def.error();
  EXPECT_EQ(std::string(def->begin(), def->end()),
            R"({"decimals":8,"description":"test","name":"Gold","symbol":"GOLD"})");
  const std::vector<Utxo> utxos = {utxo(ks.addresses()[1].program, kBtm, "gas")};
  TxRequest req;
  req.issuances.push_back(IssuanceRequest{*def, 0, 1'000'000, {}});
  const Bytes issue_program = chain::p2wpkh_program_for_key(ks.keys()[0].public_key);
  const Hash expect_id = chain::asset_id(1, issue_program, *def);
  req.outputs.push_back(Payment{expect_id, 1'000'000, ks.addresses()[1].program});
  req.height = kHeight;
  const auto b = build_transaction(ks, utxos, req);
  ASSERT_TRUE(b.ok()) << b.error();
  expect_valid(*b, kHeight, 10);
  ASSERT_EQ(b->issued.size(), 1u);
  EXPECT_EQ(b->issued[0], expect_id);
  const auto& in = std::get<chain::IssuanceInput>(b->tx.inputs[0].kind);
  EXPECT_EQ(in.nonce.size(), 8u);
  EXPECT_EQ(in.asset_id, expect_id);
  EXPECT_EQ(in.issuance_program, issue_program);
  EXPECT_EQ(in.asset_definition, *def);
  EXPECT_EQ(in.arguments.size(), 2u);
  EXPECT_EQ(sum_outputs(b->tx, expect_id), 1'000'000u);
  EXPECT_EQ(sum_outputs(b->tx, chain::kBtmAssetId) + b->fee, kBtm);

  // Issuing more than is paid out returns the rest as change.
  TxRequest more = req;
  more.issuances[0].amount = 1'500'000;
  const auto b2 = build_transaction(ks, utxos, more);
  ASSERT_TRUE(b2.ok()) << b2.error();
  expect_valid(*b2, kHeight, 10);
  EXPECT_EQ(sum_outputs(b2->tx, expect_id), 1'500'000u);

  // A tampered issuance (the definition no longer matches the asset ID) is refused.
  chain::Transaction bad = b->tx;
  std::get<chain::IssuanceInput>(bad.inputs[0].kind).asset_definition.push_back(' ');
  ASSERT_TRUE(sign_transaction(ks, bad).ok());
  bad.serialized_size = chain::serialize_transaction(bad).size();
  const auto v = chain::validate_transaction(bad, chain::map_transaction(bad), kHeight, false);
  EXPECT_TRUE(!v.gas_valid || v.status_fail);
}

TEST(WalletTx, AssetTransferAndRetirement) {
  Keystore ks = plain_store(1);
  Keystore other = plain_store(1);
  const Hash asset = hash_of("some asset");
  const std::vector<Utxo> utxos = {utxo(ks.addresses()[0].program, 700, "asset", asset),
                                   utxo(ks.addresses()[0].program, kBtm, "btm")};
  const auto t = build_transaction(ks, utxos, pay(other.addresses()[0].program, 500, asset));
  ASSERT_TRUE(t.ok()) << t.error();
  expect_valid(*t, kHeight, 10);
  EXPECT_EQ(t->tx.inputs.size(), 2u);
  EXPECT_EQ(sum_outputs(t->tx, asset), 700u);
  EXPECT_EQ(t->tx.outputs[0].amount, 500u);
  EXPECT_EQ(t->tx.outputs[1].asset_id, asset);  // asset change before BTM change
  EXPECT_EQ(t->tx.outputs[1].amount, 200u);

  const Bytes data = {'h', 'e', 'l', 'l', 'o'};
  const auto r = build_transaction(ks, utxos, pay(chain::retirement_program(data), 700, asset));
  ASSERT_TRUE(r.ok()) << r.error();
  expect_valid(*r, kHeight, 10);
  EXPECT_EQ(chain::classify_program(r->tx.outputs[0].control_program), chain::ProgramKind::op_fail);
  EXPECT_TRUE(r->entries.retired[0]);
  EXPECT_EQ(r->tx.outputs.size(), 2u);  // retirement and BTM change: no asset change left

  const auto burn = build_transaction(ks, utxos, pay(chain::retirement_program({}), kBtm / 2));
  ASSERT_TRUE(burn.ok()) << burn.error();
  expect_valid(*burn, kHeight, 10);
  EXPECT_TRUE(burn->entries.retired[0]);

  const auto poor = build_transaction(ks, utxos, pay(other.addresses()[0].program, 701, asset));
  ASSERT_FALSE(poor.ok());
  EXPECT_TRUE(contains(poor.error(), "insufficient funds: need 701 of asset " + core::to_hex(asset))) << poor.error();
}

TEST(WalletTx, LockedStoreAndBadRequests) {
  auto created = Keystore::create(Network::regtest, std::string("pw"), fast_kdf());
  ASSERT_TRUE(created.ok());
  Keystore ks = std::move(created).value();
  ASSERT_TRUE(ks.add_key().ok());
  auto locked = Keystore::parse(ks.serialize());
  ASSERT_TRUE(locked.ok()) << locked.error();
  const std::vector<Utxo> utxos = {utxo(ks.addresses()[0].program, kBtm, "a")};
  const auto r = build_transaction(*locked, utxos, pay(ks.addresses()[0].program, 10));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error(), "passphrase")) << r.error();
  // Unlocked, the same store signs.
  Keystore unlocked = std::move(locked).value();
  ASSERT_TRUE(unlocked.unlock("pw").ok());
  const auto ok = build_transaction(unlocked, utxos, pay(ks.addresses()[0].program, 10));
  ASSERT_TRUE(ok.ok()) << ok.error();
  expect_valid(*ok, kHeight, 10);

  EXPECT_TRUE(contains(build_transaction(unlocked, utxos, pay(ks.addresses()[0].program, 0)).error(), "0"));
  EXPECT_TRUE(contains(build_transaction(unlocked, utxos, TxRequest{}).error(), "at least one output"));
  Keystore empty = plain_store(0);
  EXPECT_TRUE(contains(build_transaction(empty, utxos, pay(ks.addresses()[0].program, 10)).error(), "no address"));
}

TEST(WalletTx, AssetDefinitionChecks) {
  auto err = [](const std::string& text) {
    const auto r = canonical_asset_definition(text);
    return r.ok() ? std::string("(accepted)") : r.error();
  };
  EXPECT_TRUE(canonical_asset_definition(R"({"name":"X","symbol":"X1","decimals":0})").ok());
  EXPECT_TRUE(contains(err("not json"), "invalid JSON"));
  EXPECT_TRUE(contains(err("[]"), "expected a JSON object"));
  EXPECT_TRUE(contains(err(R"({"symbol":"X","decimals":8})"), "name: missing"));
  EXPECT_TRUE(contains(err(R"({"name":"","symbol":"X","decimals":8})"), "name must be"));
  EXPECT_TRUE(contains(err(R"({"name":"X","symbol":"gold","decimals":8})"), "symbol must be"));
  EXPECT_TRUE(contains(err(R"({"name":"X","symbol":"GOLD","decimals":19})"), "decimals"));
  EXPECT_TRUE(contains(err(R"({"name":"X","symbol":"GOLD","decimals":"8"})"), "decimals"));
  EXPECT_TRUE(contains(err(R"({"name":"X","symbol":"GOLD","decimals":8,"colour":"red"})"), "unknown field \"colour\""));
  EXPECT_TRUE(contains(err(R"({"name":"X","symbol":"GOLD","decimals":8,"description":5})"), "description"));
  const auto def = canonical_asset_definition(R"({"name":"X","symbol":"GOLD","decimals":8})");
  EXPECT_EQ(asset_symbol(*def), "GOLD");
}

// ---------------------------------------------------------------------------------------------
// Against a node

// A node stand-in: UTXOs per address, a height, and what was submitted.
class FakeNode : public NodeClient {
 public:
  std::uint64_t height = kHeight - 1;
  std::map<std::string, std::vector<Utxo>> by_address;
  std::vector<Bytes> submitted;

  core::Result<std::uint64_t> block_count() override { return height; }
  core::Result<std::vector<Utxo>> unspent_outputs(std::string_view address) override {
    const auto it = by_address.find(std::string(address));
    return it == by_address.end() ? std::vector<Utxo>{} : it->second;
  }
  core::Result<Hash> submit_transaction(std::span<const std::uint8_t> raw) override {
    submitted.emplace_back(raw.begin(), raw.end());
    const auto tx = chain::parse_transaction(raw);
    if (!tx) return core::Result<Hash>::failure(tx.error());
    return chain::map_transaction(*tx).tx_id;
  }
};

TEST(WalletNode, BalanceSendIssueRetire) {
  Keystore ks = plain_store(2);
  Keystore other = plain_store(1);
  FakeNode node;
  const auto& a0 = ks.addresses()[0];
  Utxo coinbase = utxo(a0.program, 412 * kBtm, "cb");
  coinbase.is_coinbase = true;
  coinbase.valid_height = kHeight + 50;
  node.by_address[a0.address] = {utxo(a0.program, 5 * kBtm, "x"), coinbase};
  node.by_address[ks.addresses()[1].address] = {utxo(ks.addresses()[1].program, 2 * kBtm, "y")};

  Wallet w(ks, node);
  const auto bal = w.balance();
  ASSERT_TRUE(bal.ok()) << bal.error();
  EXPECT_EQ(bal->height, kHeight - 1);
  ASSERT_EQ(bal->assets.size(), 1u);
  EXPECT_EQ(bal->assets[0].symbol, "BTM");
  EXPECT_EQ(bal->assets[0].confirmed, 7 * kBtm);
  EXPECT_EQ(bal->assets[0].immature, 412 * kBtm);
  EXPECT_EQ(bal->assets[0].utxos, 3u);

  const auto send = w.prepare_send({other.addresses()[0].address, 6 * kBtm, chain::kBtmAssetId, 10});
  ASSERT_TRUE(send.ok()) << send.error();
  expect_valid(*send, kHeight, 10);
  const auto id = w.submit(*send);
  ASSERT_TRUE(id.ok()) << id.error();
  EXPECT_EQ(*id, send->entries.tx_id);
  ASSERT_EQ(node.submitted.size(), 1u);
  EXPECT_EQ(node.submitted[0], send->raw);

  const auto far = w.prepare_send({other.addresses()[0].address, 8 * kBtm, chain::kBtmAssetId, 10});
  ASSERT_FALSE(far.ok());
  EXPECT_TRUE(contains(far.error(), "insufficient funds")) << far.error();
  const auto wrong_net = w.prepare_send({plain_store(1, Network::mainnet).addresses()[0].address, 1, chain::kBtmAssetId, 10});
  ASSERT_FALSE(wrong_net.ok());
  EXPECT_TRUE(contains(wrong_net.error(), "recipient address")) << wrong_net.error();

  const auto def = canonical_asset_definition(R"({"name":"Silver","symbol":"SLV","decimals":2})");
  const auto issue = w.prepare_issue({*def, 5000, "", std::nullopt, 10});
  ASSERT_TRUE(issue.ok()) << issue.error();
  expect_valid(*issue, kHeight, 10);
  const Hash asset = issue->issued.at(0);
  EXPECT_EQ(asset, chain::asset_id(1, a0.program, *def));
  ASSERT_NE(ks.find_asset(asset), nullptr);  // remembered for the caller to save
  EXPECT_TRUE(Keystore::parse(ks.serialize()).ok());
  EXPECT_EQ(issue->tx.outputs[0].control_program, a0.program);

  const auto retire = w.prepare_retire({kBtm, chain::kBtmAssetId, {0xbe, 0xef}, 10});
  ASSERT_TRUE(retire.ok()) << retire.error();
  expect_valid(*retire, kHeight, 10);
  EXPECT_EQ(retire->tx.outputs[0].control_program, chain::retirement_program(Bytes{0xbe, 0xef}));

  // A transaction that does not validate is never sent.
  BuiltTx broken = *send;
  broken.validation.status_fail = true;
  broken.validation.error = "something";
  const auto refused = w.submit(broken);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(contains(refused.error(), "refusing")) << refused.error();
  EXPECT_EQ(node.submitted.size(), 1u);
}

TEST(WalletNode, UnspentOutputsAreChecked) {
  Keystore ks = plain_store(1);
  const Utxo u = utxo(ks.addresses()[0].program, 42, "u");
  nlohmann::json j = nlohmann::json::array();
  j.push_back({{"id", core::to_hex(u.id)},
               {"source_id", core::to_hex(u.source_id)},
               {"source_pos", u.source_pos},
               {"asset_id", core::to_hex(u.asset_id)},
               {"amount", u.amount},
               {"vm_version", 1},
               {"control_program", core::to_hex(u.control_program)},
               {"address", ks.addresses()[0].address},
               {"block_height", 10},
               {"is_coinbase", false},
               {"valid_height", 0}});
  const auto parsed = parse_unspent_outputs(j.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].id, u.id);
  EXPECT_EQ((*parsed)[0].amount, 42u);
  j[0]["amount"] = 43;
  EXPECT_TRUE(contains(parse_unspent_outputs(j.dump()).error(), "do not hash to its id"));
  j[0].erase("amount");
  EXPECT_TRUE(contains(parse_unspent_outputs(j.dump()).error(), "amount: missing"));
  EXPECT_TRUE(contains(parse_unspent_outputs("{}").error(), "expected an array"));
}

TEST(WalletNode, RpcEnvelopeOverHttp) {
  net::HttpServerOptions opts;
  opts.bearer_token = "secret";
  net::HttpServer server(opts);
  server.route("/get-block-count", [](const net::HttpRequest&, net::Respond respond) {
    respond({200, "application/json", R"({"status":"success","data":{"block_count":77}})"});
  });
  server.route("/get-unspent-outputs", [](const net::HttpRequest& req, net::Respond respond) {
    const auto body = nlohmann::json::parse(req.body);
    if (body.value("address", "") == "sm1bad") {
      respond({400, "application/json", R"({"status":"fail","code":"BTM002","msg":"invalid address"})"});
    } else {
      respond({200, "application/json", R"({"status":"success","data":[]})"});
    }
  });
  const auto port = server.start();
  ASSERT_TRUE(port.ok()) << port.error();
  const std::string url = "http://127.0.0.1:" + std::to_string(*port);

  auto client = noderpc::Client::create(url, "secret", std::chrono::seconds(5), "--rpc-token");
  ASSERT_TRUE(client.ok()) << client.error();
  RpcNode node(*client);
  const auto count = node.block_count();
  ASSERT_TRUE(count.ok()) << count.error();
  EXPECT_EQ(*count, 77u);
  const auto none = node.unspent_outputs("sm1good");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty());
  const auto bad = node.unspent_outputs("sm1bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "node get-unspent-outputs: invalid address (BTM002)");
  EXPECT_TRUE(noderpc::is_refusal(bad.error()));  // the node answered and said no
  const auto missing = node.client().call("no-such-method", "{}");
  ASSERT_FALSE(missing.ok());
  EXPECT_FALSE(noderpc::is_refusal(missing.error()));

  RpcNode no_token(*noderpc::Client::create(url, "", std::chrono::seconds(5), "--rpc-token"));
  const auto refused = no_token.block_count();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(contains(refused.error(), "--rpc-token")) << refused.error();
  EXPECT_FALSE(noderpc::is_refusal(refused.error()));

  server.stop();
  const auto down = node.block_count();
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(contains(down.error(), "cannot reach the node")) << down.error();
  EXPECT_FALSE(noderpc::is_refusal(down.error()));  // no answer: a payout waits, it is not failed
  EXPECT_FALSE(noderpc::Client::create("ftp://x", "").ok());
  EXPECT_EQ(default_node_url(Network::regtest), "http://127.0.0.1:9890");
}

}  // namespace
}  // namespace tensority::wallet
