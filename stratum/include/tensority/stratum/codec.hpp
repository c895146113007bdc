#pragma once
// The Bytom B3 stratum dialect (docs/spec/stratum.md sections 1-3) as pure functions: field
// encodings, the job object, target fields, submit nonces and whole message lines. No I/O;
// shared by the miner's client and the pool's server. Everything that reads outside bytes
// returns a core::Result with a one-line error and never throws.
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensority/core/block_header.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/types.hpp"

namespace tensority::stratum {

// btmcpool reads lines of at most 10 KiB and treats longer ones as a flood.
inline constexpr std::size_t kDefaultMaxLine = 10 * 1024;

// Error codes (btmcpool numbering, docs/spec/stratum.md 2.7; 25 from btcpool). Antpool sends -1 for everything.
inline constexpr int kErrGeneric = -1;
inline constexpr int kErrUnknown = 20;
inline constexpr int kErrJobNotFound = 21;
inline constexpr int kErrDuplicateShare = 22;
inline constexpr int kErrLowDifficultyShare = 23;
inline constexpr int kErrUnauthorizedWorker = 24;
inline constexpr int kErrNotSubscribed = 25;
inline constexpr int kErrInvalidSolution = 26;
inline constexpr int kErrInvalidAuthorizeFormat = 31;
inline constexpr int kErrInvalidSubmitFormat = 32;
inline constexpr int kErrUnsupportedMethod = 34;
inline constexpr int kErrMultipleAuthorization = 40;
// The table's message for a code ("Job Not Found", ...); "Unknown Error" for codes not in it.
std::string_view error_message(int code);

// "tensority/<version>": the agent string a miner sends at login.
std::string default_agent();

// u64 job fields (version, height, timestamp, nonce, bits): exactly 16 hex chars holding the
// 8 bytes of the value in little-endian order. Encoding is lowercase; decoding takes either case.
std::string encode_u64_le(std::uint64_t value);
core::Result<std::uint64_t> decode_u64_le(std::string_view text);

// Hash fields: 64 hex chars in natural byte order (never reversed).
std::string encode_hash(const core::Hash& hash);
core::Result<core::Hash> decode_hash(std::string_view text);

// Submit nonce: the full header nonce as big-endian hex. Encoded as 16 lowercase chars;
// decoded from 1..16 chars of either case.
std::string encode_submit_nonce(std::uint64_t nonce);
core::Result<std::uint64_t> decode_submit_nonce(std::string_view text);

// Share target field (docs/spec/stratum.md 3.5), miner rule: hex-decode 1..32 bytes, reverse them and place
// them at the most-significant end of a zeroed 256-bit big-endian number. An all-zero field
// is refused (no result could ever qualify).
core::Result<core::BigInt> decode_target_field_big(std::string_view text);
core::Result<core::Target256> decode_target_field(std::string_view text);
// The hardest difficulty the 4-byte field can say: above 2^32 the top 4 bytes of 2^256 / D
// are all zero, a target no result meets.
inline constexpr std::uint64_t kMaxFieldDifficulty = std::uint64_t{1} << 32;
// Pool rule (btmcpool): floor(2^256 / D) as 32 big-endian bytes, the top 4 reversed, as
// 8 lowercase hex chars. D is clamped to 2..2^32 (2^256 does not fit in 32 bytes; see above).
std::string target_field_for_difficulty(std::uint64_t difficulty);
// About 2^256 / target, for display and statistics; 0 for a zero target.
double difficulty_of_target(const core::BigInt& target);

// One job object (docs/spec/stratum.md 2.3). The header carries nonce 0; the job's nonce field is nonce_start.
struct Job {
  std::string job_id;  // decimal text, value <= 2^64-1, echoed exactly as received
  core::BlockHeader header;
  core::Hash seed{};
  std::uint64_t nonce_start = 0;
  std::string target_field;  // the target field as received, re-sent unchanged
  core::Target256 share_target;
  double difficulty = 0;  // about 2^256 / share_target
};
bool operator==(const Job& a, const Job& b);

// A job for the pool to send: target_field from the difficulty (clamped to 2..2^32) and
// share_target decoded back from that field, which is what the miner will compare against.
Job make_job(std::string job_id, const core::BlockHeader& header, const core::Hash& seed, std::uint64_t nonce_start,
             std::uint64_t difficulty);

// All 11 fields are required; unknown extra fields are ignored. job_id may also be a JSON
// unsigned integer (it is kept as its decimal text).
core::Result<Job> decode_job(const nlohmann::json& object);
nlohmann::json encode_job(const Job& job);

// Every incoming line, classified.
struct RpcError {
  int code = 0;
  std::string message;
};

// A request's id as the request wrote it, for the reply to echo byte for byte: a JSON number
// no double holds (123456789012345678901234567890) comes back unchanged, not as 1.2e+29.
class ReplyId {
 public:
  ReplyId() = default;                                      // null
  // From any id json holds (a number, a string, a json): the ids a client or test makes.
  template <typename T>
    requires(!std::same_as<std::remove_cvref_t<T>, ReplyId>)
  ReplyId(const T& id) : text_(nlohmann::json(id).dump()) {}  // NOLINT(google-explicit-constructor)
  // json_text must already be one valid JSON value (parse_line takes it from a parsed line).
  static ReplyId verbatim(std::string json_text);
  const std::string& text() const { return text_; }

 private:
  std::string text_ = "null";
};

struct Message {
  enum class Kind { request, response, notification };
  Kind kind = Kind::notification;
  nlohmann::json id;              // number or string; null for notifications
  ReplyId reply_id;               // the id's exact text, for replies
  std::string method;             // requests and notifications
  nlohmann::json params;          // requests and notifications; null when absent
  nlohmann::json result;          // responses; null on failure
  std::optional<RpcError> error;  // responses: set when "error" is not null
};

// One line, with or without its trailing "\n" / "\r\n". A message with a string "method" is
// a request when it has a non-null id, else a notification; one without "method" is a
// response and needs an id. Errors may be {code, message} objects or [code, message, ...]
// arrays (Bitcoin-stratum style). Lines longer than max_line (newline excluded) are refused.
core::Result<Message> parse_line(std::string_view line, std::size_t max_line = kDefaultMaxLine);

// Typed views of params / results.
struct LoginParams {
  std::string login;  // ADDRESS.WORKER
  std::string pass;
  std::string agent;
};
core::Result<LoginParams> decode_login_params(const nlohmann::json& params);

struct LoginResult {
  std::string id;                       // session token to echo as params.id
  std::optional<Job> job;               // absent when the pool sends the first job later
  std::string status;                   // "OK" from every pool seen; "" when absent
  std::vector<std::string> extensions;  // e.g. "keepalive"
};
core::Result<LoginResult> decode_login_result(const nlohmann::json& result);

struct SubmitParams {
  std::string id;  // the login id
  std::string job_id;
  std::uint64_t nonce = 0;
  // 8 hex digits or fewer: only the miner's low 32 bits (the Antpool doc's form); the pool puts
  // the session's high bits in front. 9 to 16 digits are the full nonce as sent, even when its
  // value is below 2^32.
  bool nonce_low32_only = false;
  std::optional<core::Hash> result;  // optional on the wire
};
core::Result<SubmitParams> decode_submit_params(const nlohmann::json& params);

// Message lines, each ending in "\n". Client requests carry "jsonrpc":"2.0" (harmless to every
// pool seen, and the shape of the share vector's submit line). Keys are written sorted.
std::string login_request(std::uint64_t id, std::string_view login, std::string_view pass, std::string_view agent);
std::string submit_request(std::uint64_t id, std::string_view login_id, std::string_view job_id, std::uint64_t nonce,
                           const std::optional<core::Hash>& result);
std::string getjob_request(std::uint64_t id, std::string_view login_id);
std::string keepalived_request(std::uint64_t id, std::string_view login_id);

// Server side; id is echoed as the request had it (Message::reply_id), byte for byte.
std::string login_reply(const ReplyId& id, std::string_view login_id, const Job& job,
                        const std::vector<std::string>& extensions = {});
std::string job_notification(const Job& job);
std::string getjob_reply(const ReplyId& id, const Job& job);  // result = the job object
std::string ok_reply(const ReplyId& id);                      // result {"status":"OK"}
std::string keepalived_reply(const ReplyId& id);              // result {"status":"KEEPALIVED"}
std::string error_reply(const ReplyId& id, int code, std::string_view message);

}  // namespace tensority::stratum
