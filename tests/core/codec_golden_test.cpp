// Golden msgpack bytes for a few envelopes, written out from the msgpack spec
// (fixmap 0x8N, fixstr 0xa0|len, str8 0xd9 len, int64 0xd3 big-endian) rather
// than produced by the encoder: a change of key names, key order, integer
// width or string header breaks these, where a round trip would not notice.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/codec.h"

using namespace nautilus;

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(digits[u >> 4]);
    out.push_back(digits[u & 15]);
  }
  return out;
}

struct Golden {
  const char* name;
  Message message;
  std::string hex;
};

std::vector<Golden> goldens() {
  std::vector<Golden> g;

  Message alert;
  alert.id = MessageId{1, 2};
  alert.topic = "risk.alert.var_breach";
  alert.type = MessageType::kRiskAlert;
  alert.priority = Priority::kUrgent;
  alert.source = "risk";
  alert.timestamp_ns = 1'700'000'000'000'000'000;
  alert.payload = R"({"var":1.5})";
  g.push_back({"seven keys, fixstr topic", alert,
               std::string("87") +                                    // fixmap, 7 pairs
                   "a26964" +                                          // "id"
                   "d920" + "3030303030303030303030303030303130303030303030303030303030303032" +  // str8 32 "00..01" "00..02"
                   "a5746f706963" +                                    // "topic"
                   "b5" + "7269736b2e616c6572742e7661725f627265616368" +  // fixstr 21 "risk.alert.var_breach"
                   "ac6d6573736167655f74797065" +                      // "message_type"
                   "aa7269736b5f616c657274" +                          // "risk_alert"
                   "a87072696f72697479" +                              // "priority"
                   "a6757267656e74" +                                  // "urgent"
                   "a6736f75726365" + "a47269736b" +                   // "source" "risk"
                   "ac74696d657374616d705f6e73" +                      // "timestamp_ns"
                   "d3" + "17979cfe362a0000" +                         // int64 1700000000000000000
                   "a77061796c6f6164" +                                // "payload"
                   "ab" + "7b22766172223a312e357d"});                  // fixstr 11 {"var":1.5}

  Message quote;
  quote.id = MessageId{0x17a3c5e2b1f00000ull, 0xc0ffee01ull};
  quote.topic = "marketdata.real_time.quote.GOOGL";  // 32 characters: str8
  quote.type = MessageType::kQuote;
  quote.priority = Priority::kNormal;
  quote.source = "";
  quote.timestamp_ns = 5;
  quote.origin_ns = 1'700'000'000'000'000'000 - 5;
  quote.correlation_id = "chain-7";
  quote.payload = R"({"bid":189.5})";
  g.push_back({"nine keys, str8 topic, empty source, origin and correlation", quote,
               std::string("89") +                                    // fixmap, 9 pairs
                   "a26964" +
                   "d920" + "3137613363356532623166303030303030303030303030306330666665653031" +
                   "a5746f706963" +
                   "d920" + "6d61726b6574646174612e7265616c5f74696d652e71756f74652e474f4f474c" +
                   "ac6d6573736167655f74797065" + "a571756f7465" +     // "quote"
                   "a87072696f72697479" + "a66e6f726d616c" +           // "normal"
                   "a6736f75726365" + "a0" +                           // "source" ""
                   "ac74696d657374616d705f6e73" + "d3" + "0000000000000005" +
                   "a96f726967696e5f6e73" + "d3" + "17979cfe3629fffb" +  // "origin_ns" 1699999999999999995
                   "ae636f7272656c6174696f6e5f6964" + "a7636861696e2d37" +  // "correlation_id" "chain-7"
                   "a77061796c6f6164" + "ad" + "7b22626964223a3138392e357d"});
  return g;
}

}  // namespace

TEST_CASE("msgpack envelopes encode to the golden bytes and decode from them", "[codec][msgpack]") {
  for (const Golden& golden : goldens()) {
    INFO(golden.name);
    std::string wire;
    encode_msgpack(golden.message, wire);
    CHECK(to_hex(wire) == golden.hex);

    Message back;
    REQUIRE(decode_msgpack(from_hex(golden.hex), back).is_ok());
    CHECK(back.id == golden.message.id);
    CHECK(back.topic == golden.message.topic);
    CHECK(back.type == golden.message.type);
    CHECK(back.priority == golden.message.priority);
    CHECK(back.source == golden.message.source);
    CHECK(back.timestamp_ns == golden.message.timestamp_ns);
    CHECK(back.origin_ns == golden.message.origin_ns);
    CHECK(back.correlation_id == golden.message.correlation_id);
    CHECK(back.payload == golden.message.payload);
  }
}

TEST_CASE("msgpack decodes a map16 header and keys in any order", "[codec][msgpack]") {
  // Another writer may use map16 (0xde) and its own key order.
  std::string hex = std::string("de0007") +
                    "a7" + "7061796c6f6164" + "a2" + "7b7d" +                 // payload {}
                    "a8" + "7072696f72697479" + "a3" + "6c6f77" +             // priority low
                    "ac" + "74696d657374616d705f6e73" + "d3" + "0000000000000009" +
                    "a6" + "736f75726365" + "a1" + "78" +                     // source x
                    "ac" + "6d6573736167655f74797065" + "a4" + "7469636b" +   // message_type tick
                    "a5" + "746f706963" + "a3" + "612e62" +                   // topic a.b
                    "a2" + "6964" + "d920" + "3030303030303030303030303030303330303030303030303030303030303034";
  Message m;
  REQUIRE(decode_msgpack(from_hex(hex), m).is_ok());
  CHECK(m.id == MessageId{3, 4});
  CHECK(m.topic == "a.b");
  CHECK(m.type == MessageType::kTick);
  CHECK(m.priority == Priority::kLow);
  CHECK(m.source == "x");
  CHECK(m.timestamp_ns == 9);
  CHECK(m.payload == "{}");
}
