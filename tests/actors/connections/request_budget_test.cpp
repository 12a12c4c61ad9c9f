// The broker-wide budget of request bytes read and not yet answered: the budget and a
// connection's share on their own; real sessions over loopback sharing one, driven handler
// by handler on the test's thread (so what a session has decided is known when a handler
// returns); and an in-process broker whose connections pipeline under a tiny budget.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "actors/connections/transport/kafka_framer.hpp"
#include "actors/connections/transport/request_budget.hpp"
#include "actors/connections/transport/tcp_session.hpp"
#include "tests/actors/broker_fixture.hpp"

namespace portask::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct recording_waiter : request_budget::waiter {
  recording_waiter(std::vector<int>& woken, int id) : woken_(woken), id_(id) {}
  void budget_available() override { woken_.push_back(id_); }
  std::vector<int>& woken_;
  int id_;
};

TEST(RequestBudget, SharesTakeAndGiveBackAndTheBudgetIsSpentAtItsLimit) {
  auto budget = std::make_shared<request_budget>(100);
  request_budget::share a{budget}, b{budget}, idle{budget};
  a.take(60);
  EXPECT_EQ(budget->in_use(), 60u);
  EXPECT_FALSE(budget->exhausted());
  EXPECT_TRUE(a.may_take());
  b.take(50);  // taken whole while there was room: 10 over
  EXPECT_EQ(budget->in_use(), 110u);
  EXPECT_TRUE(budget->exhausted());
  EXPECT_FALSE(a.may_take());
  EXPECT_FALSE(b.may_take());
  EXPECT_TRUE(idle.may_take()) << "a connection holding none may take one within the headroom";
  a.give_back(60);
  EXPECT_EQ(a.bytes(), 0u);
  EXPECT_EQ(budget->in_use(), 50u);
  EXPECT_TRUE(b.may_take());
}

TEST(RequestBudget, AConnectionHoldingNothingTakesARequestOnlyWithinTheHeadroom) {
  auto budget = std::make_shared<request_budget>(800);
  ASSERT_EQ(budget->headroom(), 100u);
  request_budget::share holder{budget}, idle{budget};
  holder.take(850);
  EXPECT_FALSE(holder.may_take());
  EXPECT_TRUE(idle.may_take()) << "850 is within 800 + 100";
  holder.take(50);  // 900: the headroom is spent too
  EXPECT_FALSE(idle.may_take()) << "even a connection holding nothing waits now";
  std::vector<int> woken;
  auto w = std::make_shared<recording_waiter>(woken, 1);
  EXPECT_TRUE(budget->wait(w));
  holder.give_back(1);
  EXPECT_TRUE(idle.may_take());
  EXPECT_TRUE(woken.empty()) << "the line is woken below the limit only";
  holder.give_back(100);
  EXPECT_EQ(woken, (std::vector<int>{1}));
}

TEST(RequestBudget, GivingBackMoreThanWasTakenTakesNothingFromOtherShares) {
  auto budget = std::make_shared<request_budget>(100);
  request_budget::share a{budget}, b{budget};
  a.take(10);
  b.take(20);
  a.give_back(50);  // a release counted twice
  EXPECT_EQ(a.bytes(), 0u);
  EXPECT_EQ(budget->in_use(), 20u);
  a.give_back(5);
  EXPECT_EQ(budget->in_use(), 20u);
  EXPECT_EQ(b.bytes(), 20u);
}

TEST(RequestBudget, AShareGivesBackWhatItStillHoldsWhenItGoes) {
  auto budget = std::make_shared<request_budget>(100);
  {
    request_budget::share gone{budget};
    gone.take(70);
    gone.give_back(20);
    EXPECT_EQ(budget->in_use(), 50u);
  }
  EXPECT_EQ(budget->in_use(), 0u);
  request_budget::share closed{budget};
  closed.take(30);
  closed.give_back_all();
  EXPECT_EQ(budget->in_use(), 0u);
}

TEST(RequestBudget, WaitersAreWokenOneAtATimeInTheOrderTheyWaited) {
  auto budget = std::make_shared<request_budget>(100);
  request_budget::share holder{budget}, extra{budget};
  holder.take(100);
  std::vector<int> woken;
  auto w1 = std::make_shared<recording_waiter>(woken, 1);
  auto w2 = std::make_shared<recording_waiter>(woken, 2);
  auto w3 = std::make_shared<recording_waiter>(woken, 3);
  for (const auto& w : {w1, w2, w3}) EXPECT_TRUE(budget->wait(w));
  EXPECT_EQ(budget->waiting(), 3u);

  extra.take(20);
  holder.give_back(10);  // 110 in use: still spent, nobody woken
  EXPECT_TRUE(woken.empty());
  holder.give_back(20);  // 90: room, the first in line only
  EXPECT_EQ(woken, (std::vector<int>{1}));
  budget->pass_on();  // the first took nothing: the room is the next one's
  EXPECT_EQ(woken, (std::vector<int>{1, 2}));
  extra.take(20);     // the second spent it
  budget->pass_on();  // so the third waits on
  EXPECT_EQ(woken, (std::vector<int>{1, 2}));
  extra.give_back(20);
  EXPECT_EQ(woken, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(budget->waiting(), 0u);
}

TEST(RequestBudget, AWaiterThatHasGoneIsSkipped) {
  auto budget = std::make_shared<request_budget>(10);
  request_budget::share holder{budget};
  holder.take(10);
  std::vector<int> woken;
  auto gone = std::make_shared<recording_waiter>(woken, 1);
  auto there = std::make_shared<recording_waiter>(woken, 2);
  EXPECT_TRUE(budget->wait(gone));
  EXPECT_TRUE(budget->wait(there));
  gone.reset();
  holder.give_back(1);
  EXPECT_EQ(woken, (std::vector<int>{2}));
}

TEST(RequestBudget, AWokenWaiterThatFoundNoRoomWaitsAtTheFrontAgain) {
  auto budget = std::make_shared<request_budget>(100);
  request_budget::share holder{budget}, other{budget};
  holder.take(100);
  std::vector<int> woken;
  auto first = std::make_shared<recording_waiter>(woken, 1);
  auto second = std::make_shared<recording_waiter>(woken, 2);
  EXPECT_TRUE(budget->wait(first));
  EXPECT_TRUE(budget->wait(second));
  holder.give_back(10);
  EXPECT_EQ(woken, (std::vector<int>{1}));
  other.take(10);  // a connection not in line took the room first
  EXPECT_TRUE(budget->wait(first, true));
  holder.give_back(10);
  EXPECT_EQ(woken, (std::vector<int>{1, 1})) << "the first again, not the second";
}

TEST(RequestBudget, AWaiterHoldingNothingIsWokenAsSoonAsItCouldTakeARequest) {
  auto budget = std::make_shared<request_budget>(800);  // headroom 100
  request_budget::share holder{budget};
  holder.take(900);
  std::vector<int> woken;
  auto empty = std::make_shared<recording_waiter>(woken, 1);
  EXPECT_TRUE(budget->wait(empty, false, true));
  holder.give_back(1);  // 899: a connection arriving with nothing could take a request now
  EXPECT_EQ(woken, (std::vector<int>{1})) << "so the one waiting is not overtaken by arrivals";
  EXPECT_FALSE(budget->wait(empty, false, true)) << "it has room: it does not queue";
}

TEST(RequestBudget, AWaiterThatLeavesIsOutOfTheLineWithAnyThatHaveGone) {
  auto budget = std::make_shared<request_budget>(10);
  request_budget::share holder{budget};
  holder.take(10);
  std::vector<int> woken;
  auto leaving = std::make_shared<recording_waiter>(woken, 1);
  auto gone = std::make_shared<recording_waiter>(woken, 2);
  auto staying = std::make_shared<recording_waiter>(woken, 3);
  for (const auto& w : {leaving, gone, staying}) EXPECT_TRUE(budget->wait(w));
  gone.reset();
  budget->leave(leaving);
  EXPECT_EQ(budget->waiting(), 1u);
  holder.give_back(1);
  EXPECT_EQ(woken, (std::vector<int>{3}));
}

TEST(RequestBudget, WaitingWhileThereIsRoomQueuesNothing) {
  metrics_registry metrics;
  auto budget = std::make_shared<request_budget>(10, &metrics);
  std::vector<int> woken;
  auto w = std::make_shared<recording_waiter>(woken, 1);
  EXPECT_FALSE(budget->wait(w));
  EXPECT_EQ(budget->waiting(), 0u);
  EXPECT_EQ(metrics.request_budget_waits_total(), 0u);
}

TEST(RequestBudget, AnUnboundedBudgetCountsButIsNeverSpent) {
  auto budget = std::make_shared<request_budget>(0);
  request_budget::share a{budget};
  a.take(std::uint64_t{1} << 40);
  EXPECT_EQ(budget->in_use(), std::uint64_t{1} << 40);
  EXPECT_FALSE(budget->exhausted());
  EXPECT_TRUE(a.may_take());
  std::vector<int> woken;
  EXPECT_FALSE(budget->wait(std::make_shared<recording_waiter>(woken, 1)));
}

TEST(RequestBudget, MetricsShowTheBytesInUseTheLimitAndEachWait) {
  metrics_registry metrics;
  auto budget = std::make_shared<request_budget>(100, &metrics);
  request_budget::share a{budget};
  a.take(150);
  std::vector<int> woken;
  auto w = std::make_shared<recording_waiter>(woken, 1);
  EXPECT_TRUE(budget->wait(w));
  EXPECT_EQ(metrics.request_budget_waits_total(), 1u);
  auto text = metrics.render_prometheus();
  EXPECT_NE(text.find("portask_request_budget_used_bytes 150\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portask_request_budget_limit_bytes 100\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portask_request_budget_waits_total 1\n"), std::string::npos) << text;
  a.give_back_all();
  text = metrics.render_prometheus();
  EXPECT_NE(text.find("portask_request_budget_used_bytes 0\n"), std::string::npos) << text;
}

// A Kafka-framed request of `body` bytes (the Kafka framer checks only the size).
protocol::buffer request(std::uint32_t body) {
  protocol::buffer out(4 + body, 0x2a);
  protocol::store_be32(out.data(), body);
  return out;
}

// Sessions over loopback sharing one budget, each handing its frames to a scoped actor in
// the connection actor's place. The test's thread runs the sessions' handlers itself.
struct sessions_fixture {
  struct connection {
    connection(caf::actor_system& sys, asio::io_context& io) : actor(sys), client(io) {}
    caf::scoped_actor actor;  ///< where the session's frames go
    tcp::socket client;
    std::shared_ptr<tcp_session> session;

    void send(const protocol::buffer& bytes) { asio::write(client, asio::buffer(bytes)); }
  };

  explicit sessions_fixture(std::uint64_t budget_bytes)
      : budget(std::make_shared<request_budget>(budget_bytes, &metrics)) {}

  ~sessions_fixture() {
    for (auto& c : connections) c->session->close();
    io.restart();
    io.poll();  // the closes, and the reads they abort
  }

  connection& open() {
    auto c = std::make_unique<connection>(sys, io);
    c->client.connect(acceptor.local_endpoint());
    session_limits limits;  // no timeouts: no timer handlers to run
    limits.request_timeout = 0ms;
    limits.idle_timeout = 0ms;
    c->session = std::make_shared<tcp_session>(acceptor.accept(), std::make_unique<kafka_framer>(1u << 20, false),
                                               limits, listener_kind::kafka, metrics, [] {}, nullptr, budget);
    c->session->start(caf::actor_cast<connection_actor>(c->actor));
    connections.push_back(std::move(c));
    return *connections.back();
  }

  // The sizes of the frames handed to `c`'s actor so far (none waited for).
  static std::vector<std::size_t> frames_of(connection& c) {
    std::vector<std::size_t> sizes;
    bool more = true;
    while (more)
      c.actor->receive(
          [&](frame_atom, const std::vector<protocol::buffer>& frames) {
            for (const auto& f : frames) sizes.push_back(f.size());
          },
          [](closed_atom) {}, [](closed_atom, errc) {},  // its session closed
          caf::after(0s) >> [&] { more = false; });
    return sizes;
  }

  // Runs handlers, one at a time, until `c`'s session hands its actor frames (at most 10 s).
  std::vector<std::size_t> next_frames(connection& c) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    auto sizes = frames_of(c);
    while (sizes.empty() && std::chrono::steady_clock::now() < until) {
      if (io.stopped()) io.restart();
      io.run_one_for(100ms);
      sizes = frames_of(c);
    }
    return sizes;
  }

  // Runs handlers, one at a time, until `done()` (at most 10 s): whether it came true.
  template <class Done>
  bool run_until(Done done) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < until) {
      if (io.stopped()) io.restart();
      io.run_one_for(100ms);
    }
    return done();
  }

  // Runs every handler that is ready (a session that would read has read what is there).
  void settle() {
    io.restart();
    io.poll();
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint{asio::ip::address_v4::loopback(), 0}};
  metrics_registry metrics;
  std::shared_ptr<request_budget> budget;
  std::vector<std::unique_ptr<connection>> connections;
};

TEST(RequestBudgetSessions, ASessionHoldingPartOfASpentBudgetWaitsUntilAnotherIsAnswered) {
  sessions_fixture f{1000};
  auto& a = f.open();
  auto& b = f.open();
  a.send(request(600));
  const auto first = f.next_frames(a);
  ASSERT_EQ(first.size(), 1u);
  const auto size = first[0];
  EXPECT_EQ(f.budget->in_use(), size);

  b.send(request(600));  // taken while there is room: the budget is then spent
  ASSERT_EQ(f.next_frames(b).size(), 1u);
  EXPECT_EQ(f.budget->in_use(), 2 * size);
  EXPECT_TRUE(f.budget->exhausted());
  EXPECT_EQ(f.budget->waiting(), 1u) << "b holds part of it and stopped reading";
  EXPECT_EQ(f.metrics.request_budget_waits_total(), 1u);

  b.send(request(600));
  f.settle();
  EXPECT_TRUE(sessions_fixture::frames_of(b).empty()) << "held back while the budget is spent";

  a.session->send(protocol::buffer(8, 0), size);  // a's answer gives its bytes back
  const auto next = f.next_frames(b);
  ASSERT_EQ(next.size(), 1u) << "b is woken and takes its next request";
  EXPECT_EQ(f.budget->in_use(), 2 * size);
}

TEST(RequestBudgetSessions, ASessionHoldingNothingTakesOneRequestWithinTheHeadroom) {
  sessions_fixture f{1000};  // headroom: 125
  auto& a = f.open();
  auto& b = f.open();
  a.send(request(1000));
  ASSERT_EQ(f.next_frames(a).size(), 1u);
  const auto held = f.budget->in_use();
  EXPECT_TRUE(f.budget->exhausted());

  b.send(request(50));
  const auto first = f.next_frames(b);
  ASSERT_EQ(first.size(), 1u) << "b held none of the budget";
  const auto size = first[0];
  EXPECT_EQ(f.budget->in_use(), held + size);
  b.send(request(50));
  f.settle();
  EXPECT_TRUE(sessions_fixture::frames_of(b).empty()) << "but only one request";

  // Its own answer leaves b holding none again: its next request proceeds, though a still
  // holds more than the whole budget.
  b.session->send(protocol::buffer(8, 0), size);
  ASSERT_EQ(f.next_frames(b).size(), 1u);
  EXPECT_EQ(f.budget->in_use(), held + size);
}

TEST(RequestBudgetSessions, PastTheHeadroomASessionHoldingNothingWaitsAndLeavesTheLineWhenClosed) {
  sessions_fixture f{1000};
  auto& a = f.open();
  request_budget::share other{f.budget};
  other.take(f.budget->limit() + f.budget->headroom());
  a.send(request(50));
  ASSERT_TRUE(f.run_until([&] { return f.budget->waiting() == 1; })) << "a holds nothing, yet waits";
  EXPECT_TRUE(sessions_fixture::frames_of(a).empty());
  a.session->close();
  ASSERT_TRUE(f.run_until([&] { return f.budget->waiting() == 0; })) << "its entry is gone with it";
}

TEST(RequestBudgetSessions, AWokenSessionThatFindsTheRoomTakenKeepsItsPlaceAtTheFront) {
  sessions_fixture f{1000};
  auto& a = f.open();
  auto& b = f.open();
  a.send(request(50));
  ASSERT_EQ(f.next_frames(a).size(), 1u);
  request_budget::share other{f.budget};  // a connection that is not in line
  other.take(2 * f.budget->limit());      // past the headroom: b, holding nothing, waits too
  a.send(request(50));
  ASSERT_TRUE(f.run_until([&] { return f.budget->waiting() == 1; }));
  b.send(request(50));
  ASSERT_TRUE(f.run_until([&] { return f.budget->waiting() == 2; })) << "b after a";

  const auto room = f.budget->in_use() - f.budget->limit() + 1;
  other.give_back(room);  // wakes a, whose handler has not run yet
  EXPECT_EQ(f.budget->waiting(), 1u);
  other.take(room);  // and the room is taken before it does
  f.settle();
  EXPECT_TRUE(sessions_fixture::frames_of(a).empty());
  EXPECT_EQ(f.budget->waiting(), 2u) << "a waits again";

  other.give_back(room);
  ASSERT_EQ(f.next_frames(a).size(), 1u) << "a is woken first again";
  // a's request spent the room below the limit; b holds nothing and the use is within the
  // headroom, so it is woken as a connection arriving could take a request then.
  EXPECT_LT(f.budget->in_use(), f.budget->limit() + f.budget->headroom());
  EXPECT_EQ(f.next_frames(b).size(), 1u);
}

TEST(RequestBudgetSessions, AClosedSessionGivesBackWhatItsUnansweredRequestsHeld) {
  sessions_fixture f{1000};
  auto& a = f.open();
  auto& b = f.open();
  a.send(request(600));
  const auto first = f.next_frames(a);
  ASSERT_EQ(first.size(), 1u);
  const auto size = first[0];
  b.send(request(600));
  ASSERT_EQ(f.next_frames(b).size(), 1u);
  b.send(request(600));
  f.settle();
  ASSERT_TRUE(sessions_fixture::frames_of(b).empty());

  a.session->close();  // unanswered: nothing will ever be written for its request
  ASSERT_EQ(f.next_frames(b).size(), 1u) << "a's part went back when it closed";
  EXPECT_EQ(f.budget->in_use(), 2 * size);
  b.session->close();
  f.settle();
  EXPECT_EQ(f.budget->in_use(), 0u);
}

// Liveness end to end: two connections pipelining hundreds of publishes through a budget of
// a few requests stop and resume again and again, and every publish is answered.
TEST(RequestBudgetSessions, PipelinedPublishesOfTwoConnectionsUnderATinyBudgetAllComplete) {
  broker_config cfg;
  cfg.max_inflight_bytes_per_broker = 2048;
  broker_fixture f{false, cfg};
  auto a = f.connect();
  auto b = f.connect();
  constexpr int n = 200;
  for (int i = 0; i < n; ++i) {
    must(a.send_publish("budget-a", 0, make_batch(20)));
    must(b.send_publish("budget-b", 0, make_batch(20)));
  }
  ASSERT_TRUE(a.flush());
  ASSERT_TRUE(b.flush());
  std::int64_t base = 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(must(a.receive_publish()).base_offset, base);
    EXPECT_EQ(must(b.receive_publish()).base_offset, base);
    base += 20;
  }
  EXPECT_GT(f.metrics().request_budget_waits_total(), 0u);
}

}  // namespace
}  // namespace portask::test
