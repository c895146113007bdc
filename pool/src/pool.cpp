#include "tensority/pool/pool.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "tensority/core/hex.hpp"
#include "tensority/noderpc/client.hpp"
#include "tensority/noderpc/work_watcher.hpp"
#include "tensority/chain/chain_params.hpp"
#include "tensority/chain/validation.hpp"
#include "tensority/pool/api.hpp"
#include "tensority/pool/block_tracker.hpp"
#include "tensority/pool/check_hasher.hpp"
#include "tensority/pool/payouts.hpp"
#include "tensority/pool/share_processor.hpp"
#include "tensority/pool/store_writer.hpp"
#include "tensority/stratum/codec.hpp"
#include "tensority/wallet/wallet.hpp"

namespace tensority::pool {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr std::int64_t kLeaseTtlMs = 30'000;
constexpr std::chrono::seconds kStatsCacheTtl{5};

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_holder() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device rd;
  std::ostringstream s;
  s << host << ":" << getpid() << ":" << std::hex << rd();
  return s.str();
}

template <class T>
core::Result<T> wait(std::future<core::Result<T>> f) {
  try {
    return f.get();
  } catch (const std::exception& e) {
    return core::Result<T>::failure(std::string("store: ") + e.what());
  }
}

core::Result<std::string> read_passphrase(const PayoutOptions& p) {
  using R = core::Result<std::string>;
  if (!p.passphrase_file.empty()) {
    std::ifstream in(p.passphrase_file);
    if (!in) return R::failure("cannot read --payout-passphrase-file " + p.passphrase_file);
    std::string line;
    std::getline(in, line);
    return line;
  }
  if (const char* env = std::getenv("TENSORITY_POOL_PASSPHRASE"); env != nullptr) return std::string(env);
  return R::failure("the key store " + p.keystore +
                    " is sealed: give --payout-passphrase-file FILE or set TENSORITY_POOL_PASSPHRASE");
}

}  // namespace

struct Pool::Impl : ShareHandler {
  PoolConfig cfg;
  PoolLog log;
  std::string version;
  Clock::time_point started_at = Clock::now();

  std::unique_ptr<noderpc::Client> node;  // work and blocks: short timeouts
  std::unique_ptr<wallet::RpcNode> rpc;   // block fates and payouts
  std::unique_ptr<RpcChainView> chain;
  chain::Network network = chain::Network::mainnet;
  std::string network_name;
  std::optional<wallet::Keystore> keystore;
  std::unique_ptr<StoreWriter> store;
  std::string holder = random_holder();
  CheckHasher hasher;
  std::unique_ptr<ShareProcessor> processor;
  std::unique_ptr<StratumServer> server;
  std::unique_ptr<noderpc::WorkWatcher> watcher;
  std::thread watcher_thread, maintenance_thread;
  std::unique_ptr<Payer> payer;
  std::unique_ptr<PoolApi> api;

  std::mutex mutex;  // stopping, failure, nudges
  std::condition_variable cv;
  bool stopping = false, nudged = false, started = false;
  bool shared_store = false;  // several instances may use the database: leases decide
  std::optional<std::string> failure;

  std::mutex work_mutex;
  std::shared_ptr<const Template> current;
  std::uint64_t next_template = 0;
  Clock::time_point last_block_at = Clock::now();

  std::atomic<std::uint64_t> reward_estimate{0};
  std::atomic<bool> maintainer{false};
  std::atomic<std::uint64_t> blocks_submitted{0}, blocks_refused{0};

  std::mutex stats_mutex;
  Clock::time_point stats_at{};
  std::vector<WorkerTotal> totals[4];  // 1 min, 5 min, 1 h, 1 day

  Impl(PoolConfig c, PoolLog l, std::string v) : cfg(std::move(c)), log(std::move(l)), version(std::move(v)) {}

  void info(std::string_view cat, const std::string& m) { log(LogLevel::info, cat, m); }
  void warn(std::string_view cat, const std::string& m) { log(LogLevel::warn, cat, m); }

  void nudge() {
    std::lock_guard lock(mutex);
    nudged = true;
    cv.notify_all();
  }

  void fail(const std::string& why) {
    std::lock_guard lock(mutex);
    if (!failure) failure = why;
    cv.notify_all();
  }

  // ---- work ----------------------------------------------------------------------------
  void on_work(const noderpc::Work& work, bool new_block) {
    std::shared_ptr<const Template> t;
    {
      std::lock_guard lock(work_mutex);
      const bool first = current == nullptr;
      if (!first && !new_block && current->header.transactions_merkle_root == work.header.transactions_merkle_root &&
          current->header.transaction_status_hash == work.header.transaction_status_hash) {
        return;  // only the timestamp moved: the jobs out there are as good
      }
      auto next = std::make_shared<Template>();
      next->id = ++next_template;
      next->first_of_block = first || new_block ? next->id : current->first_of_block;
      next->header = work.header;
      next->header.nonce = 0;
      next->seed = work.seed;
      next->network_difficulty = network_difficulty(work.header.bits);
      // PPS pays the subsidy of the block being mined: fixed by consensus, not by who pays fees.
      reward_estimate = chain::block_subsidy(work.header.height);
      if (first || new_block) last_block_at = Clock::now();
      current = next;
      t = next;
      new_block = new_block || first;
    }
    if (server) server->publish(t, new_block);
    if (new_block) {
      if (processor) processor->forget_before(t->first_of_block);
      info("pool", "new block: mining height " + std::to_string(t->header.height) + ", network difficulty " +
                       std::to_string(t->network_difficulty));
    }
  }

  // ---- shares --------------------------------------------------------------------------
  // Whether a newer block than the job's is already known here.
  bool outrun(const ShareJob& job) {
    std::lock_guard lock(work_mutex);
    return current && job.template_id < current->first_of_block;
  }

  void handle(Submission s, std::function<void(SubmitResult)> done) override {
    processor->handle(std::move(s), std::move(done));
  }

  void on_accepted(const Submission& s, const ShareCheck& check, ShareProcessor::Done done) {
    const bool block = check.verdict == ShareVerdict::block;
    const std::string hash = core::to_hex(check.block_id);
    const std::string found = "block " + std::to_string(check.header.height) + " " + hash + " found by " + s.address +
                              "." + s.worker;
    std::optional<noderpc::Reply> verdict;
    if (block && outrun(s.job)) {
      // The share was sent in time and is credited, but the chain moved on while it waited
      // for its check: the node refuses such a block, and asking costs it a block's
      // validation while shares queue behind this one.
      verdict.emplace().message = "stale: a block at this height arrived before the check finished";
      ++blocks_refused;
      info("block", found + " came after the next block; not submitted");
    } else if (block) {
      // The node first, before anything is written: a block waits for nobody.
      auto reply = node->submit_work(check.header);
      if (reply) {
        verdict = *reply;
        if (reply->success) {
          ++blocks_submitted;
          info("block", found + ", accepted by the node");
          if (watcher) watcher->fetch_now(true);
        } else {
          ++blocks_refused;
          warn("block", found + " refused by the node: " + reply->message);
        }
      } else {
        warn("block", "block " + std::to_string(check.header.height) + " " + hash + ": no verdict from the node (" +
                          reply.error() + "); its fate is settled from the chain");
      }
    }
    ShareRecord r;
    r.address = s.address;
    r.worker = s.worker;
    r.difficulty = s.job.difficulty;
    r.height = s.job.header.height;
    r.time_ms = unix_ms();
    r.instance = cfg.server.instance;
    if (block) r.block_hash = hash;
    std::optional<BalanceDelta> credit;
    if (cfg.accounting.scheme == Scheme::pps) {
      const std::uint64_t value = pps_share_value(s.job.difficulty, s.network_difficulty, reward_estimate.load(),
                                                  cfg.accounting.fee_basis_points);
      if (value > 0) credit = BalanceDelta{s.address, value};
    }
    BlockRecord b;
    if (block) {
      b.hash = hash;
      b.height = check.header.height;
      b.finder_address = s.address;
      b.finder_worker = s.worker;
      b.network_difficulty = s.network_difficulty;
      b.scheme = std::string(scheme_name(cfg.accounting.scheme));
      b.found_ms = r.time_ms;
      b.updated_ms = r.time_ms;
      b.status = BlockStatus::submitted;
      b.instance = cfg.server.instance;
    }
    store->add_share(std::move(r), credit,
                     [this, block, b, verdict, done = std::move(done)](core::Result<std::int64_t> id) mutable {
                       SubmitResult result;
                       if (!id) {
                         warn("store", id.error());
                         result.verdict = SubmitVerdict::failed;
                         result.message = "the pool could not record the share";
                         return done(std::move(result));
                       }
                       if (block) {
                         b.share_id = *id;
                         const bool refused = verdict && !verdict->success;
                         const std::string note = verdict ? verdict->message : "";
                         // Runs on the writer thread right after this batch: nothing can come between.
                         store->call([b, refused, note, this](Store& st) {
                           auto added = st.add_block(b);
                           if (!added) warn("store", "block " + b.hash + ": " + added.error());
                           if (added && refused)
                             (void)st.set_block_verdict(b.hash, BlockStatus::rejected, 0, note, unix_ms());
                           return 0;
                         });
                         nudge();
                       }
                       result.verdict = SubmitVerdict::accepted;
                       result.block = block;
                       done(std::move(result));
                     });
  }

  // ---- maintenance: leases, block fates, payouts ---------------------------------------
  void maintenance() {
    TrackerOptions topt;
    topt.accounting = cfg.accounting;
    topt.maturity = chain::kCoinbaseMaturity;
    auto last_payout = Clock::now() - cfg.payout.interval + std::chrono::seconds(5);
    auto last_prune = Clock::now();
    std::string last_error;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, cfg.maintenance_interval, [&] { return stopping || nudged; });
        if (stopping) return;
        nudged = false;
      }
      const std::int64_t now = unix_ms();
      std::string error;
      auto report = [&](const std::string& e) {
        if (error.empty()) error = e;
      };
      bool leading = true;  // alone on a SQLite database
      if (shared_store) {
        auto instance = wait(store->call([this, now](Store& s) {
          return s.acquire_lease("instance-" + std::to_string(cfg.server.instance), holder, kLeaseTtlMs, now);
        }));
        if (instance && !*instance) {
          // Someone else now has this nonce space: going on would mine the same nonces twice.
          fail("another process took instance id " + std::to_string(cfg.server.instance) +
               " (this one could not renew its lease in time)");
        }
        auto lead = wait(
            store->call([this, now](Store& s) { return s.acquire_lease("maintenance", holder, kLeaseTtlMs, now); }));
        if (!lead) report(lead.error());
        leading = lead && *lead;
      }
      if (leading != maintainer.exchange(leading)) {
        info("pool", leading ? "this instance now settles blocks and makes payouts"
                             : "another instance settles blocks and makes payouts");
      }
      if (leading) {
        auto tracked = track_blocks(*store, *chain, topt, now, [this](bool w, const std::string& line) {
          log(w ? LogLevel::warn : LogLevel::info, "block", line);
        });
        if (!tracked) report("blocks: " + tracked.error());
        if (payer) {
          if (auto r = payer->reconcile(now); !r) report("payouts: " + r.error());
          if (Clock::now() - last_payout >= cfg.payout.interval) {
            last_payout = Clock::now();
            if (auto r = payer->pay(now); !r) report("payouts: " + r.error());
          }
        }
        if (Clock::now() - last_prune > std::chrono::hours(1)) {
          last_prune = Clock::now();
          prune(now);
        }
      }
      // One line per distinct problem, not one per pass.
      if (!error.empty() && error != last_error) warn("pool", error);
      last_error = error;
    }
  }

  void prune(std::int64_t now) {
    const std::int64_t before = now - cfg.share_retention.count();
    auto r = wait(store->call([before](Store& s) -> core::Result<std::uint64_t> {
      // A block still waiting for its credits may need any share up to its own.
      auto pending = s.blocks(BlockStatus::submitted, 1);
      if (!pending) return core::Result<std::uint64_t>::failure(pending.error());
      if (!pending->empty()) return std::uint64_t{0};
      auto last = s.last_share_id();
      if (!last) return core::Result<std::uint64_t>::failure(last.error());
      return s.prune_shares(before, *last + 1);
    }));
    if (r && *r > 0) info("store", "pruned " + std::to_string(*r) + " shares older than the retention");
  }

  // ---- stats ---------------------------------------------------------------------------
  void refresh_totals() {
    std::lock_guard lock(stats_mutex);
    if (Clock::now() - stats_at < kStatsCacheTtl && stats_at != Clock::time_point{}) return;
    const std::int64_t now = unix_ms();
    const std::int64_t spans[4] = {60'000, 300'000, 3'600'000, 86'400'000};
    for (int i = 0; i < 4; ++i) {
      auto r = wait(store->call([since = now - spans[i]](Store& s) { return s.totals_since(since); }));
      if (r) totals[i] = std::move(r).value();
    }
    stats_at = Clock::now();
  }
};

Pool::Pool(PoolConfig config, PoolLog log, std::string version)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(log), std::move(version))) {}

Pool::~Pool() { stop(); }

core::Result<std::monostate> Pool::start() {
  using R = core::Result<std::monostate>;
  auto& d = *impl_;
  const auto& c = d.cfg;

  // The node: reachable, which chain, and able to hand out work.
  auto client = noderpc::Client::create(c.node_url, c.node_token, std::chrono::seconds(10));
  if (!client) return R::failure("--node: " + client.error());
  d.node = std::make_unique<noderpc::Client>(*client);
  d.rpc = std::make_unique<wallet::RpcNode>(
      noderpc::Client(client->url(), c.node_token, std::chrono::seconds(30), "--node-token"));
  d.chain = std::make_unique<RpcChainView>(d.rpc->client());
  // bytomd names its chain in network_id (mainnet, wisdom, solonet); ours answer that too.
  auto network_id = d.node->network_id();
  if (!network_id) return R::failure("node " + c.node_url + ": " + network_id.error());
  const std::string& node_network_id = *network_id;
  std::optional<chain::Network> node_network;
  if (!node_network_id.empty()) {
    auto n = chain::network_from_wire_name(node_network_id);
    if (!n) return R::failure("node " + c.node_url + ": net-info: " + n.error());
    node_network = *n;
  }
  if (c.network == "auto") {
    if (!node_network) {
      return R::failure("node " + c.node_url + ": net-info has no network_id; give --network mainnet|testnet|solonet|regtest");
    }
    d.network = *node_network;
  } else {
    auto net = chain::parse_network(c.network);
    if (!net) return R::failure("--network: " + net.error());
    d.network = *net;
    if (node_network && *node_network != d.network) {
      return R::failure("--network " + c.network + " but the node at " + c.node_url + " is on " +
                        std::string(chain::network_name(*node_network)) + " (network_id " + node_network_id + ")");
    }
  }
  d.network_name = std::string(chain::network_name(d.network));
  d.info("pool", "network " + d.network_name + (c.network == "auto" ? " (the node's network_id)" : "") +
                     ": miners log in with its addresses");

  // The pool wallet, before anything is accepted that it would have to pay.
  if (!c.payout.keystore.empty()) {
    auto ks = wallet::Keystore::load(c.payout.keystore);
    if (!ks) return R::failure("--payout-keystore: " + ks.error());
    if (ks->network() != d.network) {
      return R::failure("--payout-keystore " + c.payout.keystore + " is a " +
                        std::string(wallet::network_name(ks->network())) + " key store, the pool runs on " +
                        d.network_name);
    }
    if (ks->encrypted()) {
      auto pass = read_passphrase(c.payout);
      if (!pass) return R::failure(pass.error());
      if (auto u = ks.value().unlock(*pass); !u) return R::failure("--payout-keystore: " + u.error());
    }
    d.keystore = std::move(ks).value();
  }

  // The store, and this instance's id in it.
  if (c.database.rfind("sqlite:", 0) == 0) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(c.database.substr(7)).parent_path(), ec);
  }
  auto opened = Store::open(c.database);
  if (!opened) return R::failure("store: " + opened.error());
  d.store = std::make_unique<StoreWriter>(std::move(opened).value());
  // SQLite's lock file already keeps every other process out. On a shared database the id is
  // a lease; one left by a pool that was killed lapses after kLeaseTtlMs.
  d.shared_store = d.store->backend() != "sqlite";
  if (d.shared_store) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(kLeaseTtlMs + 5'000);
    bool said = false;
    for (;;) {
      const std::int64_t now = unix_ms();
      auto lease = wait(d.store->call([&d, now](Store& s) {
        return s.acquire_lease("instance-" + std::to_string(d.cfg.server.instance), d.holder, kLeaseTtlMs, now);
      }));
      if (!lease) return R::failure("store: " + lease.error());
      if (*lease) break;
      if (Clock::now() >= deadline) {
        return R::failure("instance id " + std::to_string(c.server.instance) +
                          " is in use by another pool on this database; give each instance its own --instance-id");
      }
      if (!said) {
        d.warn("store", "instance id " + std::to_string(c.server.instance) +
                            " is held by another pool; waiting up to " + std::to_string(kLeaseTtlMs / 1000 + 5) +
                            " s in case it was one that stopped without letting go");
        said = true;
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }

  // Share checks.
  auto hasher = make_check_hasher(c.check_device, [&d](const std::string& m) { d.warn("check", m); });
  if (!hasher) return R::failure(hasher.error());
  d.hasher = std::move(hasher).value();
  ProcessorOptions popt = c.processor;
  if (d.hasher.serial) popt.threads = 1;
  d.processor = std::make_unique<ShareProcessor>(
      popt, d.hasher.hash, [&d](const Submission& s, const ShareCheck& check, ShareProcessor::Done done) {
        d.on_accepted(s, check, std::move(done));
      });

  // The server, then the first template, then the listener.
  ServerOptions sopt = c.server;
  const chain::Network network = d.network;
  sopt.valid_address = [network](std::string_view a) { return chain::address_to_program(a, network).ok(); };
  d.server = std::make_unique<StratumServer>(
      sopt, d, [&d](bool w, const std::string& m) { d.log(w ? LogLevel::warn : LogLevel::info, "stratum", m); });
  noderpc::WorkWatcherOptions wopt;
  wopt.max_failures = 1'000'000;  // a node restart must not end the pool
  d.watcher = std::make_unique<noderpc::WorkWatcher>(
      *d.node, wopt, [&d](const noderpc::Work& w, bool nb) { d.on_work(w, nb); },
      [&d](bool w, const std::string& m) { d.log(w ? LogLevel::warn : LogLevel::info, "node", m); });
  auto opened_work = d.watcher->open();
  if (!opened_work) return R::failure("node " + c.node_url + ": " + opened_work.error());
  auto port = d.server->start();
  if (!port) return R::failure(port.error());
  d.info("stratum", "listening on " + c.server.bind_address + ":" + std::to_string(*port) + " (instance " +
                        std::to_string(c.server.instance) + ", " + std::to_string(c.server.threads) + " I/O threads)");
  d.info("check", "shares checked on " + d.hasher.description + " by " + std::to_string(popt.threads) + (popt.threads == 1 ? " thread" : " threads"));
  d.info("store",
         std::string(d.store->backend()) + " " + (c.database.rfind("sqlite:", 0) == 0 ? c.database : "database"));

  d.watcher_thread = std::thread([&d] {
    const std::string why = d.watcher->run();
    bool stopping = false;
    {
      std::lock_guard lock(d.mutex);
      stopping = d.stopping;
    }
    // Without new work every job goes stale: better to stop than to look alive.
    if (!stopping) d.fail("the node's work channel ended: " + why);
  });

  if (d.keystore) {
    d.payer = std::make_unique<Payer>(
        *d.store, *d.keystore, *d.rpc, d.network, c.payout,
        [&d](bool w, const std::string& m) { d.log(w ? LogLevel::warn : LogLevel::info, "payout", m); });
    d.info("payout", "payouts every " + std::to_string(c.payout.interval.count() / 1000) + " s from " +
                         c.payout.keystore + ", minimum " + std::to_string(c.payout.minimum) + " neu");
  } else {
    d.warn("payout", "no --payout-keystore: balances accrue but nothing is paid out");
  }
  d.maintenance_thread = std::thread([&d] { d.maintenance(); });

  if (c.api.enabled) {
    d.api = std::make_unique<PoolApi>(*this, c.api, d.version);
    auto api_port = d.api->start();
    if (!api_port)
      return R::failure("api: " + api_port.error() + " (choose another --api-port, 0 for any, or --no-api)");
    d.info("api", "listening on http://" + c.api.bind_address + ":" + std::to_string(*api_port) + "/v1/pool");
  }
  d.started = true;
  return std::monostate{};
}

void Pool::stop() {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (d.stopping) return;
    d.stopping = true;
    d.cv.notify_all();
  }
  if (d.api) d.api->stop();
  if (d.server) d.server->stop();
  if (d.watcher) d.watcher->close();
  if (d.watcher_thread.joinable()) d.watcher_thread.join();
  if (d.maintenance_thread.joinable()) d.maintenance_thread.join();
  if (d.processor) d.processor->stop();
  if (d.store) {
    const std::int64_t now = unix_ms();
    (void)wait(d.store->call([&d, now](Store& s) {
      (void)s.release_lease("maintenance", d.holder);
      (void)now;
      return s.release_lease("instance-" + std::to_string(d.cfg.server.instance), d.holder);
    }));
    d.store->stop();
  }
}

std::optional<std::string> Pool::failure() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failure;
}

std::uint16_t Pool::stratum_port() const { return impl_->server ? impl_->server->port() : 0; }
std::uint16_t Pool::api_port() const { return impl_->api ? impl_->api->port() : 0; }

namespace {
Hashrates rate_of(const std::uint64_t (&difficulty)[4]) {
  Hashrates h;
  h.m1 = static_cast<double>(difficulty[0]) / 60.0;
  h.m5 = static_cast<double>(difficulty[1]) / 300.0;
  h.h1 = static_cast<double>(difficulty[2]) / 3600.0;
  h.d1 = static_cast<double>(difficulty[3]) / 86400.0;
  return h;
}
}  // namespace

PoolStats Pool::stats() {
  auto& d = *impl_;
  d.refresh_totals();
  PoolStats s;
  s.version = d.version;
  s.scheme = std::string(scheme_name(d.cfg.accounting.scheme));
  s.fee_percent = d.cfg.accounting.fee_basis_points / 100.0;
  s.instance = d.cfg.server.instance;
  s.store_backend = d.store ? std::string(d.store->backend()) : "";
  s.maintainer = d.maintainer;
  s.uptime_seconds = std::chrono::duration<double>(Clock::now() - d.started_at).count();
  if (d.server) s.server = d.server->counters();
  if (d.processor) {
    s.checks = d.processor->checked();
    s.check_queue = d.processor->queued();
  }
  s.check_device = d.hasher.description;
  s.blocks_submitted = d.blocks_submitted;
  s.blocks_refused = d.blocks_refused;
  std::lock_guard lock(d.stats_mutex);
  std::uint64_t sums[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4; ++i) {
    for (const auto& t : d.totals[i]) sums[i] += t.difficulty;
  }
  s.hashrate = rate_of(sums);
  std::vector<std::string> miners;
  for (const auto& t : d.totals[2]) miners.push_back(t.address);
  std::sort(miners.begin(), miners.end());
  s.workers = d.totals[2].size();
  s.miners = static_cast<std::size_t>(std::unique(miners.begin(), miners.end()) - miners.begin());
  return s;
}

NetworkStats Pool::network() {
  auto& d = *impl_;
  NetworkStats n;
  n.network = d.network_name;
  n.reward_estimate = d.reward_estimate;
  std::lock_guard lock(d.work_mutex);
  if (d.current) {
    n.height = d.current->header.height;
    n.bits = d.current->header.bits;
    n.difficulty = d.current->network_difficulty;
    n.hashrate = static_cast<double>(n.difficulty) / 150.0;
    n.previous_block_hash = core::to_hex(d.current->header.previous_block_id);
  }
  n.work_age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - d.last_block_at).count();
  return n;
}

std::vector<WorkerStats> Pool::workers(std::optional<std::string_view> address) {
  auto& d = *impl_;
  d.refresh_totals();
  std::map<std::pair<std::string, std::string>, WorkerStats> by;
  {
    std::lock_guard lock(d.stats_mutex);
    for (int i = 0; i < 4; ++i) {
      for (const auto& t : d.totals[i]) {
        if (address && t.address != *address) continue;
        auto& w = by[{t.address, t.worker}];
        w.address = t.address;
        w.worker = t.worker;
        const double span[4] = {60.0, 300.0, 3600.0, 86400.0};
        const double rate = static_cast<double>(t.difficulty) / span[i];
        (i == 0 ? w.hashrate.m1 : i == 1 ? w.hashrate.m5 : i == 2 ? w.hashrate.h1 : w.hashrate.d1) = rate;
        if (i == 3) w.shares_1d = t.shares;
        w.last_share_ms = std::max(w.last_share_ms, t.last_share_ms);
      }
    }
  }
  if (d.server) {
    for (const auto& s : d.server->sessions()) {
      if (address && s.address != *address) continue;
      auto& w = by[{s.address, s.worker}];
      w.address = s.address;
      w.worker = s.worker;
      w.online = true;
      w.difficulty = s.difficulty;
    }
  }
  std::vector<WorkerStats> out;
  for (auto& [k, w] : by) out.push_back(std::move(w));
  return out;
}

core::Result<std::vector<BlockRecord>> Pool::blocks(std::optional<BlockStatus> status, std::size_t limit) {
  return wait(impl_->store->call([status, limit](Store& s) { return s.blocks(status, limit); }));
}

core::Result<std::vector<Payout>> Pool::payouts(std::optional<std::string_view> address, std::size_t limit) {
  std::optional<std::string> a;
  if (address) a = std::string(*address);
  return wait(impl_->store->call(
      [a, limit](Store& s) { return s.payouts(a ? std::optional<std::string_view>(*a) : std::nullopt, limit); }));
}

core::Result<std::optional<Balance>> Pool::balance(std::string_view address) {
  return wait(impl_->store->call([a = std::string(address)](Store& s) { return s.balance(a); }));
}

core::Result<std::vector<Balance>> Pool::balances() {
  return wait(impl_->store->call([](Store& s) { return s.balances(); }));
}

}  // namespace tensority::pool
