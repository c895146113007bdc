#include "tensority/miner/options.hpp"

#include <cmath>

#include "tensority/miner/node_session.hpp"
#include "tensority/miner/stratum_session.hpp"
#include "tensority/net/http.hpp"

namespace tensority::miner {
namespace {

using config::Option;
using config::Type;

std::string check_pool_url(const std::string& v) {
  return parse_stratum_url(v).ok() ? "" : "a pool URL: stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT";
}

std::string check_node_url(const std::string& v) {
  return net::parse_url(v).ok() ? "" : "a node URL: http://HOST:PORT";
}

std::string check_device(const std::string& v) {
  if (v.empty()) return "all, a backend (cpu, cuda, opencl) or a device id (cpu:0, cuda:N, opencl:P:D)";
  for (char c : v) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' || c == '-')) {
      return "all, a backend (cpu, cuda, opencl) or a device id (cpu:0, cuda:N, opencl:P:D)";
    }
  }
  return "";
}

Option make(std::string key, std::string flag, Type type, std::string default_text) {
  Option o;
  o.key = std::move(key);
  o.flag = std::move(flag);
  o.type = type;
  o.default_text = std::move(default_text);
  return o;
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

}  // namespace

config::Schema mine_schema() {
  std::vector<Option> o;
  auto add = [&](Option x) { o.push_back(std::move(x)); };
  const std::string up = "Upstreams", fo = "Failover", dev = "Devices", rep = "Reporting and API";

  Option pool = make("pool", "pool", Type::list, "");
  pool.help = "pool to mine on, stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT; repeat for failover, in order";
  pool.group = up, pool.value_name = "URL", pool.check = check_pool_url, pool.allowed = "stratum+tcp://HOST:PORT, stratum+ssl://HOST:PORT";
  add(pool);
  Option node = make("node", "node", Type::list, "");
  node.help = "node for solo mining (its get-work/submit-work RPC), http://HOST:PORT; repeat for failover";
  node.group = up, node.value_name = "URL", node.check = check_node_url, node.allowed = "http://HOST:PORT";
  add(node);
  Option user = make("user", "user", Type::string, "");
  user.help = "pool login: your payout address and a worker name, ADDRESS.WORKER";
  user.group = up, user.value_name = "ADDRESS.WORKER";
  add(user);
  Option pass = make("pass", "pass", Type::string, "x");
  pass.help = "pool password (most pools ignore it)", pass.group = up, pass.value_name = "TEXT";
  add(pass);
  Option token = make("node-token", "node-token", Type::string, "");
  token.help = "token for the node RPC: ours (node --rpc-token) as a bearer token, or a bytomd access token ID:SECRET, sent as HTTP Basic", token.group = up, token.value_name = "TOKEN";
  add(token);
  Option tls_verify = make("tls.verify", "tls-verify", Type::boolean, "false");
  tls_verify.help = "check a stratum+ssl pool's certificate and host name (many pools use self-signed ones)";
  tls_verify.group = up;
  add(tls_verify);
  Option tls_ca = make("tls.ca-file", "tls-ca-file", Type::string, "");
  tls_ca.help = "PEM file of CA certificates for --tls-verify (default: the system's)", tls_ca.group = up,
  tls_ca.value_name = "FILE";
  add(tls_ca);
  Option keepalive = make("keepalive", "keepalive", Type::boolean, "false");
  keepalive.help = "send stratum keepalived when idle even if the pool does not advertise it", keepalive.group = up;
  add(keepalive);
  Option bench = make("benchmark", "benchmark", Type::boolean, "false");
  bench.help = "mine synthetic work with no network (for setting up a rig)", bench.group = up;
  add(bench);

  Option first = make("failover.first", "failover-first", Type::string, "pool");
  first.choices = {"pool", "node"};
  first.help = "with both pools and nodes, which kind the failover list starts with", first.group = fo;
  add(first);
  Option retries = make("failover.retries", "retries", Type::integer, "3");
  retries.min = 1, retries.max = 1000, retries.group = fo, retries.value_name = "N";
  retries.help = "failed connection attempts in a row before the next upstream is tried";
  add(retries);
  Option pause = make("failover.retry-pause", "retry-pause", Type::number, "2");
  pause.min = 0.01, pause.max = 3600, pause.group = fo, pause.value_name = "SECONDS";
  pause.help = "pause after the first failed attempt; it doubles per failure up to --max-pause";
  add(pause);
  Option max_pause = make("failover.max-pause", "max-pause", Type::number, "30");
  max_pause.min = 0.01, max_pause.max = 3600, max_pause.group = fo, max_pause.value_name = "SECONDS";
  max_pause.help = "longest pause between attempts";
  add(max_pause);
  Option probe = make("failover.probe-interval", "probe-interval", Type::number, "30");
  probe.min = 0.05, probe.max = 86400, probe.group = fo, probe.value_name = "SECONDS";
  probe.help = "while on a backup, how often the first upstream is tried again";
  add(probe);

  Option job_timeout = make("failover.job-timeout", "job-timeout", Type::number, "900");
  job_timeout.min = 10, job_timeout.max = 86400, job_timeout.group = fo, job_timeout.value_name = "SECONDS";
  job_timeout.help = "a pool that sends no job this long is treated as dead (blocks come every 150 s on average)";
  add(job_timeout);

  Option device = make("device", "device", Type::list, "all");
  device.help = "devices to mine on: all, cpu, cuda, opencl, or ids such as cpu:0, cuda:1, opencl:0:1; repeatable";
  device.group = dev, device.value_name = "DEVICE", device.check = check_device, device.allowed = "all|cpu|cuda|opencl|cpu:0|cuda:N|opencl:P:D";
  add(device);
  Option threads = make("threads", "threads", Type::integer, "0");
  threads.min = 0, threads.max = 4096, threads.group = dev, threads.value_name = "N";
  threads.help = "CPU hashing threads (0: one per core this process may use)";
  add(threads);
  Option kernel = make("kernel", "kernel", Type::string, "");
  kernel.help = "kernel variant for every device (default: the fastest each supports)", kernel.group = dev,
  kernel.value_name = "NAME";
  add(kernel);
  Option pin = make("pin", "pin", Type::boolean, "true");
  pin.help = "pin CPU hashing threads to cores", pin.group = dev;
  add(pin);
  Option nice = make("nice", "nice", Type::integer, "0");
  nice.min = 0, nice.max = 19, nice.group = dev, nice.value_name = "N";
  nice.help = "nice level of the CPU hashing threads (19: hash only on cores nothing else wants)";
  add(nice);
  Option batch = make("batch", "batch", Type::integer, "0");
  batch.min = 0, batch.max = 1 << 20, batch.group = dev, batch.value_name = "N";
  batch.help = "GPU nonces per launch (0: autotuned on first use)";
  add(batch);
  Option scan = make("scan-time", "scan-time", Type::number, "1");
  scan.min = 0.05, scan.max = 60, scan.group = dev, scan.value_name = "SECONDS";
  scan.help = "longest search call between rate estimates; a find or new work ends it at once";
  add(scan);

  Option print = make("print-time", "print-time", Type::number, "10");
  print.min = 1, print.max = 3600, print.group = rep, print.value_name = "SECONDS";
  print.help = "seconds between status lines";
  add(print);
  Option duration = make("duration", "duration", Type::number, "0");
  duration.min = 0, duration.max = 1e9, duration.group = rep, duration.value_name = "SECONDS";
  duration.help = "stop after this long, as Ctrl-C does (0: run until stopped)";
  add(duration);
  Option level = make("log-level", "log-level", Type::string, "info");
  level.choices = {"debug", "info", "warn", "error"}, level.group = rep;
  level.help = "least important log lines shown";
  add(level);
  Option api = make("api.enabled", "api", Type::boolean, "true");
  api.help = "serve the read-only HTTP API (/v1/summary, /v1/devices, /metrics)", api.group = rep;
  add(api);
  Option api_bind = make("api.bind", "api-bind", Type::string, "127.0.0.1");
  api_bind.help = "address the API listens on", api_bind.group = rep, api_bind.value_name = "ADDRESS";
  add(api_bind);
  Option api_port = make("api.port", "api-port", Type::integer, "4068");
  api_port.min = 0, api_port.max = 65535, api_port.group = rep, api_port.value_name = "PORT";
  api_port.help = "API port (0: any free port; the log says which)";
  add(api_port);
  Option api_token = make("api.token", "api-token", Type::string, "");
  api_token.help = "require this bearer token on every API request", api_token.group = rep, api_token.value_name = "TOKEN";
  add(api_token);
  return config::Schema("mine", std::move(o));
}

core::Result<MineConfig> mine_config(const config::Values& v) {
  using R = core::Result<MineConfig>;
  MineConfig c;
  c.pools = v.get_list("pool");
  c.nodes = v.get_list("node");
  c.nodes_first = v.get_string("failover.first") == "node";
  c.user = v.get_string("user");
  c.pass = v.get_string("pass");
  c.node_token = v.get_string("node-token");
  c.tls_verify = v.get_bool("tls.verify");
  c.tls_ca_file = v.get_string("tls.ca-file");
  c.keepalive = v.get_bool("keepalive");
  c.benchmark = v.get_bool("benchmark");
  if (c.benchmark && (!c.pools.empty() || !c.nodes.empty())) {
    return R::failure("--benchmark mines synthetic work and takes no --pool or --node");
  }
  if (!c.benchmark && c.pools.empty() && c.nodes.empty()) {
    return R::failure("nothing to mine on: give --pool URL (with --user ADDRESS.WORKER), --node URL, or --benchmark");
  }
  if (!c.pools.empty() && c.user.empty()) {
    return R::failure("--user is required with --pool: your payout address and a worker name, ADDRESS.WORKER");
  }
  std::string devices;
  for (const auto& d : v.get_list("device")) devices += (devices.empty() ? "" : ",") + d;
  c.miner.devices.selector = devices.empty() ? "all" : devices;
  c.miner.devices.cpu_threads = static_cast<unsigned>(v.get_int("threads"));
  c.miner.devices.kernel = v.get_string("kernel");
  c.miner.devices.pin_threads = v.get_bool("pin");
  c.miner.devices.cpu_nice = static_cast<int>(v.get_int("nice"));
  c.miner.devices.gpu_batch = static_cast<std::uint64_t>(v.get_int("batch"));
  c.miner.scan_time = ms(v.get_number("scan-time"));
  c.miner.failover.retries = static_cast<unsigned>(v.get_int("failover.retries"));
  c.miner.failover.retry_pause = ms(v.get_number("failover.retry-pause"));
  c.miner.failover.max_pause = ms(v.get_number("failover.max-pause"));
  c.miner.failover.probe_interval = ms(v.get_number("failover.probe-interval"));
  if (c.miner.failover.max_pause < c.miner.failover.retry_pause) c.miner.failover.max_pause = c.miner.failover.retry_pause;
  c.job_timeout = ms(v.get_number("failover.job-timeout"));
  c.print_seconds = v.get_number("print-time");
  c.duration_seconds = v.get_number("duration");
  c.log_level = v.get_string("log-level");
  c.api_enabled = v.get_bool("api.enabled");
  c.api.bind_address = v.get_string("api.bind");
  c.api.port = static_cast<std::uint16_t>(v.get_int("api.port"));
  c.api.bearer_token = v.get_string("api.token");
  return c;
}

std::vector<UpstreamSpec> make_upstreams(const MineConfig& c, const std::string& agent) {
  std::vector<UpstreamSpec> pools, nodes;
  for (const auto& url : c.pools) {
    StratumOptions o;
    o.url = url;
    o.user = c.user;
    o.pass = c.pass;
    o.agent = agent;
    o.tls_verify = c.tls_verify;
    o.tls_ca_file = c.tls_ca_file;
    o.keepalive = c.keepalive;
    o.job_timeout = c.job_timeout;
    pools.push_back(UpstreamSpec{url, [o] { return std::make_unique<StratumSession>(o); }});
  }
  for (const auto& url : c.nodes) {
    NodeSessionOptions o;
    o.url = url;
    o.bearer_token = c.node_token;
    nodes.push_back(UpstreamSpec{url, [o] { return std::make_unique<NodeSession>(o); }});
  }
  auto& first = c.nodes_first ? nodes : pools;
  auto& second = c.nodes_first ? pools : nodes;
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

}  // namespace tensority::miner
