// Bytom B3 stratum encode/decode (docs/spec/stratum.md sections 1-3). Every reader of outside bytes
// checks types before touching a value, so nlohmann never gets to throw a type_error at us.
#include "tensority/stratum/codec.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <utility>

#include "tensority/core/hex.hpp"
#include "tensority/core/wire.hpp"

#ifndef TENSORITY_VERSION
#define TENSORITY_VERSION "0.0.0"
#endif

namespace tensority::stratum {
namespace {

using json = nlohmann::json;
using core::printable;

// The 8 bytes of value, least significant first.
std::array<std::uint8_t, 8> le_bytes(std::uint64_t value) {
  std::array<std::uint8_t, 8> b{};
  core::wire::put_le64(b.data(), value);
  return b;
}

// Lines we build may carry user text (login names); bad UTF-8 is replaced rather than thrown.
// Compact, with invalid UTF-8 replaced rather than thrown on: what every line we send holds.
std::string dump_value(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string dump_line(const json& j) { return dump_value(j) + "\n"; }

const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    default: return "a binary value";
  }
}

template <typename T>
core::Result<T> fail(std::string message) {
  return core::Result<T>::failure(std::move(message));
}

// A required string member of an object the caller has checked to be an object.
core::Result<std::string> string_member(const json& object, const char* key, std::string_view what) {
  const auto it = object.find(key);
  if (it == object.end()) return fail<std::string>(std::string(what) + " lacks '" + key + "'");
  if (!it->is_string()) {
    return fail<std::string>(std::string(what) + " field '" + key + "' is " + type_name(*it) + ", not a string");
  }
  return it->get<std::string>();
}

// Decimal text of a u64 (leading zeros allowed, since the id is echoed, never re-formatted).
core::Result<std::string> job_id_from(const json& value, std::string_view what) {
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) return std::to_string(value.get<std::int64_t>());
  if (!value.is_string()) return fail<std::string>(std::string(what) + " job_id is " + type_name(value));
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty()) return fail<std::string>(std::string(what) + " job_id is empty");
  std::uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return fail<std::string>(std::string(what) + " job_id '" + printable(text) + "' is not a decimal number");
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return fail<std::string>(std::string(what) + " job_id '" + printable(text) + "' exceeds 2^64-1");
    }
    v = v * 10 + digit;
  }
  return text;
}

core::BigInt big_from_be(const std::array<std::uint8_t, 32>& be) {
  core::BigInt v = 0;
  for (const auto b : be) v = (v << 8) | b;
  return v;
}

json status_result(const char* status) { return json{{"status", status}}; }

// Written by hand, in the sorted key order json would use, so the id goes out verbatim.
std::string reply_line(const ReplyId& id, const json& result, const json& error) {
  return "{\"error\":" + dump_value(error) + ",\"id\":" + id.text() + ",\"jsonrpc\":\"2.0\",\"result\":" +
         dump_value(result) + "}\n";
}

// The end of the JSON value starting at text[i] (text is known to be valid JSON).
std::size_t skip_value(std::string_view text, std::size_t i) {
  if (text[i] == '"') {
    for (++i; text[i] != '"'; ++i) {
      if (text[i] == '\\') ++i;
    }
    return i + 1;
  }
  if (text[i] == '{' || text[i] == '[') {
    int depth = 0;
    for (; i < text.size(); ++i) {
      const char ch = text[i];
      if (ch == '"') {
        i = skip_value(text, i) - 1;
      } else if (ch == '{' || ch == '[') {
        ++depth;
      } else if ((ch == '}' || ch == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return i;
  }
  while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' &&
         !std::isspace(static_cast<unsigned char>(text[i]))) {
    ++i;
  }
  return i;
}

// The raw text of the last top-level member `key` of a valid JSON object, as json keeps the
// last of duplicate keys too.
std::optional<std::string_view> raw_member(std::string_view object, std::string_view key) {
  std::optional<std::string_view> found;
  auto ws = [&](std::size_t i) {
    while (i < object.size() && std::isspace(static_cast<unsigned char>(object[i]))) ++i;
    return i;
  };
  std::size_t i = ws(0) + 1;  // past '{'
  while (true) {
    i = ws(i);
    if (i >= object.size() || object[i] != '"') return found;
    const std::size_t key_end = skip_value(object, i);
    const json name = json::parse(object.substr(i, key_end - i), nullptr, false);
    i = ws(key_end) + 1;  // past ':'
    i = ws(i);
    const std::size_t value_end = skip_value(object, i);
    if (name.is_string() && name.get_ref<const std::string&>() == key) found = object.substr(i, value_end - i);
    i = ws(value_end);
    if (i >= object.size() || object[i] != ',') return found;
    ++i;
  }
}

json request_envelope(std::uint64_t id, const char* method, json params) {
  return json{{"id", id}, {"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace

ReplyId ReplyId::verbatim(std::string json_text) {
  ReplyId id;
  id.text_ = std::move(json_text);
  return id;
}

std::string_view error_message(int code) {
  switch (code) {
    case kErrJobNotFound: return "Job Not Found";
    case kErrDuplicateShare: return "Duplicate Share";
    case kErrLowDifficultyShare: return "Low Difficulty Share";
    case kErrUnauthorizedWorker: return "Unauthorized Worker";
    case kErrNotSubscribed: return "Not Subscribed";
    case kErrInvalidSolution: return "Invalid solution";
    case kErrInvalidAuthorizeFormat: return "Invalid Authorize Format";
    case kErrInvalidSubmitFormat: return "Invalid Submit Format";
    case kErrUnsupportedMethod: return "Unsupported Method";
    case kErrMultipleAuthorization: return "Multiple Authorization";
    default: return "Unknown Error";
  }
}

std::string default_agent() { return std::string("tensority/") + TENSORITY_VERSION; }

std::string encode_u64_le(std::uint64_t value) { return core::to_hex(le_bytes(value)); }

core::Result<std::uint64_t> decode_u64_le(std::string_view text) {
  if (text.size() != 16) {
    return fail<std::uint64_t>("expected 16 hex chars (u64 little-endian), got " + std::to_string(text.size()));
  }
  const auto bytes = core::from_hex(text);
  if (!bytes) return fail<std::uint64_t>("'" + printable(text) + "' is not hex");
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{(*bytes)[i]} << (8 * i);
  return value;
}

std::string encode_hash(const core::Hash& hash) { return core::to_hex(hash); }

core::Result<core::Hash> decode_hash(std::string_view text) {
  if (text.size() != 64) return fail<core::Hash>("expected 64 hex chars, got " + std::to_string(text.size()));
  auto hash = core::hash_from_hex(text);
  if (!hash) return fail<core::Hash>("'" + printable(text) + "' is not hex");
  return hash;
}

std::string encode_submit_nonce(std::uint64_t nonce) {
  auto be = le_bytes(nonce);
  std::reverse(be.begin(), be.end());
  return core::to_hex(be);
}

core::Result<std::uint64_t> decode_submit_nonce(std::string_view text) {
  if (text.empty() || text.size() > 16) {
    return fail<std::uint64_t>("nonce must be 1 to 16 hex chars, got " + std::to_string(text.size()));
  }
  // Zero-padded to 16 digits it is 8 big-endian bytes.
  const auto bytes = core::from_hex(std::string(16 - text.size(), '0') + std::string(text));
  if (!bytes) return fail<std::uint64_t>("nonce '" + printable(text) + "' is not hex");
  std::uint64_t value = 0;
  for (const std::uint8_t b : *bytes) value = (value << 8) | b;
  return value;
}

core::Result<core::BigInt> decode_target_field_big(std::string_view text) {
  if (text.empty() || text.size() > 64 || text.size() % 2 != 0) {
    return fail<core::BigInt>("target '" + printable(text) + "' must be 2 to 64 hex chars, even");
  }
  const auto bytes = core::from_hex(text);
  if (!bytes) return fail<core::BigInt>("target '" + printable(text) + "' is not hex");
  std::array<std::uint8_t, 32> be{};
  std::reverse_copy(bytes->begin(), bytes->end(), be.begin());
  auto value = big_from_be(be);
  if (value == 0) return fail<core::BigInt>("target '" + printable(text) + "' is zero");
  return value;
}

core::Result<core::Target256> decode_target_field(std::string_view text) {
  auto big = decode_target_field_big(text);
  if (!big) return fail<core::Target256>(big.error());
  return core::Target256::from_big(*big);
}

std::string target_field_for_difficulty(std::uint64_t difficulty) {
  const std::uint64_t d = std::clamp<std::uint64_t>(difficulty, 2, kMaxFieldDifficulty);
  const core::BigInt target = (core::BigInt(1) << 256) / d;
  const auto top = static_cast<std::uint32_t>(target >> 224);
  // The top 4 bytes, reversed: least significant first.
  const auto bytes = le_bytes(top);
  return core::to_hex(std::span<const std::uint8_t>(bytes.data(), 4));
}

double difficulty_of_target(const core::BigInt& target) {
  if (target <= 0) return 0;
  return std::ldexp(1.0, 256) / target.convert_to<double>();
}

bool operator==(const Job& a, const Job& b) {
  return a.job_id == b.job_id && a.header == b.header && a.seed == b.seed && a.nonce_start == b.nonce_start &&
         a.target_field == b.target_field && a.share_target.never == b.share_target.never &&
         a.share_target.limbs == b.share_target.limbs &&
         (a.difficulty == b.difficulty || (std::isnan(a.difficulty) && std::isnan(b.difficulty)));
}

Job make_job(std::string job_id, const core::BlockHeader& header, const core::Hash& seed, std::uint64_t nonce_start,
             std::uint64_t difficulty) {
  Job job;
  job.job_id = std::move(job_id);
  job.header = header;
  job.header.nonce = 0;
  job.header.commitment_suffix.clear();
  job.seed = seed;
  job.nonce_start = nonce_start;
  job.target_field = target_field_for_difficulty(difficulty);
  const auto target = decode_target_field_big(job.target_field);  // never zero: D <= 2^32
  job.share_target = core::Target256::from_big(*target);
  job.difficulty = difficulty_of_target(*target);
  return job;
}

core::Result<Job> decode_job(const json& object) {
  using R = core::Result<Job>;
  if (!object.is_object()) return R::failure(std::string("job is ") + type_name(object) + ", not an object");
  Job job;
  const auto id_it = object.find("job_id");
  if (id_it == object.end()) return R::failure("job lacks 'job_id'");
  auto id = job_id_from(*id_it, "job");
  if (!id) return R::failure(id.error());
  job.job_id = std::move(id).value();

  struct U64Field {
    const char* key;
    std::uint64_t* out;
  };
  std::uint64_t unused_nonce = 0;
  for (const auto& [key, out] : {U64Field{"version", &job.header.version}, U64Field{"height", &job.header.height},
                                 U64Field{"timestamp", &job.header.timestamp}, U64Field{"bits", &job.header.bits},
                                 U64Field{"nonce", &unused_nonce}}) {
    auto text = string_member(object, key, "job");
    if (!text) return R::failure(text.error());
    auto value = decode_u64_le(*text);
    if (!value) return R::failure(std::string("job field '") + key + "': " + value.error());
    *out = *value;
  }
  job.nonce_start = unused_nonce;

  struct HashField {
    const char* key;
    core::Hash* out;
  };
  for (const auto& [key, out] :
       {HashField{"previous_block_hash", &job.header.previous_block_id},
        HashField{"transactions_merkle_root", &job.header.transactions_merkle_root},
        HashField{"transaction_status_hash", &job.header.transaction_status_hash}, HashField{"seed", &job.seed}}) {
    auto text = string_member(object, key, "job");
    if (!text) return R::failure(text.error());
    auto value = decode_hash(*text);
    if (!value) return R::failure(std::string("job field '") + key + "': " + value.error());
    *out = *value;
  }

  auto target_text = string_member(object, "target", "job");
  if (!target_text) return R::failure(target_text.error());
  auto target = decode_target_field_big(*target_text);
  if (!target) return R::failure("job field 'target': " + target.error());
  job.target_field = std::move(target_text).value();
  job.share_target = core::Target256::from_big(*target);
  job.difficulty = difficulty_of_target(*target);
  return job;
}

json encode_job(const Job& job) {
  return json{{"version", encode_u64_le(job.header.version)},
              {"height", encode_u64_le(job.header.height)},
              {"previous_block_hash", encode_hash(job.header.previous_block_id)},
              {"timestamp", encode_u64_le(job.header.timestamp)},
              {"transactions_merkle_root", encode_hash(job.header.transactions_merkle_root)},
              {"transaction_status_hash", encode_hash(job.header.transaction_status_hash)},
              {"nonce", encode_u64_le(job.nonce_start)},
              {"bits", encode_u64_le(job.header.bits)},
              {"job_id", job.job_id},
              {"seed", encode_hash(job.seed)},
              {"target", job.target_field}};
}

core::Result<Message> parse_line(std::string_view line, std::size_t max_line) {
  using R = core::Result<Message>;
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > max_line) {
    return R::failure("line of " + std::to_string(line.size()) + " bytes exceeds the limit of " +
                      std::to_string(max_line));
  }
  if (line.empty()) return R::failure("empty line");
  json j;
  try {
    j = json::parse(line.begin(), line.end());
  } catch (const std::exception& e) {
    return R::failure("not JSON: " + printable(e.what()) + " in '" + printable(line) + "'");
  }
  if (!j.is_object()) return R::failure(std::string("message is ") + type_name(j) + ", not an object");

  Message m;
  if (const auto it = j.find("id"); it != j.end()) {
    if (!it->is_null() && !it->is_number() && !it->is_string()) {
      return R::failure(std::string("message id is ") + type_name(*it) + ", not a number or a string");
    }
    m.id = *it;
    if (auto raw = raw_member(line, "id")) m.reply_id = ReplyId::verbatim(std::string(*raw));
  }
  if (const auto it = j.find("method"); it != j.end()) {
    if (!it->is_string()) return R::failure(std::string("message method is ") + type_name(*it) + ", not a string");
    m.method = it->get<std::string>();
    if (m.method.empty()) return R::failure("message method is empty");
    m.kind = m.id.is_null() ? Message::Kind::notification : Message::Kind::request;
    if (const auto p = j.find("params"); p != j.end()) m.params = *p;
    return m;
  }

  const auto result = j.find("result");
  const auto error = j.find("error");
  if (result == j.end() && error == j.end()) return R::failure("message has neither 'method' nor 'result'/'error'");
  if (j.find("id") == j.end()) return R::failure("response lacks 'id'");
  m.kind = Message::Kind::response;
  if (result != j.end()) m.result = *result;
  if (error != j.end() && !error->is_null()) {
    const json* code = nullptr;
    const json* message = nullptr;
    if (error->is_object()) {
      if (const auto c = error->find("code"); c != error->end()) code = &*c;
      if (const auto t = error->find("message"); t != error->end()) message = &*t;
    } else if (error->is_array() && !error->empty()) {
      code = &(*error)[0];
      if (error->size() > 1) message = &(*error)[1];
    } else {
      return R::failure(std::string("response error is ") + type_name(*error) + ", not an object");
    }
    if (code == nullptr || !code->is_number_integer()) return R::failure("response error lacks an integer 'code'");
    RpcError e;
    if (code->is_number_unsigned()) {
      const auto v = code->get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
        return R::failure("response error code out of range");
      }
      e.code = static_cast<int>(v);
    } else {
      const auto v = code->get<std::int64_t>();
      if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
        return R::failure("response error code out of range");
      }
      e.code = static_cast<int>(v);
    }
    if (message != nullptr && !message->is_null()) {
      if (!message->is_string()) return R::failure("response error message is not a string");
      e.message = message->get<std::string>();
    }
    m.error = std::move(e);
  }
  return m;
}

core::Result<LoginParams> decode_login_params(const json& params) {
  using R = core::Result<LoginParams>;
  if (!params.is_object()) return R::failure(std::string("login params are ") + type_name(params));
  LoginParams p;
  auto login = string_member(params, "login", "login params");
  if (!login) return R::failure(login.error());
  if (login->empty()) return R::failure("login is empty");
  p.login = std::move(login).value();
  for (const auto& [key, out] : {std::pair{"pass", &p.pass}, std::pair{"agent", &p.agent}}) {
    const auto it = params.find(key);
    if (it == params.end() || it->is_null()) continue;
    if (!it->is_string()) return R::failure(std::string("login params field '") + key + "' is not a string");
    *out = it->get<std::string>();
  }
  return p;
}

core::Result<LoginResult> decode_login_result(const json& result) {
  using R = core::Result<LoginResult>;
  if (!result.is_object()) return R::failure(std::string("login result is ") + type_name(result));
  LoginResult r;
  if (const auto it = result.find("id"); it != result.end() && !it->is_null()) {
    if (!it->is_string()) return R::failure("login result id is not a string");
    r.id = it->get<std::string>();
  }
  if (const auto it = result.find("status"); it != result.end() && !it->is_null()) {
    if (!it->is_string()) return R::failure("login result status is not a string");
    r.status = it->get<std::string>();
  }
  if (const auto it = result.find("job"); it != result.end() && !it->is_null()) {
    auto job = decode_job(*it);
    if (!job) return R::failure("login result: " + job.error());
    r.job = std::move(job).value();
  }
  if (const auto it = result.find("extensions"); it != result.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (e.is_string()) r.extensions.push_back(e.get<std::string>());
    }
  }
  return r;
}

core::Result<SubmitParams> decode_submit_params(const json& params) {
  using R = core::Result<SubmitParams>;
  if (!params.is_object()) return R::failure(std::string("submit params are ") + type_name(params));
  SubmitParams p;
  auto id = string_member(params, "id", "submit params");
  if (!id) return R::failure(id.error());
  p.id = std::move(id).value();
  const auto job_it = params.find("job_id");
  if (job_it == params.end()) return R::failure("submit params lack 'job_id'");
  auto job_id = job_id_from(*job_it, "submit");
  if (!job_id) return R::failure(job_id.error());
  p.job_id = std::move(job_id).value();
  auto nonce_text = string_member(params, "nonce", "submit params");
  if (!nonce_text) return R::failure(nonce_text.error());
  auto nonce = decode_submit_nonce(*nonce_text);
  if (!nonce) return R::failure(nonce.error());
  p.nonce = *nonce;
  p.nonce_low32_only = nonce_text->size() <= 8;
  if (const auto it = params.find("result"); it != params.end() && !it->is_null()) {
    if (!it->is_string()) return R::failure("submit result is not a string");
    auto hash = decode_hash(it->get_ref<const std::string&>());
    if (!hash) return R::failure("submit result: " + hash.error());
    p.result = *hash;
  }
  return p;
}

std::string login_request(std::uint64_t id, std::string_view login, std::string_view pass, std::string_view agent) {
  return dump_line(request_envelope(id, "login", json{{"login", login}, {"pass", pass}, {"agent", agent}}));
}

std::string submit_request(std::uint64_t id, std::string_view login_id, std::string_view job_id, std::uint64_t nonce,
                           const std::optional<core::Hash>& result) {
  json params{{"id", login_id}, {"job_id", job_id}, {"nonce", encode_submit_nonce(nonce)}};
  if (result) params["result"] = encode_hash(*result);
  return dump_line(request_envelope(id, "submit", std::move(params)));
}

std::string getjob_request(std::uint64_t id, std::string_view login_id) {
  return dump_line(request_envelope(id, "getjob", json{{"id", login_id}}));
}

std::string keepalived_request(std::uint64_t id, std::string_view login_id) {
  return dump_line(request_envelope(id, "keepalived", json{{"id", login_id}}));
}

std::string login_reply(const ReplyId& id, std::string_view login_id, const Job& job,
                        const std::vector<std::string>& extensions) {
  json result{{"id", login_id}, {"job", encode_job(job)}, {"status", "OK"}};
  if (!extensions.empty()) result["extensions"] = extensions;
  return reply_line(id, result, nullptr);
}

std::string job_notification(const Job& job) {
  return dump_line(json{{"jsonrpc", "2.0"}, {"method", "job"}, {"params", encode_job(job)}});
}

std::string getjob_reply(const ReplyId& id, const Job& job) {
  return reply_line(id, encode_job(job), nullptr);
}

std::string ok_reply(const ReplyId& id) { return reply_line(id, status_result("OK"), nullptr); }

std::string keepalived_reply(const ReplyId& id) {
  return reply_line(id, status_result("KEEPALIVED"), nullptr);
}

std::string error_reply(const ReplyId& id, int code, std::string_view message) {
  return reply_line(id, nullptr, json{{"code", code}, {"message", message}});
}

}  // namespace tensority::stratum
