// ChainStore on RocksDB: every record round-trips, headers come back in height order,
// the program index finds exactly one program's outputs, the UTXO count stays exact, a
// batch lands whole, the database persists, damaged or foreign directories and corrupt
// records are refused with a message (never a crash), and a writer SIGKILLed at random
// moments always leaves a consistent store behind.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/core/sha3.hpp"
#include "tensority/node/chain_store.hpp"

extern char** environ;

namespace tensority::node {

using Bytes = core::wire::Bytes;

namespace {

namespace fs = std::filesystem;
using core::wire::Bytes;
using Record = ChainStore::Record;

// A fresh directory under the system temp dir, removed with everything in it afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path = fs::temp_directory_path() / ("tensority-store-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(counter++) + "-" + std::to_string(rd()));
    fs::remove_all(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

Bytes le64(std::uint64_t v) {
  Bytes b;
  core::wire::put_le64(b, v);
  return b;
}

core::Hash tagged(const std::string& tag, std::uint64_t n) {
  Bytes b(tag.begin(), tag.end());
  core::wire::put_le64(b, n);
  return core::sha3_256(b);
}

core::BlockHeader header_at(std::uint64_t height, std::uint64_t nonce) {
  core::BlockHeader h;
  h.height = height;
  h.previous_block_id = tagged("prev", height);
  h.timestamp = 1600000000 + height;
  h.transactions_merkle_root = tagged("merkle", nonce);
  h.transaction_status_hash = tagged("status", nonce);
  h.nonce = nonce;
  h.bits = 0x1d00ffff;
  return h;
}

UtxoEntry entry_with(std::uint64_t amount, Bytes program, bool coinbase = false) {
  UtxoEntry e;
  e.is_coinbase = coinbase;
  e.block_height = amount * 3 + 1;
  e.source_id = tagged("source", amount);
  e.source_position = amount % 5;
  e.asset_id = tagged("asset", 1);
  e.amount = amount;
  e.vm_version = 1;
  e.control_program = std::move(program);
  return e;
}

std::unique_ptr<ChainStore> open_ok(const fs::path& dir) {
  auto r = ChainStore::open(dir);
  EXPECT_TRUE(r.ok()) << r.error();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

std::string open_error(const fs::path& dir) {
  auto r = ChainStore::open(dir);
  EXPECT_FALSE(r.ok()) << "opening " << dir << " should fail";
  return r.ok() ? std::string() : r.error();
}

void write_ok(ChainStore& s, ChainStore::Batch& b, bool sync = false) {
  const auto r = s.write(b, sync);
  ASSERT_TRUE(r.ok()) << r.error();
}

struct LogSink {
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  void attach(ChainStore& s) {
    auto l = lines;
    s.set_logger([l](const std::string& line) { l->push_back(line); });
  }
  bool any_contains(const std::string& text) const {
    for (const auto& line : *lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

TEST(ChainStore, EveryRecordRoundTrips) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->tip());
  EXPECT_EQ(store->utxo_count(), 0u);

  const auto header = header_at(7, 99);
  core::BlockHeader with_suffix = header_at(8, 5);
  with_suffix.commitment_suffix = {0xde, 0xad};
  const core::Hash id = core::block_id(header);
  const core::Hash id2 = core::block_id(with_suffix);
  const Bytes raw = {0x03, 1, 2, 3, 4, 5, 0, 0xff};
  BlockMeta meta;
  meta.status_fail = {true, false, false, true, false, false, false, true, true, false, true, false, true};
  meta.body_valid = true;
  meta.invalid = false;
  BlockMeta meta2;
  meta2.invalid = true;
  meta2.invalid_reason = "double spend of output 1234";
  const UtxoEntry coinbase = entry_with(41, {0x00, 0x14, 0xaa}, true);
  UtxoEntry big = entry_with(~std::uint64_t{0}, Bytes(300, 0x51));
  big.block_height = ~std::uint64_t{0} >> 1;
  big.source_position = 1ull << 40;
  big.vm_version = 1ull << 62;
  BlockUndo undo;
  undo.spent = {{tagged("spent", 1), entry_with(5, {0x51})}, {tagged("spent", 2), entry_with(6, {})}};
  undo.created = {tagged("o", 1), tagged("o", 2), tagged("o", 3)};

  ChainStore::Batch b;
  EXPECT_TRUE(b.empty());
  b.put_block(id, raw, header);
  b.put_meta(id, header, meta);
  b.put_block(id2, Bytes{}, with_suffix);
  b.put_meta(id2, with_suffix, meta2);
  b.put_utxo(tagged("o", 1), coinbase);
  b.put_utxo(tagged("o", 2), big);
  b.put_undo(id, undo);
  b.put_undo(id2, BlockUndo{});
  b.set_tip(id);
  EXPECT_FALSE(b.empty());
  write_ok(*store, b, true);
  EXPECT_TRUE(b.empty());  // a written batch is left empty

  EXPECT_EQ(store->tip(), id);
  EXPECT_EQ(store->raw_block(id), raw);
  EXPECT_EQ(store->raw_block(id2), Bytes{});
  EXPECT_EQ(store->block_meta(id), meta);
  EXPECT_EQ(store->block_meta(id2), meta2);
  EXPECT_EQ(store->utxo(tagged("o", 1)), coinbase);
  EXPECT_EQ(store->utxo(tagged("o", 2)), big);
  EXPECT_EQ(store->undo(id), undo);
  EXPECT_EQ(store->undo(id2), BlockUndo{});
  EXPECT_EQ(store->utxo_count(), 2u);
  std::map<core::Hash, UtxoEntry> listed;
  store->for_each_utxo([&](const core::Hash& oid, const UtxoEntry& e) { listed.emplace(oid, e); });
  EXPECT_EQ(listed, (std::map<core::Hash, UtxoEntry>{{tagged("o", 1), coinbase}, {tagged("o", 2), big}}));

  std::vector<std::pair<core::BlockHeader, BlockMeta>> seen;
  store->for_each_header([&](const core::BlockHeader& h, const BlockMeta& m) { seen.emplace_back(h, m); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, header);
  EXPECT_EQ(seen[0].second, meta);
  EXPECT_EQ(seen[1].first, with_suffix);
  EXPECT_EQ(seen[1].second, meta2);

  // Unknown keys read as missing, and nothing was reported as corrupt.
  EXPECT_FALSE(store->raw_block(tagged("nope", 0)));
  EXPECT_FALSE(store->block_meta(tagged("nope", 0)));
  EXPECT_FALSE(store->utxo(tagged("nope", 0)));
  EXPECT_FALSE(store->undo(tagged("nope", 0)));
  EXPECT_EQ(store->corrupt_records_seen(), 0u);

  // Status bit vectors of every length around a byte boundary.
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 16u, 17u, 1000u}) {
    BlockMeta m;
    for (std::size_t i = 0; i < n; ++i) m.status_fail.push_back(i % 3 == 0);
    ChainStore::Batch mb;
    const auto h = header_at(100 + n, n);
    mb.put_meta(core::block_id(h), h, m);
    write_ok(*store, mb);
    EXPECT_EQ(store->block_meta(core::block_id(h)), m) << n;
  }

  // Undo can be erased; the tip moves.
  ChainStore::Batch e;
  e.erase_undo(id);
  e.set_tip(id2);
  write_ok(*store, e);
  EXPECT_FALSE(store->undo(id));
  EXPECT_EQ(store->undo(id2), BlockUndo{});
  EXPECT_EQ(store->tip(), id2);
}

TEST(ChainStore, HeadersComeBackInAscendingHeight) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  // Heights across byte boundaries of the big-endian key, several ids per height, written in
  // a shuffled order over several batches.
  const std::vector<std::uint64_t> heights = {0, 1, 2, 255, 256, 257, 65535, 65536, 1ull << 32, (1ull << 32) + 1,
                                              (1ull << 56) + 3};
  std::vector<core::BlockHeader> all;
  for (auto h : heights) {
    for (std::uint64_t n = 0; n < 3; ++n) all.push_back(header_at(h, n));
  }
  std::mt19937_64 rng(7);
  std::shuffle(all.begin(), all.end(), rng);
  std::map<core::Hash, BlockMeta> metas;
  for (std::size_t i = 0; i < all.size(); i += 5) {
    ChainStore::Batch b;
    for (std::size_t j = i; j < std::min(all.size(), i + 5); ++j) {
      const auto id = core::block_id(all[j]);
      if (j % 4 == 0) {
        b.put_block(id, le64(j), all[j]);  // no meta: comes back with the default meta
        metas[id] = BlockMeta{};
      } else {
        BlockMeta m;
        m.invalid_reason = "block " + std::to_string(j);
        m.status_fail = {j % 2 == 0};
        b.put_meta(id, all[j], m);
        metas[id] = m;
      }
    }
    write_ok(*store, b);
  }
  std::vector<core::BlockHeader> seen;
  store->for_each_header([&](const core::BlockHeader& h, const BlockMeta& m) {
    seen.push_back(h);
    const auto it = metas.find(core::block_id(h));
    ASSERT_NE(it, metas.end());
    EXPECT_EQ(m, it->second) << "meta of the header at height " << h.height;
  });
  ASSERT_EQ(seen.size(), all.size());
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_LE(seen[i - 1].height, seen[i].height) << "position " << i;
  }
  EXPECT_EQ(seen.front().height, 0u);
  EXPECT_EQ(seen.back().height, (1ull << 56) + 3);
  // Rewriting a block's meta (the header key is the same) does not duplicate the header.
  ChainStore::Batch b;
  b.put_meta(core::block_id(all[0]), all[0], BlockMeta{{}, true, false, {}});
  write_ok(*store, b);
  std::size_t count = 0;
  store->for_each_header([&](const core::BlockHeader&, const BlockMeta&) { ++count; });
  EXPECT_EQ(count, all.size());
  EXPECT_EQ(store->block_meta(core::block_id(all[0]))->body_valid, true);
}

// Programs whose SHA3 differ from the first byte, and a pair whose SHA3 share the first byte
// (neighbours in the index), plus a program that is a prefix of another.
struct Programs {
  Bytes a, b, near_a, prefix_of_a;
};

Programs pick_programs() {
  Programs p;
  p.a = {0x00, 0x14, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  p.prefix_of_a = {0x00, 0x14, 0x11};
  const auto ha = core::sha3_256(p.a);
  for (std::uint8_t i = 0;; ++i) {
    Bytes c = {0x51, i};
    const auto hc = core::sha3_256(c);
    if (p.b.empty() && hc[0] != ha[0]) p.b = c;
    if (p.near_a.empty() && hc[0] == ha[0]) p.near_a = c;
    if (!p.b.empty() && !p.near_a.empty()) break;
    if (i == 255) break;
  }
  if (p.near_a.empty()) {  // 2^-8 per try: found within 256 with overwhelming odds
    for (std::uint16_t i = 0; i < 4096 && p.near_a.empty(); ++i) {
      Bytes c = {0x52, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
      if (core::sha3_256(c)[0] == ha[0]) p.near_a = c;
    }
  }
  return p;
}

TEST(ChainStore, UtxosByProgramFindsExactlyThatProgram) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  LogSink log;
  log.attach(*store);
  const Programs p = pick_programs();
  ASSERT_FALSE(p.b.empty());
  ASSERT_FALSE(p.near_a.empty());
  ASSERT_NE(core::sha3_256(p.a)[0], core::sha3_256(p.b)[0]);
  ASSERT_EQ(core::sha3_256(p.a)[0], core::sha3_256(p.near_a)[0]);

  std::map<core::Hash, UtxoEntry> of_a;
  ChainStore::Batch b;
  std::uint64_t n = 0;
  auto add = [&](const Bytes& program, int count, std::map<core::Hash, UtxoEntry>* keep) {
    for (int i = 0; i < count; ++i, ++n) {
      const auto id = tagged("out", n);
      const auto e = entry_with(n, program);
      b.put_utxo(id, e);
      if (keep) (*keep)[id] = e;
    }
  };
  add(p.a, 5, &of_a);
  add(p.b, 3, nullptr);
  add(p.near_a, 4, nullptr);
  add(p.prefix_of_a, 2, nullptr);
  write_ok(*store, b);
  EXPECT_EQ(store->utxo_count(), 14u);

  auto all_a = store->utxos_by_program(p.a, 100);
  ASSERT_EQ(all_a.size(), 5u);
  for (const auto& [id, e] : all_a) {
    ASSERT_TRUE(of_a.count(id));
    EXPECT_EQ(e, of_a[id]);
  }
  EXPECT_EQ(store->utxos_by_program(p.a, 3).size(), 3u);
  EXPECT_EQ(store->utxos_by_program(p.a, 1).size(), 1u);
  EXPECT_EQ(store->utxos_by_program(p.a, 0).size(), 0u);
  EXPECT_EQ(store->utxos_by_program(p.b, 100).size(), 3u);
  EXPECT_EQ(store->utxos_by_program(p.near_a, 100).size(), 4u);
  EXPECT_EQ(store->utxos_by_program(p.prefix_of_a, 100).size(), 2u);
  EXPECT_EQ(store->utxos_by_program(Bytes{0x6a}, 100).size(), 0u);
  EXPECT_EQ(store->utxos_by_program(Bytes{}, 100).size(), 0u);
  for (const auto& [id, e] : store->utxos_by_program(p.prefix_of_a, 100)) EXPECT_EQ(e.control_program, p.prefix_of_a);

  // Erasing an output drops its index entry: no dangling entry is met (it would be reported).
  const auto gone = all_a[2].first;
  ChainStore::Batch e;
  e.erase_utxo(gone, of_a[gone]);
  write_ok(*store, e);
  EXPECT_FALSE(store->utxo(gone));
  const auto after = store->utxos_by_program(p.a, 100);
  EXPECT_EQ(after.size(), 4u);
  for (const auto& [id, entry] : after) EXPECT_NE(id, gone);
  EXPECT_EQ(store->utxo_count(), 13u);
  EXPECT_EQ(store->corrupt_records_seen(), 0u) << (log.lines->empty() ? "" : log.lines->front());

  // An output re-put with another program (outside the chain's contract) is found under the
  // new program only, and the count does not move.
  const auto moved = after[0].first;
  ChainStore::Batch m;
  m.put_utxo(moved, entry_with(777, p.b));
  write_ok(*store, m);
  EXPECT_EQ(store->utxo_count(), 13u);
  EXPECT_EQ(store->utxos_by_program(p.a, 100).size(), 3u);
  EXPECT_EQ(store->utxos_by_program(p.b, 100).size(), 4u);
}

TEST(ChainStore, UtxoCountStaysExact) {
  TempDir dir;
  {
    auto store = open_ok(dir.path);
    ASSERT_TRUE(store);
    const Bytes prog = {0x51};
    ChainStore::Batch b;
    for (std::uint64_t i = 0; i < 10; ++i) b.put_utxo(tagged("c", i), entry_with(i, prog));
    write_ok(*store, b);
    EXPECT_EQ(store->utxo_count(), 10u);

    ChainStore::Batch e;
    e.erase_utxo(tagged("c", 0), entry_with(0, prog));
    e.erase_utxo(tagged("c", 1), entry_with(1, prog));
    e.put_utxo(tagged("c", 10), entry_with(10, prog));
    write_ok(*store, e);
    EXPECT_EQ(store->utxo_count(), 9u);

    // Created and spent within one batch; created, spent and re-created.
    ChainStore::Batch same;
    same.put_utxo(tagged("c", 11), entry_with(11, prog));
    same.erase_utxo(tagged("c", 11), entry_with(11, prog));
    same.put_utxo(tagged("c", 12), entry_with(12, prog));
    same.erase_utxo(tagged("c", 12), entry_with(12, prog));
    same.put_utxo(tagged("c", 12), entry_with(12, prog));
    write_ok(*store, same);
    EXPECT_EQ(store->utxo_count(), 10u);
    EXPECT_FALSE(store->utxo(tagged("c", 11)));
    EXPECT_TRUE(store->utxo(tagged("c", 12)));

    // Contract breaches do not skew the count: re-putting an existing output, erasing a
    // missing one, erasing one twice.
    ChainStore::Batch bad;
    bad.put_utxo(tagged("c", 5), entry_with(5, prog));
    bad.erase_utxo(tagged("c", 0), entry_with(0, prog));
    bad.erase_utxo(tagged("c", 6), entry_with(6, prog));
    bad.erase_utxo(tagged("c", 6), entry_with(6, prog));
    write_ok(*store, bad);
    EXPECT_EQ(store->utxo_count(), 9u);
    EXPECT_EQ(store->utxos_by_program(prog, 100).size(), 9u);
    std::uint64_t counted = 0;
    store->for_each_utxo([&](const core::Hash&, const UtxoEntry&) { ++counted; });
    EXPECT_EQ(counted, 9u);

    // A batch with no UTXO changes leaves the count alone.
    ChainStore::Batch tip_only;
    tip_only.set_tip(tagged("b", 1));
    write_ok(*store, tip_only);
    EXPECT_EQ(store->utxo_count(), 9u);
    // An empty batch is a no-op.
    ChainStore::Batch empty;
    EXPECT_TRUE(store->write(empty).ok());
    ChainStore::Batch moved_from;
    moved_from.set_tip(tagged("b", 2));
    ChainStore::Batch target(std::move(moved_from));
    EXPECT_TRUE(moved_from.empty());  // NOLINT(bugprone-use-after-move): documented as empty
    EXPECT_TRUE(store->write(moved_from).ok());
    write_ok(*store, target);
    EXPECT_EQ(store->tip(), tagged("b", 2));
  }
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->utxo_count(), 9u);
}

TEST(ChainStore, ABatchLandsWholeForConcurrentReaders) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  const Bytes prog = {0x51};
  // Nothing is visible before write.
  ChainStore::Batch pending;
  pending.put_block(tagged("blk", 0), le64(0), header_at(0, 0));
  pending.put_utxo(tagged("u", 0), entry_with(0, prog));
  pending.set_tip(tagged("blk", 0));
  EXPECT_FALSE(store->tip());
  EXPECT_FALSE(store->raw_block(tagged("blk", 0)));
  EXPECT_FALSE(store->utxo(tagged("u", 0)));
  EXPECT_EQ(store->utxo_count(), 0u);
  write_ok(*store, pending);

  // The public reads take no common snapshot, so readers check what atomicity and monotonic
  // reads imply: a visible tip k0 means batch k0 landed whole (its block and undo are there),
  // and the one unspent output j listed next (one consistent scan) satisfies k0 <= j <= k1
  // for the tip k1 read after it. A batch seen in part would break one of these.
  std::atomic<bool> done{false};
  std::atomic<int> checks{0};
  std::atomic<int> failures{0};
  auto k_of_tip = [&](const std::optional<core::Hash>& tip) -> std::optional<std::uint64_t> {
    if (!tip) return std::nullopt;
    const auto raw = store->raw_block(*tip);
    if (!raw || raw->size() != 8) return std::nullopt;
    std::uint64_t k = 0;
    for (int i = 7; i >= 0; --i) k = k << 8 | (*raw)[static_cast<std::size_t>(i)];
    if (k > 0 && !store->undo(*tip)) return std::nullopt;
    return k;
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const auto k0 = k_of_tip(store->tip());
        const auto listed = store->utxos_by_program(prog, 10);
        const auto k1 = k_of_tip(store->tip());
        if (!k0 || !k1 || listed.size() != 1 || listed[0].second.amount < *k0 || listed[0].second.amount > *k1 ||
            listed[0].first != tagged("u", listed[0].second.amount)) {
          ++failures;
        }
        ++checks;
      }
    });
  }
  for (std::uint64_t k = 1; k <= 300; ++k) {
    ChainStore::Batch b;
    b.put_block(tagged("blk", k), le64(k), header_at(k, 0));
    b.put_utxo(tagged("u", k), entry_with(k, prog));
    b.erase_utxo(tagged("u", k - 1), entry_with(k - 1, prog));
    BlockUndo u;
    u.spent = {{tagged("u", k - 1), entry_with(k - 1, prog)}};
    u.created = {tagged("u", k)};
    b.put_undo(tagged("blk", k), u);
    b.set_tip(tagged("blk", k));
    write_ok(*store, b);
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(checks.load(), 0);
  EXPECT_EQ(store->utxo_count(), 1u);
}

TEST(ChainStore, ReopenKeepsEverything) {
  TempDir dir;
  const auto h = header_at(3, 1);
  const auto id = core::block_id(h);
  BlockMeta meta;
  meta.status_fail = {false, true};
  meta.body_valid = true;
  {
    auto store = open_ok(dir.path);
    ASSERT_TRUE(store);
    ChainStore::Batch b;
    b.put_block(id, le64(3), h);
    b.put_meta(id, h, meta);
    b.put_utxo(tagged("u", 1), entry_with(1, {0x51}));
    b.put_undo(id, BlockUndo{{}, {tagged("u", 1)}});
    b.set_tip(id);
    write_ok(*store, b, true);
  }
  for (int round = 0; round < 2; ++round) {
    auto store = open_ok(dir.path);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->tip(), id);
    EXPECT_EQ(store->raw_block(id), le64(3));
    EXPECT_EQ(store->block_meta(id), meta);
    EXPECT_EQ(store->utxo(tagged("u", 1)), entry_with(1, {0x51}));
    EXPECT_EQ(store->undo(id), (BlockUndo{{}, {tagged("u", 1)}}));
    EXPECT_EQ(store->utxo_count(), 1u);
    EXPECT_EQ(store->utxos_by_program(Bytes{0x51}, 5).size(), 1u);
    int headers = 0;
    store->for_each_header([&](const core::BlockHeader& got, const BlockMeta& m) {
      ++headers;
      EXPECT_EQ(got, h);
      EXPECT_EQ(m, meta);
    });
    EXPECT_EQ(headers, 1);
  }
}

TEST(ChainStore, ASecondHandleOnTheSameDirectoryIsRefused) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  const auto err = open_error(dir.path);
  EXPECT_NE(err.find("data directory is in use"), std::string::npos) << err;
  EXPECT_NE(err.find(dir.path.string()), std::string::npos) << err;
  store.reset();
  EXPECT_TRUE(open_ok(dir.path));  // free again once closed
}

TEST(ChainStore, ForeignOrDamagedDirectoriesAreRefusedClearly) {
  {  // a directory of other files
    TempDir dir;
    fs::create_directories(dir.path);
    std::ofstream(dir.path / "notes.txt") << "hello";
    const auto err = open_error(dir.path);
    EXPECT_NE(err.find("not a chain database"), std::string::npos) << err;
    EXPECT_NE(err.find(dir.path.string()), std::string::npos) << err;
    EXPECT_FALSE(fs::exists(dir.path / "CURRENT"));  // nothing was created there
  }
  {  // a plain file
    TempDir dir;
    std::ofstream(dir.path) << "not a directory";
    const auto err = open_error(dir.path);
    EXPECT_NE(err.find("not a directory"), std::string::npos) << err;
  }
  {  // garbage where RocksDB's files should be
    TempDir dir;
    fs::create_directories(dir.path);
    std::ofstream(dir.path / "CURRENT") << "\x01\x02garbage";
    std::ofstream(dir.path / "MANIFEST-000001") << "garbage garbage garbage";
    const auto err = open_error(dir.path);
    EXPECT_NE(err.find(dir.path.string()), std::string::npos) << err;
    EXPECT_NE(err.find("cannot open the database"), std::string::npos) << err;
  }
  {  // a truncated CURRENT of an otherwise real database
    TempDir dir;
    ASSERT_TRUE(open_ok(dir.path));
    std::ofstream(dir.path / "CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
    const auto err = open_error(dir.path);
    EXPECT_NE(err.find("cannot open the database"), std::string::npos) << err;
  }
  {  // a RocksDB database without our schema record
    TempDir dir;
    {
      auto s = open_ok(dir.path);
      ASSERT_TRUE(s);
      ASSERT_TRUE(s->erase_raw_for_testing(ChainStore::record_key(Record::kSchema)).ok());
      ASSERT_TRUE(s->put_raw_for_testing("someone-else", Bytes{1, 2, 3}).ok());
    }
    const auto err = open_error(dir.path);
    EXPECT_NE(err.find("foreign"), std::string::npos) << err;
  }
  {  // a foreign schema record, a newer schema, a damaged schema, a damaged count or tip
    struct Case {
      Record key;
      Bytes value;
      std::string expect;
    };
    const std::string magic = "tensority-chainstore";
    Bytes newer(magic.begin(), magic.end());
    newer.push_back(2);
    Bytes damaged(magic.begin(), magic.end());
    damaged.push_back(0x80);
    const std::vector<Case> cases = {
        {Record::kSchema, Bytes{'b', 'i', 't', 'c', 'o', 'i', 'n', 1}, "foreign schema"},
        {Record::kSchema, newer, "newer than this program supports"},
        {Record::kSchema, damaged, "damaged schema record"},
        {Record::kUtxoCount, Bytes{9, 9}, "damaged UTXO count record"},
        {Record::kUtxoCount, Bytes{1, 5, 0}, "damaged UTXO count record"},
        {Record::kTip, Bytes{1, 2, 3}, "damaged tip record"},
    };
    for (const auto& c : cases) {
      TempDir dir;
      {
        auto s = open_ok(dir.path);
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->put_raw_for_testing(ChainStore::record_key(c.key), c.value).ok());
      }
      const auto err = open_error(dir.path);
      EXPECT_NE(err.find(c.expect), std::string::npos) << err;
    }
  }
  {  // a directory left by a creation killed before CURRENT: created afresh
    TempDir dir;
    fs::create_directories(dir.path);
    std::ofstream(dir.path / "LOCK") << "";
    std::ofstream(dir.path / "LOG") << "";
    EXPECT_TRUE(open_ok(dir.path));
  }
}

TEST(ChainStore, CorruptRecordsReadAsMissingAndAreReported) {
  TempDir dir;
  auto store = open_ok(dir.path);
  ASSERT_TRUE(store);
  LogSink log;
  log.attach(*store);
  const core::Hash id = tagged("blk", 1);
  const Bytes prog = {0x51};
  auto raw = [&](Record r, const Bytes& value, std::uint64_t height = 0, const core::Hash& key_id = {}) {
    ASSERT_TRUE(store->put_raw_for_testing(ChainStore::record_key(r, key_id, height), value).ok());
  };

  // The documented utxo layout decodes; a trailing byte, a wrong version or a cut does not.
  Bytes utxo = {1, 1, 5};
  utxo.insert(utxo.end(), 32, 0xaa);
  utxo.push_back(0);
  utxo.insert(utxo.end(), 32, 0xbb);
  utxo.insert(utxo.end(), {7, 1, 2, 0x51, 0x52});
  raw(Record::kUtxo, utxo, 0, id);
  const auto decoded = store->utxo(id);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->is_coinbase);
  EXPECT_EQ(decoded->block_height, 5u);
  EXPECT_EQ(decoded->amount, 7u);
  EXPECT_EQ(decoded->control_program, (Bytes{0x51, 0x52}));
  EXPECT_EQ(store->corrupt_records_seen(), 0u);

  std::uint64_t reports = 0;
  auto expect_reported = [&](const char* what) {
    EXPECT_GT(store->corrupt_records_seen(), reports) << what;
    reports = store->corrupt_records_seen();
  };
  Bytes trailing = utxo;
  trailing.push_back(0);
  raw(Record::kUtxo, trailing, 0, id);
  EXPECT_FALSE(store->utxo(id));
  expect_reported("utxo with a trailing byte");
  EXPECT_TRUE(log.any_contains("trailing")) << (log.lines->empty() ? "" : log.lines->back());
  Bytes v2 = utxo;
  v2[0] = 2;
  raw(Record::kUtxo, v2, 0, id);
  EXPECT_FALSE(store->utxo(id));
  expect_reported("utxo of version 2");
  EXPECT_TRUE(log.any_contains("unknown record version 2"));
  for (std::size_t cut = 0; cut < utxo.size(); ++cut) {
    raw(Record::kUtxo, Bytes(utxo.begin(), utxo.begin() + static_cast<std::ptrdiff_t>(cut)), 0, id);
    EXPECT_FALSE(store->utxo(id)) << cut;
    expect_reported("cut utxo");
  }
  // A flag byte with unknown bits.
  Bytes flags = utxo;
  flags[1] = 4;
  raw(Record::kUtxo, flags, 0, id);
  EXPECT_FALSE(store->utxo(id));
  expect_reported("utxo flags");

  // Random garbage of every record kind, and hostile counts that must not allocate. The
  // block's meta is found through its height record (height 0 here).
  raw(Record::kBlockHeight, Bytes{1, 0}, 0, id);
  raw(Record::kMeta, Bytes{1, 1, 0, 0}, 0, id);
  ASSERT_TRUE(store->block_meta(id));
  EXPECT_TRUE(store->block_meta(id)->body_valid);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    Bytes g(rng() % 40);
    for (auto& c : g) c = static_cast<std::uint8_t>(rng());
    if (!g.empty() && i % 2 == 0) g[0] = 1;  // get past the version byte half of the time
    raw(Record::kMeta, g, 0, id);
    (void)store->block_meta(id);
    raw(Record::kUndo, g, 0, id);
    (void)store->undo(id);
    raw(Record::kBlock, g, 0, id);
    (void)store->raw_block(id);
    raw(Record::kTip, g);
    (void)store->tip();
  }
  raw(Record::kMeta, Bytes{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 0, id);
  EXPECT_FALSE(store->block_meta(id));
  expect_reported("meta with a huge status count");
  raw(Record::kMeta, Bytes{1, 0, 1, 0x02, 0}, 0, id);  // padding bit set past the one flag
  EXPECT_FALSE(store->block_meta(id));
  expect_reported("meta padding bit");
  raw(Record::kMeta, Bytes{1, 4, 0, 0}, 0, id);
  EXPECT_FALSE(store->block_meta(id));
  expect_reported("meta flags");
  raw(Record::kUndo, Bytes{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 0, id);
  EXPECT_FALSE(store->undo(id));
  expect_reported("undo with a huge spent count");
  raw(Record::kUndo, Bytes{1, 0, 0xff, 0xff, 0xff, 0x0f}, 0, id);
  EXPECT_FALSE(store->undo(id));
  expect_reported("undo with a huge created count");
  raw(Record::kBlock, Bytes{1, 5, 1, 2, 3}, 0, id);
  EXPECT_FALSE(store->raw_block(id));
  expect_reported("block shorter than its length");
  raw(Record::kTip, Bytes{1, 2, 3});
  EXPECT_FALSE(store->tip());
  expect_reported("short tip");
  raw(Record::kBlockHeight, Bytes{1, 0x80}, 0, id);
  EXPECT_FALSE(store->block_meta(id));
  expect_reported("cut height record");

  // for_each_header skips a bad header record and passes default meta for a bad meta.
  const auto good = header_at(10, 1);
  const auto good_id = core::block_id(good);
  const auto other = header_at(11, 1);
  const auto other_id = core::block_id(other);
  ChainStore::Batch b;
  b.put_meta(good_id, good, BlockMeta{{true}, true, false, {}});
  b.put_meta(other_id, other, BlockMeta{{}, true, false, {}});
  write_ok(*store, b);
  raw(Record::kMeta, Bytes{1, 9}, 10, good_id);
  Bytes wrong_height{1};
  const auto ser = core::serialize_header(header_at(12, 1));
  wrong_height.insert(wrong_height.end(), ser.begin(), ser.end());
  raw(Record::kHeader, wrong_height, 13, tagged("x", 1));           // header of height 12 under 13
  raw(Record::kHeader, Bytes{1, 0x01, 0xff}, 14, tagged("x", 2));   // truncated header
  raw(Record::kHeader, Bytes{7}, 15, tagged("x", 3));                // unknown version
  ASSERT_TRUE(store->put_raw_for_testing("H-short", Bytes{1}).ok());  // key of the wrong size
  // (and the meta of id at height 0 from above has no header: skipped and reported)
  std::vector<std::pair<core::BlockHeader, BlockMeta>> seen;
  const auto before = store->corrupt_records_seen();
  store->for_each_header([&](const core::BlockHeader& h, const BlockMeta& m) { seen.emplace_back(h, m); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, good);
  EXPECT_EQ(seen[0].second, BlockMeta{});
  EXPECT_EQ(seen[1].first, other);
  EXPECT_TRUE(seen[1].second.body_valid);
  EXPECT_EQ(store->corrupt_records_seen(), before + 6);

  // utxos_by_program skips a corrupt utxo behind a good index entry.
  ChainStore::Batch u;
  u.put_utxo(tagged("pu", 1), entry_with(1, prog));
  u.put_utxo(tagged("pu", 2), entry_with(2, prog));
  write_ok(*store, u);
  raw(Record::kUtxo, Bytes{1, 0}, 0, tagged("pu", 1));
  const auto found = store->utxos_by_program(prog, 10);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first, tagged("pu", 2));
  expect_reported("corrupt utxo behind the program index");
  // for_each_utxo skips it too (and the garbage written under id above), reporting each.
  std::vector<core::Hash> walked;
  store->for_each_utxo([&](const core::Hash& oid, const UtxoEntry&) { walked.push_back(oid); });
  EXPECT_EQ(walked, std::vector<core::Hash>{tagged("pu", 2)});
  expect_reported("corrupt utxo in the scan");
}

// ---- crash test ---------------------------------------------------------------------------
// A child process (this executable, re-run on one hidden test) writes batch after batch, each
// keeping an invariant, and acknowledges each written batch over a pipe; the parent SIGKILLs
// it at a random moment, reopens the store and checks the invariant, and that no
// acknowledged batch was lost.

constexpr const char* kCrashDirEnv = "TENSORITY_STORE_CRASH_DIR";
constexpr const char* kCrashFdEnv = "TENSORITY_STORE_CRASH_FD";
const Bytes kCrashProgram = {0x00, 0x14, 0x42};

// Batch k creates 1 + k % 3 outputs and spends all of batch k-1's, so the UTXO count
// changes with every batch (a count written apart from its batch would show).
core::Hash crash_block(std::uint64_t k) { return tagged("crash-block", k); }
std::uint64_t crash_outputs(std::uint64_t k) { return k == 0 ? 0 : 1 + k % 3; }
core::Hash crash_utxo(std::uint64_t k, std::uint64_t i) { return tagged("crash-utxo-" + std::to_string(i), k); }
UtxoEntry crash_entry(std::uint64_t k, std::uint64_t i) { return entry_with(k * 4 + i, kCrashProgram, k % 7 == 0); }
BlockUndo crash_undo(std::uint64_t k) {
  BlockUndo u;
  for (std::uint64_t i = 0; i < crash_outputs(k - 1); ++i) u.spent.emplace_back(crash_utxo(k - 1, i), crash_entry(k - 1, i));
  for (std::uint64_t i = 0; i < crash_outputs(k); ++i) u.created.push_back(crash_utxo(k, i));
  return u;
}

ChainStore::Batch crash_batch(std::uint64_t k) {
  ChainStore::Batch b;
  const auto h = header_at(k, 0);
  b.put_block(crash_block(k), le64(k), h);
  b.put_meta(crash_block(k), h, BlockMeta{{k % 2 == 0}, true, false, {}});
  for (std::uint64_t i = 0; i < crash_outputs(k); ++i) b.put_utxo(crash_utxo(k, i), crash_entry(k, i));
  for (std::uint64_t i = 0; i < crash_outputs(k - 1); ++i) b.erase_utxo(crash_utxo(k - 1, i), crash_entry(k - 1, i));
  b.put_undo(crash_block(k), crash_undo(k));
  b.set_tip(crash_block(k));
  return b;
}

// The k of the last batch in the store (0: none), checking the whole invariant.
std::uint64_t crash_state(ChainStore& s) {
  const auto tip = s.tip();
  if (!tip) {
    EXPECT_EQ(s.utxo_count(), 0u);
    EXPECT_TRUE(s.utxos_by_program(kCrashProgram, 10).empty());
    return 0;
  }
  const auto raw = s.raw_block(*tip);
  EXPECT_TRUE(raw && raw->size() == 8);
  if (!raw || raw->size() != 8) return 0;
  std::uint64_t k = 0;
  for (int i = 7; i >= 0; --i) k = k << 8 | (*raw)[static_cast<std::size_t>(i)];
  EXPECT_EQ(*tip, crash_block(k));
  for (std::uint64_t i = 0; i < crash_outputs(k); ++i) EXPECT_EQ(s.utxo(crash_utxo(k, i)), crash_entry(k, i));
  for (std::uint64_t i = 0; i < crash_outputs(k - 1); ++i) EXPECT_FALSE(s.utxo(crash_utxo(k - 1, i)));
  EXPECT_EQ(s.undo(*tip), crash_undo(k));
  EXPECT_FALSE(s.raw_block(crash_block(k + 1)));
  // The stored count is the real number of outputs (all of them pay kCrashProgram).
  const auto listed = s.utxos_by_program(kCrashProgram, 1000);
  EXPECT_EQ(s.utxo_count(), listed.size()) << "k " << k;
  EXPECT_EQ(listed.size(), crash_outputs(k));
  for (const auto& [id, e] : listed) EXPECT_EQ(e.amount / 4, k);
  std::uint64_t in_set = 0;
  s.for_each_utxo([&](const core::Hash&, const UtxoEntry&) { ++in_set; });
  EXPECT_EQ(s.utxo_count(), in_set) << "k " << k;
  std::uint64_t headers = 0;
  std::uint64_t last_height = 0;
  s.for_each_header([&](const core::BlockHeader& h, const BlockMeta& m) {
    ++headers;
    last_height = h.height;
    EXPECT_TRUE(m.body_valid);
  });
  EXPECT_EQ(headers, k);
  EXPECT_EQ(last_height, k);
  EXPECT_EQ(s.corrupt_records_seen(), 0u);
  return k;
}

// The writer: runs only when started by the crash test (through the environment).
TEST(ChainStoreCrash, DISABLED_WriterProcess) {
  const char* dir = std::getenv(kCrashDirEnv);
  const char* fd_text = std::getenv(kCrashFdEnv);
  if (!dir || !fd_text) GTEST_SKIP() << "only run by ChainStoreCrash.KilledWriterLeavesAConsistentStore";
  const int fd = std::atoi(fd_text);
  auto store = open_ok(dir);
  ASSERT_TRUE(store);
  std::uint64_t k = crash_state(*store);
  const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(10);  // never outlive the test
  while (std::chrono::steady_clock::now() < stop) {
    ++k;
    auto b = crash_batch(k);
    const auto r = store->write(b, k % 4 == 0);
    ASSERT_TRUE(r.ok()) << r.error();
    if (::write(fd, &k, sizeof k) != static_cast<ssize_t>(sizeof k)) std::_Exit(3);
  }
  std::_Exit(2);
}

TEST(ChainStoreCrash, KilledWriterLeavesAConsistentStore) {
  TempDir dir;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(20, 200);
  std::uint64_t previous = 0;
  std::uint64_t progressed_rounds = 0;
  for (int round = 0; round < 10; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ASSERT_EQ(::fcntl(fds[0], F_SETFD, FD_CLOEXEC), 0);
    ASSERT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    // Everything the child needs is built before fork: it only calls execve.
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    env_store.push_back(std::string(kCrashDirEnv) + "=" + dir.path.string());
    env_store.push_back(std::string(kCrashFdEnv) + "=" + std::to_string(fds[1]));
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string a0 = "test_node_store", a1 = "--gtest_filter=ChainStoreCrash.DISABLED_WriterProcess",
                a2 = "--gtest_also_run_disabled_tests";
    char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(4);
      const int devnull = ::open("/dev/null", O_WRONLY);  // keep gtest's chatter out of the log
      if (devnull >= 0) ::dup2(devnull, 1);
      ::execve("/proc/self/exe", argv, envp.data());
      ::_exit(127);
    }
    ::close(fds[1]);

    std::uint64_t acked = previous;
    bool eof = false;
    auto drain = [&] {
      std::uint64_t v = 0;
      for (;;) {
        const auto n = ::read(fds[0], &v, sizeof v);
        if (n == static_cast<ssize_t>(sizeof v)) {
          acked = v;
          continue;
        }
        if (n == 0) eof = true;
        return;  // EAGAIN, EOF (or a torn read: never, 8 bytes < PIPE_BUF)
      }
    };
    auto wait_until = [&](std::chrono::steady_clock::time_point until, bool stop_at_first_ack) {
      while (!eof && std::chrono::steady_clock::now() < until) {
        pollfd p{fds[0], POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        ::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count())));
        const auto before = acked;
        drain();
        if (stop_at_first_ack && acked != before) return;
      }
    };

    // Even rounds count the delay from the start (the kill may land while the child starts or
    // opens the store), odd ones from its first written batch (it lands mid-writing).
    if (round % 2 == 1) {
      const auto before = acked;
      wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(5), true);
      ASSERT_GT(acked, before) << "the writer made no progress in round " << round;
    }
    if (round == 1) {
      // While the child holds the store, another process cannot open it.
      const auto err = open_error(dir.path);
      EXPECT_NE(err.find("data directory is in use by another process"), std::string::npos) << err;
    }
    wait_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng)), false);
    EXPECT_FALSE(eof) << "the writer exited early";
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "writer status " << status;
    drain();
    ::close(fds[0]);

    auto store = open_ok(dir.path);
    ASSERT_TRUE(store);
    const std::uint64_t k = crash_state(*store);
    // Every acknowledged batch is there; at most the one in flight beyond it.
    EXPECT_GE(k, acked) << "round " << round;
    EXPECT_LE(k, acked + 1) << "round " << round;
    EXPECT_GE(k, previous);
    if (k > previous) ++progressed_rounds;
    previous = k;
    if (HasFailure()) break;
  }
  RecordProperty("batches_written", std::to_string(previous));
  RecordProperty("rounds_with_progress", std::to_string(progressed_rounds));
  EXPECT_GE(progressed_rounds, 5u) << "the writer was killed before writing in most rounds";
}

}  // namespace
}  // namespace tensority::node
