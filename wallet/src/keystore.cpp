#include "tensority/wallet/keystore.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>

#include "json_util.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/chain/chain_params.hpp"
#include "tensority/chain/entries.hpp"
#include "tensority/chain/programs.hpp"

namespace tensority::wallet {
namespace {

using detail::FieldError;
using detail::json;

constexpr std::string_view kFormat = "tensority-wallet-keystore";
constexpr std::uint64_t kVersion = 1;
constexpr std::string_view kKdfName = "argon2id13";
constexpr std::string_view kCipherName = "xsalsa20poly1305";
// Sealed under the passphrase key so that a wrong passphrase is told apart from a damaged key.
constexpr std::string_view kCheckText = "tensority wallet keystore v1";
constexpr std::size_t kSealedSeedBytes = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 32;
constexpr std::size_t kCheckBytes = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + kCheckText.size();
constexpr std::uint64_t kMaxOpslimit = 64;
constexpr std::uint64_t kMaxMemlimit = std::uint64_t{4} << 30;  // 4 GiB
constexpr std::size_t kMaxMultisigKeys = 20;

void init_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

std::string errno_text(int err) { return std::strerror(err); }

Bytes seal(const std::array<std::uint8_t, 32>& key, std::span<const std::uint8_t> plain) {
  Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plain.data(), plain.size(), out.data(),
                        key.data());
  return out;
}

// Opens nonce || box; false when it does not authenticate.
bool open_sealed(const std::array<std::uint8_t, 32>& key, std::span<const std::uint8_t> sealed,
                 std::span<std::uint8_t> plain) {
  if (sealed.size() != crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size()) return false;
  return crypto_secretbox_open_easy(plain.data(), sealed.data() + crypto_secretbox_NONCEBYTES,
                                    sealed.size() - crypto_secretbox_NONCEBYTES, sealed.data(), key.data()) == 0;
}

chain::PubKey public_key_of(const std::array<std::uint8_t, 32>& seed) {
  init_sodium();
  chain::PubKey pk{};
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  sodium_memzero(sk.data(), sk.size());
  return pk;
}

core::Result<std::string> address_for(std::span<const std::uint8_t> program, chain::Network net) {
  return chain::program_to_address(program, net);
}

// Builds the P2WPKH entry of a key.
core::Result<AddressEntry> p2wpkh_entry(const KeyEntry& key, chain::Network net) {
  AddressEntry a;
  a.kind = AddressKind::p2wpkh;
  a.program = chain::p2wpkh_program_for_key(key.public_key);
  auto addr = address_for(a.program, net);
  if (!addr) return core::Result<AddressEntry>::failure(addr.error());
  a.address = std::move(addr).value();
  a.keys = {key.index};
  a.m = 1;
  return a;
}

core::Result<AddressEntry> multisig_entry(const std::vector<KeyEntry>& all, unsigned m,
                                          const std::vector<std::uint32_t>& keys, chain::Network net) {
  using R = core::Result<AddressEntry>;
  if (keys.empty()) return R::failure("a multisig address needs at least one key");
  if (keys.size() > kMaxMultisigKeys) {
    return R::failure("a multisig address takes at most " + std::to_string(kMaxMultisigKeys) + " keys, got " +
                      std::to_string(keys.size()));
  }
  if (m < 1 || m > keys.size()) {
    return R::failure("multisig M must be between 1 and the number of keys (" + std::to_string(keys.size()) +
                      "), got " + std::to_string(m));
  }
  std::vector<chain::PubKey> pubkeys;
  std::set<std::uint32_t> seen;
  for (const std::uint32_t k : keys) {
    if (k >= all.size()) {
      return R::failure("no key " + std::to_string(k) + " in the wallet (it has " + std::to_string(all.size()) +
                        " keys)");
    }
    if (!seen.insert(k).second) return R::failure("key " + std::to_string(k) + " is listed twice");
    pubkeys.push_back(all[k].public_key);
  }
  AddressEntry a;
  a.kind = AddressKind::p2wsh;
  try {
    a.witness_script = chain::multisig_script(pubkeys, m);
  } catch (const std::exception& e) {
    return R::failure(std::string("cannot build the multisig script: ") + e.what());
  }
  a.program = chain::p2wsh_program_for_script(a.witness_script);
  auto addr = address_for(a.program, net);
  if (!addr) return R::failure(addr.error());
  a.address = std::move(addr).value();
  a.keys = keys;
  a.m = m;
  return a;
}

KdfParams check_kdf(const json& enc) {
  KdfParams kdf;
  kdf.opslimit = detail::get_u64(enc, "opslimit", "encryption");
  kdf.memlimit = detail::get_u64(enc, "memlimit", "encryption");
  if (kdf.opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf.opslimit > kMaxOpslimit) {
    throw FieldError("encryption.opslimit: " + std::to_string(kdf.opslimit) + " is outside " +
                     std::to_string(crypto_pwhash_OPSLIMIT_MIN) + ".." + std::to_string(kMaxOpslimit));
  }
  if (kdf.memlimit < crypto_pwhash_MEMLIMIT_MIN || kdf.memlimit > kMaxMemlimit) {
    throw FieldError("encryption.memlimit: " + std::to_string(kdf.memlimit) + " is outside " +
                     std::to_string(crypto_pwhash_MEMLIMIT_MIN) + ".." + std::to_string(kMaxMemlimit));
  }
  return kdf;
}

std::uint32_t get_u32(const json& obj, const char* key, const std::string& where) {
  const std::uint64_t v = detail::get_u64(obj, key, where);
  if (v > 0xffffffffu) throw FieldError(where + "." + key + ": " + std::to_string(v) + " is too large");
  return static_cast<std::uint32_t>(v);
}

Status derive_key(std::string_view passphrase, const std::array<std::uint8_t, 16>& salt, const KdfParams& kdf,
                  std::array<std::uint8_t, 32>& key) {
  init_sodium();
  if (passphrase.empty()) return Status::failure("the passphrase is empty");
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(), kdf.opslimit,
                    static_cast<std::size_t>(kdf.memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::failure("argon2id key derivation failed (out of memory for " +
                           std::to_string(kdf.memlimit >> 20) + " MiB?)");
  }
  return ok_status();
}

Status make_parent_dirs(const std::string& path) {
  std::string dir = path;
  const auto slash = dir.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return ok_status();
  dir.resize(slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::failure(dir + " is not a directory");
    return ok_status();
  }
  for (std::size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::failure("cannot create directory " + prefix + ": " + errno_text(errno));
    }
  }
  return ok_status();
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::failure("cannot write " + path + ": " + errno_text(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

}  // namespace

std::string_view network_name(chain::Network net) { return chain::network_name(net); }

core::Result<chain::Network> parse_network(std::string_view name) { return chain::parse_network(name); }

core::Result<std::string> default_keystore_path(chain::Network net) {
  std::string base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    if (home == nullptr || home[0] == '\0') {
      if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) home = pw->pw_dir;
    }
    if (home == nullptr || home[0] == '\0') {
      return core::Result<std::string>::failure("neither XDG_DATA_HOME nor HOME is set: name a key store with --keystore");
    }
    base = std::string(home) + "/.local/share";
  }
  return base + "/tensority/wallet-" + std::string(chain::network_name(net)) + ".json";
}

KdfParams default_kdf() { return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE}; }
KdfParams fast_kdf() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

std::string_view address_kind_name(AddressKind kind) { return kind == AddressKind::p2wsh ? "p2wsh" : "p2wpkh"; }

core::Result<KeystoreLock> KeystoreLock::acquire(const std::string& keystore_path) {
  using R = core::Result<KeystoreLock>;
  if (auto st = make_parent_dirs(keystore_path); !st) return R::failure(st.error());
  const std::string path = keystore_path + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return R::failure("cannot open lock file " + path + ": " + errno_text(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    return R::failure("cannot lock " + path + ": " + errno_text(err));
  }
  return KeystoreLock(fd);
}

KeystoreLock& KeystoreLock::operator=(KeystoreLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

KeystoreLock::~KeystoreLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Keystore::~Keystore() { wipe(); }

void Keystore::wipe() {
  for (auto& s : seeds_) sodium_memzero(s.data(), s.size());
  if (key_) sodium_memzero(key_->data(), key_->size());
}

core::Result<Keystore> Keystore::create(chain::Network net, const std::optional<std::string>& passphrase, KdfParams kdf) {
  using R = core::Result<Keystore>;
  init_sodium();
  Keystore ks;
  ks.network_ = net;
  if (passphrase && !passphrase->empty()) {
    Encryption enc;
    randombytes_buf(enc.salt.data(), enc.salt.size());
    enc.kdf = kdf;
    Secret key{};
    if (auto st = derive_key(*passphrase, enc.salt, enc.kdf, key); !st) return R::failure(st.error());
    enc.check = seal(key, std::span(reinterpret_cast<const std::uint8_t*>(kCheckText.data()), kCheckText.size()));
    ks.encryption_ = std::move(enc);
    ks.key_ = key;
    sodium_memzero(key.data(), key.size());
  }
  return ks;
}

core::Result<Keystore> Keystore::parse(std::string_view text) {
  using R = core::Result<Keystore>;
  init_sodium();
  if (text.size() > kMaxFileBytes) return R::failure("key store larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
  auto doc = detail::parse_json(text, 8);
  if (!doc) return R::failure(doc.error());
  const json& j = *doc;
  Keystore ks;
  try {
    if (!j.is_object()) throw FieldError("expected a JSON object");
    if (detail::get_string(j, "format", "") != kFormat) {
      throw FieldError("format: not a tensority wallet key store (expected \"" + std::string(kFormat) + "\")");
    }
    if (const std::uint64_t v = detail::get_u64(j, "version", ""); v != kVersion) {
      throw FieldError("version: unsupported key store version " + std::to_string(v) + " (this wallet reads " +
                       std::to_string(kVersion) + ")");
    }
    const auto net = parse_network(detail::get_string(j, "network", ""));
    if (!net) throw FieldError("network: " + net.error());
    ks.network_ = *net;

    if (const json* enc = detail::optional_member(j, "encryption"); enc != nullptr && !enc->is_null()) {
      if (!enc->is_object()) throw FieldError("encryption: expected a JSON object");
      if (detail::get_string(*enc, "kdf", "encryption") != kKdfName) {
        throw FieldError("encryption.kdf: unsupported (expected \"" + std::string(kKdfName) + "\")");
      }
      if (detail::get_string(*enc, "cipher", "encryption") != kCipherName) {
        throw FieldError("encryption.cipher: unsupported (expected \"" + std::string(kCipherName) + "\")");
      }
      Encryption e;
      const Bytes salt = detail::get_hex(*enc, "salt", "encryption", e.salt.size());
      std::copy(salt.begin(), salt.end(), e.salt.begin());
      e.kdf = check_kdf(*enc);
      e.check = detail::get_hex(*enc, "check", "encryption", kCheckBytes);
      ks.encryption_ = std::move(e);
    }

    const json& keys = detail::member(j, "keys", "");
    if (!keys.is_array()) throw FieldError("keys: expected an array");
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string where = "keys[" + std::to_string(i) + "]";
      const json& k = keys[i];
      if (!k.is_object()) throw FieldError(where + ": expected a JSON object");
      KeyEntry entry;
      entry.index = get_u32(k, "index", where);
      if (entry.index != i) throw FieldError(where + ".index: expected " + std::to_string(i));
      const Bytes pk = detail::get_hex(k, "public_key", where, entry.public_key.size());
      std::copy(pk.begin(), pk.end(), entry.public_key.begin());
      if (ks.encryption_) {
        if (detail::optional_member(k, "seed") != nullptr) {
          throw FieldError(where + ".seed: a plain seed in an encrypted key store");
        }
        ks.sealed_.push_back(detail::get_hex(k, "sealed_seed", where, kSealedSeedBytes));
      } else {
        if (detail::optional_member(k, "sealed_seed") != nullptr) {
          throw FieldError(where + ".sealed_seed: a sealed seed in a key store without \"encryption\"");
        }
        Bytes seed_bytes = detail::get_hex(k, "seed", where, 32);
        Secret seed{};
        std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
        sodium_memzero(seed_bytes.data(), seed_bytes.size());
        if (public_key_of(seed) != entry.public_key) {
          sodium_memzero(seed.data(), seed.size());
          throw FieldError(where + ": the seed does not belong to public_key");
        }
        ks.seeds_.push_back(seed);
        sodium_memzero(seed.data(), seed.size());
      }
      ks.keys_.push_back(entry);
    }

    const json& addrs = detail::member(j, "addresses", "");
    if (!addrs.is_array()) throw FieldError("addresses: expected an array");
    std::set<std::string> seen_addresses;
    for (std::size_t i = 0; i < addrs.size(); ++i) {
      const std::string where = "addresses[" + std::to_string(i) + "]";
      const json& a = addrs[i];
      if (!a.is_object()) throw FieldError(where + ": expected a JSON object");
      const std::string type = detail::get_string(a, "type", where);
      const json& key_list = detail::member(a, "keys", where);
      if (!key_list.is_array()) throw FieldError(where + ".keys: expected an array of key indexes");
      if (key_list.size() > kMaxMultisigKeys) {
        throw FieldError(where + ".keys: more than " + std::to_string(kMaxMultisigKeys) + " keys");
      }
      std::vector<std::uint32_t> key_indexes;
      for (const json& kv : key_list) {
        if (!kv.is_number_unsigned() || kv.get<std::uint64_t>() >= ks.keys_.size()) {
          throw FieldError(where + ".keys: every entry must be the index of a key in \"keys\"");
        }
        key_indexes.push_back(static_cast<std::uint32_t>(kv.get<std::uint64_t>()));
      }
      core::Result<AddressEntry> expect = core::Result<AddressEntry>::failure("");
      if (type == "p2wpkh") {
        if (key_indexes.size() != 1) throw FieldError(where + ".keys: a p2wpkh address has exactly one key");
        expect = p2wpkh_entry(ks.keys_[key_indexes[0]], ks.network_);
      } else if (type == "p2wsh") {
        const std::uint64_t m = detail::get_u64(a, "m", where);
        if (m > kMaxMultisigKeys) throw FieldError(where + ".m: " + std::to_string(m) + " is too large");
        expect = multisig_entry(ks.keys_, static_cast<unsigned>(m), key_indexes, ks.network_);
        if (expect && detail::get_hex(a, "witness_script", where) != expect->witness_script) {
          throw FieldError(where + ".witness_script: does not match the multisig script of its keys");
        }
      } else {
        throw FieldError(where + ".type: unknown address type (expected p2wpkh or p2wsh)");
      }
      if (!expect) throw FieldError(where + ": " + expect.error());
      if (detail::get_hex(a, "program", where) != expect->program) {
        throw FieldError(where + ".program: does not match its keys");
      }
      if (detail::get_string(a, "address", where) != expect->address) {
        throw FieldError(where + ".address: does not match its program on " + std::string(chain::network_name(ks.network_)));
      }
      if (!seen_addresses.insert(expect->address).second) throw FieldError(where + ": the address is listed twice");
      ks.addresses_.push_back(std::move(expect).value());
    }

    if (const json* assets = detail::optional_member(j, "assets"); assets != nullptr) {
      if (!assets->is_array()) throw FieldError("assets: expected an array");
      std::set<Hash> seen_assets;
      for (std::size_t i = 0; i < assets->size(); ++i) {
        const std::string where = "assets[" + std::to_string(i) + "]";
        const json& a = (*assets)[i];
        if (!a.is_object()) throw FieldError(where + ": expected a JSON object");
        AssetEntry asset;
        asset.asset_id = detail::get_hash(a, "asset_id", where);
        asset.vm_version = detail::get_u64(a, "vm_version", where);
        if (asset.vm_version != 1) throw FieldError(where + ".vm_version: expected 1");
        asset.key = get_u32(a, "key", where);
        if (asset.key >= ks.keys_.size()) throw FieldError(where + ".key: no such key");
        asset.issuance_program = detail::get_hex(a, "issuance_program", where);
        if (asset.issuance_program != chain::p2wpkh_program_for_key(ks.keys_[asset.key].public_key)) {
          throw FieldError(where + ".issuance_program: is not the P2WPKH program of its key");
        }
        asset.definition = detail::get_hex(a, "definition", where);
        if (chain::asset_id(asset.vm_version, asset.issuance_program, asset.definition) != asset.asset_id) {
          throw FieldError(where + ".asset_id: does not match its program and definition");
        }
        if (!seen_assets.insert(asset.asset_id).second) throw FieldError(where + ": the asset is listed twice");
        ks.assets_.push_back(std::move(asset));
      }
    }
  } catch (const FieldError& e) {
    return R::failure(detail::one_line(e.what()));
  } catch (const std::exception& e) {
    // Any surprise from the JSON library (type errors) is still just a bad file.
    return R::failure("malformed key store: " + detail::one_line(e.what()));
  }
  return ks;
}

std::string Keystore::serialize() const {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["network"] = chain::network_name(network_);
  if (encryption_) {
    j["encryption"] = ojson{{"kdf", kKdfName},
                            {"cipher", kCipherName},
                            {"salt", core::to_hex(encryption_->salt)},
                            {"opslimit", encryption_->kdf.opslimit},
                            {"memlimit", encryption_->kdf.memlimit},
                            {"check", core::to_hex(encryption_->check)}};
  }
  ojson keys = ojson::array();
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    ojson k{{"index", keys_[i].index}, {"public_key", core::to_hex(keys_[i].public_key)}};
    if (encryption_) {
      k["sealed_seed"] = core::to_hex(sealed_[i]);
    } else {
      k["seed"] = core::to_hex(seeds_[i]);
    }
    keys.push_back(std::move(k));
  }
  j["keys"] = std::move(keys);
  ojson addrs = ojson::array();
  for (const auto& a : addresses_) {
    ojson e{{"type", address_kind_name(a.kind)}, {"address", a.address}, {"program", core::to_hex(a.program)},
            {"keys", a.keys}};
    if (a.kind == AddressKind::p2wsh) {
      e["m"] = a.m;
      e["witness_script"] = core::to_hex(a.witness_script);
    }
    addrs.push_back(std::move(e));
  }
  j["addresses"] = std::move(addrs);
  ojson assets = ojson::array();
  for (const auto& a : assets_) {
    assets.push_back(ojson{{"asset_id", core::to_hex(a.asset_id)},
                           {"vm_version", a.vm_version},
                           {"issuance_program", core::to_hex(a.issuance_program)},
                           {"key", a.key},
                           {"definition", core::to_hex(a.definition)}});
  }
  j["assets"] = std::move(assets);
  std::string text = j.dump(2);
  text.push_back('\n');
  return text;
}

core::Result<Keystore> Keystore::load(const std::string& path) {
  using R = core::Result<Keystore>;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return R::failure("no key store at " + path);
    return R::failure("cannot open key store " + path + ": " + errno_text(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return R::failure("cannot stat key store " + path + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return R::failure("key store " + path + " is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return R::failure("refusing key store " + path + ": mode " + mode +
                      " lets group or others read or write it; restrict it with 'chmod 600 " + path + "'");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxFileBytes) {
    return R::failure("key store " + path + " is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return R::failure("cannot read key store " + path + ": " + errno_text(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) return R::failure("key store " + path + " is too large");
  }
  auto ks = parse(text);
  sodium_memzero(text.data(), text.size());
  if (!ks) return R::failure("key store " + path + ": " + ks.error());
  return ks;
}

Status Keystore::save(const std::string& path, bool must_not_exist) const {
  if (path.empty()) return Status::failure("empty key store path");
  if (auto st = make_parent_dirs(path); !st) return st;
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = dir + "/." + base + ".tmp-XXXXXX";
  // mkstemp opens with O_CREAT|O_EXCL and mode 0600; fchmod makes sure of it before any byte
  // is written.
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Status::failure("cannot create a temporary file in " + dir + ": " + errno_text(errno));
  auto fail = [&](const std::string& msg) {
    ::unlink(tmp.c_str());
    return Status::failure(msg);
  };
  if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("cannot set mode 0600 on " + tmp + ": " + errno_text(err));
  }
  std::string text = serialize();
  const Status wrote = write_all(fd, text, tmp);
  sodium_memzero(text.data(), text.size());
  if (!wrote) {
    ::close(fd);
    return fail(wrote.error());
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("cannot sync " + tmp + ": " + errno_text(err));
  }
  if (::close(fd) != 0) return fail("cannot write " + tmp + ": " + errno_text(errno));

  if (must_not_exist) {
    // link() refuses to replace an existing file, unlike rename().
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
    } else if (errno == EEXIST) {
      return fail("key store " + path + " already exists");
    } else {
      // File systems without hard links: check, then rename.
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0) return fail("key store " + path + " already exists");
      if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot create " + path + ": " + errno_text(errno));
    }
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("cannot replace " + path + ": " + errno_text(errno));
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return ok_status();
}

Status Keystore::unlock(std::string_view passphrase) {
  if (!encryption_) return ok_status();
  if (key_) return ok_status();
  Secret key{};
  if (auto st = derive_key(passphrase, encryption_->salt, encryption_->kdf, key); !st) return st;
  std::array<std::uint8_t, kCheckText.size()> check{};
  if (!open_sealed(key, encryption_->check, check) ||
      !std::equal(check.begin(), check.end(), kCheckText.begin(), kCheckText.end(),
                  [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); })) {
    sodium_memzero(key.data(), key.size());
    return Status::failure("wrong passphrase for the key store");
  }
  std::vector<Secret> seeds(keys_.size());
  auto wipe_all = [&] {
    sodium_memzero(key.data(), key.size());
    for (auto& s : seeds) sodium_memzero(s.data(), s.size());
  };
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (!open_sealed(key, sealed_[i], seeds[i])) {
      wipe_all();
      return Status::failure("key " + std::to_string(i) + ": the sealed seed does not open under this passphrase (damaged file?)");
    }
    if (public_key_of(seeds[i]) != keys_[i].public_key) {
      wipe_all();
      return Status::failure("key " + std::to_string(i) + ": the sealed seed does not belong to its public key");
    }
  }
  seeds_ = std::move(seeds);
  key_ = key;
  sodium_memzero(key.data(), key.size());
  return ok_status();
}

core::Result<AddressEntry> Keystore::add_key() {
  using R = core::Result<AddressEntry>;
  init_sodium();
  if (!unlocked()) return R::failure("the key store is encrypted: a passphrase is needed to add a key");
  if (keys_.size() >= 0xffffffffu) return R::failure("the key store is full");
  Secret seed{};
  randombytes_buf(seed.data(), seed.size());
  KeyEntry entry;
  entry.index = static_cast<std::uint32_t>(keys_.size());
  entry.public_key = public_key_of(seed);
  auto addr = p2wpkh_entry(entry, network_);
  if (!addr) {
    sodium_memzero(seed.data(), seed.size());
    return R::failure(addr.error());
  }
  if (encryption_) sealed_.push_back(seal(*key_, seed));
  keys_.push_back(entry);
  seeds_.push_back(seed);
  sodium_memzero(seed.data(), seed.size());
  addresses_.push_back(*addr);
  return addr;
}

core::Result<AddressEntry> Keystore::add_multisig_address(unsigned m, const std::vector<std::uint32_t>& keys) {
  auto entry = multisig_entry(keys_, m, keys, network_);
  if (!entry) return entry;
  if (const AddressEntry* existing = find_address(entry->address)) return *existing;
  addresses_.push_back(*entry);
  return entry;
}

Status Keystore::add_asset(const AssetEntry& asset) {
  if (find_asset(asset.asset_id) != nullptr) return ok_status();
  if (asset.key >= keys_.size()) return Status::failure("no key " + std::to_string(asset.key));
  if (asset.vm_version != 1 || asset.issuance_program != chain::p2wpkh_program_for_key(keys_[asset.key].public_key) ||
      chain::asset_id(asset.vm_version, asset.issuance_program, asset.definition) != asset.asset_id) {
    return Status::failure("asset " + core::to_hex(asset.asset_id) + " does not match its key and definition");
  }
  assets_.push_back(asset);
  return ok_status();
}

const KeyEntry* Keystore::find_key(std::uint32_t index) const {
  return index < keys_.size() ? &keys_[index] : nullptr;
}

const AddressEntry* Keystore::find_address(std::string_view address) const {
  for (const auto& a : addresses_) {
    if (a.address == address) return &a;
  }
  return nullptr;
}

const AddressEntry* Keystore::find_program(std::span<const std::uint8_t> program) const {
  for (const auto& a : addresses_) {
    if (std::equal(a.program.begin(), a.program.end(), program.begin(), program.end())) return &a;
  }
  return nullptr;
}

const AddressEntry* Keystore::p2wpkh_address_of(std::uint32_t key) const {
  for (const auto& a : addresses_) {
    if (a.kind == AddressKind::p2wpkh && a.keys.size() == 1 && a.keys[0] == key) return &a;
  }
  return nullptr;
}

const AssetEntry* Keystore::find_asset(const Hash& asset_id) const {
  for (const auto& a : assets_) {
    if (a.asset_id == asset_id) return &a;
  }
  return nullptr;
}

core::Result<chain::Signature> Keystore::sign(std::uint32_t key, std::span<const std::uint8_t> message) const {
  using R = core::Result<chain::Signature>;
  init_sodium();
  if (key >= keys_.size()) return R::failure("no key " + std::to_string(key) + " in the wallet");
  if (!unlocked()) return R::failure("the key store is encrypted: a passphrase is needed to sign");
  chain::PubKey pk{};
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seeds_[key].data());
  chain::Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk.data());
  sodium_memzero(sk.data(), sk.size());
  return sig;
}

}  // namespace tensority::wallet
