#pragma once
// A blocking Kafka client socket for tests, with the generated message classes on the client
// side, and helpers that build record batches and produce requests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "portask/kafka/kafka_messages.hpp"
#include "protocol/kafka/crc32c.hpp"
#include "protocol/kafka/record_batch.hpp"
#include "protocol/security/scram.hpp"

namespace portask::test {

namespace msg = protocol::kafka::messages;
namespace kafka = protocol::kafka;


// A blocking Kafka client socket with just enough framing for tests.
class raw_kafka {
 public:
  explicit raw_kafka(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect");
  }
  ~raw_kafka() { close(fd_); }

  template <class Req>
  void send(std::int16_t key, std::int16_t version, std::int32_t correlation, const Req& body,
            bool flexible) {
    protocol::buffer out(4);
    kafka::writer w{out};
    w.i16(key);
    w.i16(version);
    w.i32(correlation);
    w.string("test", false);  // client id: INT16 length even in header v2
    if (flexible) w.uvarint(0);
    body.encode(w, version);
    protocol::store_be32(out.data(), static_cast<std::uint32_t>(out.size() - 4));
    send_raw(out);
  }
  void send_raw(protocol::byte_view b) { ASSERT_EQ(::send(fd_, b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size())); }

  /// Reads one response; returns its body after the correlation id (and tagged fields).
  std::optional<protocol::buffer> receive(std::int32_t& correlation, bool flexible_header) {
    protocol::buffer size(4);
    if (!read_exact(size)) return std::nullopt;
    protocol::buffer body(protocol::load_be32(size.data()));
    if (!read_exact(body)) return std::nullopt;
    kafka::reader r{body};
    r.i32(correlation);
    if (flexible_header) {
      std::uint64_t tags = 0;
      r.uvarint(tags);
    }
    protocol::byte_view rest;
    r.raw(r.remaining(), rest);
    return protocol::buffer(rest.begin(), rest.end());
  }
  /// True when the broker closed the connection (end of stream, not a timeout).
  bool closed() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 30'000) <= 0) return false;
    char c = 0;
    return recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool read_exact(protocol::buffer& b) {
    std::size_t got = 0;
    while (got < b.size()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 60'000) <= 0) return false;  // above the admin timeouts tests use
      const auto n = recv(fd_, b.data() + got, b.size() - got, 0);
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    return true;
  }
  int fd_ = -1;
};

template <class T>
T decode_as(const protocol::buffer& b, std::int16_t version) {
  T out;
  kafka::reader r{b};
  EXPECT_TRUE(out.decode(r, version) && r.at_end());
  return out;
}

// One RecordBatch (v2, base offset 0) of `b`'s messages, compressed with `z`.
inline std::string batch_bytes(const protocol::message_batch& b, kafka::compression_type z) {
  auto rb = kafka::from_messages(b, 0);
  rb.attributes = static_cast<std::int16_t>(z);
  protocol::buffer out;
  EXPECT_FALSE(kafka::encode_record_batch(rb, out));
  return std::string(protocol::as_chars(out));
}

inline std::string record_batch_bytes(const std::string& prefix, int n, kafka::compression_type z) {
  protocol::message_batch b;
  for (int i = 0; i < n; ++i) {
    protocol::message m;
    m.key = "k" + std::to_string(i);
    m.value = prefix + std::to_string(i);
    m.headers = {{"hk", std::string("hv")}};
    m.timestamp_ms = 1'700'000'000'000 + i;
    b.messages.push_back(m);
  }
  return batch_bytes(b, z);
}

inline msg::ProduceRequest produce_request(const std::string& topic, std::int32_t partition, std::string records) {
  msg::ProduceRequest req;
  req.acks = -1;
  req.timeoutMs = 30000;
  req.topicData.push_back({topic, {{partition, protocol::gather_bytes(records)}}});
  return req;
}


/// Sends `body` and decodes the response at the same version.
/// The next answer on `c`, which must be the one to the request sent with `correlation`
/// (sent earlier, pipelined, while other connections were answered).
template <class Res>
Res answer_to(raw_kafka& c, std::int32_t correlation, std::int16_t version, bool flexible) {
  std::int32_t got = 0;
  auto bytes = c.receive(got, flexible);
  EXPECT_TRUE(bytes);
  EXPECT_EQ(got, correlation);
  if (!bytes) return Res{};
  return decode_as<Res>(*bytes, version);
}

template <class Res, class Req>
Res call(raw_kafka& c, std::int16_t key, std::int16_t version, const Req& body, bool flexible) {
  static std::int32_t next_correlation = 1000;
  const auto corr = next_correlation++;
  c.send(key, version, corr, body, flexible);
  return answer_to<Res>(c, corr, version, flexible);
}

/// AlterUserScramCredentials as a Kafka admin client sends it: the salted password, not the
/// password (the connection must be authenticated as a user allowed to alter them).
inline msg::AlterUserScramCredentialsResponse set_scram_password(raw_kafka& c, const std::string& user,
                                                                 protocol::security::scram_mechanism m,
                                                                 const std::string& password,
                                                                 std::int32_t iterations = 4096) {
  msg::AlterUserScramCredentialsRequest req;
  msg::AlterUserScramCredentialsRequest::ScramCredentialUpsertion u;
  u.name = user;
  u.mechanism = static_cast<std::int8_t>(m);
  u.iterations = iterations;
  u.salt = "salt-of-" + user;
  u.saltedPassword = protocol::security::pbkdf2(protocol::security::hash_of(m), password, u.salt, iterations);
  req.upsertions.push_back(u);
  return call<msg::AlterUserScramCredentialsResponse>(c, 51, 0, req, true);
}

}  // namespace portask::test
