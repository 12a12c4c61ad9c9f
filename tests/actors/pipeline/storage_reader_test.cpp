// The storage reader carries out a compaction on a one-shot worker of its own, so that the
// reads of the partitions it serves go on while one runs: the real reader over a store that
// holds compactions on command.
#include <gtest/gtest.h>

#include <variant>

#include "actors/pipeline/storage_actors.hpp"
#include "protocol/codec_manager.hpp"
#include "storage/memory_store.hpp"
#include "tests/mocks/faulty_store.hpp"

using namespace portask;
using namespace std::chrono_literals;
using portask::testing::faulty_store;

namespace {

protocol::buffer one_record(const std::string& value) {
  protocol::message_batch mb;
  protocol::message m;
  m.topic = "t";
  m.key = "k";
  m.value = value;
  mb.messages.push_back(std::move(m));
  protocol::buffer out;
  protocol::codec_manager codecs;
  EXPECT_FALSE(codecs.append_batch_frame(mb, {}, protocol::message_type::publish, out));
  return out;
}

}  // namespace

TEST(StorageReader, ServesReadsWhileACompactionRunsAndTakesOneCompactionOfAPartitionAtATime) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  auto control = std::make_shared<faulty_store::control>();
  auto memory = storage::memory_store::factory();
  auto store = std::move(*memory());
  const topic_partition tp{"t", 0};
  std::uint64_t end_bytes = 0;
  for (std::int64_t offset = 0; offset < 3; ++offset) {
    const auto frame = one_record("v" + std::to_string(offset));
    storage::append_request r{&tp, offset, 1, 100, protocol::shared_bytes::copy_of(frame)};
    r.end_bytes = end_bytes += frame.size();
    std::vector<std::error_code> results;
    store->append({&r, 1}, results);
    ASSERT_FALSE(results.at(0));
  }
  const auto all = store->read(tp, 0, 1 << 20).value();
  ASSERT_EQ(all.size(), 3u);
  storage::log_compaction c;  // offset 0 goes, 1 stays, 2 is after the range
  c.first_base = 0;
  c.end = 2;
  c.end_bytes = all[1].end_bytes;
  c.batches = {storage::compacted_batch{all[1], false}};

  auto reader = spawn_storage_reader(sys, faulty_store::factory(memory, control));
  caf::scoped_actor compactor{sys}, consumer{sys};
  control->compactions.hold();
  auto compaction = compactor->request(reader, 60s, compact_atom::value, tp, c);
  ASSERT_TRUE(control->compactions.wait_for_held(30s));

  // The compaction is out at the store; the reader answers reads meanwhile.
  std::variant<std::size_t, errc> read = errc::internal;
  consumer->request(reader, 30s, read_atom::value, tp, std::int64_t{0}, std::uint32_t{1 << 20})
      .receive([&](std::vector<storage::stored_batch>& got) { read = got.size(); },
               [&](caf::error& e) { read = to_errc(e); });
  EXPECT_EQ(read, (std::variant<std::size_t, errc>{std::size_t{3}}))
      << "the log as it was before the compaction";
  // A second compaction of the same partition waits for none: it is refused, retriably.
  std::variant<storage::partition_bounds, errc> second = errc::internal;
  consumer->request(reader, 30s, compact_atom::value, tp, c)
      .receive([&](storage::partition_bounds& b) { second = b; },
               [&](caf::error& e) { second = to_errc(e); });
  EXPECT_EQ(second, (std::variant<storage::partition_bounds, errc>{errc::not_ready}));

  control->compactions.release();
  std::variant<storage::partition_bounds, errc> first = errc::internal;
  compaction.receive([&](storage::partition_bounds& b) { first = b; },
                     [&](caf::error& e) { first = to_errc(e); });
  ASSERT_EQ(first.index(), 0u) << "compaction: " << make_error_code(std::get<errc>(first)).message();
  EXPECT_EQ(std::get<0>(first).next_offset, 3);
  EXPECT_EQ(store->read(tp, 0, 1 << 20)->front().base_offset, 1) << "offset 0 went";

  // Once it is done, the partition may be compacted again (nothing left to remove: the plan
  // keeps what is there).
  storage::log_compaction again;
  again.first_base = 1;
  again.end = 2;
  again.end_bytes = c.end_bytes;
  again.batches = {storage::compacted_batch{store->read(tp, 0, 1 << 20)->front(), false}};
  std::variant<storage::partition_bounds, errc> third = errc::internal;
  consumer->request(reader, 30s, compact_atom::value, tp, again)
      .receive([&](storage::partition_bounds& b) { third = b; },
               [&](caf::error& e) { third = to_errc(e); });
  EXPECT_EQ(third.index(), 0u);
  caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
}
