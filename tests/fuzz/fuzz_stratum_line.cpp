// Stratum lines come from any pool or miner on the network: any bytes either parse or are
// refused with one line, and whatever the typed decoders accept re-encodes into a line that
// parses and decodes back to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/stratum/codec.hpp"

namespace {

using namespace tensority;
using namespace tensority::stratum;

template <typename T>
bool accepted(const core::Result<T>& r) {
  if (!r) FUZZ_CHECK(!r.error().empty() && r.error().find('\n') == std::string::npos);
  return r.ok();
}

// Re-encoded lines may differ in length from the input (escapes), so they are re-read unbounded.
constexpr std::size_t kNoLimit = static_cast<std::size_t>(-1);

void check_job(const nlohmann::json& object) {
  const auto job = decode_job(object);
  if (!accepted(job)) return;
  const std::string line = job_notification(*job);
  FUZZ_CHECK(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1);
  const auto again = parse_line(line, kNoLimit);
  FUZZ_CHECK(again.ok() && again->kind == Message::Kind::notification && again->method == "job");
  const auto job2 = decode_job(again->params);
  FUZZ_CHECK(job2.ok() && *job2 == *job);
  FUZZ_CHECK(decode_job(encode_job(*job2)).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto msg = parse_line(text);
  if (!accepted(msg)) return 0;
  FUZZ_CHECK(msg->id.is_null() || msg->id.is_number() || msg->id.is_string());
  if (msg->kind == Message::Kind::response) {
    FUZZ_CHECK(msg->method.empty());
    check_job(msg->result);
    const auto login = decode_login_result(msg->result);
    if (accepted(login) && login->job) {
      const auto again = parse_line(login_reply(msg->id, login->id, *login->job, login->extensions), kNoLimit);
      FUZZ_CHECK(again.ok() && again->kind == Message::Kind::response);
      const auto login2 = decode_login_result(again->result);
      FUZZ_CHECK(login2.ok() && login2->id == login->id && login2->job == login->job &&
                 login2->extensions == login->extensions);
    }
    if (msg->error) {
      const auto again = parse_line(error_reply(msg->id, msg->error->code, msg->error->message), kNoLimit);
      FUZZ_CHECK(again.ok() && again->error && again->error->code == msg->error->code &&
                 again->error->message == msg->error->message && again->id == msg->id);
    }
    return 0;
  }
  FUZZ_CHECK(!msg->method.empty());
  FUZZ_CHECK((msg->kind == Message::Kind::notification) == msg->id.is_null());
  check_job(msg->params);
  const auto submit = decode_submit_params(msg->params);
  if (accepted(submit)) {
    const auto again =
        parse_line(submit_request(1, submit->id, submit->job_id, submit->nonce, submit->result), kNoLimit);
    FUZZ_CHECK(again.ok() && again->kind == Message::Kind::request && again->method == "submit");
    const auto submit2 = decode_submit_params(again->params);
    FUZZ_CHECK(submit2.ok() && submit2->id == submit->id && submit2->job_id == submit->job_id &&
               submit2->nonce == submit->nonce && submit2->result == submit->result);
  }
  const auto login = decode_login_params(msg->params);
  if (accepted(login)) {
    const auto again = parse_line(login_request(1, login->login, login->pass, login->agent), kNoLimit);
    FUZZ_CHECK(again.ok());
    const auto login2 = decode_login_params(again->params);
    FUZZ_CHECK(login2.ok() && login2->login == login->login && login2->pass == login->pass &&
               login2->agent == login->agent);
  }
  return 0;
}
