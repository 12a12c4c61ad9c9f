// client::idempotent_producer against a stand-in broker (stub_broker): a batch whose outcome
// is unknown when it gives up is never followed by one under the same sequence.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "client/idempotent_producer.hpp"
#include "tests/client/stub_broker.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;
namespace native = protocol::native;

// A frame over this client's limit (a delivery pushed ahead of the answer) breaks the
// connection after the batch was sent: the broker refused nothing and may have stored it.
// Given up on (that frame would come again), the batch leaves the producer unsure, so the
// next batch goes under a new epoch: under the same id, epoch and sequence, a broker that
// stored the first would drop the second as its resend.
TEST(IdempotentProducer, ABatchCutOffByAFrameOverTheClientsLimitIsTakenAsMaybeStored) {
  std::mutex mutex;
  std::vector<native::publish_producer> claims;  // each Publish's, in arrival order
  stub_broker stub([&](stub_peer& p) {
    while (auto f = p.next_frame()) {
      switch (type_of(*f)) {
        case protocol::message_type::metadata:
          p.send(response_to(*f, [](protocol::buffer& out) { native::encode_body(out, native::metadata_response{}); }));
          break;
        case protocol::message_type::init_producer: {
          const auto asked = native::decode_init_producer(payload_of(*f));
          const native::init_producer_response given{
              42, static_cast<std::int16_t>(asked->producer_id < 0 ? 0 : asked->producer_epoch + 1)};
          p.send(response_to(*f, [&given](protocol::buffer& out) { native::encode_body(out, given); }));
          break;
        }
        case protocol::message_type::publish: {
          bool first = false;
          {
            std::lock_guard lock{mutex};
            claims.push_back(native::decode_publish(payload_of(*f))->producer);
            first = claims.size() == 1;
          }
          if (first) p.send(deliver_frame(1, 0, batch_of("big", 1, 100 * 1024)));
          p.send(publish_answer(*f, 0));
          break;
        }
        default: break;
      }
    }
  });
  client::options o;
  o.port = stub.port();
  o.timeout = 10s;
  o.max_frame_bytes = 64 * 1024;
  auto opened = client::idempotent_producer::open(o, 10s);
  ASSERT_TRUE(client::ok(opened)) << client::error_of(opened).message;
  auto& producer = std::get<0>(opened);

  const auto cut = producer.publish("t", 0, batch_of("a"));
  ASSERT_FALSE(client::ok(cut));
  const auto& f = client::error_of(cut);
  EXPECT_EQ(f.code, errc::frame_too_large) << f.message;
  EXPECT_EQ(f.network, std::errc::message_size) << f.message;
  EXPECT_NE(f.message.find("outcome is unknown"), std::string::npos) << f.message;

  const auto next = producer.publish("t", 0, batch_of("b"));
  ASSERT_TRUE(client::ok(next)) << client::error_of(next).message;
  std::lock_guard lock{mutex};
  ASSERT_EQ(claims.size(), 2u);
  EXPECT_EQ(claims[1].base_sequence, 0);
  EXPECT_NE(std::pair(claims[1].id, claims[1].epoch), std::pair(claims[0].id, claims[0].epoch))
      << "the next batch reused the sequence of one that may be stored";
}
