// ChainStore on RocksDB (docs/spec/node.md 1.9).
//
// Key layout (one default column family; ids and hashes are the raw 32 bytes, never hex):
//
//   "!schema"                          -> "tensority-chainstore" + uvarint schema version (1)
//   "!tip"                             -> [v1] id(32)
//   "!utxo_count"                      -> [v1] uvarint count; rewritten by every write() in the
//                                         same WriteBatch as the UTXO changes it counts
//   'B' + id(32)                       -> [v1] uvarint length, raw serialized block
//   'I' + id(32)                       -> [v1] uvarint height (finds a block's 'H' keys)
//   'H' + height(8, big-endian) + id + 0x00
//                                      -> [v1] serialized header (serflag 0x01); written by
//                                         put_block and put_meta (same bytes for the same id)
//   'H' + height(8, big-endian) + id + 0x01
//                                      -> [v1] meta: flags(bit0 body_valid, bit1 invalid),
//                                         uvarint n, ceil(n/8) status_fail bytes (LSB first),
//                                         varstr invalid_reason
//      so one sequential scan of 'H' yields every header, in ascending height, each directly
//      followed by its meta (a block stored without meta reads as default meta)
//   'U' + output id(32)                -> [v1] utxo body (below)
//   'P' + SHA3(program)(32) + output id -> empty; the index behind utxos_by_program
//   'X' + block id(32)                 -> [v1] uvarint n_spent, n x (output id(32) utxo body),
//                                         uvarint n_created, n x output id(32)
//
// utxo body: flags(bit0 coinbase) uvarint block_height, source_id(32), uvarint
// source_position, asset_id(32), uvarint amount, uvarint vm_version, varstr control_program.
//
// Every value starts with its record version byte (1) and must be consumed exactly; anything
// else is reported through the logger and read as missing. The schema record is checked on
// open: a database without it (but with other keys) is foreign, a newer version is refused;
// the count and tip records are checked on open too (a damaged one fails open, so a bad tip
// never reads as "no tip", which a caller would take for a fresh store).
// A store is opened by one handle at a time (RocksDB's LOCK file); reads may run on any
// thread while one thread writes; write() serialises on a mutex so the count's
// read-modify-write and the batch land in one atomic RocksDB write.
#include "tensority/node/chain_store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string_view>
#include <system_error>

#include "tensority/core/hex.hpp"
#include "tensority/core/sha3.hpp"

namespace tensority::node {

using Bytes = core::wire::Bytes;

namespace {

using core::wire::Bytes;
using core::wire::Reader;

constexpr std::uint8_t kRecordVersion = 1;
constexpr std::uint64_t kSchemaVersion = 1;
constexpr std::string_view kSchemaMagic = "tensority-chainstore";

constexpr std::string_view kSchemaKey = "!schema";
constexpr std::string_view kTipKey = "!tip";
constexpr std::string_view kCountKey = "!utxo_count";
constexpr char kBlockPrefix = 'B';
constexpr char kHeaderPrefix = 'H';
constexpr char kHeightPrefix = 'I';
constexpr char kHeaderTag = 0;
constexpr char kMetaTag = 1;
constexpr char kUtxoPrefix = 'U';
constexpr char kProgramPrefix = 'P';
constexpr char kUndoPrefix = 'X';

constexpr std::size_t kHeaderKeySize = 1 + 8 + 32 + 1;
constexpr std::size_t kProgramKeySize = 1 + 32 + 32;
constexpr std::size_t kReadChunk = 256;  // keys per MultiGet when scanning

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }
rocksdb::Slice slice(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
std::span<const std::uint8_t> bytes_of(const rocksdb::Slice& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void append(std::string& key, const core::Hash& h) { key.append(reinterpret_cast<const char*>(h.data()), h.size()); }

void append_be64(std::string& key, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t read_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<std::uint8_t>(p[i]);
  return v;
}

core::Hash hash_at(const char* p) {
  core::Hash h;
  std::copy_n(reinterpret_cast<const std::uint8_t*>(p), h.size(), h.begin());
  return h;
}

std::string id_key(char prefix, const core::Hash& id) {
  std::string key(1, prefix);
  append(key, id);
  return key;
}

std::string header_key(std::uint64_t height, const core::Hash& id, char tag) {
  std::string key(1, kHeaderPrefix);
  append_be64(key, height);
  append(key, id);
  key.push_back(tag);
  return key;
}

std::string program_prefix(std::span<const std::uint8_t> program) {
  std::string key(1, kProgramPrefix);
  append(key, core::sha3_256(program));
  return key;
}

std::string program_key(std::span<const std::uint8_t> program, const core::Hash& output_id) {
  std::string key = program_prefix(program);
  append(key, output_id);
  return key;
}

// The smallest key greater than every key starting with prefix (prefix is never all 0xff here).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& c = prefix.back();
    if (static_cast<std::uint8_t>(c) != 0xff) {
      c = static_cast<char>(static_cast<std::uint8_t>(c) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

// A readable form of a key for log lines: the printable prefix, then hex.
std::string describe_key(std::string_view key) {
  if (!key.empty() && key.front() == '!') return std::string(key);
  if (key.empty()) return "(empty key)";
  return std::string(1, key.front()) + ":" +
         core::to_hex(std::span(reinterpret_cast<const std::uint8_t*>(key.data()) + 1, key.size() - 1));
}

// ---- codecs -------------------------------------------------------------------------------

bool read_version(Reader& r) {
  std::uint8_t v = 0;
  if (!r.byte(v, "record version")) return false;
  if (v != kRecordVersion) return r.fail("unknown record version " + std::to_string(v));
  return true;
}

bool read_hash(Reader& r, core::Hash& out, const char* field) { return r.raw(std::span<std::uint8_t>(out), field); }

bool finish(Reader& r) {
  if (!r.error().empty()) return false;
  if (r.remaining() != 0) return r.fail(std::to_string(r.remaining()) + " trailing bytes");
  return true;
}

void put_utxo_body(Bytes& out, const UtxoEntry& e) {
  out.push_back(e.is_coinbase ? 1 : 0);
  core::wire::put_uvarint(out, e.block_height);
  core::wire::put_bytes(out, e.source_id);
  core::wire::put_uvarint(out, e.source_position);
  core::wire::put_bytes(out, e.asset_id);
  core::wire::put_uvarint(out, e.amount);
  core::wire::put_uvarint(out, e.vm_version);
  core::wire::put_varstr(out, e.control_program);
}

bool read_utxo_body(Reader& r, UtxoEntry& e) {
  std::uint8_t flags = 0;
  if (!r.byte(flags, "utxo flags")) return false;
  if (flags > 1) return r.fail("unknown utxo flags " + std::to_string(flags));
  e.is_coinbase = flags == 1;
  return r.uvarint(e.block_height, "block_height") && read_hash(r, e.source_id, "source_id") &&
         r.uvarint(e.source_position, "source_position") && read_hash(r, e.asset_id, "asset_id") &&
         r.uvarint(e.amount, "amount") && r.uvarint(e.vm_version, "vm_version") &&
         r.varstr(e.control_program, "control_program");
}

Bytes encode_utxo(const UtxoEntry& e) {
  Bytes out{kRecordVersion};
  put_utxo_body(out, e);
  return out;
}

Bytes encode_meta(const BlockMeta& m) {
  Bytes out{kRecordVersion};
  out.push_back(static_cast<std::uint8_t>((m.body_valid ? 1 : 0) | (m.invalid ? 2 : 0)));
  core::wire::put_uvarint(out, m.status_fail.size());
  std::uint8_t acc = 0;
  for (std::size_t i = 0; i < m.status_fail.size(); ++i) {
    if (m.status_fail[i]) acc = static_cast<std::uint8_t>(acc | 1u << (i % 8));
    if (i % 8 == 7) {
      out.push_back(acc);
      acc = 0;
    }
  }
  if (m.status_fail.size() % 8 != 0) out.push_back(acc);
  core::wire::put_varstr(out, std::span(reinterpret_cast<const std::uint8_t*>(m.invalid_reason.data()),
                                        m.invalid_reason.size()));
  return out;
}

bool decode_meta(Reader& r, BlockMeta& m) {
  if (!read_version(r)) return false;
  std::uint8_t flags = 0;
  if (!r.byte(flags, "meta flags")) return false;
  if (flags > 3) return r.fail("unknown meta flags " + std::to_string(flags));
  m.body_valid = (flags & 1) != 0;
  m.invalid = (flags & 2) != 0;
  std::uint64_t n = 0;
  if (!r.uvarint(n, "status count")) return false;
  const std::uint64_t nbytes = n / 8 + (n % 8 != 0 ? 1 : 0);
  if (nbytes > r.remaining()) return r.fail("status count " + std::to_string(n) + " exceeds the bytes left");
  m.status_fail.assign(static_cast<std::size_t>(n), false);
  for (std::uint64_t byte_index = 0; byte_index < nbytes; ++byte_index) {
    std::uint8_t b = 0;
    r.byte(b, "status bits");
    for (unsigned bit = 0; bit < 8; ++bit) {
      const std::uint64_t i = byte_index * 8 + bit;
      const bool set = (b >> bit & 1u) != 0;
      if (i < n) {
        m.status_fail[static_cast<std::size_t>(i)] = set;
      } else if (set) {
        return r.fail("status padding bit set");
      }
    }
  }
  Bytes reason;
  if (!r.varstr(reason, "invalid_reason")) return false;
  m.invalid_reason.assign(reason.begin(), reason.end());
  return finish(r);
}

Bytes encode_undo(const BlockUndo& u) {
  Bytes out{kRecordVersion};
  core::wire::put_uvarint(out, u.spent.size());
  for (const auto& [id, e] : u.spent) {
    core::wire::put_bytes(out, id);
    put_utxo_body(out, e);
  }
  core::wire::put_uvarint(out, u.created.size());
  for (const auto& id : u.created) core::wire::put_bytes(out, id);
  return out;
}

bool decode_undo(Reader& r, BlockUndo& u) {
  if (!read_version(r)) return false;
  constexpr std::size_t kMinSpent = 32 + 70;  // id + the smallest utxo body
  std::uint64_t n = 0;
  if (!r.uvarint(n, "spent count")) return false;
  if (n > r.remaining() / kMinSpent) return r.fail("spent count " + std::to_string(n) + " exceeds the bytes left");
  u.spent.resize(static_cast<std::size_t>(n));
  for (auto& [id, e] : u.spent) {
    if (!read_hash(r, id, "spent output id") || !read_utxo_body(r, e)) return false;
  }
  if (!r.uvarint(n, "created count")) return false;
  if (n > r.remaining() / 32) return r.fail("created count " + std::to_string(n) + " exceeds the bytes left");
  u.created.resize(static_cast<std::size_t>(n));
  for (auto& id : u.created) {
    if (!read_hash(r, id, "created output id")) return false;
  }
  return finish(r);
}

Bytes encode_height(std::uint64_t height) {
  Bytes out{kRecordVersion};
  core::wire::put_uvarint(out, height);
  return out;
}

Bytes encode_hash_record(const core::Hash& h) {
  Bytes out{kRecordVersion};
  core::wire::put_bytes(out, h);
  return out;
}

Bytes encode_count(std::uint64_t n) {
  Bytes out{kRecordVersion};
  core::wire::put_uvarint(out, n);
  return out;
}

Bytes encode_header(const core::BlockHeader& h) {
  Bytes out{kRecordVersion};
  core::wire::put_bytes(out, core::serialize_header(h));
  return out;
}

Bytes encode_schema() {
  Bytes out(kSchemaMagic.begin(), kSchemaMagic.end());
  core::wire::put_uvarint(out, kSchemaVersion);
  return out;
}

std::string lowercase(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// File names RocksDB itself puts in a database directory: a directory holding only these
// (a creation killed before CURRENT was written) may be (re)created, anything else may not.
bool looks_like_rocksdb_file(const std::string& name) {
  auto starts = [&](std::string_view p) { return name.rfind(p, 0) == 0; };
  auto ends = [&](std::string_view s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return name == "LOCK" || name == "IDENTITY" || name == "CURRENT" || starts("LOG") || starts("MANIFEST-") ||
         starts("OPTIONS-") || ends(".log") || ends(".sst") || ends(".dbtmp") || ends(".blob");
}

}  // namespace

// ---- Impl ---------------------------------------------------------------------------------

struct ChainStore::Impl {
  std::filesystem::path dir;
  std::unique_ptr<rocksdb::DB> db;
  std::shared_ptr<rocksdb::Cache> cache;

  std::mutex write_mu;  // one write() at a time: the count read-modify-write
  std::atomic<std::uint64_t> utxo_count{0};

  mutable std::mutex log_mu;
  Logger logger;
  mutable std::atomic<std::uint64_t> reports{0};

  std::string where() const { return "chain store " + dir.string(); }

  void report(const std::string& line) const {
    reports.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lk(log_mu);
    if (logger) {
      logger(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }

  void corrupt(std::string_view key, const std::string& why) const {
    report(where() + ": corrupt record " + describe_key(key) + ": " + why);
  }

  // The value under key, nullopt when missing; a failed read is reported and reads as missing.
  std::optional<std::string> get(std::string_view key, const rocksdb::ReadOptions& ro = {}) const {
    std::string value;
    const auto s = db->Get(ro, slice(key), &value);
    if (s.ok()) return value;
    if (!s.IsNotFound()) report(where() + ": reading " + describe_key(key) + " failed: " + s.ToString());
    return std::nullopt;
  }

  // Decodes the value under key with fn(Reader&, T&) -> bool; corrupt values are reported.
  template <typename T, typename Fn>
  std::optional<T> get_decoded(std::string_view key, const char* what, Fn fn) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    Reader r(bytes_of(slice(*value)), what);
    T out{};
    if (!fn(r, out) || !finish(r)) {
      corrupt(key, r.error());
      return std::nullopt;
    }
    return out;
  }

  // Looks up many keys at once: statuses[i] ok / NotFound / error. sorted: the keys are in
  // ascending order already (RocksDB then skips its own sort).
  void multi_get(const rocksdb::ReadOptions& ro, const std::vector<std::string>& keys,
                 std::vector<rocksdb::PinnableSlice>& values, std::vector<rocksdb::Status>& statuses,
                 bool sorted) const {
    std::vector<rocksdb::Slice> slices;
    slices.reserve(keys.size());
    for (const auto& k : keys) slices.push_back(slice(k));
    values.clear();
    values.resize(keys.size());
    statuses.assign(keys.size(), rocksdb::Status());
    db->MultiGet(ro, db->DefaultColumnFamily(), keys.size(), slices.data(), values.data(), statuses.data(), sorted);
  }
};

struct ChainStore::Batch::Impl {
  rocksdb::WriteBatch wb;
  std::vector<std::pair<core::Hash, bool>> utxo_ops;  // in order; true: put, false: erase
};

// ---- open / close -------------------------------------------------------------------------

ChainStore::ChainStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ChainStore::~ChainStore() {
  if (impl_ && impl_->db) {
    const auto s = impl_->db->Close();
    if (!s.ok()) impl_->report(impl_->where() + ": close failed: " + s.ToString());
  }
}

core::Result<std::unique_ptr<ChainStore>> ChainStore::open(const std::filesystem::path& dir) {
  using R = core::Result<std::unique_ptr<ChainStore>>;
  const std::string where = "chain store " + dir.string();
  std::error_code ec;

  // Refuse to create a database over something else: a file, or a directory with files
  // that RocksDB did not put there and no CURRENT file.
  const auto st = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(st)) {
    if (!std::filesystem::is_directory(st)) return R::failure(where + ": exists and is not a directory");
    if (!std::filesystem::exists(dir / "CURRENT", ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (!looks_like_rocksdb_file(name)) {
          return R::failure(where + ": not a chain database (no RocksDB CURRENT file, and it holds '" + name +
                            "'); refusing to create one there");
        }
      }
      if (ec) return R::failure(where + ": cannot list the directory: " + ec.message());
    }
  } else {
    std::filesystem::create_directories(dir, ec);
    if (ec) return R::failure(where + ": cannot create the directory: " + ec.message());
  }

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->cache = rocksdb::NewLRUCache(64u << 20);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = impl->cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // point lookups: utxo, meta, block
  table.cache_index_and_filter_blocks = true;                    // bounded by the cache
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.block_size = 16 * 1024;

  rocksdb::Options options;
  options.create_if_missing = true;
  options.error_if_exists = false;
  options.paranoid_checks = true;
  options.max_open_files = 512;
  options.keep_log_file_num = 4;
  options.max_log_file_size = 16u << 20;
  options.level_compaction_dynamic_level_bytes = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  const auto supported = rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType t) { return std::find(supported.begin(), supported.end(), t) != supported.end(); };
  options.compression = has(rocksdb::kLZ4Compression)      ? rocksdb::kLZ4Compression
                        : has(rocksdb::kSnappyCompression) ? rocksdb::kSnappyCompression
                                                           : rocksdb::kNoCompression;
  if (has(rocksdb::kZSTD)) options.bottommost_compression = rocksdb::kZSTD;
  // WAL on (the default), no manual flush: a write that returned survives a killed process;
  // with sync it also survives power loss.

  rocksdb::DB* raw = nullptr;
  const auto s = rocksdb::DB::Open(options, dir.string(), &raw);
  if (!s.ok()) {
    // RocksDB names its LOCK file when another handle holds it: "While lock file: <dir>/LOCK:
    // Resource temporarily unavailable" (another process) or "lock hold by current process,
    // ... <dir>/LOCK: No locks available" (this one).
    const std::string msg = s.ToString();
    const bool lock_error = s.IsIOError() && msg.find("/LOCK") != std::string::npos;
    if (lock_error && lowercase(msg).find("current process") != std::string::npos) {
      return R::failure(where + ": data directory is in use (already open in this process): " + msg);
    }
    if (lock_error) return R::failure(where + ": data directory is in use by another process: " + msg);
    return R::failure(where + ": cannot open the database: " + msg);
  }
  impl->db.reset(raw);
  std::unique_ptr<ChainStore> store(new ChainStore(std::move(impl)));
  Impl& im = *store->impl_;

  // The schema record: written with the first write of a fresh database, checked otherwise.
  std::string schema;
  const auto ss = im.db->Get(rocksdb::ReadOptions(), slice(kSchemaKey), &schema);
  if (ss.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (!it->status().ok()) return R::failure(where + ": cannot read the database: " + it->status().ToString());
    if (it->Valid()) {
      return R::failure(where + ": not a chain database (no schema record; first key " +
                        describe_key(std::string_view(it->key().data(), it->key().size())) + "), a foreign database?");
    }
    rocksdb::WriteBatch wb;
    wb.Put(slice(kSchemaKey), slice(encode_schema()));
    wb.Put(slice(kCountKey), slice(encode_count(0)));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    const auto ws = im.db->Write(wo, &wb);
    if (!ws.ok()) return R::failure(where + ": cannot initialise the database: " + ws.ToString());
    im.utxo_count = 0;
    return store;
  }
  if (!ss.ok()) return R::failure(where + ": cannot read the schema record: " + ss.ToString());
  if (schema.size() < kSchemaMagic.size() || std::string_view(schema).substr(0, kSchemaMagic.size()) != kSchemaMagic) {
    return R::failure(where + ": not a chain database (foreign schema record)");
  }
  {
    Reader r(bytes_of(slice(schema)).subspan(kSchemaMagic.size()), "schema record");
    std::uint64_t version = 0;
    if (!r.uvarint(version, "schema version") || !finish(r)) {
      return R::failure(where + ": damaged schema record: " + r.error());
    }
    if (version > kSchemaVersion) {
      return R::failure(where + ": database schema version " + std::to_string(version) +
                        " is newer than this program supports (" + std::to_string(kSchemaVersion) + ")");
    }
    if (version < kSchemaVersion) {
      return R::failure(where + ": unsupported database schema version " + std::to_string(version));
    }
  }
  std::string count;
  const auto cs = im.db->Get(rocksdb::ReadOptions(), slice(kCountKey), &count);
  if (!cs.ok()) return R::failure(where + ": cannot read the UTXO count record: " + cs.ToString());
  Reader r(bytes_of(slice(count)), "utxo count record");
  std::uint64_t n = 0;
  if (!read_version(r) || !r.uvarint(n, "count") || !finish(r)) {
    return R::failure(where + ": damaged UTXO count record: " + r.error());
  }
  im.utxo_count = n;
  // A damaged tip must not read as "no tip" (a caller would take the store for a fresh one).
  std::string tip;
  const auto ts = im.db->Get(rocksdb::ReadOptions(), slice(kTipKey), &tip);
  if (!ts.ok() && !ts.IsNotFound()) return R::failure(where + ": cannot read the tip record: " + ts.ToString());
  if (ts.ok()) {
    Reader tr(bytes_of(slice(tip)), "tip record");
    core::Hash id{};
    if (!read_version(tr) || !read_hash(tr, id, "tip") || !finish(tr)) {
      return R::failure(where + ": damaged tip record: " + tr.error());
    }
  }
  return store;
}

// ---- reads --------------------------------------------------------------------------------

std::optional<core::Hash> ChainStore::tip() const {
  return impl_->get_decoded<core::Hash>(kTipKey, "tip record", [](Reader& r, core::Hash& h) {
    return read_version(r) && read_hash(r, h, "tip");
  });
}

std::optional<core::wire::Bytes> ChainStore::raw_block(const core::Hash& id) const {
  return impl_->get_decoded<Bytes>(id_key(kBlockPrefix, id), "block record", [](Reader& r, Bytes& b) {
    if (!read_version(r)) return false;
    std::uint64_t n = 0;
    if (!r.uvarint(n, "block length")) return false;
    if (n != r.remaining()) {
      return r.fail("block length " + std::to_string(n) + " but " + std::to_string(r.remaining()) + " bytes stored");
    }
    const auto rest = r.rest();
    b.assign(rest.begin(), rest.end());
    return r.skip(rest.size(), "block");
  });
}

std::optional<BlockMeta> ChainStore::block_meta(const core::Hash& id) const {
  const auto height = impl_->get_decoded<std::uint64_t>(
      id_key(kHeightPrefix, id), "height record",
      [](Reader& r, std::uint64_t& h) { return read_version(r) && r.uvarint(h, "height"); });
  if (!height) return std::nullopt;
  return impl_->get_decoded<BlockMeta>(header_key(*height, id, kMetaTag), "meta record", decode_meta);
}

void ChainStore::for_each_header(const std::function<void(const core::BlockHeader&, const BlockMeta&)>& fn) const {
  const Impl& im = *impl_;
  rocksdb::ReadOptions ro;  // the iterator reads one consistent view
  const std::string lower(1, kHeaderPrefix);
  const std::string upper = prefix_end(lower);
  const rocksdb::Slice upper_slice = slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  ro.fill_cache = false;  // a one-off scan at startup
  ro.readahead_size = 2u << 20;
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(ro));

  // A header waits for the meta that follows it (same height and id, tag 1).
  std::optional<core::BlockHeader> pending;
  std::string pending_block;  // height + id of the pending header
  auto emit = [&](const BlockMeta& meta) {
    if (pending) fn(*pending, meta);
    pending.reset();
  };
  for (it->Seek(slice(lower)); it->Valid(); it->Next()) {
    const auto key = it->key();
    const std::string_view key_view(key.data(), key.size());
    if (key.size() != kHeaderKeySize || (key[kHeaderKeySize - 1] != kHeaderTag && key[kHeaderKeySize - 1] != kMetaTag)) {
      im.corrupt(key_view, "unexpected key in the header range (skipped)");
      continue;
    }
    const std::string_view block = key_view.substr(1, 8 + 32);
    if (key[kHeaderKeySize - 1] == kMetaTag) {
      if (!pending || block != pending_block) {
        im.corrupt(key_view, "meta without its header (skipped)");
        continue;
      }
      Reader r(bytes_of(it->value()), "meta record");
      BlockMeta meta;
      if (!decode_meta(r, meta)) {
        im.corrupt(key_view, r.error() + " (header passed with default meta)");
        meta = BlockMeta{};
      }
      emit(meta);
      continue;
    }
    emit(BlockMeta{});  // the previous header had no meta
    const std::uint64_t height = read_be64(key.data() + 1);
    Reader r(bytes_of(it->value()), "header record");
    if (!read_version(r)) {
      im.corrupt(key_view, r.error() + " (skipped)");
      continue;
    }
    auto parsed = core::parse_header(r.rest(), true);
    if (!parsed.ok()) {
      im.corrupt(key_view, "header record: " + parsed.error() + " (skipped)");
      continue;
    }
    if (parsed->header.height != height) {
      im.corrupt(key_view, "header of height " + std::to_string(parsed->header.height) + " stored under height " +
                               std::to_string(height) + " (skipped)");
      continue;
    }
    pending = std::move(parsed.value().header);
    pending_block.assign(block);
  }
  if (!it->status().ok()) im.report(im.where() + ": scanning headers failed: " + it->status().ToString());
  emit(BlockMeta{});
}

std::optional<UtxoEntry> ChainStore::utxo(const core::Hash& output_id) const {
  return impl_->get_decoded<UtxoEntry>(id_key(kUtxoPrefix, output_id), "utxo record", [](Reader& r, UtxoEntry& e) {
    return read_version(r) && read_utxo_body(r, e);
  });
}

void ChainStore::for_each_utxo(const std::function<void(const core::Hash&, const UtxoEntry&)>& fn) const {
  const Impl& im = *impl_;
  rocksdb::ReadOptions ro;  // the iterator reads one consistent view
  const std::string lower(1, kUtxoPrefix);
  const std::string upper = prefix_end(lower);
  const rocksdb::Slice upper_slice = slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  ro.fill_cache = false;  // a one-off scan (consistency checks)
  ro.readahead_size = 2u << 20;
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(ro));
  for (it->Seek(slice(lower)); it->Valid(); it->Next()) {
    const auto key = it->key();
    const std::string_view key_view(key.data(), key.size());
    if (key.size() != 1 + 32) {
      im.corrupt(key_view, "utxo key of " + std::to_string(key.size()) + " bytes (skipped)");
      continue;
    }
    Reader r(bytes_of(it->value()), "utxo record");
    UtxoEntry e;
    if (!read_version(r) || !read_utxo_body(r, e) || !finish(r)) {
      im.corrupt(key_view, r.error() + " (skipped)");
      continue;
    }
    fn(hash_at(key.data() + 1), e);
  }
  if (!it->status().ok()) im.report(im.where() + ": scanning the UTXO set failed: " + it->status().ToString());
}

std::vector<std::pair<core::Hash, UtxoEntry>> ChainStore::utxos_by_program(std::span<const std::uint8_t> program,
                                                                           std::size_t limit) const {
  std::vector<std::pair<core::Hash, UtxoEntry>> out;
  if (limit == 0) return out;
  const Impl& im = *impl_;
  const rocksdb::Snapshot* snap = im.db->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  const std::string lower = program_prefix(program);
  const std::string upper = prefix_end(lower);
  const rocksdb::Slice upper_slice = slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(ro));

  std::vector<core::Hash> ids;
  std::vector<std::string> keys;
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
  rocksdb::ReadOptions point_ro;
  point_ro.snapshot = snap;
  auto flush = [&] {
    im.multi_get(point_ro, keys, values, statuses, true);  // index order is output id order
    for (std::size_t i = 0; i < ids.size() && out.size() < limit; ++i) {
      if (statuses[i].IsNotFound()) {
        // An index entry whose output is gone: only a broken erase contract leaves one.
        im.corrupt(keys[i], "program index entry without its utxo (ignored)");
        continue;
      }
      if (!statuses[i].ok()) {
        im.report(im.where() + ": reading " + describe_key(keys[i]) + " failed: " + statuses[i].ToString());
        continue;
      }
      Reader r(bytes_of(values[i]), "utxo record");
      UtxoEntry e;
      if (!read_version(r) || !read_utxo_body(r, e) || !finish(r)) {
        im.corrupt(keys[i], r.error());
        continue;
      }
      // Stale index entries (an output re-put with another program) never leak through.
      if (!std::equal(e.control_program.begin(), e.control_program.end(), program.begin(), program.end())) continue;
      out.emplace_back(ids[i], std::move(e));
    }
    ids.clear();
    keys.clear();
  };

  for (it->Seek(slice(lower)); it->Valid() && out.size() < limit; it->Next()) {
    const auto key = it->key();
    if (key.size() != kProgramKeySize) {
      im.corrupt(std::string_view(key.data(), key.size()), "program index key of wrong size (ignored)");
      continue;
    }
    ids.push_back(hash_at(key.data() + 33));
    keys.push_back(id_key(kUtxoPrefix, ids.back()));
    // Fetch what could still be needed, at most a chunk at a time.
    if (ids.size() >= std::min(kReadChunk, limit - out.size())) flush();
  }
  if (!it->status().ok()) im.report(im.where() + ": scanning the program index failed: " + it->status().ToString());
  if (!ids.empty()) flush();
  it.reset();
  im.db->ReleaseSnapshot(snap);
  return out;
}

std::optional<BlockUndo> ChainStore::undo(const core::Hash& id) const {
  return impl_->get_decoded<BlockUndo>(id_key(kUndoPrefix, id), "undo record", decode_undo);
}

std::uint64_t ChainStore::utxo_count() const { return impl_->utxo_count.load(std::memory_order_acquire); }

// ---- writes -------------------------------------------------------------------------------

core::Result<bool> ChainStore::write(Batch& batch, bool sync) {
  if (batch.empty()) return true;
  Impl& im = *impl_;
  Batch::Impl& b = *batch.impl_;
  std::lock_guard lk(im.write_mu);

  // The net effect of the batch on each output it touches (the last operation wins, as in
  // the WriteBatch), against whether the output exists now: only this thread writes.
  std::int64_t delta = 0;
  if (!b.utxo_ops.empty()) {
    std::vector<std::pair<core::Hash, bool>> last(b.utxo_ops);
    std::stable_sort(last.begin(), last.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::pair<core::Hash, bool>> finals;
    finals.reserve(last.size());
    for (std::size_t i = 0; i < last.size(); ++i) {
      if (i + 1 < last.size() && last[i + 1].first == last[i].first) continue;
      finals.push_back(last[i]);
    }
    std::vector<std::string> keys;
    keys.reserve(finals.size());
    for (const auto& [id, present] : finals) keys.push_back(id_key(kUtxoPrefix, id));
    std::vector<rocksdb::PinnableSlice> values;
    std::vector<rocksdb::Status> statuses;
    im.multi_get(rocksdb::ReadOptions(), keys, values, statuses, true);  // finals are sorted by id
    for (std::size_t i = 0; i < finals.size(); ++i) {
      bool existed = false;
      if (statuses[i].ok()) {
        existed = true;
      } else if (!statuses[i].IsNotFound()) {
        return core::Result<bool>::failure(im.where() + ": write refused, reading " + describe_key(keys[i]) +
                                           " failed: " + statuses[i].ToString());
      }
      delta += static_cast<std::int64_t>(finals[i].second) - static_cast<std::int64_t>(existed);
    }
  }
  const std::uint64_t before = im.utxo_count.load(std::memory_order_relaxed);
  std::uint64_t after = before + static_cast<std::uint64_t>(delta);
  if (delta < 0 && static_cast<std::uint64_t>(-delta) > before) {
    im.report(im.where() + ": UTXO count record " + std::to_string(before) + " is below the outputs erased (" +
              std::to_string(-delta) + "); clamped at 0");
    after = 0;
  }

  b.wb.SetSavePoint();
  if (!b.utxo_ops.empty()) b.wb.Put(slice(kCountKey), slice(encode_count(after)));
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  const auto s = im.db->Write(wo, &b.wb);
  if (!s.ok()) {
    b.wb.RollbackToSavePoint();
    return core::Result<bool>::failure(im.where() + ": write failed: " + s.ToString());
  }
  im.utxo_count.store(after, std::memory_order_release);
  b.wb.Clear();
  b.utxo_ops.clear();
  return true;
}

void ChainStore::set_logger(Logger logger) {
  std::lock_guard lk(impl_->log_mu);
  impl_->logger = std::move(logger);
}

std::uint64_t ChainStore::corrupt_records_seen() const { return impl_->reports.load(std::memory_order_relaxed); }

std::string ChainStore::record_key(Record kind, const core::Hash& id, std::uint64_t height) {
  switch (kind) {
    case Record::kBlock: return id_key(kBlockPrefix, id);
    case Record::kHeader: return header_key(height, id, kHeaderTag);
    case Record::kMeta: return header_key(height, id, kMetaTag);
    case Record::kBlockHeight: return id_key(kHeightPrefix, id);
    case Record::kUtxo: return id_key(kUtxoPrefix, id);
    case Record::kUndo: return id_key(kUndoPrefix, id);
    case Record::kTip: return std::string(kTipKey);
    case Record::kUtxoCount: return std::string(kCountKey);
    case Record::kSchema: return std::string(kSchemaKey);
  }
  return {};
}

core::Result<bool> ChainStore::put_raw_for_testing(const std::string& key, std::span<const std::uint8_t> value) {
  std::lock_guard lk(impl_->write_mu);
  const auto s = impl_->db->Put(rocksdb::WriteOptions(), slice(key),
                                rocksdb::Slice(reinterpret_cast<const char*>(value.data()), value.size()));
  if (!s.ok()) return core::Result<bool>::failure(impl_->where() + ": raw put failed: " + s.ToString());
  return true;
}

core::Result<bool> ChainStore::erase_raw_for_testing(const std::string& key) {
  std::lock_guard lk(impl_->write_mu);
  const auto s = impl_->db->Delete(rocksdb::WriteOptions(), slice(key));
  if (!s.ok()) return core::Result<bool>::failure(impl_->where() + ": raw erase failed: " + s.ToString());
  return true;
}

// ---- Batch --------------------------------------------------------------------------------

ChainStore::Batch::Batch() : impl_(std::make_unique<Impl>()) {}
ChainStore::Batch::~Batch() = default;
ChainStore::Batch::Batch(Batch&&) noexcept = default;
ChainStore::Batch& ChainStore::Batch::operator=(Batch&&) noexcept = default;

void ChainStore::Batch::put_block(const core::Hash& id, std::span<const std::uint8_t> raw_block,
                                  const core::BlockHeader& header) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  Bytes value{kRecordVersion};
  core::wire::put_uvarint(value, raw_block.size());
  core::wire::put_bytes(value, raw_block);
  impl_->wb.Put(slice(id_key(kBlockPrefix, id)), slice(value));
  impl_->wb.Put(slice(id_key(kHeightPrefix, id)), slice(encode_height(header.height)));
  impl_->wb.Put(slice(header_key(header.height, id, kHeaderTag)), slice(encode_header(header)));
}

void ChainStore::Batch::put_meta(const core::Hash& id, const core::BlockHeader& header, const BlockMeta& meta) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->wb.Put(slice(id_key(kHeightPrefix, id)), slice(encode_height(header.height)));
  impl_->wb.Put(slice(header_key(header.height, id, kHeaderTag)), slice(encode_header(header)));
  impl_->wb.Put(slice(header_key(header.height, id, kMetaTag)), slice(encode_meta(meta)));
}

void ChainStore::Batch::put_utxo(const core::Hash& output_id, const UtxoEntry& entry) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->wb.Put(slice(id_key(kUtxoPrefix, output_id)), slice(encode_utxo(entry)));
  impl_->wb.Put(slice(program_key(entry.control_program, output_id)), rocksdb::Slice());
  impl_->utxo_ops.emplace_back(output_id, true);
}

void ChainStore::Batch::erase_utxo(const core::Hash& output_id, const UtxoEntry& entry) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->wb.Delete(slice(id_key(kUtxoPrefix, output_id)));
  impl_->wb.Delete(slice(program_key(entry.control_program, output_id)));
  impl_->utxo_ops.emplace_back(output_id, false);
}

void ChainStore::Batch::put_undo(const core::Hash& id, const BlockUndo& undo) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->wb.Put(slice(id_key(kUndoPrefix, id)), slice(encode_undo(undo)));
}

void ChainStore::Batch::erase_undo(const core::Hash& id) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->wb.Delete(slice(id_key(kUndoPrefix, id)));
}

void ChainStore::Batch::set_tip(const core::Hash& id) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->wb.Put(slice(kTipKey), slice(encode_hash_record(id)));
}

bool ChainStore::Batch::empty() const { return !impl_ || impl_->wb.Count() == 0; }

}  // namespace tensority::node
