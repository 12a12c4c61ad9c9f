#pragma once
// What an older broker left in a redis store, written before a broker starts on it: names
// today's brokers no longer store, such as a group id that is not UTF-8, which the Kafka
// protocol kept as it was sent until it read strings as Kafka does (docs/kafka.md).
#include <hiredis/hiredis.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "protocol/wire.hpp"

namespace portask::test {

// Commits `offset` for `group` on `topic`'s partition `partition` in the store of the
// redis-server on `redis_port` (key prefix "portask"), in the first format of
// docs/storage.md (the offset's zig-zag varint, no metadata, no commit time: the offsets'
// expiry counts from the broker's start), and lists the group among the store's groups.
inline void commit_as_an_old_broker(std::uint16_t redis_port, const std::string& group, const std::string& topic,
                                    std::int32_t partition, std::int64_t offset) {
  redisContext* r = redisConnect("127.0.0.1", redis_port);
  if (!r || r->err) {
    if (r) redisFree(r);
    FAIL() << "redis-server on port " << redis_port << " not reached";
  }
  protocol::buffer value;
  protocol::wire_writer{value}.varint(offset);
  const std::string key = "portask:offsets:{" + group + "}";
  const std::string field = topic + ":" + std::to_string(partition);
  auto* hset = static_cast<redisReply*>(redisCommand(r, "HSET %b %b %b", key.data(), key.size(), field.data(),
                                                     field.size(), value.data(), value.size()));
  auto* sadd = static_cast<redisReply*>(redisCommand(r, "SADD portask:groups %b", group.data(), group.size()));
  EXPECT_TRUE(hset && hset->type == REDIS_REPLY_INTEGER) << (hset && hset->str ? hset->str : "no reply");
  EXPECT_TRUE(sadd && sadd->type == REDIS_REPLY_INTEGER) << (sadd && sadd->str ? sadd->str : "no reply");
  if (hset) freeReplyObject(hset);
  if (sadd) freeReplyObject(sadd);
  redisFree(r);
}

}  // namespace portask::test
