// Pipelined native requests: the client library holds back pipelined publishes until it
// waits to read (or flush(), or 64 KiB of them, or its end), so they leave in one write; the
// broker answers a burst of them in one write and still counts every request it answered.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/actors/broker_fixture.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;

namespace {

// How many messages partition 0 of `topic` holds, read by a separate connection.
std::size_t stored_in(broker_fixture& f, const std::string& topic) {
  auto reader = f.connect();
  return must(reader.fetch(topic, 0, 0), "fetch").messages.size();
}

// Reads partition 0 of `topic` until `n` messages came (each read a long poll that returns
// when more arrive) or a read comes back empty after waiting 10 s; their values in order.
std::vector<std::string> wait_for(broker_fixture& f, const std::string& topic, std::size_t n) {
  auto reader = f.connect();
  std::vector<std::string> got;
  std::int64_t offset = 0;
  for (int reads = 0; got.size() < n && reads < 100; ++reads) {
    auto r = must(reader.fetch(topic, 0, offset, 1 << 20, 10'000), "fetch");
    if (r.messages.empty()) break;
    for (const auto& m : r.messages) got.push_back(m.value.value_or(""));
    offset = r.next_offset;
  }
  return got;
}

}  // namespace

TEST(Pipelining, APipelinedPublishLeavesWhenTheClientWaitsForItsAnswer) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("held", 1));
  for (int i = 0; i < 3; ++i) must(c.send_publish("held", 0, make_batch(1)));
  // Still in the client: nothing reached the broker (no wait; the bytes were never sent).
  EXPECT_EQ(stored_in(f, "held"), 0u);
  // Waiting for the first answer sends all three.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(must(c.receive_publish()).base_offset, i);
  EXPECT_EQ(stored_in(f, "held"), 3u);
}

TEST(Pipelining, FlushSendsWithoutWaitingAndAnswersFollowInOrder) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("flushed", 1));
  must(c.send_publish("flushed", 0, make_batch(2)));
  EXPECT_TRUE(c.flush());
  EXPECT_TRUE(c.flush());  // nothing left: a no-op
  EXPECT_EQ(wait_for(f, "flushed", 2).size(), 2u);
  must(c.send_publish("flushed", 0, make_batch(1)));
  EXPECT_EQ(must(c.receive_publish()).base_offset, 0);
  EXPECT_EQ(must(c.receive_publish()).base_offset, 2);
}

TEST(Pipelining, APublishWithoutAcksIsSentAtOnceBehindTheHeldOnes) {
  broker_fixture f;
  auto c = f.connect();
  must(c.create_topic("mixed", 1));
  must(c.send_publish("mixed", 0, make_batch(1, "held")));
  // No answer to wait for: sent at once, behind the one held.
  must(c.send_publish("mixed", 0, make_batch(1, "unacknowledged"), false));
  EXPECT_EQ(wait_for(f, "mixed", 2), (std::vector<std::string>{"held0", "unacknowledged0"}));
  EXPECT_EQ(must(c.receive_publish()).base_offset, 0);
  // Nothing outstanding: a call is answered as ever.
  EXPECT_EQ(must(c.list_offsets("mixed", 0)).high_watermark, 2);
}

TEST(Pipelining, HeldPublishesGoOnceTheyReach64KiBOrTheConnectionEnds) {
  broker_fixture f;
  {
    auto c = f.connect();
    must(c.create_topic("big", 1));
    must(c.create_topic("ended", 1));
    // 100 batches of about 1 KiB: the held bytes pass 64 KiB long before the last one, and
    // the first ones reach the broker while this client has not waited for anything.
    for (int i = 0; i < 100; ++i)
      must(c.send_publish("big", 0, make_batch(1, std::string(1000, 'x'))));
    EXPECT_FALSE(wait_for(f, "big", 1).empty());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(must(c.receive_publish()).base_offset, i);
    must(c.send_publish("ended", 0, make_batch(4)));
  }  // the connection ends with that publish held: it is sent, its answer not awaited
  EXPECT_EQ(wait_for(f, "ended", 4).size(), 4u);
}

// The answers to a burst leave in one write, and each request they answer is no longer in
// flight: the connection, idle again, is closed by the idle timeout. Were the gathered
// answers counted as one request, the others would stay "in flight" and it would never be.
TEST(Pipelining, ABurstAnsweredInOneWriteLeavesNoRequestInFlight) {
  broker_config cfg;
  cfg.connections_max_idle_ms = 3000;
  cfg.max_inflight_requests_per_connection = 8;  // the burst is read eight requests at a time
  broker_fixture f{false, cfg};
  auto c = f.connect();
  must(c.create_topic("burst", 1));
  constexpr int n = 64;
  for (int i = 0; i < n; ++i) must(c.send_publish("burst", 0, make_batch(1)));
  for (int i = 0; i < n; ++i) EXPECT_EQ(must(c.receive_publish()).base_offset, i);
  auto closed = c.receive_frame(30s);
  ASSERT_FALSE(client::ok(closed));
  EXPECT_NE(client::error_of(closed).message.find("closed"), std::string::npos)
      << client::error_of(closed).message;
}
