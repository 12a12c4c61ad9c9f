// A Kafka Fetch over many partitions, message by message on the deterministic scheduler: the
// real Kafka connection actor before the mock bridge, fed request frames as its session would
// send them (its session is a real tcp_session over a loopback socket whose I/O never runs,
// as in native_connection_test.cpp). Every read the connection asks of the bridge is logged
// in order, so the tests see which partitions are read, which are only asked for their
// bounds, and how many reads are out at any moment: asked of the bridge and not yet answered
// to the connection.
#define CAF_SUITE dsl.kafka_fetch

#include <boost/asio.hpp>

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "actors/connections/kafka/fetch_read_window.hpp"
#include "actors/connections/kafka/kafka_connection.hpp"
#include "actors/connections/transport/kafka_framer.hpp"
#include "portask/kafka/kafka_messages.hpp"
#include "protocol/bytes.hpp"
#include "protocol/codec_manager.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

namespace msg = protocol::kafka::messages;
using boost::asio::ip::tcp;
using portask::kafka::fetch_read_window;

// A supervisor that only hands out the directory (what a connection asks it at start).
supervisor_actor::behavior_type directory_only(supervisor_actor::pointer, actor_directory dir) {
  return {
      [](tick_atom) {},
      [](respawn_atom, std::size_t) {},
      [dir](directory_atom) { return dir; },
      [dir](subscribe_atom, const directory_follower_actor&) { return dir; },
      [](node_atom, const cluster_actor&) {},
  };
}

constexpr std::int32_t partitions = 20;
constexpr std::int32_t max_bytes = 10000;  ///< room for three of the batches below, not four

// One stored record of `size` bytes at `offset`.
storage::stored_batch batch_of(std::size_t size, std::int64_t offset) {
  protocol::message_batch mb;
  protocol::message m;
  m.value = std::string(size, 'x');
  m.timestamp_ms = 1000;
  mb.messages.push_back(std::move(m));
  protocol::codec_manager codecs;
  protocol::buffer frame;
  CAF_REQUIRE(!codecs.append_batch_frame(mb, {}, protocol::message_type::publish, frame));
  storage::stored_batch b;
  b.base_offset = offset;
  b.record_count = 1;
  b.max_timestamp = 1000;
  b.frame = protocol::shared_bytes::copy_of(frame);
  return b;
}

// One stored record of 3000 bytes at offset 0: more than a quarter of max_bytes, so three
// fill the answer, and a fourth does not fit.
storage::stored_batch large_batch() { return batch_of(3000, 0); }

// A Fetch v11 (header v1) of partitions 0 to count-1 of "t", each from offset 0 with a
// limit of `partition_limit`, as its session hands it over (with its size).
protocol::buffer fetch_frame(std::int32_t max_wait_ms, std::int32_t min_bytes,
                             std::int32_t count = partitions, std::int32_t limit = max_bytes,
                             std::int32_t partition_limit = 1 << 20) {
  constexpr std::int16_t version = 11;
  msg::FetchRequest req;
  req.maxWaitMs = max_wait_ms;
  req.minBytes = min_bytes;
  req.maxBytes = limit;
  req.topics.push_back({"t", {}, {}});
  for (std::int32_t p = 0; p < count; ++p)
    req.topics[0].partitions.push_back({p, -1, 0, -1, -1, partition_limit, {}});
  protocol::buffer out(4);
  protocol::kafka::writer w{out};
  w.i16(1);  // Fetch
  w.i16(version);
  w.i32(7);  // correlation id
  w.string("dsl", false);
  req.encode(w, version);
  protocol::store_be32(out.data(), static_cast<std::uint32_t>(out.size() - 4));
  return out;
}

// What the connection asked of the bridge: a read (r), a long poll (p) or the bounds (b) of
// a partition.
struct asked {
  char what;
  std::int32_t partition;
  friend bool operator==(const asked&, const asked&) = default;
};

struct kafka_fetch_fixture : dsl_fixture {
  kafka_fetch_fixture() {
    tcp::acceptor acceptor{io, tcp::endpoint{boost::asio::ip::address_v4::loopback(), 0}};
    client.connect(acceptor.local_endpoint());
    session = std::make_shared<tcp_session>(acceptor.accept(),
                                            std::make_unique<kafka_framer>(1u << 20, false),
                                            session_limits{}, listener_kind::kafka, ctx->metrics, [] {});
    supervisor = sys.spawn(directory_only, dir);
    sched.run();
    endpoint->name = "PLAINTEXT";
    endpoint->advertised_host = "127.0.0.1";
    conn = spawn_kafka_connection(sys, ctx, supervisor, session, endpoint);
    CAF_REQUIRE(sched.prioritize(conn));
    sched.run_once();
    expect((subscribe_atom, directory_follower_actor), from(conn).to(supervisor).with(_, _));
    expect((actor_directory), from(supervisor).to(conn).with(_));
    // Bounds: log start 0, high watermark 1 (each partition holds its one batch).
    bridge_script->bounds.otherwise =
        [this](const topic_partition& tp) -> caf::expected<storage::partition_bounds> {
      requests.push_back({'b', tp.partition});
      storage::partition_bounds b;
      b.log_start = 0;
      b.next_offset = 1;
      return b;
    };
  }

  ~kafka_fetch_fixture() override {
    // Before the socket's io_context goes: the connection holds the session.
    caf::anon_send_exit(conn, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    sched.run();
    session.reset();
    io.restart();
    io.poll();  // the session's close, posted to its strand
  }

  void receive_frame(protocol::buffer frame) {
    std::vector<protocol::buffer> frames;
    frames.push_back(std::move(frame));
    self->send(conn, frame_atom::value, std::move(frames));
    expect((frame_atom, std::vector<protocol::buffer>), from(self).to(conn).with(_, _));
  }

  // Runs the exchange to its end: the bridge answers everything it was asked, then the
  // connection takes one answer, and so on. The answers reach the connection in the order
  // the bridge was asked (one bridge, answering at once), so after the connection has taken
  // `taken` answers, the reads out are those among the requests logged after the first
  // `taken`. Returns the most that were out at once.
  std::size_t run_counting_reads_out() {
    std::size_t most = 0;
    std::size_t taken = 0;
    for (;;) {
      while (sched.prioritize(bridge_mock)) sched.run_once();
      const auto first_unanswered = requests.begin() + static_cast<std::ptrdiff_t>(std::min(taken, requests.size()));
      const auto out = std::count_if(first_unanswered, requests.end(),
                                     [](const asked& a) { return a.what == 'r'; });
      most = std::max(most, static_cast<std::size_t>(out));
      if (!sched.prioritize(conn)) break;
      sched.run_once();
      ++taken;
    }
    return most;
  }

  boost::asio::io_context io;
  tcp::socket client{io};
  std::shared_ptr<tcp_session> session;
  std::shared_ptr<kafka_endpoint> endpoint = std::make_shared<kafka_endpoint>();
  supervisor_actor supervisor;
  kafka_connection_actor conn;
  std::vector<asked> requests;
  bool data_came = false;  ///< the long poll's partitions have been written to
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(kafka_fetch_tests, kafka_fetch_fixture)

CAF_TEST(a fetch reads its partitions in request order a window at a time and only asks the bounds of those past its max bytes) {
  // Every partition holds a batch of 3000 bytes; the answer has room for three.
  bridge_script->fetch.otherwise = [this](const fetch_request& f) -> caf::expected<fetch_result> {
    requests.push_back({f.max_wait_ms > 0 ? 'p' : 'r', f.tp.partition});
    fetch_result r;
    r.partition = f.tp.partition;
    r.high_watermark = 1;
    r.batches = {large_batch()};
    return r;
  };
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::kafka);
  receive_frame(fetch_frame(0, 1));
  // Each read's share is the whole answer (10000 bytes): the narrowest window.
  CAF_CHECK_EQUAL(run_counting_reads_out(), fetch_read_window::min_width);
  // The window's first reads, then one more for each answer that left room (partitions 0 to
  // 2); the fourth answer fills the answer, and the partitions not read by then are only
  // asked for their bounds.
  constexpr std::int32_t read = static_cast<std::int32_t>(fetch_read_window::min_width) + 3;
  std::vector<asked> want;
  for (std::int32_t p = 0; p < partitions; ++p) want.push_back({p < read ? 'r' : 'b', p});
  CAF_CHECK(requests == want);
  // What was sent: the first three partitions' batches, in request order.
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::kafka), out_before + 3);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a fetch whose reads have small shares has as many out as fill its answer) {
  // 20 idle partitions, and room for 20 shares of 64 KiB: every read goes out at once rather
  // than 8 at a time (nothing comes back, so the first pass is only round trips).
  bridge_script->fetch.otherwise = [this](const fetch_request& f) -> caf::expected<fetch_result> {
    requests.push_back({f.max_wait_ms > 0 ? 'p' : 'r', f.tp.partition});
    fetch_result r;
    r.partition = f.tp.partition;
    return r;
  };
  constexpr std::int32_t limit = partitions * 64 * 1024;
  CAF_REQUIRE_EQUAL(fetch_read_window::width_for(limit, 64 * 1024),
                    static_cast<std::size_t>(partitions));
  receive_frame(fetch_frame(0, 1, partitions, limit));
  CAF_CHECK_EQUAL(run_counting_reads_out(), static_cast<std::size_t>(partitions));
  std::vector<asked> want;
  for (std::int32_t p = 0; p < partitions; ++p) want.push_back({'r', p});
  CAF_CHECK(requests == want);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a narrow long poll woken by data delivers it in the poll answer without another read) {
  // Two partitions, nothing at the first pass; then partition 0 gets a batch of 3000 bytes,
  // which its poll (a share of 10000 bytes) brings as it wakes.
  constexpr std::int32_t polled = 2;
  bridge_script->fetch.otherwise = [this](const fetch_request& f) -> caf::expected<fetch_result> {
    fetch_result r;
    r.partition = f.tp.partition;
    if (f.max_wait_ms == 0) {
      requests.push_back({'r', f.tp.partition});
      return r;
    }
    requests.push_back({'p', f.tp.partition});
    CAF_CHECK_EQUAL(f.max_bytes, static_cast<std::uint32_t>(max_bytes));  // its share
    CAF_CHECK(!f.at_least_one_batch);
    if (f.tp.partition == 0) {
      r.high_watermark = 1;
      r.batches = {large_batch()};
      CAF_CHECK_LESS_OR_EQUAL(r.batches[0].frame.size(), f.max_bytes);  // it fits
    }
    return r;
  };
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::kafka);
  receive_frame(fetch_frame(60000, 1, polled));
  run_counting_reads_out();
  // One read each, one poll each, and nothing after: the woken poll's answer was the read.
  const std::vector<asked> want{{'r', 0}, {'r', 1}, {'p', 0}, {'p', 1}};
  CAF_CHECK(requests == want);
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::kafka), out_before + 1);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(the answer of a long poll asks again for the log start of the partitions it holds records of from before) {
  // Partition 0 brings a small batch at the first pass, too little for minBytes, and its poll
  // finds nothing more; partition 1's poll brings a large batch, which ends the wait. Partition
  // 0's records were deleted meanwhile (its log start is 1 now): asked for its bounds, it
  // answers OFFSET_OUT_OF_RANGE, and only partition 1's record is sent. Partition 1, whose
  // answer ended the wait, is not asked.
  bridge_script->fetch.otherwise = [this](const fetch_request& f) -> caf::expected<fetch_result> {
    const bool poll = f.max_wait_ms > 0;
    requests.push_back({poll ? 'p' : 'r', f.tp.partition});
    fetch_result r;
    r.partition = f.tp.partition;
    if (f.tp.partition == 0) {
      r.high_watermark = 1;
      if (!poll) r.batches = {batch_of(100, 0)};
    } else if (poll) {
      r.high_watermark = 1;
      r.batches = {large_batch()};
    }
    return r;
  };
  bridge_script->bounds.otherwise =
      [this](const topic_partition& tp) -> caf::expected<storage::partition_bounds> {
    requests.push_back({'b', tp.partition});
    return storage::partition_bounds{1, 1};
  };
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::kafka);
  receive_frame(fetch_frame(60000, 2000, 2));
  run_counting_reads_out();
  const std::vector<asked> want{{'r', 0}, {'r', 1}, {'p', 0}, {'p', 1}, {'b', 0}};
  CAF_CHECK(requests == want);
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::kafka), out_before + 1);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a partition found past its log start as a long poll ends is not refilled and leaves its room to the others) {
  // Partition 0 brings a large batch at the first pass, all it has then, too little for
  // minBytes; partition 1 brings nothing, then its poll a smaller batch that reaches minBytes,
  // with a record after it that did not come with it. Partition 0's log start has moved past
  // its fetch offset meanwhile, to 1: asked for its bounds again, it answers
  // OFFSET_OUT_OF_RANGE at once, so the refill neither reads it again from after its batch
  // (for records thrown away) nor counts that batch against the room: partition 1's refill
  // read may take all the room but its own first batch.
  constexpr std::int32_t limit = 256 * 1024;
  const std::uint64_t polled_size = batch_of(60 * 1024, 0).frame.size();
  const std::uint64_t refill_size = batch_of(100 * 1024, 1).frame.size();
  std::uint32_t refill_limit = 0;  // what partition 1's refill read was allowed
  bridge_script->fetch.otherwise = [this, &refill_limit, refill_size](
                                       const fetch_request& f) -> caf::expected<fetch_result> {
    const bool poll = f.max_wait_ms > 0;
    requests.push_back({poll ? 'p' : 'r', f.tp.partition});
    fetch_result r;
    r.partition = f.tp.partition;
    if (f.tp.partition == 0) {
      r.high_watermark = 1;
      if (f.offset == 0) r.batches = {batch_of(100 * 1024, 0)};
    } else if (poll) {
      r.high_watermark = 2;
      r.batches = {batch_of(60 * 1024, 0)};
    } else if (f.offset == 1) {  // the refill
      refill_limit = f.max_bytes;
      r.high_watermark = 2;
      if (refill_size <= f.max_bytes) r.batches = {batch_of(100 * 1024, 1)};
    }
    return r;
  };
  bridge_script->bounds.otherwise =
      [this](const topic_partition& tp) -> caf::expected<storage::partition_bounds> {
    requests.push_back({'b', tp.partition});
    return storage::partition_bounds{1, 2};
  };
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::kafka);
  receive_frame(fetch_frame(60000, 150 * 1024, 2, limit));
  run_counting_reads_out();
  const std::vector<asked> want{{'r', 0}, {'r', 1}, {'p', 0}, {'p', 1}, {'b', 0}, {'r', 1}};
  CAF_CHECK(requests == want);
  CAF_CHECK_EQUAL(static_cast<std::uint64_t>(refill_limit),
                  static_cast<std::uint64_t>(limit) - polled_size);
  // Partition 1's two records; none of partition 0's.
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::kafka), out_before + 2);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a partition a refill read finds past its log start answers at once and leaves its room to the others) {
  // No wait. Partition 0 brings a large batch, partition 1 a smaller one, each with records
  // after it that its share left out. Refilled first (request order), partition 0's read
  // from after its batch finds its log start at 1 (its first record was deleted since its
  // first read): it answers OFFSET_OUT_OF_RANGE at once and is read no more, and partition 1
  // is refilled with all the room but its own first batch.
  constexpr std::int32_t limit = 256 * 1024;
  const std::uint64_t first_size = batch_of(60 * 1024, 0).frame.size();
  const std::uint64_t refill_size = batch_of(100 * 1024, 1).frame.size();
  std::uint32_t refill_limit = 0;  // what partition 1's refill read was allowed
  bridge_script->fetch.otherwise = [this, &refill_limit, refill_size](
                                       const fetch_request& f) -> caf::expected<fetch_result> {
    requests.push_back({f.max_wait_ms > 0 ? 'p' : 'r', f.tp.partition});
    fetch_result r;
    r.partition = f.tp.partition;
    if (f.tp.partition == 0) {
      r.high_watermark = 5;
      if (f.offset == 0) {
        r.batches = {batch_of(100 * 1024, 0)};
      } else {  // after the first record was deleted
        r.log_start = 1;
        r.batches = {batch_of(10 * 1024, f.offset)};
      }
    } else if (f.offset == 0) {
      r.high_watermark = 2;
      r.batches = {batch_of(60 * 1024, 0)};
    } else {  // the refill
      refill_limit = f.max_bytes;
      r.high_watermark = 2;
      if (refill_size <= f.max_bytes) r.batches = {batch_of(100 * 1024, 1)};
    }
    return r;
  };
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::kafka);
  receive_frame(fetch_frame(0, 1, 2, limit));
  run_counting_reads_out();
  const std::vector<asked> want{{'r', 0}, {'r', 1}, {'r', 0}, {'r', 1}};
  CAF_CHECK(requests == want);
  CAF_CHECK_EQUAL(static_cast<std::uint64_t>(refill_limit),
                  static_cast<std::uint64_t>(limit) - first_size);
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::kafka), out_before + 2);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a partition woken again and again in a narrow long poll reads no more than its limit in all) {
  // Two partitions, each limited to three and a half of the small batches below, nothing at
  // the first pass; then every poll of partition 0 wakes with one batch, too little for
  // minBytes, so it is polled again from after it. Each read and poll of a partition asks
  // for its limit less all its reads and polls have brought so far (no more, no less): the
  // fourth batch does not fit what is left, the partition is read once more (its poll saw
  // data past its offset) and brings nothing, and the answer goes.
  const std::uint64_t frame_size = batch_of(100, 0).frame.size();
  const std::uint64_t limit = 3 * frame_size + frame_size / 2;
  CAF_REQUIRE_LESS(limit, static_cast<std::uint64_t>(max_bytes));  // the partition's own limit binds
  std::vector<std::uint64_t> brought(2, 0);
  bridge_script->fetch.otherwise = [this, &brought, frame_size, limit](const fetch_request& f)
      -> caf::expected<fetch_result> {
    const auto p = static_cast<std::size_t>(f.tp.partition);
    requests.push_back({f.max_wait_ms > 0 ? 'p' : 'r', f.tp.partition});
    CAF_CHECK_EQUAL(static_cast<std::uint64_t>(f.max_bytes), limit - brought[p]);
    if (f.max_wait_ms > 0) data_came = true;
    fetch_result r;
    r.partition = f.tp.partition;
    r.high_watermark = f.offset;
    if (p == 0 && data_came) {  // a batch at its offset, brought if it fits what is asked
      r.high_watermark = f.offset + 1;
      if (frame_size <= f.max_bytes) {
        r.batches = {batch_of(100, f.offset)};
        brought[p] += frame_size;
      }
    }
    return r;
  };
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::kafka);
  receive_frame(fetch_frame(60000, 1 << 20, 2, max_bytes, static_cast<std::int32_t>(limit)));
  run_counting_reads_out();
  // Partition 0 brought the three batches its limit had room for, one a wake, and no more.
  CAF_CHECK_EQUAL(brought[0], 3 * frame_size);
  CAF_CHECK_EQUAL(brought[1], 0u);
  const auto polls_of_0 = std::count(requests.begin(), requests.end(), asked{'p', 0});
  CAF_CHECK_EQUAL(polls_of_0, 4);
  CAF_CHECK(requests.back() == (asked{'r', 0}));  // woken with too little room: read, no more
  CAF_CHECK_GREATER(ctx->metrics.messages_out_total(protocol_kind::kafka), out_before);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(partitions woken in a wide long poll are read a window at a time and within max bytes) {
  // Nothing at the first pass; then every partition gets a batch of 3000 bytes at once: each
  // long poll answers at once, woken. More partitions than the window's width: the polls
  // bring no records, the woken partitions are read.
  bridge_script->fetch.otherwise = [this](const fetch_request& f) -> caf::expected<fetch_result> {
    fetch_result r;
    r.partition = f.tp.partition;
    if (f.max_wait_ms > 0) {
      requests.push_back({'p', f.tp.partition});
      CAF_CHECK_EQUAL(f.max_bytes, 0u);  // a poll brings no records: the reads do
      data_came = true;
      r.high_watermark = 1;
      return r;
    }
    requests.push_back({'r', f.tp.partition});
    if (data_came) {
      r.high_watermark = 1;
      r.batches = {large_batch()};
    }
    return r;
  };
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::kafka);
  // A minute's wait for a mebibyte: only a full answer ends it early.
  receive_frame(fetch_frame(60000, 1 << 20));
  CAF_CHECK_EQUAL(run_counting_reads_out(), fetch_read_window::min_width);
  // The first pass read every partition, then every partition was polled.
  CAF_REQUIRE(requests.size() >= 2 * static_cast<std::size_t>(partitions));
  for (std::int32_t p = 0; p < partitions; ++p) {
    CAF_CHECK(requests[static_cast<std::size_t>(p)] == (asked{'r', p}));
    CAF_CHECK(requests[static_cast<std::size_t>(partitions + p)] == (asked{'p', p}));
  }
  // Woken together, the partitions were read a window at a time, in request order, and no
  // more once the answer was full: fewer reads than partitions woken.
  std::vector<std::int32_t> woken_reads;
  for (std::size_t i = 2 * static_cast<std::size_t>(partitions); i < requests.size(); ++i)
    if (requests[i].what == 'r') woken_reads.push_back(requests[i].partition);
  CAF_CHECK(std::is_sorted(woken_reads.begin(), woken_reads.end()));
  CAF_CHECK_LESS(woken_reads.size(), static_cast<std::size_t>(partitions));
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::kafka), out_before + 3);
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(a partition woken again in a wide long poll is read before later partitions waiting) {
  // Nothing at the first pass; then every poll wakes at once, and every read brings one small
  // batch, too little for minBytes: each partition read is polled again, and wakes at once.
  // Partition 0 wakes again while partitions 16 to 19 still wait for their first read after
  // waking (8 reads out): it is read before them, in request order, not after them in the
  // order they woke.
  bridge_script->fetch.otherwise = [this](const fetch_request& f) -> caf::expected<fetch_result> {
    fetch_result r;
    r.partition = f.tp.partition;
    if (f.max_wait_ms > 0) {
      requests.push_back({'p', f.tp.partition});
      CAF_CHECK_EQUAL(f.max_bytes, 0u);
      data_came = true;
      r.high_watermark = f.offset + 1;
      return r;
    }
    requests.push_back({'r', f.tp.partition});
    if (data_came) {
      r.high_watermark = f.offset + 1;
      r.batches = {batch_of(100, f.offset)};
    }
    return r;
  };
  receive_frame(fetch_frame(60000, 1 << 20));
  CAF_CHECK_LESS_OR_EQUAL(run_counting_reads_out(), fetch_read_window::min_width);
  // The n-th read of a partition in the log (the first pass's is the first).
  auto nth_read = [this](std::int32_t partition, std::size_t n) {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < requests.size(); ++i)
      if (requests[i] == asked{'r', partition} && ++seen == n) return i;
    return requests.size();
  };
  CAF_REQUIRE_LESS(nth_read(0, 3), requests.size());
  CAF_CHECK_LESS(nth_read(0, 3), nth_read(16, 2));
  CAF_CHECK(!sched.has_job());
}

CAF_TEST(the window hands out partitions in request order whatever order they were queued in) {
  fetch_read_window window{2};
  window.queue({1, 0});
  window.queue({0, 3});
  window.queue({0, 1});
  CAF_CHECK(window.take() == (fetch_read_window::slot{0, 1}));
  CAF_CHECK(window.take() == (fetch_read_window::slot{0, 3}));
  CAF_CHECK(!window.take());  // two out: the window is full
  window.queue({0, 2});
  window.returned();
  CAF_CHECK(window.take() == (fetch_read_window::slot{0, 2}));
  const auto rest = window.take_waiting();
  CAF_CHECK(rest == (std::set<fetch_read_window::slot>{{1, 0}}));
}

CAF_TEST_FIXTURE_SCOPE_END()
