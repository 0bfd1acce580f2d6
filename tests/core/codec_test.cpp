#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/codec.h"

using namespace nautilus;

namespace {

Message sample(int variant) {
  Message m;
  m.id = MessageId{1700000000123456789ull + static_cast<std::uint64_t>(variant), 0xabcdefull};
  m.topic = variant % 2 ? "risk.alert.var_breach" : "marketdata.real_time.quote.AAPL";
  m.type = variant % 2 ? MessageType::kRiskAlert : MessageType::kQuote;
  m.priority = static_cast<Priority>(variant % 5);
  m.source = variant == 3 ? std::string("weird \"src\"\n\t\\ é") : std::string("risk");
  m.timestamp_ns = 1700000000000000000 + variant;
  if (variant % 3 == 0) {
    m.origin_ns = 1700000000000000000 - 5;
    m.correlation_id = "chain-" + std::to_string(variant);
  }
  m.payload = variant == 4 ? std::string(R"({"nested":{"a":[1,2,{"b":null}]},"s":"x\"y"})")
                           : std::string(R"({"bid":189.5,"ask":189.52})");
  return m;
}

void require_same(const Message& a, const Message& b) {
  CHECK(a.id == b.id);
  CHECK(a.topic == b.topic);
  CHECK(a.type == b.type);
  CHECK(a.priority == b.priority);
  CHECK(a.source == b.source);
  CHECK(a.timestamp_ns == b.timestamp_ns);
  CHECK(a.origin_ns == b.origin_ns);
  CHECK(a.correlation_id == b.correlation_id);
  CHECK(nlohmann::json::parse(a.payload) == nlohmann::json::parse(b.payload));
}

}  // namespace

TEST_CASE("envelope round-trips through JSON and msgpack", "[codec]") {
  for (int v = 0; v < 6; ++v) {
    for (Encoding e : {Encoding::kJson, Encoding::kMsgpack}) {
      INFO("variant " << v << " encoding " << static_cast<int>(e));
      Message m = sample(v);
      std::string wire;
      REQUIRE(encode(e, m, wire).is_ok());
      Message back;
      Status s = decode(e, wire, back);
      REQUIRE(s.to_string() == "ok");
      require_same(m, back);
    }
  }
}

TEST_CASE("JSON encoding is plain readable JSON", "[codec]") {
  Message m = sample(3);
  auto j = nlohmann::json::parse(encode_json(m));
  CHECK(j["topic"] == m.topic);
  CHECK(j["message_type"] == "risk_alert");
  CHECK(j["priority"] == "urgent");
  CHECK(j["source"] == m.source);  // escapes survive
  CHECK(j["id"].get<std::string>().size() == 32);
  CHECK(j["payload"]["bid"] == 189.5);
}

TEST_CASE("the critical alias decodes as urgent", "[codec]") {
  Message m;
  REQUIRE(decode_json(R"({"topic":"a.b","message_type":"risk_alert","priority":"critical"})", m).is_ok());
  CHECK(m.priority == Priority::kUrgent);
}

TEST_CASE("malformed envelopes are rejected with the field named", "[codec]") {
  struct Case {
    const char* input;
    const char* expect;  // substring of the error
  };
  std::string deep = R"({"topic":"a","message_type":"tick","payload":)" + std::string(200, '[') +
                     std::string(200, ']') + "}";
  std::string deep_payload = R"({"topic":"a","message_type":"tick","payload":)" + std::string(100, '{') + "}";
  const std::vector<Case> cases = {
      {"", "envelope"},
      {"not json", "envelope"},
      {"[1,2,3]", "not a JSON object"},
      {R"({"message_type":"tick"})", "'topic': missing"},
      {R"({"topic":"a.b"})", "'message_type': missing"},
      {R"({"topic":"a.b","message_type":"nope"})", "unknown type 'nope'"},
      {R"({"topic":"a.b","message_type":"tick","priority":"asap"})", "unknown priority 'asap'"},
      {R"({"topic":"a.b","message_type":"tick","priority":3})", "'priority': not a string"},
      {R"({"topic":"","message_type":"tick"})", "'topic': empty topic"},
      {R"({"topic":"a..b","message_type":"tick"})", "empty segment"},
      {R"({"topic":"a.*","message_type":"tick"})", "glob character"},
      {R"({"topic":"a b","message_type":"tick"})", "space"},
      {R"({"topic":7,"message_type":"tick"})", "'topic': not a string"},
      {R"({"topic":"a","message_type":"tick","timestamp_ns":"x"})", "'timestamp_ns': not an integer"},
      {R"({"topic":"a","message_type":"tick","timestamp_ns":-1})", "'timestamp_ns': negative"},
      {R"({"topic":"a","message_type":"tick","timestamp_ns":1.5})", "not an integer"},
      {R"({"topic":"a","message_type":"tick","timestamp_ns":99999999999999999999})", "timestamp_ns"},
      {R"({"topic":"a","message_type":"tick","id":"xyz"})", "'id'"},
      {R"({"topic":"a","message_type":"tick","payload":[1]})", "'payload': not a JSON object"},
      {R"({"topic":"a","message_type":"tick","payload":"{}"})", "'payload': not a JSON object"},
      {R"({"topic":"a","message_type":"tick")", "malformed JSON"},
      {deep.c_str(), "nested too deeply"},
      {deep_payload.c_str(), "envelope"},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.input);
    Message m;
    m.topic = "untouched";
    Status s = decode_json(c.input, m);
    CHECK_FALSE(s.is_ok());
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Catch::Contains(c.expect));
    CHECK(m.topic == "untouched");  // never half-filled
  }
}

TEST_CASE("malformed msgpack is rejected, truncations included", "[codec]") {
  std::string wire;
  encode_msgpack(sample(0), wire);
  for (std::size_t cut = 0; cut < wire.size(); ++cut) {
    Message m;
    CHECK_FALSE(decode_msgpack(std::string_view(wire).substr(0, cut), m).is_ok());
  }
  Message m;
  CHECK_FALSE(decode_msgpack(wire + "x", m).is_ok());
  CHECK_THAT(decode_msgpack("\x81\xa3" "abc\x01", m).message(), Catch::Contains("unknown field"));
  CHECK_THAT(decode_msgpack("\x93\x01\x02\x03", m).message(), Catch::Contains("not a msgpack map"));
}

TEST_CASE("payload validation", "[codec]") {
  CHECK(validate_payload(R"({"a":1})").is_ok());
  CHECK(validate_payload(" {} ").is_ok());
  CHECK_FALSE(validate_payload("[]").is_ok());
  CHECK_FALSE(validate_payload("{").is_ok());
  CHECK_FALSE(validate_payload("").is_ok());
  CHECK_FALSE(validate_payload(R"({"a":1} trailing)").is_ok());
}
