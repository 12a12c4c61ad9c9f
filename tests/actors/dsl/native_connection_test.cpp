// The native connection message by message on the deterministic scheduler: the real
// connection actor between the mock registry and bridge, fed frames as its session would
// send them. Its session is a real tcp_session over a loopback socket whose I/O never runs:
// what the connection writes stays queued, and the test checks what it sends to other actors
// and what it counts.
#define CAF_SUITE dsl.connections

#include <boost/asio.hpp>

#include "actors/connections/native/portask_connection.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/protocol_bridge.hpp"
#include "protocol/codec_manager.hpp"
#include "protocol/native_messages.hpp"
#include "tests/actors/dsl/dsl_fixture.hpp"

using namespace portask;
using namespace portask::testing;

namespace {

namespace native = protocol::native;
using boost::asio::ip::tcp;

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

// `n` messages as a batch the broker stores (the fixture's records, without a partition).
protocol::message_batch messages(int n) { return records({"t", 0}, n).batch; }

protocol::buffer publish_frame(std::uint32_t id, const std::string& topic, std::int32_t partition) {
  protocol::codec_manager codecs;
  protocol::buffer batch;
  const auto flags = codecs.encode(messages(2), {}, batch);
  CAF_REQUIRE(flags);
  native::publish_request req;
  req.request_id = id;
  req.topic = topic;
  req.partition = partition;
  req.batch = batch;
  protocol::buffer frame;
  native::encode(frame, req, *flags);
  return frame;
}

protocol::buffer fetch_frame(std::uint32_t id, const std::string& topic, std::int32_t partition,
                             std::int64_t offset = 0, std::uint32_t max_wait_ms = 0) {
  protocol::buffer frame;
  native::encode(frame, native::fetch_request{id, topic, partition, offset, 1 << 20, max_wait_ms});
  return frame;
}

struct connection_fixture : dsl_fixture {
  connection_fixture() {
    tcp::acceptor acceptor{io, tcp::endpoint{boost::asio::ip::address_v4::loopback(), 0}};
    client.connect(acceptor.local_endpoint());
    session = std::make_shared<tcp_session>(
        acceptor.accept(), std::make_unique<portask_framer>(protocol::frame_limits{}, false), session_limits{},
        listener_kind::native, ctx->metrics, [] {});
    supervisor = sys.spawn(directory_only, dir);
    sched.run();
    conn = spawn_portask_connection(sys, ctx, supervisor, session);
    CAF_REQUIRE(sched.prioritize(conn));
    sched.run_once();
    // Its start: it asks the supervisor for the directory and handles nothing before.
    expect((subscribe_atom, directory_follower_actor), from(conn).to(supervisor).with(_, _));
    expect((actor_directory), from(supervisor).to(conn).with(_));
  }

  ~connection_fixture() override {
    // Before the socket's io_context goes: the connection holds the session.
    caf::anon_send_exit(conn, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    sched.run();
    session.reset();
    io.restart();
    io.poll();  // the session's close, posted to its strand
  }

  void receive_frames(std::vector<protocol::buffer> frames) {
    self->send(conn, frame_atom::value, std::move(frames));
    expect((frame_atom, std::vector<protocol::buffer>), from(self).to(conn).with(_, _));
  }

  boost::asio::io_context io;
  tcp::socket client{io};
  std::shared_ptr<tcp_session> session;
  supervisor_actor supervisor;
  native_connection_actor conn;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(connection_tests, connection_fixture)

CAF_TEST(a request after a publish that waits for its topic waits behind it) {
  // A publish to partition -1 of a topic the connection does not know yet, then a fetch.
  registry_script->topic.reply(storage::topic_info{"t", 2, {}, {}});
  receive_frames({publish_frame(1, "t", -1), fetch_frame(2, "t", 0)});
  expect((topic_atom, std::string, bool), from(conn).to(registry).with(_, "t", _));
  // The fetch is held: nothing has gone to the bridge while the lookup is out.
  CAF_CHECK(!sched.prioritize(bridge_mock));
  expect((storage::topic_info), from(registry).to(conn).with(_));
  // The answer releases the publish to a partition, then the fetch, in that order.
  expect((publish_atom, publish_batch),
         from(conn).to(bridge_mock)
             .with(_, WHERE(publish_batch, b, b.tp.topic == "t" && b.tp.partition >= 0)));
  expect((fetch_atom, portask::fetch_request),
         from(conn).to(bridge_mock).with(_, WHERE(portask::fetch_request, f, f.tp.topic == "t")));
}

CAF_TEST(a fetch answered after its client has gone is not counted as sent) {
  protocol::buffer frame;
  protocol::codec_manager codecs;
  CAF_REQUIRE(!codecs.append_batch_frame(messages(3), {}, protocol::message_type::publish, frame));
  storage::stored_batch stored;
  stored.record_count = 3;
  stored.frame = protocol::shared_bytes::copy_of(frame);
  fetch_result three;
  three.high_watermark = 3;
  three.batches = {stored};
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::portask);
  // Answered while the client is there: counted.
  bridge_script->fetch.reply(three);
  receive_frames({fetch_frame(1, "t", 0)});
  expect((fetch_atom, portask::fetch_request), from(conn).to(bridge_mock).with(_, _));
  expect((fetch_result), from(bridge_mock).to(conn).with(_));
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::portask), out_before + 3);
  // The client goes while its fetch is out; the answer then reaches nobody.
  bridge_script->fetch.reply(three);
  receive_frames({fetch_frame(2, "t", 0)});
  self->send(conn, closed_atom::value);
  expect((closed_atom), from(self).to(conn).with(_));
  expect((fetch_atom, portask::fetch_request), from(conn).to(bridge_mock).with(_, _));
  expect((fetch_result), from(bridge_mock).to(conn).with(_));
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::portask), out_before + 3);
}

CAF_TEST(a long poll parks in its partition until an append wakes it and is cancelled when its client goes) {
  // The real bridge and partition of t/0 behind the connection, which the supervisor's
  // update points at them.
  const topic_partition t0{"t", 0};
  auto bridge = track(spawn_protocol_bridge(sys, ctx, dir));
  reader_script->recover.reply({{0, 0}, {0, {}}});
  auto partition = spawn_partition(self.ptr(), ctx, dir, t0);
  self->unlink_from(partition);
  track(partition);
  registry_script->partitions[t0] = partition;
  sched.run();  // the partition has recovered: its log is empty
  auto routed = dir;
  routed.bridges = {bridge};
  self->send(conn, directory_atom::value, routed);
  expect((directory_atom, actor_directory), from(self).to(conn).with(_, _));
  const auto out_before = ctx->metrics.messages_out_total(protocol_kind::portask);

  // A fetch at the end of the log waits in the partition; nothing answers it.
  receive_frames({fetch_frame(1, "t", 0, 0, 30000)});
  portask::fetch_request first;
  expect((fetch_atom, portask::fetch_request), from(conn).to(bridge).with(_, captured(first)));
  CAF_CHECK(first.poll_id != 0 && first.max_wait_ms == 30000);
  expect((partition_atom, topic_partition, bool), from(bridge).to(registry).with(_, t0, false));
  expect((partition_actor), from(registry).to(bridge).with(partition));
  expect((fetch_atom, portask::fetch_request),
         from(bridge).to(partition).with(_, WHERE(portask::fetch_request, f, f.poll_id == first.poll_id)));
  CAF_CHECK(!sched.has_job());
  // An append wakes it: the stored records go back to the connection and out to its client.
  self->request(bridge, caf::infinite, publish_atom::value, records(t0, 2));
  sched.run();
  CAF_CHECK_EQUAL(writer_script->append.count(), 1u);
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::portask), out_before + 2);

  // The next fetch waits at offset 2; then the client goes.
  receive_frames({fetch_frame(2, "t", 0, 2, 30000)});
  portask::fetch_request second;
  expect((fetch_atom, portask::fetch_request), from(conn).to(bridge).with(_, captured(second)));
  expect((fetch_atom, portask::fetch_request),
         from(bridge).to(partition).with(_, WHERE(portask::fetch_request, f, f.offset == 2)));
  CAF_CHECK(!sched.has_job());
  self->send(conn, closed_atom::value);
  expect((closed_atom), from(self).to(conn).with(_));
  // The connection cancels its poll through the bridge; the partition answers it at once,
  // empty, and the answer reaches nobody.
  expect((cancel_atom, topic_partition, std::uint64_t),
         from(_).to(bridge).with(_, t0, second.poll_id));
  expect((cancel_atom, std::uint64_t), from(bridge).to(partition).with(_, second.poll_id));
  expect((fetch_result), from(partition).to(bridge).with(WHERE(fetch_result, r, r.batches.empty())));
  expect((fetch_result), from(bridge).to(conn).with(_));
  CAF_CHECK_EQUAL(ctx->metrics.messages_out_total(protocol_kind::portask), out_before + 2);
}

CAF_TEST_FIXTURE_SCOPE_END()
