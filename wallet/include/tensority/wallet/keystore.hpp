#pragma once
// The wallet's key store: one JSON file holding ed25519 keys, the addresses built from them
// (P2WPKH, and P2WSH M-of-N multisig with their witness scripts) and the assets this wallet
// issued. Public data is always in clear; the 32-byte key seeds are sealed with
// crypto_secretbox under an argon2id (crypto_pwhash) key when the store has a passphrase, and
// stored plain otherwise. Either way the file is mode 0600 and is only ever replaced whole
// (temp file + rename in the same directory).
//
// The file is outside input: parse() checks every field and that keys, programs, scripts and
// addresses agree, and answers one line for anything wrong.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"
#include "tensority/chain/address.hpp"
#include "tensority/chain/crypto.hpp"

namespace tensority::wallet {

using Bytes = core::wire::Bytes;
using core::Hash;
// Success, or one line saying what went wrong.
using Status = core::Result<std::monostate>;
inline Status ok_status() { return std::monostate{}; }

std::string_view network_name(chain::Network net);  // "mainnet", "testnet", "regtest"
core::Result<chain::Network> parse_network(std::string_view name);

// $XDG_DATA_HOME/tensority/wallet-<network>.json, else ~/.local/share/tensority/...
core::Result<std::string> default_keystore_path(chain::Network net);

// argon2id cost of the passphrase key (crypto_pwhash).
struct KdfParams {
  std::uint64_t opslimit = 0;
  std::uint64_t memlimit = 0;  // bytes
};
KdfParams default_kdf();  // libsodium's "interactive" limits (2 passes, 64 MiB)
KdfParams fast_kdf();     // the minimum limits: tests only

struct KeyEntry {
  std::uint32_t index = 0;  // position in the store, from 0
  chain::PubKey public_key{};
};

enum class AddressKind { p2wpkh, p2wsh };
std::string_view address_kind_name(AddressKind kind);  // "p2wpkh", "p2wsh"

struct AddressEntry {
  AddressKind kind = AddressKind::p2wpkh;
  std::string address;                 // bech32 with the store's network prefix
  Bytes program;                       // the control program the address stands for
  std::vector<std::uint32_t> keys;     // P2WPKH: the one key; P2WSH: the N keys in script order
  unsigned m = 1;                      // P2WSH: signatures required
  Bytes witness_script;                // P2WSH: multisig_script(keys, m); empty for P2WPKH
};

// An asset this wallet issued: enough to issue more of it.
struct AssetEntry {
  Hash asset_id{};
  std::uint64_t vm_version = 1;
  Bytes issuance_program;  // P2WPKH program of `key`
  std::uint32_t key = 0;
  Bytes definition;        // the raw definition bytes the asset ID commits to
};

// An exclusive advisory lock (flock) on "<store path>.lock", held from loading a store to
// saving it, so that two wallet processes changing one store never drop each other's keys.
// Waits for a holder to finish.
class KeystoreLock {
 public:
  static core::Result<KeystoreLock> acquire(const std::string& keystore_path);
  KeystoreLock(KeystoreLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  KeystoreLock& operator=(KeystoreLock&& other) noexcept;
  KeystoreLock(const KeystoreLock&) = delete;
  KeystoreLock& operator=(const KeystoreLock&) = delete;
  ~KeystoreLock();

 private:
  explicit KeystoreLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class Keystore {
 public:
  static constexpr std::size_t kMaxFileBytes = 16u << 20;

  // A new empty store; sealed under `passphrase` when it is given and non-empty.
  static core::Result<Keystore> create(chain::Network net, const std::optional<std::string>& passphrase,
                                       KdfParams kdf = default_kdf());
  // Parses keystore text (untrusted). Sealed seeds stay sealed until unlock().
  static core::Result<Keystore> parse(std::string_view text);
  std::string serialize() const;

  // Reads a store file, refusing one that is not a regular file or that group or others
  // may read or write.
  static core::Result<Keystore> load(const std::string& path);
  // Writes the whole store to a new 0600 temp file in the same directory, then renames it
  // over `path` (must_not_exist: fails instead when `path` exists). Missing parent
  // directories are created 0700.
  Status save(const std::string& path, bool must_not_exist = false) const;

  chain::Network network() const { return network_; }
  bool encrypted() const { return encryption_.has_value(); }
  // True when the seeds are usable: a plain store, or a sealed one after unlock().
  bool unlocked() const { return !encryption_ || key_.has_value(); }
  // Derives the passphrase key and opens every sealed seed; a wrong passphrase is an error
  // and leaves the store locked.
  Status unlock(std::string_view passphrase);

  // A fresh random key and its P2WPKH address (needs unlocked()).
  core::Result<AddressEntry> add_key();
  // M-of-N P2WSH over wallet keys, in the order given (public data only).
  core::Result<AddressEntry> add_multisig_address(unsigned m, const std::vector<std::uint32_t>& keys);
  // Remembers an issued asset (once per asset ID).
  Status add_asset(const AssetEntry& asset);

  const std::vector<KeyEntry>& keys() const { return keys_; }
  const std::vector<AddressEntry>& addresses() const { return addresses_; }
  const std::vector<AssetEntry>& assets() const { return assets_; }
  const KeyEntry* find_key(std::uint32_t index) const;
  const AddressEntry* find_address(std::string_view address) const;
  const AddressEntry* find_program(std::span<const std::uint8_t> program) const;
  const AddressEntry* p2wpkh_address_of(std::uint32_t key) const;
  const AssetEntry* find_asset(const Hash& asset_id) const;

  // ed25519 signature by a wallet key (needs unlocked()).
  core::Result<chain::Signature> sign(std::uint32_t key, std::span<const std::uint8_t> message) const;

  Keystore(const Keystore&) = default;
  Keystore(Keystore&&) noexcept = default;
  Keystore& operator=(const Keystore&) = default;
  Keystore& operator=(Keystore&&) noexcept = default;
  ~Keystore();

 private:
  Keystore() = default;

  struct Encryption {
    std::array<std::uint8_t, 16> salt{};
    KdfParams kdf;
    Bytes check;  // nonce || secretbox(known text): tells a wrong passphrase apart
  };
  using Secret = std::array<std::uint8_t, 32>;

  void wipe();

  chain::Network network_ = chain::Network::mainnet;
  std::optional<Encryption> encryption_;
  std::optional<Secret> key_;          // the passphrase key, once unlocked
  std::vector<KeyEntry> keys_;
  std::vector<Bytes> sealed_;          // per key: nonce || secretbox(seed) (encrypted stores)
  std::vector<Secret> seeds_;          // per key: the ed25519 seed, when unlocked
  std::vector<AddressEntry> addresses_;
  std::vector<AssetEntry> assets_;
};

}  // namespace tensority::wallet
