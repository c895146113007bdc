// The stratum codec against every captured and computed entry of tests/data/stratum_examples.json
// (a copy of ../shared/stratum/examples.json), plus the malformed inputs a pool or miner may send.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tensority/core/block_header.hpp"
#include "tensority/core/hex.hpp"
#include "tensority/core/target.hpp"
#include "tensority/stratum/codec.hpp"
#include "vectors.hpp"

namespace {

using json = nlohmann::json;
using namespace tensority;
using namespace tensority::stratum;

const json& examples() { return test::stratum_examples(); }

const json& st() { return examples()["stratum"]; }

std::uint64_t hex_u64(const std::string& text) { return std::stoull(text, nullptr, 16); }

core::BigInt big_from_hex(const std::string& hex) {
  core::BigInt v = 0;
  for (const char c : hex) v = (v << 4) | std::stoi(std::string(1, c), nullptr, 16);
  return v;
}

core::Hash H(const std::string& hex) { return core::hash_from_hex(hex).value(); }

std::string line_of(const json& j) { return j.dump() + "\n"; }

// A failure must be one non-empty line.
template <typename T>
void expect_failure(const core::Result<T>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_FALSE(r.error().empty()) << what;
  EXPECT_EQ(r.error().find('\n'), std::string::npos) << what << ": " << r.error();
}

bool same_target(const core::Target256& a, const core::Target256& b) {
  return a.never == b.never && a.limbs == b.limbs;
}

TEST(StratumFields, U64LittleEndian) {
  EXPECT_EQ(encode_u64_le(1), "0100000000000000");
  EXPECT_EQ(encode_u64_le(17548), "8c44000000000000");
  EXPECT_EQ(encode_u64_le(0x1d00000000047a1dULL), "1d7a04000000001d");
  EXPECT_EQ(decode_u64_le("4C3AFA5A00000000").value(), 1526348364u);
  EXPECT_EQ(decode_u64_le("ffffffffffffffff").value(), ~0ULL);
  for (std::uint64_t v : {0ULL, 1ULL, 0x0123456789abcdefULL, ~0ULL})
    EXPECT_EQ(decode_u64_le(encode_u64_le(v)).value(), v);
  expect_failure(decode_u64_le("01000000000000"), "14 chars");
  expect_failure(decode_u64_le("010000000000000000"), "18 chars");
  expect_failure(decode_u64_le("01000000000000zz"), "non-hex");
  expect_failure(decode_u64_le(""), "empty");
}

TEST(StratumFields, HashAndSubmitNonce) {
  const std::string seed = "6aa116ef17d69e398ba388e8f0e1805f6f98afb9dfb8fb87679ad5d3c099099d";
  EXPECT_EQ(encode_hash(decode_hash(seed).value()), seed);
  expect_failure(decode_hash(seed.substr(2)), "short hash");
  expect_failure(decode_hash(seed.substr(1) + "g"), "non-hex hash");

  EXPECT_EQ(encode_submit_nonce(35184372089017ULL), "00002000000000b9");
  EXPECT_EQ(encode_submit_nonce(0), "0000000000000000");
  EXPECT_EQ(decode_submit_nonce("00002000000000B9").value(), 35184372089017ULL);
  EXPECT_EQ(decode_submit_nonce("bc000d41").value(), 0xbc000d41ULL);
  EXPECT_EQ(decode_submit_nonce("f").value(), 15u);
  EXPECT_EQ(decode_submit_nonce("ffffffffffffffff").value(), ~0ULL);
  expect_failure(decode_submit_nonce("00002000000000b9a"), "17 chars");
  expect_failure(decode_submit_nonce(""), "empty nonce");
  expect_failure(decode_submit_nonce("0x12"), "prefix");
  expect_failure(decode_submit_nonce("12 4"), "space");

  // 16 digits are the full nonce as sent, even below 2^32; 8 or fewer are the low 32 bits.
  json params{{"id", "w"}, {"job_id", "1"}, {"nonce", "00000000000000b9"}};
  auto full = decode_submit_params(params);
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_EQ(full->nonce, 0xb9u);
  EXPECT_FALSE(full->nonce_low32_only);
  params["nonce"] = "000000b9";
  auto low = decode_submit_params(params);
  ASSERT_TRUE(low.ok()) << low.error();
  EXPECT_EQ(low->nonce, 0xb9u);
  EXPECT_TRUE(low->nonce_low32_only);
  params["nonce"] = "0000000b9";
  EXPECT_FALSE(decode_submit_params(params)->nonce_low32_only);
}

TEST(StratumJob, AntpoolLoginJobDecodes) {
  const auto& cap = st()["antpool_capture"];
  const auto msg = parse_line(line_of(cap["login_response"]));
  ASSERT_TRUE(msg.ok()) << msg.error();
  EXPECT_EQ(msg->kind, Message::Kind::response);
  EXPECT_EQ(msg->id, 1);
  EXPECT_FALSE(msg->error.has_value());
  const auto login = decode_login_result(msg->result);
  ASSERT_TRUE(login.ok()) << login.error();
  EXPECT_EQ(login->id, "antminer_1");
  EXPECT_EQ(login->status, "OK");
  ASSERT_TRUE(login->job.has_value());
  const auto& job = *login->job;
  const auto& want = cap["login_job_decoded"];
  EXPECT_EQ(job.job_id, "16368");
  EXPECT_EQ(job.header.version, want["version"].get<std::uint64_t>());
  EXPECT_EQ(job.header.height, want["height"].get<std::uint64_t>());
  EXPECT_EQ(job.header.timestamp, want["timestamp"].get<std::uint64_t>());
  EXPECT_EQ(job.nonce_start, hex_u64(want["start_nonce_u64"].get<std::string>()));
  EXPECT_EQ(job.header.bits, hex_u64(want["bits_u64"].get<std::string>()));
  EXPECT_EQ(job.header.nonce, 0u);
  EXPECT_EQ(core::to_hex(job.header.previous_block_id), cap["login_response"]["result"]["job"]["previous_block_hash"]);
  EXPECT_EQ(job.target_field, "c5a70000");
  EXPECT_NEAR(job.difficulty, 100000, 100000 * 1e-4);
  EXPECT_EQ(encode_job(job), cap["login_response"]["result"]["job"]);
}

TEST(StratumJob, AntpoolNotificationDecodes) {
  const auto& cap = st()["antpool_capture"];
  const auto msg = parse_line(line_of(cap["job_notification"]));
  ASSERT_TRUE(msg.ok()) << msg.error();
  EXPECT_EQ(msg->kind, Message::Kind::notification);
  EXPECT_EQ(msg->method, "job");
  EXPECT_TRUE(msg->id.is_null());
  const auto job = decode_job(msg->params);
  ASSERT_TRUE(job.ok()) << job.error();
  const auto& want = cap["job_notification_decoded"];
  EXPECT_EQ(job->job_id, "171567");
  EXPECT_EQ(job->header.version, want["version"].get<std::uint64_t>());
  EXPECT_EQ(job->header.height, want["height"].get<std::uint64_t>());
  EXPECT_EQ(job->header.timestamp, want["timestamp"].get<std::uint64_t>());
  EXPECT_EQ(job->nonce_start, hex_u64(want["start_nonce_u64"].get<std::string>()));
  EXPECT_EQ(job->header.bits, hex_u64(want["bits_u64"].get<std::string>()));
  EXPECT_EQ(core::compact_to_big(job->header.bits), big_from_hex(want["network_target_hex"].get<std::string>()));
  EXPECT_TRUE(same_target(job->share_target, core::Target256::from_big(big_from_hex(
                                                 want["share_target_from_field_hex"].get<std::string>()))));
  EXPECT_EQ(decode_target_field_big(job->target_field).value(),
            big_from_hex(want["share_target_from_field_hex"].get<std::string>()));
  EXPECT_NEAR(job->difficulty, want["share_difficulty_approx"].get<double>(), 1.0);
  EXPECT_EQ(encode_job(*job), cap["job_notification"]["params"]);
}

TEST(StratumJob, OtherPoolsLoginResultsDecode) {
  const auto btc = decode_login_result(st()["btcpool_doc"]["login_response"]["result"]);
  ASSERT_TRUE(btc.ok()) << btc.error();
  ASSERT_TRUE(btc->job.has_value());
  EXPECT_EQ(btc->job->job_id, "710425");
  EXPECT_EQ(btc->job->header.height, 0x2b55u);

  const auto btm = decode_login_result(st()["btmcpool_constructed"]["login_response"]["result"]);
  ASSERT_TRUE(btm.ok()) << btm.error();
  ASSERT_TRUE(btm->job.has_value());
  EXPECT_EQ(btm->job->job_id, "5577006791947779410");
  EXPECT_EQ(btm->job->nonce_start, 0x0000200000000000ULL);
  EXPECT_NEAR(btm->job->difficulty, 1050000, 1050000 * 1e-3);
  EXPECT_EQ(btm->id, "account.worker1");

  // btmcpool's notification is shown with a placeholder, which is not a job.
  expect_failure(decode_job(st()["btmcpool_constructed"]["job_notification"]["params"]), "placeholder params");
}

TEST(StratumJob, UppercaseAndIntegerJobIdAccepted) {
  json params = st()["antpool_capture"]["job_notification"]["params"];
  const auto lower = decode_job(params).value();
  for (const char* key : {"height", "previous_block_hash", "seed", "target"}) {
    std::string s = params[key];
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    params[key] = s;
  }
  params["job_id"] = 171567;
  const auto upper = decode_job(params);
  ASSERT_TRUE(upper.ok()) << upper.error();
  EXPECT_EQ(upper->header, lower.header);
  EXPECT_EQ(upper->seed, lower.seed);
  EXPECT_EQ(upper->job_id, "171567");
  EXPECT_TRUE(same_target(upper->share_target, lower.share_target));
  EXPECT_EQ(upper->target_field, "FFFF0000");  // kept as received
}

TEST(StratumJob, JobIdLimits) {
  json params = st()["antpool_capture"]["job_notification"]["params"];
  params["job_id"] = "18446744073709551615";
  EXPECT_TRUE(decode_job(params).ok());
  params["job_id"] = "18446744073709551616";
  expect_failure(decode_job(params), "2^64");
  params["job_id"] = "12a";
  expect_failure(decode_job(params), "non-decimal");
  params["job_id"] = "";
  expect_failure(decode_job(params), "empty id");
  params["job_id"] = -1;
  expect_failure(decode_job(params), "negative");
  params["job_id"] = 1.5;
  expect_failure(decode_job(params), "float");
}

TEST(StratumJob, BadJobsFail) {
  const json good = st()["antpool_capture"]["job_notification"]["params"];
  for (const char* key : {"version", "height", "previous_block_hash", "timestamp", "transactions_merkle_root",
                          "transaction_status_hash", "nonce", "bits", "job_id", "seed", "target"}) {
    json missing = good;
    missing.erase(key);
    expect_failure(decode_job(missing), std::string("missing ") + key);
    json number = good;
    number[key] = json::array({1});
    expect_failure(decode_job(number), std::string("array ") + key);
  }
  json bad = good;
  bad["height"] = "8c4400000000000";  // 15 chars
  expect_failure(decode_job(bad), "15-char u64");
  bad = good;
  bad["target"] = "00000000";
  expect_failure(decode_job(bad), "zero target");
  bad = good;
  bad["target"] = "fff";
  expect_failure(decode_job(bad), "odd target");
  bad = good;
  bad["target"] = std::string(66, '1');
  expect_failure(decode_job(bad), "33-byte target");
  bad = good;
  bad["seed"] = std::string(64, 'x');
  expect_failure(decode_job(bad), "non-hex seed");
  expect_failure(decode_job(json::array()), "array job");
  expect_failure(decode_job(json("job")), "string job");
}

// header_hash_vectors: the job built from the fields, with the nonce, hashes to the block id.
TEST(StratumJob, HeaderHashVectors) {
  for (const auto& v : examples()["header_hash_vectors"]) {
    const auto& f = v["fields"];
    json params{{"version", encode_u64_le(f["version"].get<std::uint64_t>())},
                {"height", encode_u64_le(f["height"].get<std::uint64_t>())},
                {"previous_block_hash", f["previous_block_hash"]},
                {"timestamp", encode_u64_le(f["timestamp"].get<std::uint64_t>())},
                {"transactions_merkle_root", f["transactions_merkle_root"]},
                {"transaction_status_hash", f["transaction_status_hash"]},
                {"nonce", "0000000000000000"},
                {"bits", encode_u64_le(f["bits"].get<std::uint64_t>())},
                {"job_id", "1"},
                {"seed", v.value("seed", std::string(64, '0'))},
                {"target", "00000001"}};
    if (v.contains("as_stratum_job")) {
      for (const auto& [key, value] : v["as_stratum_job"].items()) {
        if (key != "nonce") {
          EXPECT_EQ(params[key], value) << v["name"] << " " << key;
        }
      }
      EXPECT_EQ(decode_u64_le(v["as_stratum_job"]["nonce"].get<std::string>()).value(),
                f["nonce"].get<std::uint64_t>());
    }
    auto job = decode_job(params);
    ASSERT_TRUE(job.ok()) << job.error();
    auto header = job->header;
    header.nonce = f["nonce"].get<std::uint64_t>();
    EXPECT_EQ(core::to_hex(core::block_id(header)), v["header_hash"]) << v["name"];
  }
}

TEST(StratumShare, ShareVectors) {
  const auto& sv = examples()["share_vectors"];
  const auto job = decode_job(sv["job"]);
  ASSERT_TRUE(job.ok()) << job.error();
  EXPECT_TRUE(same_target(job->share_target,
                          core::Target256::from_big(big_from_hex(sv["share_target_hex"].get<std::string>()))));
  EXPECT_EQ(core::compact_to_big(job->header.bits), big_from_hex(sv["network_target_hex"].get<std::string>()));
  EXPECT_NEAR(job->difficulty, 256, 1e-9);
  EXPECT_EQ(job->nonce_start, 0x0000200000000000ULL);
  const auto block_target = core::Target256::from_bits(job->header.bits);
  int with_message = 0;
  for (const auto& c : sv["cases"]) {
    const auto nonce = c["nonce_u64"].get<std::uint64_t>();
    EXPECT_EQ(encode_submit_nonce(nonce), c["nonce_submit_hex"]);
    EXPECT_EQ(decode_submit_nonce(c["nonce_submit_hex"].get<std::string>()).value(), nonce);
    auto header = job->header;
    header.nonce = nonce;
    EXPECT_EQ(core::to_hex(core::block_id(header)), c["header_hash"]);
    const auto result = H(c["tensority_result"].get<std::string>());
    const bool accept = c["verdict"].get<std::string>().starts_with("accept");
    EXPECT_EQ(job->share_target.met_by(result), accept) << c["nonce_submit_hex"];
    EXPECT_FALSE(block_target.met_by(result));
    if (!c.contains("submit_message")) continue;
    ++with_message;
    const auto& sm = c["submit_message"];
    const auto& p = sm["params"];
    const std::string line = submit_request(sm["id"].get<std::uint64_t>(), p["id"].get<std::string>(),
                                            p["job_id"].get<std::string>(), nonce, H(p["result"].get<std::string>()));
    EXPECT_EQ(line, line_of(sm));
    const auto parsed = parse_line(line);
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    EXPECT_EQ(parsed->kind, Message::Kind::request);
    EXPECT_EQ(parsed->method, "submit");
    EXPECT_EQ(parsed->id, 7);
    const auto params = decode_submit_params(parsed->params);
    ASSERT_TRUE(params.ok()) << params.error();
    EXPECT_EQ(params->id, "antminer_1");
    EXPECT_EQ(params->job_id, "171567");
    EXPECT_EQ(params->nonce, nonce);
    ASSERT_TRUE(params->result.has_value());
    EXPECT_EQ(*params->result, result);
    EXPECT_EQ(submit_request(7, params->id, params->job_id, params->nonce, params->result), line);
  }
  EXPECT_EQ(with_message, 1);
}

TEST(StratumShare, CapturedSubmitsDecode) {
  const auto ant = decode_submit_params(st()["antpool_capture"]["submit_request"]["params"]);
  ASSERT_TRUE(ant.ok()) << ant.error();
  EXPECT_EQ(ant->nonce, 0xbc000d41ULL);  // the short 8-char form
  EXPECT_EQ(ant->job_id, "4171");
  const auto btm = decode_submit_params(st()["btmcpool_constructed"]["submit_request"]["params"]);
  ASSERT_TRUE(btm.ok()) << btm.error();
  EXPECT_EQ(btm->nonce, 35184372089017ULL);

  json p = st()["btmcpool_constructed"]["submit_request"]["params"];
  p.erase("result");
  EXPECT_FALSE(decode_submit_params(p).value().result.has_value());
  EXPECT_EQ(submit_request(2, "a", "1", 1, std::nullopt).find("result"), std::string::npos);
  for (const char* key : {"id", "job_id", "nonce"}) {
    json m = st()["btmcpool_constructed"]["submit_request"]["params"];
    m.erase(key);
    expect_failure(decode_submit_params(m), std::string("missing ") + key);
  }
  json bad = st()["btmcpool_constructed"]["submit_request"]["params"];
  bad["nonce"] = "00002000000000b9f";
  expect_failure(decode_submit_params(bad), "17-char nonce");
  bad["nonce"] = "0000200000000zb9";
  expect_failure(decode_submit_params(bad), "non-hex nonce");
  bad["nonce"] = 12;
  expect_failure(decode_submit_params(bad), "numeric nonce");
  bad = st()["btmcpool_constructed"]["submit_request"]["params"];
  bad["result"] = "f145";
  expect_failure(decode_submit_params(bad), "short result");
  expect_failure(decode_submit_params(json::array()), "array params");
}

TEST(StratumTarget, FieldVectorsBothWays) {
  for (const auto& v : examples()["target_field_vectors"]["vectors"]) {
    const auto d = v["difficulty"].get<std::uint64_t>();
    EXPECT_EQ(target_field_for_difficulty(d), v["target"]) << d;
    const auto big = decode_target_field_big(v["target"].get<std::string>());
    ASSERT_TRUE(big.ok()) << big.error();
    EXPECT_EQ(*big, big_from_hex(v["target_256_be"].get<std::string>())) << d;
    EXPECT_TRUE(
        same_target(decode_target_field(v["target"].get<std::string>()).value(), core::Target256::from_big(*big)));
    // The field keeps 32 significant bits: the error is at most about D * D / 2^32.
    const auto dd = static_cast<double>(d);
    EXPECT_NEAR(difficulty_of_target(*big), dd, dd * dd / 4294967296.0 + 1e-9) << d;
  }
  // The btcpool variable-length form decodes with the same rule, to a finer target.
  for (const auto& v : examples()["target_field_vectors"]["btcpool_variable_length_variant"]["vectors"]) {
    const auto d = v["difficulty"].get<double>();
    const auto big = decode_target_field_big(v["target"].get<std::string>());
    ASSERT_TRUE(big.ok()) << big.error();
    EXPECT_NEAR(difficulty_of_target(*big), d, d * d / 1099511627776.0) << v["target"];  // 40 bits
  }
  EXPECT_EQ(target_field_for_difficulty(0), "00000080");  // clamped to 2
  EXPECT_EQ(target_field_for_difficulty(1), "00000080");
  // Above 2^32 the field would be all zero (no result could meet it): clamped to 2^32.
  EXPECT_EQ(target_field_for_difficulty(kMaxFieldDifficulty), "01000000");
  EXPECT_EQ(target_field_for_difficulty(std::uint64_t{1} << 40), "01000000");
  EXPECT_TRUE(decode_target_field(make_job("1", core::BlockHeader{}, core::Hash{}, 0, ~std::uint64_t{0}).target_field).ok());
  // A full 32-byte field is the whole target.
  EXPECT_EQ(decode_target_field_big(std::string(64, 'f')).value(), (core::BigInt(1) << 256) - 1);
  EXPECT_EQ(decode_target_field_big("01").value(), core::BigInt(1) << 248);
}

TEST(StratumTarget, MakeJobUsesTheRoundedField) {
  const auto ref = decode_job(examples()["share_vectors"]["job"]).value();
  const auto job = make_job("171567", ref.header, ref.seed, ref.nonce_start, 256);
  EXPECT_EQ(job, ref);
  const auto hard = make_job("9", ref.header, ref.seed, 0, 100000);
  EXPECT_EQ(hard.target_field, "c5a70000");
  EXPECT_EQ(decode_job(encode_job(hard)).value(), hard);
}

TEST(StratumMessages, ErrorReplies) {
  std::vector<json> replies;
  for (const auto& e : st()["btcpool_doc"]["documented_errors"]) replies.push_back(e);
  for (const char* k : {"submit_response_low_difficulty", "submit_response_job_expired"}) {
    replies.push_back(st()["antpool_capture"][k]);
  }
  replies.push_back(st()["btmcpool_constructed"]["error_example"]);
  for (const auto& r : replies) {
    const auto m = parse_line(line_of(r));
    ASSERT_TRUE(m.ok()) << m.error();
    EXPECT_EQ(m->kind, Message::Kind::response);
    EXPECT_EQ(m->id, r["id"]);
    ASSERT_TRUE(m->error.has_value());
    EXPECT_EQ(m->error->code, r["error"]["code"].get<int>());
    EXPECT_EQ(m->error->message, r["error"]["message"]);
    EXPECT_TRUE(m->result.is_null());
  }
  const auto& ex = st()["btmcpool_constructed"]["error_example"];
  EXPECT_EQ(error_reply(2, kErrLowDifficultyShare, error_message(kErrLowDifficultyShare)), line_of(ex));
  EXPECT_EQ(error_message(kErrJobNotFound), "Job Not Found");
  EXPECT_EQ(error_message(kErrUnsupportedMethod), "Unsupported Method");
  EXPECT_EQ(error_message(12345), "Unknown Error");
  EXPECT_EQ(kErrDuplicateShare, 22);
  EXPECT_EQ(kErrUnauthorizedWorker, 24);
  EXPECT_EQ(kErrMultipleAuthorization, 40);

  const auto arr = parse_line(R"({"id":"x","result":null,"error":[21,"Job not found",null]})");
  ASSERT_TRUE(arr.ok()) << arr.error();
  EXPECT_EQ(arr->id, "x");
  EXPECT_EQ(arr->error->code, 21);
  EXPECT_EQ(arr->error->message, "Job not found");
}

TEST(StratumMessages, BuildersMatchTheExamples) {
  const auto& ant = st()["antpool_capture"];
  const auto& rec = st()["recommended_extensions"];
  EXPECT_EQ(ok_reply(3), line_of(ant["submit_response_ok"]));
  EXPECT_EQ(ok_reply(2), line_of(st()["btmcpool_constructed"]["submit_ok"]));
  EXPECT_EQ(keepalived_reply(5), line_of(rec["keepalived_response"]));
  EXPECT_EQ(keepalived_request(5, "account.worker1"), line_of(rec["keepalived_request"]));
  EXPECT_EQ(getjob_request(4, "account.worker1"), line_of(rec["getjob_request"]));

  const auto login = decode_login_result(ant["login_response"]["result"]).value();
  EXPECT_EQ(login_reply(1, "antminer_1", *login.job), line_of(ant["login_response"]));
  json notification = ant["job_notification"];
  EXPECT_EQ(job_notification(decode_job(notification["params"]).value()), line_of(notification));

  // Client login: the capture's fields, plus "jsonrpc".
  json want = ant["login_request"];
  want["jsonrpc"] = "2.0";
  EXPECT_EQ(login_request(1, "antminer_1", "123", "bmminer/2.0.0"), line_of(want));
  const auto m = parse_line(line_of(ant["login_request"]));
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->kind, Message::Kind::request);
  EXPECT_EQ(m->method, "login");
  const auto lp = decode_login_params(m->params);
  ASSERT_TRUE(lp.ok()) << lp.error();
  EXPECT_EQ(lp->login, "antminer_1");
  EXPECT_EQ(lp->pass, "123");
  EXPECT_EQ(lp->agent, "bmminer/2.0.0");
  expect_failure(decode_login_params(json{{"pass", "x"}}), "login without login");
  EXPECT_TRUE(default_agent().starts_with("tensority/"));

  // getjob reply: the result is the job itself; login reply with extensions.
  const auto job = *login.job;
  const auto gj = parse_line(getjob_reply("abc", job));
  ASSERT_TRUE(gj.ok()) << gj.error();
  EXPECT_EQ(gj->id, "abc");
  EXPECT_EQ(decode_job(gj->result).value(), job);
  const auto lr = parse_line(login_reply(9, "w", job, {"keepalive"}));
  ASSERT_TRUE(lr.ok()) << lr.error();
  const auto lres = decode_login_result(lr->result).value();
  EXPECT_EQ(lres.extensions, std::vector<std::string>{"keepalive"});
  EXPECT_EQ(lres.job.value(), job);

  const auto gw = parse_line(line_of(st()["btcpool_doc"]["getwork_request"]));
  ASSERT_TRUE(gw.ok()) << gw.error();
  EXPECT_EQ(gw->kind, Message::Kind::request);
  EXPECT_EQ(gw->method, "getwork");
  EXPECT_TRUE(gw->params.is_null());

  // A login result without a job (sent later by notification) is fine.
  const auto nojob = decode_login_result(json{{"id", "w"}, {"status", "OK"}});
  ASSERT_TRUE(nojob.ok());
  EXPECT_FALSE(nojob->job.has_value());
}

TEST(StratumMessages, LineEndingsAndIds) {
  EXPECT_TRUE(parse_line("{\"id\":1,\"result\":{\"status\":\"OK\"},\"error\":null}\r\n").ok());
  EXPECT_TRUE(parse_line("{\"id\":1,\"result\":{\"status\":\"OK\"},\"error\":null}").ok());
  const auto big = parse_line(R"({"id":18446744073709551615,"method":"keepalived","params":{"id":"w"}})");
  ASSERT_TRUE(big.ok()) << big.error();
  EXPECT_EQ(big->id.get<std::uint64_t>(), ~0ULL);
  const auto s = parse_line(R"({"id":"a-1","method":"submit","params":{}})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, Message::Kind::request);
  EXPECT_EQ(s->id, "a-1");
  const auto n = parse_line(R"({"id":null,"method":"job","params":{}})");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->kind, Message::Kind::notification);
  // Exactly at the limit parses; one more byte does not.
  std::string line = R"({"method":"x","params":")";
  line += std::string(100 - line.size() - 2, 'a') + "\"}";
  ASSERT_EQ(line.size(), 100u);
  EXPECT_TRUE(parse_line(line, 100).ok());
  EXPECT_TRUE(parse_line(line + "\n", 100).ok());
  expect_failure(parse_line(" " + line, 100), "101 bytes");
}

// A reply carries the request's id byte for byte, whatever json would make of it.
TEST(StratumMessages, RepliesEchoTheRequestIdVerbatim) {
  for (const std::string id : {"123456789012345678901234567890", "1.0", "-0", "1e3", "\"\\u00e9t\\u00e9\"", "7", "null"}) {
    const std::string line = R"({ "method" : "keepalived", "params":{"id":"w","x":[1,{"id":2}]}, "id" : )" + id + "}";
    const auto m = parse_line(line);
    ASSERT_TRUE(m.ok()) << line << ": " << m.error();
    EXPECT_EQ(m->reply_id.text(), id);
    EXPECT_EQ(keepalived_reply(m->reply_id), R"({"error":null,"id":)" + id + R"(,"jsonrpc":"2.0","result":{"status":"KEEPALIVED"}})" "\n");
    EXPECT_TRUE(error_reply(m->reply_id, kErrLowDifficultyShare, "x").find(R"("id":)" + id + ",") != std::string::npos);
  }
  // The last of duplicate keys, as json keeps it; nested ids are not the request's.
  const auto dup = parse_line(R"({"id":1,"params":{"id":"inner"},"method":"m","id":22})");
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->reply_id.text(), "22");
  EXPECT_EQ(ReplyId().text(), "null");
  EXPECT_EQ(ReplyId(5).text(), "5");
}

TEST(StratumMessages, MalformedLinesFail) {
  const std::string huge = R"({"method":"job","params":")" + std::string(kDefaultMaxLine, 'a') + "\"}";
  const std::pair<const char*, std::string> cases[] = {
      {"empty", ""},
      {"newline only", "\n"},
      {"bad JSON", "{\"id\":1,"},
      {"trailing garbage", "{\"id\":1,\"result\":null} x"},
      {"two objects", "{\"id\":1,\"result\":null}{\"id\":2,\"result\":null}"},
      {"bad UTF-8", "{\"method\":\"job\",\"params\":\"\xff\"}"},
      {"array", "[1,2]"},
      {"string", "\"login\""},
      {"number", "42"},
      {"method number", R"({"id":1,"method":5})"},
      {"empty method", R"({"id":1,"method":""})"},
      {"id object", R"({"id":{},"method":"login"})"},
      {"id bool", R"({"id":true,"result":null})"},
      {"neither", R"({"id":1})"},
      {"response without id", R"({"result":{"status":"OK"},"error":null})"},
      {"error string", R"({"id":1,"result":null,"error":"bad"})"},
      {"error code string", R"({"id":1,"result":null,"error":{"code":"23","message":"x"}})"},
      {"error code float", R"({"id":1,"result":null,"error":{"code":2.5,"message":"x"}})"},
      {"error code huge", R"({"id":1,"result":null,"error":{"code":99999999999,"message":"x"}})"},
      {"error message number", R"({"id":1,"result":null,"error":{"code":1,"message":7}})"},
      {"error empty array", R"({"id":1,"result":null,"error":[]})"},
      {"huge line", huge},
  };
  for (const auto& [what, line] : cases) expect_failure(parse_line(line), what);
  // Lines that parse but whose payload is wrong fail in the typed decoders.
  const auto wrong = parse_line(R"({"jsonrpc":"2.0","method":"job","params":{"job_id":"1","height":17548}})");
  ASSERT_TRUE(wrong.ok());
  expect_failure(decode_job(wrong->params), "numeric height");
  expect_failure(decode_login_result(json("OK")), "string login result");
  expect_failure(decode_login_result(json{{"id", 5}}), "numeric login id");
}

}  // namespace
