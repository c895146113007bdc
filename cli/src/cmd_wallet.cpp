// tensority wallet: an external signer over a node's RPC. A thin layer over tensority::wallet:
// option parsing, the key store's location and passphrase, and printing (human lines, or one
// JSON object with --json).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/chain/programs.hpp"
#include "tensority/wallet/wallet.hpp"

namespace tensority::cli {
namespace {

using nlohmann::json;
namespace w = tensority::wallet;
using core::Hash;

constexpr const char* kPassphraseEnv = "TENSORITY_WALLET_PASSPHRASE";
constexpr std::uint64_t kMaxAmount = 0x7fffffffffffffffULL;  // varint63

struct WalletArgs {
  std::string network;
  std::string node_url;
  std::string rpc_token;
  std::string keystore;
  std::string passphrase_file;
  unsigned rpc_timeout = 30;
  bool json = false;

  // new-address
  unsigned multisig = 0;
  std::vector<std::uint32_t> keys;
  // send / issue / retire
  std::string to;
  std::uint64_t amount = 0;
  std::string asset;
  unsigned fee_margin = 10;
  bool dry_run = false;
  std::string definition;
  std::optional<std::uint32_t> issue_key;
  std::string data;

  CLI::App* wallet = nullptr;
  CLI::App* create_key = nullptr;
  CLI::App* new_address = nullptr;
  CLI::App* list_addresses = nullptr;
  CLI::App* balance = nullptr;
  CLI::App* list_utxos = nullptr;
  CLI::App* send = nullptr;
  CLI::App* issue = nullptr;
  CLI::App* retire = nullptr;
};

void print_json(const json& j) { std::puts(j.dump(2).c_str()); }

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error(msg); }

template <typename T>
T take(core::Result<T> r) {
  if (!r) fail(r.error());
  return std::move(r).value();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string read_small_file(const std::string& path, const char* what, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(std::string(what) + ": cannot read " + path);
  std::string text;
  text.resize(max_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes) throw UsageError(std::string(what) + ": " + path + " is larger than " + std::to_string(max_bytes) + " bytes");
  return text;
}

// TENSORITY_WALLET_PASSPHRASE, or the first line of --passphrase-file.
std::optional<std::string> passphrase(const WalletArgs& a) {
  if (!a.passphrase_file.empty()) {
    std::string text = read_small_file(a.passphrase_file, "--passphrase-file", 4096);
    if (const auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) throw UsageError("--passphrase-file: " + a.passphrase_file + " holds an empty passphrase");
    return text;
  }
  if (const char* env = std::getenv(kPassphraseEnv); env != nullptr && env[0] != '\0') return std::string(env);
  return std::nullopt;
}

Hash parse_asset(const std::string& text) {
  if (text.empty() || text == "btm" || text == "BTM") return chain::kBtmAssetId;
  auto h = core::hash_from_hex(text);
  if (!h) throw UsageError("--asset: expected BTM or a 64-digit hex asset ID: " + h.error());
  return *h;
}

std::string asset_label(const Hash& id, const w::Keystore& ks) {
  if (id == chain::kBtmAssetId) return "BTM";
  if (const w::AssetEntry* a = ks.find_asset(id)) {
    const std::string sym = w::asset_symbol(a->definition);
    if (!sym.empty()) return sym + " (" + core::to_hex(id) + ")";
  }
  return core::to_hex(id);
}

json address_json(const w::AddressEntry& a) {
  json j{{"address", a.address}, {"type", w::address_kind_name(a.kind)}, {"program", core::to_hex(a.program)},
         {"keys", a.keys}};
  if (a.kind == w::AddressKind::p2wsh) {
    j["m"] = a.m;
    j["n"] = a.keys.size();
    j["witness_script"] = core::to_hex(a.witness_script);
  }
  return j;
}

std::string join_keys(const std::vector<std::uint32_t>& keys) {
  std::string s;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(keys[i]);
  }
  return s;
}

// Everything a command needs: the network, the key store (loaded or not yet there), and
// the node.
struct Context {
  chain::Network net = chain::Network::mainnet;
  std::string path;
  std::optional<w::KeystoreLock> lock;  // held by commands that change the store
  std::optional<w::Keystore> ks;
  std::optional<std::string> pass;
};

Context open_context(const WalletArgs& a, bool changes_store) {
  Context c;
  std::optional<chain::Network> explicit_net;
  if (!a.network.empty()) {
    auto n = w::parse_network(a.network);
    if (!n) throw UsageError("--network: " + n.error());
    explicit_net = *n;
    c.net = *n;
  }
  c.path = a.keystore.empty() ? take(w::default_keystore_path(c.net)) : a.keystore;
  c.pass = passphrase(a);
  if (changes_store) c.lock = take(w::KeystoreLock::acquire(c.path));
  if (file_exists(c.path)) {
    c.ks = take(w::Keystore::load(c.path));
    if (explicit_net && c.ks->network() != *explicit_net) {
      throw UsageError("key store " + c.path + " is for " + std::string(w::network_name(c.ks->network())) +
                       ", not " + std::string(w::network_name(*explicit_net)));
    }
    c.net = c.ks->network();
  }
  return c;
}

w::Keystore& require_keystore(Context& c) {
  if (!c.ks) fail("no key store at " + c.path + " (create one with 'tensority wallet create-key')");
  return *c.ks;
}

void unlock(Context& c) {
  w::Keystore& ks = require_keystore(c);
  if (!ks.encrypted() || ks.unlocked()) return;
  if (!c.pass) {
    fail("key store " + c.path + " is encrypted: set " + kPassphraseEnv + " or pass --passphrase-file");
  }
  if (auto st = ks.unlock(*c.pass); !st) fail(st.error());
}

std::unique_ptr<w::RpcNode> connect(const WalletArgs& a, const Context& c) {
  const std::string url = a.node_url.empty() ? w::default_node_url(c.net) : a.node_url;
  auto client = noderpc::Client::create(url, a.rpc_token, std::chrono::seconds(a.rpc_timeout), "--rpc-token");
  if (!client) throw UsageError("--node: " + client.error());
  return std::make_unique<w::RpcNode>(std::move(client).value());
}

int cmd_new_key(const WalletArgs& a, Context& c) {
  bool created = false;
  if (!c.ks) {
    c.ks = take(w::Keystore::create(c.net, c.pass));
    created = true;
  } else if (c.ks->encrypted()) {
    unlock(c);
  }
  const w::AddressEntry addr = take(c.ks->add_key());
  if (auto st = c.ks->save(c.path, created); !st) fail(st.error());
  if (created && !c.ks->encrypted()) {
    fmt::print(stderr,
               "note: created key store {} WITHOUT encryption (mode 0600, readable only by you); set {} or pass "
               "--passphrase-file when creating it to encrypt the keys\n",
               c.path, kPassphraseEnv);
  } else if (!created && c.pass && !c.ks->encrypted()) {
    fmt::print(stderr, "note: key store {} is not encrypted; the passphrase was not used\n", c.path);
  }
  const w::KeyEntry& key = *c.ks->find_key(addr.keys[0]);
  if (a.json) {
    json j = address_json(addr);
    j["index"] = key.index;
    j["public_key"] = core::to_hex(key.public_key);
    j["keystore"] = c.path;
    j["encrypted"] = c.ks->encrypted();
    j["created_keystore"] = created;
    print_json(j);
  } else {
    fmt::print("{}\n", addr.address);
  }
  return kExitOk;
}

int cmd_new_address(const WalletArgs& a, Context& c) {
  if (a.multisig == 0) {
    if (!a.keys.empty()) throw UsageError("--keys needs --multisig M");
    return cmd_new_key(a, c);
  }
  if (a.keys.empty()) throw UsageError("--multisig needs --keys i,j,k (wallet key indexes)");
  w::Keystore& ks = require_keystore(c);
  auto addr = ks.add_multisig_address(a.multisig, a.keys);
  if (!addr) throw UsageError(addr.error());
  if (auto st = ks.save(c.path); !st) fail(st.error());
  if (a.json) {
    print_json(address_json(*addr));
  } else {
    fmt::print("{}\n", addr->address);
  }
  return kExitOk;
}

int cmd_list_addresses(const WalletArgs& a, Context& c) {
  const w::Keystore& ks = require_keystore(c);
  if (a.json) {
    json list = json::array();
    for (const auto& addr : ks.addresses()) list.push_back(address_json(addr));
    print_json(json{{"network", w::network_name(ks.network())}, {"addresses", list}});
    return kExitOk;
  }
  for (const auto& addr : ks.addresses()) {
    if (addr.kind == w::AddressKind::p2wpkh) {
      fmt::print("{}  p2wpkh  key {}\n", addr.address, addr.keys[0]);
    } else {
      fmt::print("{}  p2wsh   {}-of-{} keys {}\n", addr.address, addr.m, addr.keys.size(), join_keys(addr.keys));
    }
  }
  return kExitOk;
}

int cmd_balance(const WalletArgs& a, Context& c) {
  w::Keystore& ks = require_keystore(c);
  auto node = connect(a, c);
  w::Wallet wallet(ks, *node);
  const w::Balance b = take(wallet.balance());
  if (a.json) {
    json assets = json::array();
    for (const auto& ab : b.assets) {
      assets.push_back(json{{"asset_id", core::to_hex(ab.asset_id)}, {"symbol", ab.symbol}, {"confirmed", ab.confirmed},
                            {"immature", ab.immature}, {"utxos", ab.utxos}});
    }
    print_json(json{{"height", b.height}, {"assets", assets}});
    return kExitOk;
  }
  fmt::print("height {}\n", b.height);
  for (const auto& ab : b.assets) {
    const std::string label = asset_label(ab.asset_id, ks);
    fmt::print("{}  {}{}\n", label, ab.confirmed, ab.asset_id == chain::kBtmAssetId ? " neu" : "");
    if (ab.immature > 0) fmt::print("{}  {} immature (coinbase, not yet spendable)\n", label, ab.immature);
  }
  return kExitOk;
}

int cmd_list_utxos(const WalletArgs& a, Context& c) {
  w::Keystore& ks = require_keystore(c);
  auto node = connect(a, c);
  w::Wallet wallet(ks, *node);
  const std::uint64_t next = take(wallet.next_height());
  const auto list = take(wallet.utxos());
  if (a.json) {
    json arr = json::array();
    for (const auto& u : list) {
      arr.push_back(json{{"id", core::to_hex(u.id)},
                         {"asset_id", core::to_hex(u.asset_id)},
                         {"amount", u.amount},
                         {"address", u.address},
                         {"control_program", core::to_hex(u.control_program)},
                         {"source_id", core::to_hex(u.source_id)},
                         {"source_pos", u.source_pos},
                         {"block_height", u.block_height},
                         {"is_coinbase", u.is_coinbase},
                         {"valid_height", u.valid_height},
                         {"mature", u.mature_at(next)}});
    }
    print_json(json{{"height", next - 1}, {"utxos", arr}});
    return kExitOk;
  }
  for (const auto& u : list) {
    std::string note;
    if (u.is_coinbase) note = u.mature_at(next) ? "  coinbase" : fmt::format("  coinbase, spendable at height {}", u.valid_height);
    fmt::print("{}  {}  {}  {}  height {}{}\n", core::to_hex(u.id), asset_label(u.asset_id, ks), u.amount, u.address,
               u.block_height, note);
  }
  return kExitOk;
}

// Submits (unless --dry-run) and prints a built transaction.
int finish_tx(const WalletArgs& a, w::Wallet& wallet, const w::BuiltTx& tx, json extra, const std::string& human_prefix) {
  bool submitted = false;
  if (!a.dry_run) {
    take(wallet.submit(tx));
    submitted = true;
  }
  if (a.json) {
    extra["tx_id"] = core::to_hex(tx.entries.tx_id);
    extra["fee"] = tx.fee;
    extra["gas_used"] = tx.gas_used;
    extra["size"] = tx.raw.size();
    extra["inputs"] = tx.tx.inputs.size();
    extra["outputs"] = tx.tx.outputs.size();
    extra["submitted"] = submitted;
    extra["raw_transaction"] = core::to_hex(tx.raw);
    print_json(extra);
  } else {
    fmt::print("{}tx_id {}\n", human_prefix, core::to_hex(tx.entries.tx_id));
    fmt::print(stderr, "{} {} bytes, gas {}, fee {} neu\n", submitted ? "submitted:" : "built (not submitted):",
               tx.raw.size(), tx.gas_used, tx.fee);
  }
  return kExitOk;
}

void check_amount(std::uint64_t amount) {
  if (amount == 0 || amount > kMaxAmount) throw UsageError("--amount: must be from 1 to 2^63-1 (integer, in neu)");
}

int cmd_send(const WalletArgs& a, Context& c) {
  w::Keystore& ks = require_keystore(c);
  check_amount(a.amount);
  if (auto p = chain::address_to_program(a.to, ks.network()); !p) throw UsageError("--to: " + p.error());
  const Hash asset = parse_asset(a.asset);
  unlock(c);
  auto node = connect(a, c);
  w::Wallet wallet(ks, *node);
  const w::BuiltTx tx = take(wallet.prepare_send({a.to, a.amount, asset, a.fee_margin}));
  return finish_tx(a, wallet, tx, json::object(), "");
}

int cmd_issue(const WalletArgs& a, Context& c) {
  w::Keystore& ks = require_keystore(c);
  check_amount(a.amount);
  if (!a.to.empty()) {
    if (auto p = chain::address_to_program(a.to, ks.network()); !p) throw UsageError("--to: " + p.error());
  }
  const std::string text = read_small_file(a.definition, "--definition", 64 * 1024);
  auto def = w::canonical_asset_definition(text);
  if (!def) throw UsageError("--definition " + a.definition + ": " + def.error());
  if (a.issue_key && ks.find_key(*a.issue_key) == nullptr) {
    throw UsageError("--key: no key " + std::to_string(*a.issue_key) + " in the wallet");
  }
  unlock(c);
  auto node = connect(a, c);
  w::Wallet wallet(ks, *node);
  const w::BuiltTx tx = take(wallet.prepare_issue({*def, a.amount, a.to, a.issue_key, a.fee_margin}));
  const Hash asset_id = tx.issued.at(0);
  const int rc = finish_tx(a, wallet, tx, json{{"asset_id", core::to_hex(asset_id)}}, "asset_id " + core::to_hex(asset_id) + "\n");
  // The asset is remembered (to show its symbol, to issue more) once the node took it.
  if (!a.dry_run) {
    if (auto st = ks.save(c.path); !st) fail("issued, but the key store was not updated: " + st.error());
  }
  return rc;
}

int cmd_retire(const WalletArgs& a, Context& c) {
  w::Keystore& ks = require_keystore(c);
  check_amount(a.amount);
  const Hash asset = parse_asset(a.asset);
  auto data = core::from_hex(a.data);
  if (!data) throw UsageError("--data: " + data.error());
  if (data->size() > 1024) throw UsageError("--data: at most 1024 bytes");
  unlock(c);
  auto node = connect(a, c);
  w::Wallet wallet(ks, *node);
  const w::BuiltTx tx = take(wallet.prepare_retire({a.amount, asset, *data, a.fee_margin}));
  return finish_tx(a, wallet, tx, json::object(), "");
}

int run_wallet(WalletArgs& a) {
  const bool changes_store = a.create_key->parsed() || a.new_address->parsed() || (a.issue->parsed() && !a.dry_run);
  Context c = open_context(a, changes_store);
  if (a.create_key->parsed()) return cmd_new_key(a, c);
  if (a.new_address->parsed()) return cmd_new_address(a, c);
  if (a.list_addresses->parsed()) return cmd_list_addresses(a, c);
  if (a.balance->parsed()) return cmd_balance(a, c);
  if (a.list_utxos->parsed()) return cmd_list_utxos(a, c);
  if (a.send->parsed()) return cmd_send(a, c);
  if (a.issue->parsed()) return cmd_issue(a, c);
  if (a.retire->parsed()) return cmd_retire(a, c);
  throw UsageError("wallet: a command is required (see 'tensority wallet --help')");
}

void add_tx_options(CLI::App* sub, WalletArgs& a) {
  sub->add_option("--fee-margin", a.fee_margin,
                  "extra gas bought on top of what validation measures, in percent (fee = gas * (100+margin)/100 * 200 neu)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000u));
  sub->add_flag("--dry-run", a.dry_run, "build, sign and validate, print, but do not submit");
}

}  // namespace

Runner add_wallet(CLI::App& app) {
  auto args = std::make_shared<WalletArgs>();
  WalletArgs& a = *args;
  auto* wallet = app.add_subcommand(
      "wallet",
      "External signer against a node's RPC: ed25519 keys, P2WPKH/P2WSH addresses, send, issue and retire assets");
  a.wallet = wallet;
  wallet->require_subcommand(1);
  wallet->footer(
      "Amounts are integers in neu (1 BTM = 100000000 neu) or in an asset's smallest unit.\n"
      "The key store is one JSON file, mode 0600 (default $XDG_DATA_HOME/tensority/wallet-<network>.json,\n"
      "else ~/.local/share/tensority/...). Its keys are encrypted (argon2id + secretbox) when a passphrase\n"
      "is given through TENSORITY_WALLET_PASSPHRASE or --passphrase-file when it is created; otherwise\n"
      "they are stored PLAIN, protected only by the file mode.");
  wallet->add_option("--network", a.network,
                     "mainnet, testnet (bytomd: wisdom), solonet or regtest (default: the key store's, else mainnet)")
      ->check(CLI::IsMember({"mainnet", "testnet", "wisdom", "solonet", "regtest"}));
  wallet->add_option("--node", a.node_url,
                     "node RPC URL (default http://127.0.0.1:9888 mainnet and solonet, :9889 testnet, :9890 regtest)");
  wallet->add_option("--rpc-token", a.rpc_token, "token for the node RPC: ours (node --rpc-token) as a bearer token, or a bytomd access token ID:SECRET, sent as HTTP Basic");
  wallet->add_option("--rpc-timeout", a.rpc_timeout, "seconds per RPC call")->capture_default_str()->check(CLI::Range(1u, 3600u));
  wallet->add_option("--keystore", a.keystore, "key store file (overrides the default path)");
  wallet->add_option("--passphrase-file", a.passphrase_file,
                     "file whose first line is the key store passphrase (else $TENSORITY_WALLET_PASSPHRASE)");
  wallet->add_flag("--json", a.json, "print one JSON object on stdout");

  auto sub = [&](const char* name, const char* help) {
    CLI::App* s = wallet->add_subcommand(name, help);
    s->fallthrough();  // wallet options may also follow the command
    return s;
  };
  a.create_key = sub("create-key", "Create a key (and the key store, if missing); prints its P2WPKH address");
  a.new_address = sub("new-address", "New P2WPKH address (a new key), or an M-of-N P2WSH multisig address over wallet keys");
  a.new_address->add_option("--multisig", a.multisig, "signatures required (M)")->check(CLI::Range(1u, 20u));
  a.new_address->add_option("--keys", a.keys, "wallet key indexes of the N keys, in script order: i,j,k")->delimiter(',');
  a.list_addresses = sub("list-addresses", "List the wallet's addresses");
  a.balance = sub("balance", "Confirmed balance per asset (immature coinbase shown apart)");
  a.list_utxos = sub("list-utxos", "List the wallet's unspent outputs");

  a.send = sub("send", "Send BTM or an asset to an address");
  a.send->add_option("--to", a.to, "recipient address")->required();
  a.send->add_option("--amount", a.amount, "amount in neu (integer)")->required();
  a.send->add_option("--asset", a.asset, "asset ID (64 hex digits); default BTM");
  add_tx_options(a.send, a);

  a.issue = sub("issue", "Issue a new asset (or more of one) from a JSON definition; prints its asset ID and tx ID");
  a.issue->add_option("--definition", a.definition,
                      "JSON file: {\"name\", \"symbol\", \"decimals\" (0-18), \"description\" (optional)}")
      ->required();
  a.issue->add_option("--amount", a.amount, "units to issue (integer)")->required();
  a.issue->add_option("--to", a.to, "recipient address (default: the issuing key's address)");
  a.issue->add_option("--key", a.issue_key, "index of the issuing key (default 0); the asset ID depends on it");
  add_tx_options(a.issue, a);

  a.retire = sub("retire", "Retire (burn) BTM or an asset: an OP_FAIL output, with an optional data comment");
  a.retire->add_option("--amount", a.amount, "amount in neu or asset units (integer)")->required();
  a.retire->add_option("--asset", a.asset, "asset ID (64 hex digits); default BTM");
  a.retire->add_option("--data", a.data, "hex data carried after OP_FAIL");
  add_tx_options(a.retire, a);

  return [args] { return run_wallet(*args); };
}

}  // namespace tensority::cli
