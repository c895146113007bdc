#pragma once
// The node's storage on RocksDB (docs/spec/node.md 1.9, issue 5 "Storage"): blocks, every stored
// header with its flags, the UTXO set (with an index by control program for wallets), undo
// data per connected block and the chain tip. Writes go through a Batch that lands whole or
// not at all, so a process killed at any moment reopens to a consistent state.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tensority/core/block_header.hpp"
#include "tensority/core/types.hpp"
#include "tensority/core/wire.hpp"

namespace tensority::node {

// An unspent output. The consensus fields are is_coinbase and block_height; the commitment
// is kept so wallets can find and spend their outputs through the node.
struct UtxoEntry {
  bool is_coinbase = false;
  std::uint64_t block_height = 0;
  core::Hash source_id{};
  std::uint64_t source_position = 0;
  core::Hash asset_id{};
  std::uint64_t amount = 0;
  std::uint64_t vm_version = 1;
  core::wire::Bytes control_program;
  bool operator==(const UtxoEntry&) const = default;
};

// What a stored block is known to be.
struct BlockMeta {
  std::vector<bool> status_fail;  // per transaction, once the body validated
  bool body_valid = false;        // passed every body rule against its parent
  bool invalid = false;           // failed a rule (body or connect): never retried
  std::string invalid_reason;
  bool operator==(const BlockMeta&) const = default;
};

// What connecting a block changed in the UTXO set, so it can be detached again.
struct BlockUndo {
  std::vector<std::pair<core::Hash, UtxoEntry>> spent;  // outputs the block spent, as they were
  std::vector<core::Hash> created;                      // outputs the block added
  bool operator==(const BlockUndo&) const = default;
};

class ChainStore {
 public:
  class Batch;

  // Opens (creating when missing) the database under dir. A damaged or foreign database is
  // a clear error, never a crash.
  static core::Result<std::unique_ptr<ChainStore>> open(const std::filesystem::path& dir);
  ~ChainStore();
  ChainStore(const ChainStore&) = delete;
  ChainStore& operator=(const ChainStore&) = delete;

  std::optional<core::Hash> tip() const;
  std::optional<core::wire::Bytes> raw_block(const core::Hash& id) const;
  std::optional<BlockMeta> block_meta(const core::Hash& id) const;
  // Every stored header with its meta, in ascending height order (to rebuild the index).
  void for_each_header(const std::function<void(const core::BlockHeader&, const BlockMeta&)>& fn) const;
  std::optional<UtxoEntry> utxo(const core::Hash& output_id) const;
  // Unspent outputs paying exactly this control program (at most limit of them).
  std::vector<std::pair<core::Hash, UtxoEntry>> utxos_by_program(std::span<const std::uint8_t> program,
                                                                 std::size_t limit) const;
  std::optional<BlockUndo> undo(const core::Hash& id) const;
  std::uint64_t utxo_count() const;  // exact, kept in the database alongside the set
  // Every unspent output, in key order (consistency checks).
  void for_each_utxo(const std::function<void(const core::Hash&, const UtxoEntry&)>& fn) const;

  // Applies everything in the batch atomically; sync: durable before returning. On success
  // the batch is left empty (ready for reuse); on failure it is left as it was. The UTXO count
  // follows what the batch really does to the set (each touched output is looked up), so a
  // put over an existing output or an erase of a missing one cannot skew it.
  core::Result<bool> write(Batch& batch, bool sync = true);

  // Corrupt records (and failed reads) are reported here, one line each, and read as missing
  // (nullopt; for_each_header skips a bad header and passes default meta for a bad meta).
  // The default logger writes to stderr. Safe to call while readers run.
  using Logger = std::function<void(const std::string&)>;
  void set_logger(Logger logger);
  std::uint64_t corrupt_records_seen() const;  // how many reports so far (tests, health RPC)

  // Tests and repair tools only: the key of one record in the layout documented in
  // chain_store.cpp (id: block or output id; height: the block's, for kHeader and kMeta), and
  // raw writes that bypass the codecs and the UTXO count.
  enum class Record : std::uint8_t { kBlock, kBlockHeight, kHeader, kMeta, kUtxo, kUndo, kTip, kUtxoCount, kSchema };
  static std::string record_key(Record kind, const core::Hash& id = {}, std::uint64_t height = 0);
  core::Result<bool> put_raw_for_testing(const std::string& key, std::span<const std::uint8_t> value);
  core::Result<bool> erase_raw_for_testing(const std::string& key);

  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(Batch&&) noexcept;
    Batch& operator=(Batch&&) noexcept;
    void put_block(const core::Hash& id, std::span<const std::uint8_t> raw_block, const core::BlockHeader& header);
    void put_meta(const core::Hash& id, const core::BlockHeader& header, const BlockMeta& meta);
    void put_utxo(const core::Hash& output_id, const UtxoEntry& entry);
    void erase_utxo(const core::Hash& output_id, const UtxoEntry& entry);  // entry: to drop its program index
    void put_undo(const core::Hash& id, const BlockUndo& undo);
    void erase_undo(const core::Hash& id);
    void set_tip(const core::Hash& id);
    bool empty() const;

   private:
    friend class ChainStore;
    struct Impl;
    std::unique_ptr<Impl> impl_;
  };

 private:
  struct Impl;
  explicit ChainStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tensority::node
