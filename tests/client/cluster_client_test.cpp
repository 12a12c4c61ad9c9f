// client::cluster_client against stand-in brokers (stub_broker): whose answer a publish takes
// while others are in flight, answers that arrived before a connection failed, a publish over
// the broker's frame limit or cut off by a frame over ours (a read cut off so has no unknown
// outcome), each node's certificate (and a node refusing ours), credit and deliveries that
// fail (one over our frame limit ends the subscriptions on its connection), waits without
// bound, Metadata from a node that lags, and leader epochs that went back.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "client/cluster_client.hpp"
#include "process.hpp"
#include "tests/client/stub_broker.hpp"
#include "tls_files.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;
namespace native = protocol::native;

namespace {

template <class T>
T must(client::result<T> r, const char* what = "call") {
  if (!client::ok(r)) {
    ADD_FAILURE() << what << " failed: " << client::error_of(r).message;
    throw std::runtime_error(client::error_of(r).message);
  }
  return std::move(std::get<0>(r));
}

client::options to(std::uint16_t port) {
  client::options o;
  o.port = port;
  o.timeout = 10s;
  return o;
}

void answer_metadata(stub_peer& p, const protocol::buffer& request, const native::metadata_response& m = {}) {
  p.send(response_to(request, [&](protocol::buffer& out) { native::encode_body(out, m); }));
}

// A single broker (its Metadata names no cluster) that answers every publish at once.
void answering(stub_peer& p) {
  while (auto f = p.next_frame()) {
    if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f);
    if (type_of(*f) == protocol::message_type::publish) p.send(publish_answer(*f, 0));
  }
}

}  // namespace

// -- publishing ---------------------------------------------------------------------------------

// A publish pipelined to the same node before a synchronous one keeps its answer for
// receive_publish: each call gets the answer to its own batch.
TEST(ClusterClientPublish, APublishTakesItsOwnAnswerWhileAnotherIsInFlight) {
  stub_broker stub(answering);
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  must(c.send_publish("t", 0, batch_of("a")), "send_publish");
  const auto b = must(c.publish("t", 1, batch_of("b")), "publish");
  EXPECT_EQ(b.partition, 1);
  const auto a = must(c.receive_publish(), "receive_publish");
  EXPECT_EQ(a.partition, 0);
  EXPECT_EQ(c.in_flight(), 0u);
}

// The broker answers two pipelined publishes, then drops the connection before answering
// the call that read those answers. The call is sent again; the two acknowledged publishes
// are not (they would be stored twice), their answers come from the failed connection.
TEST(ClusterClientPublish, AnAnswerThatArrivedBeforeItsConnectionFailedIsNotSentAgain) {
  std::mutex mutex;
  std::map<std::int32_t, int> received;  // publishes the broker read, by partition
  stub_broker stub([&](stub_peer& p) {
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f);
      if (type_of(*f) != protocol::message_type::publish) continue;
      const auto partition = native::decode_publish(payload_of(*f))->partition;
      {
        std::lock_guard lock{mutex};
        ++received[partition];
      }
      if (p.index() == 0 && partition == 2) return p.close();  // its answer never comes
      p.send(publish_answer(*f, 0));
    }
  });
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  must(c.send_publish("t", 0, batch_of("a")), "send_publish a");
  must(c.send_publish("t", 1, batch_of("b")), "send_publish b");
  EXPECT_EQ(must(c.publish("t", 2, batch_of("c")), "publish c").partition, 2);
  EXPECT_EQ(must(c.receive_publish(), "receive a").partition, 0);
  EXPECT_EQ(must(c.receive_publish(), "receive b").partition, 1);
  std::lock_guard lock{mutex};
  EXPECT_EQ(received[0], 1);
  EXPECT_EQ(received[1], 1);
  EXPECT_EQ(received[2], 2);  // unanswered on the first connection, sent again
}

namespace {

// A single broker (as `answering`) whose frames may be at most `max_payload` bytes: a longer
// one is refused as the broker refuses it, with an Error of request 0, and the connection is
// closed, nothing more read.
struct frame_limited {
  std::uint32_t max_payload;
  void operator()(stub_peer& p) const {
    p.limit_frames(max_payload);
    answering(p);
    if (p.framing_error() == errc::frame_too_large) p.send(error_frame(0, errc::frame_too_large, "frame too large"));
  }
};

}  // namespace

// A publish over the broker's frame limit ends its connection, the broker saying why: the
// refusal is returned at once, not retried on new connections until the timeout.
TEST(ClusterClientPublish, APublishOverTheBrokersFrameLimitIsNotRetried) {
  stub_broker stub(frame_limited{1u << 20});
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  const auto r = c.publish("t", 0, batch_of("big", 1, 8u << 20));
  ASSERT_FALSE(client::ok(r));
  EXPECT_EQ(client::error_of(r).code, errc::frame_too_large) << client::error_of(r).message;
  EXPECT_FALSE(client::error_of(r).retriable);
  EXPECT_EQ(c.retries(), 0u);
}

// The same for a pipelined publish, refused as its answer is awaited: not sent again.
TEST(ClusterClientPublish, APipelinedPublishOverTheBrokersFrameLimitIsNotSentAgain) {
  stub_broker stub(frame_limited{32 * 1024});
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  must(c.send_publish("t", 0, batch_of("big", 1, 40 * 1024)), "send_publish");
  const auto r = c.receive_publish();
  ASSERT_FALSE(client::ok(r));
  EXPECT_EQ(client::error_of(r).code, errc::frame_too_large) << client::error_of(r).message;
  EXPECT_EQ(c.retries(), 0u);
  EXPECT_EQ(c.connections_opened(), 1u);
}

// A frame over this client's limit (a delivery pushed ahead of the answer) breaks the
// connection while a publish awaits its answer: no refusal of the publish by the broker,
// which may have stored it. Not sent again (that frame would come again), pipelined or not,
// and its failure says so: the connection broke on an oversized frame, the outcome is unknown.
TEST(ClusterClientPublish, APublishCutOffByAFrameOverTheClientsLimitHasAnUnknownOutcome) {
  const auto big = deliver_frame(1, 0, batch_of("big", 1, 100 * 1024));
  stub_broker stub([&big](stub_peer& p) {
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f);
      if (type_of(*f) != protocol::message_type::publish) continue;
      p.send(big);
      p.send(publish_answer(*f, 0));
    }
  });
  auto o = to(stub.port());
  o.max_frame_bytes = 64 * 1024;
  auto c = must(client::cluster_client::open(o), "open");
  const auto cut_off = [](const client::result<native::publish_response>& r) {
    ASSERT_FALSE(client::ok(r));
    const auto& f = client::error_of(r);
    EXPECT_EQ(f.code, errc::frame_too_large) << f.message;
    EXPECT_EQ(f.network, std::errc::message_size) << f.message;
    EXPECT_FALSE(f.retriable) << f.message;
    EXPECT_NE(f.message.find("the connection broke on a frame from the broker over this client's limit"),
              std::string::npos)
        << f.message;
    EXPECT_NE(f.message.find("outcome is unknown"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("exceeds the client's limit of 65536"), std::string::npos) << f.message;
  };
  must(c.send_publish("t", 0, batch_of("a")), "send_publish");
  cut_off(c.receive_publish());
  cut_off(c.publish("t", 0, batch_of("b")));
  EXPECT_EQ(c.retries(), 0u);
}

// The same frame cutting off a read (a fetch, the offsets) leaves nothing unknown, and is often
// the read's own answer: its failure names the frame's size and the limit, no more (it said the
// outcome was unknown, for a fetch). A call that changes something (a commit) says its outcome
// is unknown, as a publish does. None is retried.
TEST(ClusterClientCalls, OnlyACallThatChangesSomethingCutOffByAFrameOverTheClientsLimitHasAnUnknownOutcome) {
  const auto big = deliver_frame(1, 0, batch_of("big", 1, 100 * 1024));
  stub_broker stub([&big](stub_peer& p) {
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::metadata) {
        answer_metadata(p, *f);
        continue;
      }
      p.send(big);
      p.send(response_to(*f));
    }
  });
  auto o = to(stub.port());
  o.max_frame_bytes = 64 * 1024;
  auto c = must(client::cluster_client::open(o), "open");
  const auto over_the_limit = [](const client::failure& f) {
    EXPECT_EQ(f.code, errc::frame_too_large) << f.message;
    EXPECT_EQ(f.network, std::errc::message_size) << f.message;
    EXPECT_FALSE(f.retriable) << f.message;
    EXPECT_NE(f.message.find("exceeds the client's limit of 65536"), std::string::npos) << f.message;
  };
  const auto read_cut_off = [&](const client::failure& f) {
    over_the_limit(f);
    EXPECT_EQ(f.message.find("outcome is unknown"), std::string::npos) << f.message;
    EXPECT_EQ(f.message.find("the connection broke"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("frame of "), std::string::npos) << f.message;
  };
  const auto fetched = c.fetch("t", 0, 0);
  ASSERT_FALSE(client::ok(fetched));
  read_cut_off(client::error_of(fetched));
  const auto offsets = c.list_offsets("t", 0);
  ASSERT_FALSE(client::ok(offsets));
  read_cut_off(client::error_of(offsets));
  const auto committed = c.commit("g", "t", 0, 1);
  ASSERT_FALSE(client::ok(committed));
  over_the_limit(client::error_of(committed));
  EXPECT_NE(client::error_of(committed).message.find("outcome is unknown"), std::string::npos)
      << client::error_of(committed).message;
  EXPECT_EQ(c.retries(), 0u);
}

// -- TLS ------------------------------------------------------------------------------------------

namespace {

// Three nodes with one certificate that names 127.0.0.1 and localhost only: the bootstrap,
// one advertised as 127.0.0.2 (not named) and one as localhost. Partition t/0 is led by the
// second, t/1 by the third. Empty when 127.0.0.2 cannot be listened on here.
struct tls_cluster {
  temp_dir dir;
  tls_files files = make_tls_files(dir.path());
  native::metadata_response m;
  std::unique_ptr<stub_broker> bootstrap, misnamed, named;

  bool start() {
    const stub_tls cert{files.server_cert, files.server_key};
    auto serve = [this](stub_peer& p) {
      while (auto f = p.next_frame())
        if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f, m);
    };
    try {
      misnamed = std::make_unique<stub_broker>(serve, cert, "127.0.0.2");
    } catch (const std::runtime_error&) {
      return false;
    }
    bootstrap = std::make_unique<stub_broker>(serve, cert);
    named = std::make_unique<stub_broker>(serve, cert);
    m.node_id = 0;
    m.topics = {{"t", 2}};
    m.nodes = {{0, "127.0.0.1", bootstrap->port()}, {1, "127.0.0.2", misnamed->port()}, {2, "localhost", named->port()}};
    m.owners = {{"t", 0, 1, 1}, {"t", 1, 2, 1}};
    return true;
  }

  client::options options() const {
    auto o = to(bootstrap->port());
    o.tls = true;
    o.tls_ca_file = files.ca;
    return o;
  }
};

}  // namespace

// Without a tls_server_name each node's certificate is checked against the host that node
// advertises; one that does not name it is refused at once, not retried until the timeout.
TEST(ClusterClientTls, WithoutAServerNameEachNodesCertificateMustNameTheHostItAdvertises) {
  tls_cluster cluster;
  ASSERT_FALSE(cluster.files.ca.empty()) << "openssl could not make the test certificates";
  if (!cluster.start()) GTEST_SKIP() << "cannot listen on 127.0.0.2 here";
  auto c = must(client::cluster_client::open(cluster.options()), "open");
  auto refused = c.list_offsets("t", 0);
  ASSERT_FALSE(client::ok(refused));
  EXPECT_EQ(client::error_of(refused).code, errc::authentication_failed) << client::error_of(refused).message;
  EXPECT_FALSE(client::error_of(refused).retriable);
  EXPECT_NE(client::error_of(refused).message.find("certificate"), std::string::npos)
      << client::error_of(refused).message;
  EXPECT_EQ(c.retries(), 0u);
  auto served = c.leader("t", 1);
  EXPECT_TRUE(client::ok(served)) << client::error_of(served).message;
}

// A tls_server_name set in the options is every node's: nodes that advertise addresses and
// share one certificate name are reached.
TEST(ClusterClientTls, AServerNameSetInTheOptionsAppliesToEveryNode) {
  tls_cluster cluster;
  ASSERT_FALSE(cluster.files.ca.empty()) << "openssl could not make the test certificates";
  if (!cluster.start()) GTEST_SKIP() << "cannot listen on 127.0.0.2 here";
  auto o = cluster.options();
  o.tls_server_name = "localhost";
  auto c = must(client::cluster_client::open(o), "open");
  auto at_address = c.leader("t", 0);
  EXPECT_TRUE(client::ok(at_address)) << client::error_of(at_address).message;
  auto named = c.leader("t", 1);
  EXPECT_TRUE(client::ok(named)) << client::error_of(named).message;
}

// A node that requires a client certificate refuses ours with a TLS alert, which with TLS 1.3
// comes after the handshake, at the first read: returned at once as the refusal it is, not
// taken for a lost connection and retried until the timeout.
TEST(ClusterClientTls, ANodeThatRefusesOurCertificateIsNotRetried) {
  temp_dir dir;
  const auto files = make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty()) << "openssl could not make the test certificates";
  native::metadata_response m;
  auto serve = [&m](stub_peer& p) {
    while (auto f = p.next_frame())
      if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f, m);
  };
  stub_broker bootstrap(serve, {files.server_cert, files.server_key});
  stub_broker strict(serve, {files.server_cert, files.server_key, files.ca});
  m.node_id = 0;
  m.topics = {{"t", 1}};
  m.nodes = {{0, "127.0.0.1", bootstrap.port()}, {1, "127.0.0.1", strict.port()}};
  m.owners = {{"t", 0, 1, 1}};
  auto o = to(bootstrap.port());
  o.tls = true;
  o.tls_ca_file = files.ca;
  auto c = must(client::cluster_client::open(o), "open");
  const auto refused = c.list_offsets("t", 0);
  ASSERT_FALSE(client::ok(refused));
  const auto& f = client::error_of(refused);
  EXPECT_EQ(f.code, errc::authentication_failed) << f.message;
  EXPECT_FALSE(f.retriable);
  EXPECT_NE(f.message.find("certificate required"), std::string::npos) << f.message;
  EXPECT_EQ(c.retries(), 0u);
}

// -- subscriptions ------------------------------------------------------------------------------

namespace {

// A single broker that makes every Subscribe a subscription with a new id, and answers a
// Credit as `credit` says (it may end the subscription first).
struct subscribing {
  std::function<void(stub_peer&, const protocol::buffer& credit, std::uint32_t subscribe_request)> credit;
  std::function<void(stub_peer&, std::uint32_t subscription)> after_subscribe = {};
  void operator()(stub_peer& p) const {
    std::uint32_t next_id = 7;
    std::uint32_t subscribe_request = 0;
    while (auto f = p.next_frame()) {
      switch (type_of(*f)) {
        case protocol::message_type::metadata: answer_metadata(p, *f); break;
        case protocol::message_type::subscribe: {
          subscribe_request = request_id_of(*f);
          const auto id = next_id++;
          p.send(response_to(*f, [&](protocol::buffer& out) { native::encode_subscribe_response(out, id); }));
          if (after_subscribe) after_subscribe(p, id);
          break;
        }
        case protocol::message_type::credit: credit(p, *f, subscribe_request); break;
        default: break;
      }
    }
  }
};

}  // namespace

// The broker refuses a credit for a subscription it still serves: the caller hears it.
TEST(ClusterClientSubscriptions, ACreditRefusedForALiveSubscriptionIsReturned) {
  stub_broker stub(subscribing{[](stub_peer& p, const protocol::buffer& credit, std::uint32_t) {
    p.send(error_frame(request_id_of(credit), errc::authorization_failed));
  }});
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  const auto sub = must(c.subscribe("t", 0, 0, 1024), "subscribe");
  auto r = c.grant_credit(sub, 4096);
  ASSERT_FALSE(client::ok(r));
  EXPECT_EQ(client::error_of(r).code, errc::authorization_failed);
}

// The broker ended the subscription for good just before the credit came (its end crossed
// the Credit, which is then refused): the credit is no failure of its own, and the end is
// reported by next_delivery, not lost by making the subscription again.
TEST(ClusterClientSubscriptions, ASubscriptionEndedAsCreditWasGrantedIsReportedByNextDelivery) {
  stub_broker stub(subscribing{[](stub_peer& p, const protocol::buffer& credit, std::uint32_t subscribe_request) {
    p.send(error_frame(subscribe_request, errc::unknown_topic, "topic deleted"));
    p.send(error_frame(request_id_of(credit), errc::invalid_request, "no such subscription"));
  }});
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  const auto sub = must(c.subscribe("t", 0, 0, 1024), "subscribe");
  must(c.grant_credit(sub, 4096), "grant_credit");
  auto ended = c.next_delivery(10s);
  ASSERT_FALSE(client::ok(ended));
  EXPECT_EQ(client::error_of(ended).code, errc::unknown_topic);
  EXPECT_EQ(client::error_of(ended).subscription_id, sub);
}

// A delivery that does not decode, on a connection still in use: reported, not dropped.
TEST(ClusterClientSubscriptions, ADeliveryThatDoesNotDecodeIsReported) {
  subscribing broker{[](stub_peer&, const protocol::buffer&, std::uint32_t) {}};
  broker.after_subscribe = [](stub_peer& p, std::uint32_t) {
    protocol::buffer garbage;
    const std::uint8_t junk[] = {0, 0, 0, 7, 1};
    protocol::append_frame(garbage, protocol::message_type::deliver, 0, protocol::byte_view{junk, sizeof junk});
    p.send(garbage);
  };
  stub_broker stub(broker);
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  must(c.subscribe("t", 0, 0, 1024), "subscribe");
  auto d = c.next_delivery(10s);
  ASSERT_FALSE(client::ok(d));
  EXPECT_EQ(client::error_of(d).code, errc::malformed_payload);
}

// A delivery over this client's frame limit ends its connection. Made again elsewhere, the
// subscription would meet it again, without end: it ends, and the caller hears of it, naming
// the limit and the subscription. A later wait finds nothing: it is not made again.
TEST(ClusterClientSubscriptions, ADeliveryOverTheClientsFrameLimitEndsTheSubscriptionsOnItsConnection) {
  auto subscribes = std::make_shared<std::atomic<int>>(0);
  subscribing broker{[](stub_peer&, const protocol::buffer&, std::uint32_t) {}};
  broker.after_subscribe = [subscribes](stub_peer& p, std::uint32_t id) {
    ++*subscribes;
    p.send(deliver_frame(id, 0, batch_of("big", 1, 100 * 1024)));
  };
  stub_broker stub(broker);
  auto o = to(stub.port());
  o.max_frame_bytes = 64 * 1024;
  auto c = must(client::cluster_client::open(o), "open");
  const auto sub = must(c.subscribe("t", 0, 0, 1 << 20), "subscribe");
  const auto d = c.next_delivery(10s);
  ASSERT_FALSE(client::ok(d)) << "no delivery and no failure in 10 s: subscribed again and again";
  const auto& f = client::error_of(d);
  EXPECT_EQ(f.code, errc::frame_too_large) << f.message;
  EXPECT_NE(f.message.find("exceeds the client's limit of 65536"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("subscriptions ended: " + std::to_string(sub) + ":"), std::string::npos) << f.message;
  // Ended: forgotten, not made again by the next wait.
  const auto again = c.next_delivery(200ms);
  ASSERT_TRUE(client::ok(again)) << client::error_of(again).message;
  EXPECT_FALSE(std::get<0>(again).has_value());
  EXPECT_EQ(subscribes->load(), 1);
  const auto credit = c.grant_credit(sub, 4096);
  ASSERT_FALSE(client::ok(credit));
  EXPECT_EQ(client::error_of(credit).code, errc::invalid_request);
}

// The same frame cut off a credit awaiting its answer (the delivery came first): the
// subscription ends there too, reported by grant_credit, not made again by next_delivery.
TEST(ClusterClientSubscriptions, ACreditCutOffByADeliveryOverTheClientsFrameLimitEndsTheSubscription) {
  auto subscribes = std::make_shared<std::atomic<int>>(0);
  subscribing broker{[](stub_peer& p, const protocol::buffer& credit, std::uint32_t) {
    p.send(deliver_frame(7, 0, batch_of("big", 1, 100 * 1024)));
    p.send(response_to(credit));
  }};
  broker.after_subscribe = [subscribes](stub_peer&, std::uint32_t) { ++*subscribes; };
  stub_broker stub(broker);
  auto o = to(stub.port());
  o.max_frame_bytes = 64 * 1024;
  auto c = must(client::cluster_client::open(o), "open");
  const auto sub = must(c.subscribe("t", 0, 0, 1024), "subscribe");
  const auto r = c.grant_credit(sub, 1 << 20);
  ASSERT_FALSE(client::ok(r)) << "taken for a connection lost: to be made again";
  const auto& f = client::error_of(r);
  EXPECT_EQ(f.code, errc::frame_too_large) << f.message;
  EXPECT_NE(f.message.find("subscriptions ended: " + std::to_string(sub) + ":"), std::string::npos) << f.message;
  const auto d = c.next_delivery(200ms);
  ASSERT_TRUE(client::ok(d)) << client::error_of(d).message;
  EXPECT_FALSE(std::get<0>(d).has_value());
  EXPECT_EQ(subscribes->load(), 1);
}

// Credit granted past what a uint32 counts stays at the most: the subscription, made again
// after its connection failed, asks for all of it, not for what a wrapped sum left.
TEST(ClusterClientSubscriptions, CreditGrantedPastTheMostStaysAtTheMost) {
  std::mutex mutex;
  std::vector<std::uint32_t> credits;  // each Subscribe's, in arrival order
  stub_broker stub([&](stub_peer& p) {
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f);
      if (type_of(*f) == protocol::message_type::credit) return;  // the connection ends unanswered
      if (type_of(*f) != protocol::message_type::subscribe) continue;
      {
        std::lock_guard lock{mutex};
        credits.push_back(native::decode_subscribe(payload_of(*f))->credit_bytes);
      }
      p.send(response_to(*f, [](protocol::buffer& out) { native::encode_subscribe_response(out, 7); }));
      if (p.index() > 0) p.send(deliver_frame(7, 0, batch_of("d")));
    }
  });
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  const auto sub = must(c.subscribe("t", 0, 0, UINT32_MAX), "subscribe");
  must(c.grant_credit(sub, 4096), "grant_credit");  // cut off: carried to where it is made again
  const auto d = must(c.next_delivery(10s), "next_delivery");
  ASSERT_TRUE(d.has_value());
  std::lock_guard lock{mutex};
  ASSERT_EQ(credits.size(), 2u);
  EXPECT_EQ(credits[1], UINT32_MAX);
}

// A wait without bound (milliseconds::max()) waits for what comes, sending what is held back
// first: it does not overflow the clock into a deadline long passed.
TEST(ClusterClientSubscriptions, AWaitWithoutBoundWaitsForWhatComes) {
  stub_broker stub([](stub_peer& p) {
    while (auto f = p.next_frame()) {
      switch (type_of(*f)) {
        case protocol::message_type::metadata: answer_metadata(p, *f); break;
        case protocol::message_type::subscribe:
          p.send(response_to(*f, [](protocol::buffer& out) { native::encode_subscribe_response(out, 7); }));
          break;
        case protocol::message_type::publish:  // the cue, which leaves as the wait begins
          p.send(deliver_frame(7, 0, batch_of("d")));
          p.send(publish_answer(*f, 0));
          break;
        default: break;
      }
    }
  });
  auto c = must(client::cluster_client::open(to(stub.port())), "open");
  const auto sub = must(c.subscribe("t", 0, 0, 1 << 20), "subscribe");
  must(c.send_publish("t", 0, batch_of("go")), "send_publish");
  const auto d = must(c.next_delivery(std::chrono::milliseconds::max()), "next_delivery");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->subscription_id, sub);
}

// -- Metadata ------------------------------------------------------------------------------------

// A node that has not yet seen the lease move (an older epoch) does not send requests back
// to the old leader.
TEST(ClusterClientMetadata, AnOlderLeaderEpochDoesNotReplaceANewerOne) {
  native::metadata_response first;
  native::metadata_response lagging;
  // Each node answers ListOffsets with its own id as the log start: where the request went.
  auto node = [](std::int64_t id, const native::metadata_response& m) {
    return [id, &m](stub_peer& p) {
      while (auto f = p.next_frame()) {
        if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f, m);
        if (type_of(*f) == protocol::message_type::list_offsets)
          p.send(response_to(*f, [&](protocol::buffer& out) { native::encode_body(out, native::list_offsets_response{id, id, std::nullopt}); }));
      }
    };
  };
  std::mutex mutex;
  int metadata_answers = 0;
  stub_broker bootstrap([&](stub_peer& p) {
    while (auto f = p.next_frame()) {
      if (type_of(*f) != protocol::message_type::metadata) continue;
      std::lock_guard lock{mutex};
      answer_metadata(p, *f, metadata_answers++ == 0 ? first : lagging);
    }
  });
  stub_broker new_leader(node(1, first));
  stub_broker old_leader(node(2, lagging));
  first.node_id = 0;
  first.topics = {{"t", 1}};
  first.nodes = {{0, "127.0.0.1", bootstrap.port()}, {1, "127.0.0.1", new_leader.port()}, {2, "127.0.0.1", old_leader.port()}};
  lagging = first;
  first.owners = {{"t", 0, 1, 5}};
  lagging.owners = {{"t", 0, 2, 4}};
  auto c = must(client::cluster_client::open(to(bootstrap.port())), "open");
  must(c.refresh(), "refresh");  // the lagging answer
  EXPECT_EQ(must(c.list_offsets("t", 0), "list_offsets").log_start, 1);
}

namespace {

// A node that answers Metadata as `metadata` says (the first answer of all, then the later
// one) and ListOffsets with its own id as the log start (where the request went), or with
// not_leader when `refuses`.
struct epoch_node {
  std::int64_t id;
  bool refuses;
  std::function<native::metadata_response()> metadata;
  void operator()(stub_peer& p) const {
    while (auto f = p.next_frame()) {
      if (type_of(*f) == protocol::message_type::metadata) answer_metadata(p, *f, metadata());
      if (type_of(*f) != protocol::message_type::list_offsets) continue;
      if (refuses)
        p.send(error_frame(request_id_of(*f), errc::not_leader, "not the leader"));
      else
        p.send(response_to(*f, [&](protocol::buffer& out) {
          native::encode_body(out, native::list_offsets_response{id, id, std::nullopt});
        }));
    }
  }
};

// Metadata answers: `first` once, then `later` (shared by every node).
struct metadata_script {
  std::mutex mutex;
  int answers = 0;
  native::metadata_response first, later;
  native::metadata_response next() {
    std::lock_guard lock{mutex};
    return answers++ == 0 ? first : later;
  }
};

}  // namespace

// The store's epochs went back (wiped, restored): the leader known, of a higher epoch, says
// it no longer leads, and the Metadata names another at a lower epoch, which is followed.
TEST(ClusterClientMetadata, ALowerLeaderEpochIsTakenOnceTheKnownLeaderRefuses) {
  metadata_script script;
  auto metadata = [&script] { return script.next(); };
  stub_broker bootstrap(epoch_node{0, false, metadata});
  stub_broker stale(epoch_node{1, true, metadata});
  stub_broker current(epoch_node{2, false, metadata});
  script.first.node_id = 0;
  script.first.topics = {{"t", 1}};
  script.first.nodes = {{0, "127.0.0.1", bootstrap.port()}, {1, "127.0.0.1", stale.port()}, {2, "127.0.0.1", current.port()}};
  script.later = script.first;
  script.first.owners = {{"t", 0, 1, 5}};
  script.later.owners = {{"t", 0, 2, 1}};
  auto c = must(client::cluster_client::open(to(bootstrap.port())), "open");
  EXPECT_EQ(must(c.list_offsets("t", 0), "list_offsets").log_start, 2);
}

// The leader known is no longer a live node: a lower epoch for the partition is followed.
TEST(ClusterClientMetadata, ALowerLeaderEpochIsTakenWhenTheKnownLeaderIsNoLongerListed) {
  metadata_script script;
  auto metadata = [&script] { return script.next(); };
  stub_broker bootstrap(epoch_node{0, false, metadata});
  stub_broker gone(epoch_node{1, false, metadata});  // still answers, were it asked
  stub_broker current(epoch_node{2, false, metadata});
  script.first.node_id = 0;
  script.first.topics = {{"t", 1}};
  script.first.nodes = {{0, "127.0.0.1", bootstrap.port()}, {1, "127.0.0.1", gone.port()}, {2, "127.0.0.1", current.port()}};
  script.later = script.first;
  script.later.nodes.erase(script.later.nodes.begin() + 1);
  script.first.owners = {{"t", 0, 1, 5}};
  script.later.owners = {{"t", 0, 2, 1}};
  auto c = must(client::cluster_client::open(to(bootstrap.port())), "open");
  must(c.refresh(), "refresh");
  EXPECT_EQ(must(c.list_offsets("t", 0), "list_offsets").log_start, 2);
}
