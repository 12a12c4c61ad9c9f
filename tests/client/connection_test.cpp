// client::connection against stand-in brokers (stub_broker) and the in-process broker: what a
// failure to connect is reported as (a certificate the broker refuses, an alert in the
// handshake, too), frames nobody asked for, read by another call or over our frame limit, a
// publisher without acks that never waits, a broker that writes to us while we write to it
// (and how much is read then), what had arrived when the connection failed (a refusal that
// comes with the reset, over TLS too; after a write timed out, only what was read), calls
// that time out or wait without bound, and records below the log start.
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "process.hpp"
#include "tests/actors/broker_fixture.hpp"
#include "tests/client/stub_broker.hpp"
#include "tls_files.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;
namespace native = protocol::native;

namespace {

client::options to(std::uint16_t port, std::chrono::milliseconds timeout = 10s) {
  client::options o;
  o.port = port;
  o.timeout = timeout;
  return o;
}

client::connection connected(std::uint16_t port, std::chrono::milliseconds timeout = 10s) {
  return must(client::connection::open(to(port, timeout)), "open");
}

// Small fixed socket buffers on the client's side (as stub_peer::limit_buffers on the stub's).
void limit_buffers(int fd, int bytes) {
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

// Waits until the client's socket has something to read (the event a test can wait on).
bool readable(const client::connection& c) {
  pollfd p{c.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 10000) == 1;
}

// Room in the client's socket for all the stub sends before it closes (the system caps it at
// net.core.rmem_max, 208 KiB by default, and doubles that): none of it waits on the stub's
// side unread by us, where a reset would drop it.
void room_to_receive(int fd, int bytes) { ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes); }

// A value whose Deliver frame is larger than one read of the client's (64 KiB), yet well
// within the room room_to_receive gets under the default rmem_max.
constexpr std::size_t larger_than_one_read = 80 * 1024;

// Waits until the broker's end of the stream has arrived: all it sent before is in our socket.
bool closed_by_peer(const client::connection& c) {
  pollfd p{c.native_handle(), POLLRDHUP, 0};
  return ::poll(&p, 1, 10000) == 1 && (p.revents & POLLRDHUP) != 0;
}

// Waits until the connection was reset (the stub's side, closed, refused what we wrote after):
// our writes fail from then on.
bool reset(const client::connection& c) {
  pollfd p{c.native_handle(), 0, 0};  // POLLERR and POLLHUP are reported unasked
  return ::poll(&p, 1, 10000) == 1;
}

// Whether thread `thread` of this process sleeps in poll() (or ppoll(), which glibc's poll may
// call): /proc names the system call a sleeping thread is in ("running" while it runs).
bool asleep_in_poll(pid_t thread) {
  std::ifstream syscall_file("/proc/self/task/" + std::to_string(thread) + "/syscall");
  long number = -1;
  if (!(syscall_file >> number)) return false;
#ifdef SYS_poll
  if (number == SYS_poll) return true;
#endif
#ifdef SYS_ppoll
  if (number == SYS_ppoll) return true;
#endif
  return false;
}

// Whether thread `client`, writing on socket `fd`, waits in poll() for room that will not come
// unless the broker acts: its socket holds bytes the broker's closed window keeps unsent, none
// are in flight (whose acknowledgement would make room), and the thread sleeps in poll (not
// merely asleep: on a lock in SSL_write or the allocator, say). The socket and the thread are
// read at different instants, so the thread may be about to leave poll: they are looked at
// twice, 30 ms apart, the socket's queue unchanged between.
bool waiting_for_room(pid_t client, int fd) {
  auto look = [client, fd]() -> std::optional<std::pair<int, int>> {
    int queued = 0;
    int unsent = 0;
    if (fd < 0 || ::ioctl(fd, SIOCOUTQ, &queued) != 0 || ::ioctl(fd, SIOCOUTQNSD, &unsent) != 0) return std::nullopt;
    if (unsent == 0 || queued != unsent || !asleep_in_poll(client)) return std::nullopt;
    return std::pair{queued, unsent};
  };
  const auto first = look();
  if (!first) return false;
  std::this_thread::sleep_for(30ms);
  const auto second = look();
  return second && *second == *first;
}

protocol::buffer heartbeat_answer(const protocol::buffer& request) {
  return response_to(request, [](protocol::buffer& out) { native::encode_heartbeat_response(out, 1); });
}

std::vector<std::int64_t> offsets_of(const std::vector<protocol::message>& messages) {
  std::vector<std::int64_t> out;
  for (const auto& m : messages) out.push_back(m.offset);
  return out;
}

}  // namespace

// -- connecting --------------------------------------------------------------------------------

// A port nobody listens on: the system's reason travels with the failure, and another try may
// find the broker up.
TEST(ClientConnect, ARefusedConnectionIsARetriableNetworkFailure) {
  // Bound and not listening: connecting is refused, and nobody else gets the port meanwhile.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto c = client::connection::open(to(ntohs(addr.sin_port)));
  ::close(fd);
  ASSERT_FALSE(client::ok(c));
  const auto& f = client::error_of(c);
  EXPECT_EQ(f.network, std::errc::connection_refused) << f.message;
  EXPECT_TRUE(f.retriable);
  EXPECT_NE(f.code, errc::invalid_request);
  EXPECT_NE(f.message.find("cannot connect"), std::string::npos) << f.message;
}

// A name the resolver does not know stays unknown; one it could not look up now (EAI_AGAIN,
// as where no DNS server answers) may resolve later.
TEST(ClientConnect, AHostNameThatDoesNotResolveIsRetriableOnlyWhenTheFailureIsTemporary) {
  auto o = to(7070);
  o.host = "no-such-host.invalid";
  auto c = client::connection::open(o);
  ASSERT_FALSE(client::ok(c));
  const auto& f = client::error_of(c);
  // The resolver's own codes, or the system's reason when it failed with EAI_SYSTEM (no
  // resolver configuration, ...), which is temporary.
  const bool from_resolver = &f.network.category() == &client::resolver_category();
  ASSERT_TRUE(from_resolver || f.network.category() == std::generic_category()) << f.message;
  const bool temporary = !from_resolver || f.network.value() == EAI_AGAIN;
  EXPECT_EQ(f.retriable, temporary) << f.message;
  EXPECT_EQ(f.code, temporary ? errc::storage_unavailable : errc::invalid_request) << f.message;
  EXPECT_NE(f.message.find("cannot resolve"), std::string::npos) << f.message;
}

// A listener that takes the connection and never answers the ClientHello: the time ran out,
// which is no refusal of our credentials.
TEST(ClientConnect, ATlsHandshakeThatTimesOutIsRetriable) {
  loopback_listener silent{4};  // the system accepts; nobody reads
  auto o = to(silent.port, 300ms);
  o.tls = true;
  auto c = client::connection::open(o);
  ASSERT_FALSE(client::ok(c));
  const auto& f = client::error_of(c);
  EXPECT_EQ(f.code, errc::timeout) << f.message;
  EXPECT_TRUE(f.retriable);
  EXPECT_EQ(f.network, std::errc::timed_out) << f.message;
}

// A listener that closes during the handshake (a broker restarting): worth another try.
TEST(ClientConnect, ATlsHandshakeCutOffIsRetriable) {
  stub_broker closing([](stub_peer& p) { p.close(); });
  auto o = to(closing.port());
  o.tls = true;
  auto c = client::connection::open(o);
  ASSERT_FALSE(client::ok(c));
  const auto& f = client::error_of(c);
  EXPECT_TRUE(f.retriable) << f.message;
  EXPECT_TRUE(f.network) << f.message;
  EXPECT_NE(f.code, errc::authentication_failed) << f.message;
}

// A broker whose TLS fails in the handshake with an alert that refuses nothing (its own
// internal_error, a record it could not read): the connection broke, worth another try, the
// alert named (it was authentication_failed, which cluster_client does not retry). An alert
// that takes none of the terms offered stays a refusal: every connection offers the same.
TEST(ClientConnect, AnAlertInTheHandshakeIsARetriableResetUnlessItRefusesTheClient) {
  struct alert {
    std::uint8_t code;
    std::string name;
    bool refuses;
  };
  for (const auto& a : {alert{80, "tlsv1 alert internal error", false}, alert{20, "sslv3 alert bad record mac", false},
                        alert{50, "tlsv1 alert decode error", false}, alert{22, "tlsv1 alert record overflow", false},
                        alert{40, "sslv3 alert handshake failure", true}, alert{70, "tlsv1 alert protocol version", true},
                        alert{71, "tlsv1 alert insufficient security", true}}) {
    SCOPED_TRACE(a.name);
    stub_broker alerting([code = a.code](stub_peer& p) {
      // A fatal alert record (TLS 1.2's record version), the answer to the ClientHello.
      const std::uint8_t record[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, code};
      p.send(protocol::byte_view(record, sizeof record));
      (void)p.next_frame();  // reads the ClientHello, which is no frame
    });
    auto o = to(alerting.port());
    o.tls = true;
    auto c = client::connection::open(o);
    ASSERT_FALSE(client::ok(c));
    const auto& f = client::error_of(c);
    EXPECT_NE(f.message.find(a.name), std::string::npos) << f.message;
    if (a.refuses) {
      EXPECT_EQ(f.code, errc::authentication_failed) << f.message;
      EXPECT_FALSE(f.retriable) << f.message;
      EXPECT_NE(f.message.find("TLS: the broker refused the connection"), std::string::npos) << f.message;
    } else {
      EXPECT_EQ(f.code, errc::storage_unavailable) << f.message;
      EXPECT_TRUE(f.retriable) << f.message;
      EXPECT_EQ(f.network, std::errc::connection_reset) << f.message;
    }
  }
}

// A certificate that does not name the host stays a refusal: trying again changes nothing.
TEST(ClientConnect, ACertificateThatDoesNotVerifyIsNotRetriable) {
  temp_dir dir;
  const auto files = make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty()) << "openssl could not make the test certificates";
  stub_broker tls_stub([](stub_peer& p) { (void)p.next_frame(); }, {files.server_cert, files.server_key});
  auto o = to(tls_stub.port());
  o.tls = true;
  o.tls_ca_file = files.ca;
  o.tls_server_name = "elsewhere.example";
  auto c = client::connection::open(o);
  ASSERT_FALSE(client::ok(c));
  const auto& f = client::error_of(c);
  EXPECT_EQ(f.code, errc::authentication_failed) << f.message;
  EXPECT_FALSE(f.retriable);
  EXPECT_FALSE(f.network);
  EXPECT_NE(f.message.find("certificate"), std::string::npos) << f.message;
  // The name it does carry passes.
  o.tls_server_name = "localhost";
  EXPECT_TRUE(client::ok(client::connection::open(o)));
}

// A broker that requires a client certificate refuses a client with none, or with one of a CA
// it does not trust, with a TLS alert. With TLS 1.3 the client's handshake is over by then:
// the alert comes with the first read. It is a refusal naming the alert, not a connection
// reset (which callers would retry, in vain, until their timeout).
TEST(ClientConnect, ACertificateTheBrokerRefusesIsAnAuthenticationFailureNamingTheAlert) {
  temp_dir dir;
  const auto files = make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty()) << "openssl could not make the test certificates";
  stub_broker strict(
      [](stub_peer& p) {
        while (auto f = p.next_frame())
          if (!p.send(heartbeat_answer(*f))) return;
      },
      {files.server_cert, files.server_key, files.ca});
  auto o = to(strict.port());
  o.tls = true;
  o.tls_ca_file = files.ca;
  // The failure of opening, or else of the first call.
  auto first_failure = [&o]() -> std::optional<client::failure> {
    auto c = client::connection::open(o);
    if (!client::ok(c)) return client::error_of(c);
    auto h = std::get<0>(c).heartbeat();
    if (!client::ok(h)) return client::error_of(h);
    return std::nullopt;
  };
  struct refused {
    std::string cert, key, alert;
  };
  for (const auto& r :
       {refused{"", "", "certificate required"}, refused{files.mallory_cert, files.mallory_key, "unknown ca"}}) {
    o.tls_cert_file = r.cert;
    o.tls_key_file = r.key;
    const auto f = first_failure();
    ASSERT_TRUE(f.has_value()) << r.alert;
    EXPECT_EQ(f->code, errc::authentication_failed) << f->message;
    EXPECT_FALSE(f->retriable) << f->message;
    EXPECT_NE(f->message.find(r.alert), std::string::npos) << f->message;
  }
  // A certificate of the CA it trusts passes.
  o.tls_cert_file = files.alice_cert;
  o.tls_key_file = files.alice_key;
  const auto f = first_failure();
  EXPECT_FALSE(f.has_value()) << f->message;
}

// -- frames nobody waits for --------------------------------------------------------------------

// An Error answering a request this connection never made: what it carries from then on
// cannot be paired with requests.
TEST(ClientFrames, AnErrorForARequestNobodyMadePutsTheConnectionOutOfStep) {
  stub_broker stub([](stub_peer& p) {
    p.send(error_frame(777, errc::unknown_topic));
    (void)p.next_frame();
  });
  auto c = connected(stub.port());
  auto d = c.next_delivery(10s);
  ASSERT_FALSE(client::ok(d));
  EXPECT_FALSE(c.usable());
}

// A GroupAssignment that does not decode is reported to the member, which would otherwise
// wait for an assignment that came.
TEST(ClientFrames, AMalformedGroupAssignmentIsReported) {
  stub_broker stub([](stub_peer& p) {
    protocol::buffer garbage;
    const std::uint8_t junk[] = {1, 2, 3};
    protocol::append_frame(garbage, protocol::message_type::group_assignment, 0, protocol::byte_view{junk, 3});
    p.send(garbage);
    (void)p.next_frame();
  });
  auto c = connected(stub.port());
  auto a = c.next_assignment(10s);
  ASSERT_FALSE(client::ok(a));
  EXPECT_EQ(client::error_of(a).code, errc::malformed_payload);
}

// A Deliver frame larger than one read sits whole in the socket: a look without waiting
// finds it.
TEST(ClientFrames, ALookWithoutWaitingFindsAFrameLargerThanOneRead) {
  stub_broker stub([](stub_peer& p) {
    if (p.next_frame()) p.send(deliver_frame(1, 0, batch_of("d", 1, larger_than_one_read)));
  });  // then closed
  auto c = connected(stub.port());
  room_to_receive(c.native_handle(), 1 << 20);
  protocol::buffer ping;
  native::encode_heartbeat(ping, 1);
  ASSERT_TRUE(c.send_raw(ping));  // the stub's cue
  ASSERT_TRUE(closed_by_peer(c));
  const auto d = must(c.next_delivery(0ms), "next_delivery");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->data.messages.size(), 1u);
}

// The answer to a pipelined publish, and a membership's end, that another call read are here
// to be taken: a caller that checks has_pending() before it polls native_handle() must not
// sleep with them.
TEST(ClientFrames, AnswersAndAMembershipsEndReadByAnotherCallArePending) {
  stub_broker stub([](stub_peer& p) {
    while (auto f = p.next_frame()) {
      switch (type_of(*f)) {
        case protocol::message_type::group_join:
          p.send(response_to(*f, [](protocol::buffer& out) { native::encode_group_join_response(out, 1); }));
          break;
        case protocol::message_type::publish: p.send(publish_answer(*f, 5)); break;
        case protocol::message_type::heartbeat:
          p.send(error_frame(0, errc::unknown_member, "the member was removed"));
          p.send(heartbeat_answer(*f));
          break;
        default: break;
      }
    }
  });
  auto c = connected(stub.port());
  must(c.join_group("g", {"t"}), "join_group");
  const auto publish = must(c.send_publish("t", 0, batch_of("a")), "send_publish");
  must(c.heartbeat(), "heartbeat");  // reads the publish's answer and the membership's end first
  EXPECT_TRUE(c.has_pending());
  EXPECT_EQ(must(c.receive_publish(publish), "receive_publish").base_offset, 5);
  EXPECT_TRUE(c.has_pending());
  const auto ended = c.next_assignment(0ms);
  ASSERT_FALSE(client::ok(ended));
  EXPECT_EQ(client::error_of(ended).code, errc::unknown_member);
  EXPECT_FALSE(c.has_pending());
}

// A subscription's end that arrived behind deliveries (both read by another call) comes after
// them, and they are still filtered by where the subscription stood.
TEST(ClientFrames, ASubscriptionsEndComesAfterTheDeliveriesBeforeIt) {
  stub_broker stub([](stub_peer& p) {
    std::uint32_t subscribe_request = 0;
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::subscribe) {
        subscribe_request = request_id_of(*f);
        p.send(response_to(*f, [](protocol::buffer& out) { native::encode_subscribe_response(out, 7); }));
      } else if (type_of(*f) == protocol::message_type::heartbeat) {
        p.send(deliver_frame(7, 0, batch_of("d", 3)));
        p.send(error_frame(subscribe_request, errc::unknown_topic, "topic deleted"));
        p.send(heartbeat_answer(*f));
      }
    }
  });
  auto c = connected(stub.port());
  const auto sub = must(c.subscribe("t", 0, 1, 1 << 20), "subscribe");
  must(c.heartbeat(), "heartbeat");  // reads the delivery and the end first
  EXPECT_FALSE(c.subscribed(sub));
  const auto d = must(c.next_delivery(0ms), "next_delivery");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->subscription_id, sub);
  EXPECT_EQ(offsets_of(d->data.messages), (std::vector<std::int64_t>{1, 2}));
  const auto ended = c.next_delivery(0ms);
  ASSERT_FALSE(client::ok(ended));
  EXPECT_EQ(client::error_of(ended).code, errc::unknown_topic);
  EXPECT_EQ(client::error_of(ended).subscription_id, sub);
  EXPECT_TRUE(c.usable());
}

// -- publishing without acks ------------------------------------------------------------------

// The broker answers a publish without acks only to refuse it: that refusal is found by
// next_publish_error itself, with no other call reading the connection.
TEST(ClientPublishWithoutAcks, ARefusalIsFoundWithoutAnotherCall) {
  stub_broker stub([](stub_peer& p) {
    while (auto f = p.next_frame())
      if (type_of(*f) == protocol::message_type::publish) p.send(error_frame(request_id_of(*f), errc::unknown_topic));
  });
  auto c = connected(stub.port());
  must(c.send_publish("nowhere", 0, batch_of("v"), false), "send_publish");
  auto refused = c.next_publish_error();
  if (!refused) {
    ASSERT_TRUE(readable(c));
    refused = c.next_publish_error();
  }
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code, errc::unknown_topic);
  EXPECT_TRUE(c.usable());
}

// A publisher that never asks for errors while every publish is refused: the refusals are
// read as it sends, so the broker never stops reading for want of room to answer, and the
// publisher never stops for want of room to send.
TEST(ClientPublishWithoutAcks, APublisherKeepsGoingWhileEveryPublishIsRefused) {
  stub_broker stub([](stub_peer& p) {
    p.limit_buffers(64 * 1024);
    const std::string why(1024, 'r');
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::publish) {
        if (!p.send(error_frame(request_id_of(*f), errc::unknown_topic, why))) return;
      } else if (type_of(*f) == protocol::message_type::heartbeat) {
        p.send(response_to(*f, [](protocol::buffer& out) { native::encode_heartbeat_response(out, 1); }));
      }
    }
  });
  auto c = connected(stub.port(), 30s);
  constexpr int publishes = 3000;
  const auto batch = batch_of("v", 1, 4096);
  for (int i = 0; i < publishes; ++i) ASSERT_TRUE(client::ok(c.send_publish("nowhere", 0, batch, false))) << i;
  must(c.heartbeat(), "heartbeat");  // answered after every refusal
  int refused = 0;
  while (auto f = c.next_publish_error()) {
    EXPECT_EQ(f->code, errc::unknown_topic);
    ++refused;
  }
  EXPECT_EQ(refused, publishes);
}

// -- writing while the broker writes ------------------------------------------------------------

// The broker pushes deliveries and reads nothing until they are out; we send a publish
// larger than the sockets hold. Reading while waiting to write lets both finish.
TEST(ClientBackpressure, APublishGoesThroughWhileTheBrokerWaitsForUsToReadItsPushes) {
  constexpr int pushes = 128;
  stub_broker stub([](stub_peer& p) {
    p.limit_buffers(64 * 1024);
    auto subscribe = p.next_frame();
    if (!subscribe) return;
    p.send(response_to(*subscribe, [](protocol::buffer& out) { native::encode_subscribe_response(out, 1); }));
    for (int i = 0; i < pushes; ++i)
      if (!p.send(deliver_frame(1, i, batch_of("d" + std::to_string(i), 1, 64 * 1024)))) return;
    while (auto f = p.next_frame())
      if (type_of(*f) == protocol::message_type::publish) p.send(publish_answer(*f, 0));
  });
  auto c = connected(stub.port(), 30s);
  // Small buffers on our side too (no autotuning): the publish cannot fit in the sockets,
  // so the write really waits while the broker waits for us.
  limit_buffers(c.native_handle(), 64 * 1024);
  const auto sub = must(c.subscribe("t", 0, 0, 1u << 30), "subscribe");
  must(c.publish("t", 0, batch_of("big", 1, 8u << 20)), "publish");
  for (int i = 0; i < pushes; ++i) {
    auto d = must(c.next_delivery(10s), "next_delivery");
    ASSERT_TRUE(d.has_value()) << i;
    EXPECT_EQ(d->subscription_id, sub);
    ASSERT_EQ(d->data.messages.size(), 1u) << i;
    EXPECT_EQ(d->data.messages[0].offset, i);
  }
}

namespace {

// A broker that pushes deliveries without end and reads nothing, and its client: small
// sockets, a request timeout of 1 s, and a frame limit that bounds what it reads while a write
// of its waits (read_ahead).
namespace endless_pushes {

constexpr std::uint32_t max_frame = 256 * 1024;
constexpr std::size_t read_ahead = 4 * max_frame;
constexpr std::size_t push_bytes = 32 * 1024;
constexpr std::size_t offered = 32u << 20;  // what the stub would push if we read it all

// Counts in `pushed` what it sent.
stub_broker broker(std::atomic<std::size_t>& pushed) {
  return stub_broker([&pushed](stub_peer& p) {
    p.limit_buffers(64 * 1024);
    const auto push = deliver_frame(1, 0, batch_of("d", 1, push_bytes));
    while (pushed.load() < offered && p.send(push)) pushed += push.size();
  });
}

client::connection client_of(std::uint16_t port) {
  auto o = to(port, 1s);
  o.max_frame_bytes = max_frame;
  auto c = must(client::connection::open(o), "open");
  limit_buffers(c.native_handle(), 64 * 1024);
  return c;
}

}  // namespace endless_pushes

}  // namespace

// The broker pushes without end and reads nothing while we send: what we read meanwhile is
// bounded (4 × max_frame_bytes), the broker's backpressure then applies, and the send ends
// when the request timeout passes without progress, as a timeout.
TEST(ClientBackpressure, WhatIsReadWhileASendWaitsIsBounded) {
  std::atomic<std::size_t> pushed{0};
  {
    const auto stub = endless_pushes::broker(pushed);
    auto c = endless_pushes::client_of(stub.port());
    const protocol::buffer request(8u << 20, 0);  // far more than the sockets hold; never read
    EXPECT_FALSE(c.send_raw(request));
    EXPECT_FALSE(c.usable());
    const auto later = c.heartbeat();
    ASSERT_FALSE(client::ok(later));
    EXPECT_EQ(client::error_of(later).code, errc::timeout) << client::error_of(later).message;
    EXPECT_EQ(client::error_of(later).network, std::errc::timed_out) << client::error_of(later).message;
  }  // our end closes first: the stub's blocked write fails
  // We read while waiting (up to the bound), not everything offered.
  EXPECT_GE(pushed.load(), endless_pushes::read_ahead - 2 * endless_pushes::push_bytes);
  EXPECT_LT(pushed.load(), endless_pushes::read_ahead + (2u << 20));
}

// -- after a failure ----------------------------------------------------------------------------

// The broker pushes a delivery larger than one read, answers two pipelined publishes and
// closes; our next write fails with all of it unread in the socket. The answers are still
// found behind the delivery (a publish sent again though it was answered would be stored
// twice), the delivery is kept, and a publish never answered says the connection was lost.
TEST(ClientAfterAFailure, AnswersBehindAFrameLargerThanOneReadAreStillFound) {
  stub_broker stub([](stub_peer& p) {
    auto a = p.next_frame();
    auto b = p.next_frame();
    if (!a || !b) return;
    p.send(deliver_frame(1, 0, batch_of("d", 1, larger_than_one_read)));
    p.send(publish_answer(*a, 10));
    p.send(publish_answer(*b, 11));
  });  // then closed: what we write next is answered with a reset
  auto c = connected(stub.port());
  room_to_receive(c.native_handle(), 1 << 20);
  const auto a = must(c.send_publish("t", 0, batch_of("a")), "send_publish a");
  const auto b = must(c.send_publish("t", 0, batch_of("b")), "send_publish b");
  ASSERT_TRUE(c.flush());
  ASSERT_TRUE(closed_by_peer(c));
  const auto unanswered = must(c.send_publish("t", 0, batch_of("c")), "send_publish c");
  ASSERT_TRUE(c.flush());  // taken by the socket; refused by the stub's closed side
  ASSERT_TRUE(reset(c));
  must(c.send_publish("t", 0, batch_of("d")), "send_publish d");
  EXPECT_FALSE(c.flush());
  EXPECT_FALSE(c.usable());
  EXPECT_EQ(must(c.receive_publish(a), "receive a").base_offset, 10);
  EXPECT_EQ(must(c.receive_publish(b), "receive b").base_offset, 11);
  const auto lost = c.receive_publish(unanswered);
  ASSERT_FALSE(client::ok(lost));
  EXPECT_TRUE(client::error_of(lost).retriable) << client::error_of(lost).message;
  const auto d = must(c.next_delivery(0ms), "next_delivery");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->data.messages.size(), 1u);
}

// The broker refuses a frame over its max_frame_bytes with an Error of request 0 and closes,
// reading no more, so our write fails. The publish hears the broker's reason (not retriable),
// not that the connection was lost (which its callers would retry until their timeout).
TEST(ClientAfterAFailure, APublishOverTheBrokersFrameLimitIsRefusedNotLost) {
  stub_broker stub([](stub_peer& p) {
    p.limit_frames(1u << 20);
    while (p.next_frame()) {
    }
    if (p.framing_error() == errc::frame_too_large) p.send(error_frame(0, errc::frame_too_large, "frame too large"));
  });
  auto c = connected(stub.port());
  limit_buffers(c.native_handle(), 64 * 1024);  // the publish cannot fit in the sockets
  const auto r = c.publish("t", 0, batch_of("big", 1, 8u << 20));
  ASSERT_FALSE(client::ok(r));
  EXPECT_EQ(client::error_of(r).code, errc::frame_too_large) << client::error_of(r).message;
  EXPECT_FALSE(client::error_of(r).retriable);
  EXPECT_FALSE(c.usable());
}

// The same when the Error and the reset that follows it (the broker closes with our publish
// unread) reach us together, while our write waits for room: the poll that wakes sees both.
// The Error is read before the write is tried again, which fails: over TLS for good, nothing
// read after it, so the publish would hear of a lost connection (and be retried in vain).
TEST(ClientAfterAFailure, TheBrokersRefusalThatComesWithTheResetIsFoundOverTlsToo) {
  temp_dir dir;
  const auto files = make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty()) << "openssl could not make the test certificates";
  const pid_t client_thread = ::gettid();
  for (const bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "over TLS" : "plain");
    std::atomic<int> client_fd{-1};
    stub_broker stub(
        [&](stub_peer& p) {
          p.limit_buffers(64 * 1024);
          p.limit_frames(1u << 20);
          while (p.next_frame()) {
          }
          if (p.framing_error() != errc::frame_too_large) return;
          // Not while we write: a write that meets the reset fails, before any poll.
          const auto deadline = std::chrono::steady_clock::now() + 10s;
          while (!waiting_for_room(client_thread, client_fd.load())) {
            if (std::chrono::steady_clock::now() > deadline) return;
            std::this_thread::yield();
          }
          p.send(error_frame(0, errc::frame_too_large, "frame too large"));
          p.reset();
        },
        tls ? stub_tls{files.server_cert, files.server_key} : stub_tls{});
    auto o = to(stub.port());
    o.tls = tls;
    if (tls) o.tls_ca_file = files.ca;
    auto c = must(client::connection::open(o), "open");
    limit_buffers(c.native_handle(), 64 * 1024);  // the publish cannot fit in the sockets
    // The Error alone is too little to wake our wait: the reset wakes it, the Error there.
    const int wake_for = 64 * 1024;
    ::setsockopt(c.native_handle(), SOL_SOCKET, SO_RCVLOWAT, &wake_for, sizeof wake_for);
    client_fd = c.native_handle();
    const auto r = c.publish("t", 0, batch_of("big", 1, 8u << 20));
    ASSERT_FALSE(client::ok(r));
    EXPECT_EQ(client::error_of(r).code, errc::frame_too_large) << client::error_of(r).message;
    EXPECT_FALSE(client::error_of(r).retriable);
    EXPECT_FALSE(c.usable());
  }
}

// A write that timed out (the broker read nothing, pushing all the while) ends the connection
// by our clock, the broker still up. The answer to a publish held back before it is then
// looked for only in what was read while the write waited: reading on, until a read finds
// nothing, would take the broker's pushes as fast as it sends them, without end.
TEST(ClientAfterAFailure, AfterAWriteTimedOutOnlyWhatWasReadIsLookedAt) {
  std::atomic<std::size_t> pushed{0};
  {
    const auto stub = endless_pushes::broker(pushed);
    auto c = endless_pushes::client_of(stub.port());
    const auto held = must(c.send_publish("t", 0, batch_of("a")), "send_publish");  // held back
    // Far more than the sockets hold, never read, each publish within the frame limit: a write,
    // the held publish's with it, times out.
    auto big = c.send_publish("t", 0, batch_of("big", 1, 200 * 1024));
    for (int i = 0; i < 64 && client::ok(big); ++i) big = c.send_publish("t", 0, batch_of("big", 1, 200 * 1024));
    ASSERT_FALSE(client::ok(big));
    EXPECT_EQ(client::error_of(big).code, errc::timeout) << client::error_of(big).message;
    const auto r = c.receive_publish(held);
    ASSERT_FALSE(client::ok(r));
    EXPECT_EQ(client::error_of(r).code, errc::timeout) << client::error_of(r).message;
  }  // our end closes first: the stub's blocked write fails
  // What was read while the write waited (up to the bound), not everything offered.
  EXPECT_LT(pushed.load(), endless_pushes::read_ahead + (2u << 20));
}

// A frame from the broker over options::max_frame_bytes (a record stored under a broker's
// larger limit) ends the connection: the failure says how large it was and the limit, and is
// no retriable loss (every connection would meet it again).
TEST(ClientFrames, AFrameOverTheClientsLimitIsRefusedNamingItsSizeAndTheLimit) {
  const auto big = deliver_frame(1, 0, batch_of("big", 1, 100 * 1024));
  stub_broker stub([&big](stub_peer& p) {
    while (auto f = p.next_frame()) {
      p.send(big);  // pushed ahead of the answer
      p.send(heartbeat_answer(*f));
    }
  });
  auto o = to(stub.port());
  o.max_frame_bytes = 64 * 1024;
  auto c = must(client::connection::open(o), "open");
  const auto r = c.heartbeat();
  ASSERT_FALSE(client::ok(r));
  const auto& f = client::error_of(r);
  EXPECT_EQ(f.code, errc::frame_too_large) << f.message;
  EXPECT_FALSE(f.retriable);
  EXPECT_EQ(f.network, std::errc::message_size) << f.message;
  EXPECT_NE(f.message.find("frame of " + std::to_string(big.size() - protocol::frame_header_size) +
                           " bytes from the broker exceeds the client's limit of 65536"),
            std::string::npos)
      << f.message;
  EXPECT_FALSE(c.usable());
}

// -- timeouts -----------------------------------------------------------------------------------

// A call whose answer does not come in time leaves the connection unusable; later calls on it
// say it timed out, not that the broker closed it.
TEST(ClientTimeouts, ACallThatTimedOutLeavesTheConnectionReportingATimeout) {
  stub_broker silent([](stub_peer& p) {
    while (p.next_frame()) {
    }
  });
  auto c = connected(silent.port(), 300ms);
  const auto first = c.heartbeat();
  ASSERT_FALSE(client::ok(first));
  EXPECT_EQ(client::error_of(first).code, errc::timeout) << client::error_of(first).message;
  EXPECT_FALSE(c.usable());
  const auto later = c.heartbeat();
  ASSERT_FALSE(client::ok(later));
  EXPECT_EQ(client::error_of(later).code, errc::timeout) << client::error_of(later).message;
  EXPECT_EQ(client::error_of(later).network, std::errc::timed_out) << client::error_of(later).message;
  EXPECT_TRUE(client::error_of(later).retriable);
}

// A timeout or wait without bound (milliseconds::max()) waits for what comes: it does not
// overflow the clock into a deadline long passed.
TEST(ClientTimeouts, WaitsWithoutBoundWaitForWhatComes) {
  stub_broker stub([](stub_peer& p) {
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::heartbeat) p.send(heartbeat_answer(*f));
      if (type_of(*f) == protocol::message_type::publish) p.send(deliver_frame(1, 0, batch_of("d")));
    }
  });
  auto c = connected(stub.port(), std::chrono::milliseconds::max());
  must(c.heartbeat(), "heartbeat");
  must(c.send_publish("t", 0, batch_of("go")), "send_publish");  // held: it leaves as the wait begins
  const auto d = must(c.next_delivery(std::chrono::milliseconds::max()), "next_delivery");
  EXPECT_TRUE(d.has_value());
}

// -- the log start ------------------------------------------------------------------------------

// DeleteRecords may move the log start into a stored batch, which is still read whole: from
// the earliest (-2), a fetch and a subscription begin at the log start, not at the batch.
TEST(ClientLogStart, FetchAndSubscribeFromTheEarliestSkipRecordsBelowTheLogStart) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("trimmed", 1));
  must(c.publish("trimmed", 0, make_batch(5)));
  const auto bounds = must(c.delete_records("trimmed", 0, 3));
  ASSERT_EQ(bounds.log_start, 3);
  const auto fetched = must(c.fetch("trimmed", 0, native::earliest_offset), "fetch");
  EXPECT_EQ(offsets_of(fetched.messages), (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(fetched.next_offset, 5);
  must(c.subscribe("trimmed", 0, native::earliest_offset, 1 << 20), "subscribe");
  const auto d = must(c.next_delivery(20s), "next_delivery");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(offsets_of(d->data.messages), (std::vector<std::int64_t>{3, 4}));
}
