"""kafka-python (Debian's python3-kafka) against Portask's data lifecycle: topic configs
validated and altered at run time, retention by time and by size deleting the oldest
batches, consumers at the head unaffected, a consumer left behind refused with
OFFSET_OUT_OF_RANGE and recovering through auto_offset_reset.
Usage: kafka_python_retention.py BOOTSTRAP. Exit status 0 when every check held."""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import InvalidConfigurationError, OffsetOutOfRangeError

from python_checks import check, wait_for

bootstrap = sys.argv[1]
common = dict(bootstrap_servers=bootstrap, api_version_auto_timeout_ms=10000)
admin = KafkaAdminClient(**common)


def describe(topic):
    """The topic's configs as {name: (value, source)}."""
    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])[0]
    error_code, _, _, _, entries = res.resources[0][:5]
    check(error_code == 0, "describe configs of %s" % topic)
    return {e[0]: (e[1], e[3] if len(e) > 5 else None) for e in entries}


def alter(topic, configs):
    res = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
    return res.resources[0][0], res.resources[0][1]


def bounds(consumer, tp):
    return consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]


# -- configs are validated wherever they come in ---------------------------------------------
for configs, reason in [({"retention.ms": "notanumber"}, "not a number"),
                        ({"retention.ms": "-5"}, "at least -1"),
                        ({"cleanup.policy": "shred"}, "expected one or more of"),
                        ({"no.such.config": "1"}, "unknown config")]:
    try:
        admin.create_topics([NewTopic("refused", 1, 1, topic_configs=configs)])
        check(False, "CreateTopics refuses %s" % configs)
    except InvalidConfigurationError as e:
        check(reason in str(e), "CreateTopics refuses %s (%s)" % (configs, reason))

admin.create_topics([NewTopic("aged", 1, 1, topic_configs={"retention.ms": "3600000"})])
configs = describe("aged")
check(configs["retention.ms"][0] == "3600000", "DescribeConfigs reports the topic's retention.ms")
check(configs["retention.ms"][1] in (None, 1), "... as a topic config")
check(configs["retention.bytes"] == ("-1", 5) or configs["retention.bytes"][0] == "-1",
      "retention.bytes is the broker default")
code, message = alter("aged", {"retention.ms": "soon"})
check(code == 40 and "not a number" in (message or ""), "AlterConfigs refuses a bad value")
code, message = alter("aged", {"segment.whatever": "1"})
check(code == 40, "AlterConfigs refuses an unknown key")

# -- retention by time: batches an hour older than retention.ms go, fresh ones stay -----------
producer = KafkaProducer(acks="all", linger_ms=0, **common)
old = int(time.time() * 1000) - 2 * 3600 * 1000
# A compacted topic with the same retention, written first: exempt, as in Kafka.
admin.create_topics([NewTopic("compacted", 1, 1, topic_configs={
    "cleanup.policy": "compact", "retention.ms": "3600000"})])
for i in range(5):
    producer.send("compacted", key=b"k%d" % i, value=b"old-%d" % i, partition=0, timestamp_ms=old)
producer.flush(timeout=30)
for i in range(20):
    producer.send("aged", value=b"old-%d" % i, partition=0, timestamp_ms=old)
    if i % 5 == 4:
        producer.flush(timeout=30)
for i in range(10):
    producer.send("aged", value=b"new-%d" % i, partition=0)
producer.flush(timeout=30)

tp = TopicPartition("aged", 0)
watcher = KafkaConsumer(enable_auto_commit=False, **common)
wait_for(lambda: bounds(watcher, tp)[0] == 20, "retention.ms moves the log start past the old batches")
check(bounds(watcher, tp) == (20, 30), "only the old batches went (log 20-30)")
check(bounds(watcher, TopicPartition("compacted", 0)) == (0, 5),
      "a compacted topic keeps its old batches (cleanup.policy=compact)")

behind = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="none",
                       consumer_timeout_ms=5000, **common)
behind.assign([tp])
behind.seek(tp, 0)
try:
    behind.poll(timeout_ms=5000)
    behind.poll(timeout_ms=5000)
    check(False, "a read below the log start is refused")
except OffsetOutOfRangeError:
    check(True, "a read below the log start is OFFSET_OUT_OF_RANGE")
behind.close()

resetting = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest",
                          consumer_timeout_ms=5000, **common)
resetting.assign([tp])
resetting.seek(tp, 0)
got = [m for m in resetting]
check([m.offset for m in got] == list(range(20, 30)), "auto_offset_reset=earliest recovers at the log start")
check(got[0].value == b"new-0", "... and reads the fresh records")
resetting.close()

# -- retention by size, set at run time: the log shrinks; a consumer at the head reads on -----
sized = TopicPartition("sized", 0)
admin.create_topics([NewTopic("sized", 1, 1)])
payload = b"x" * 1000
for i in range(40):
    producer.send("sized", value=payload, partition=0)
    producer.flush(timeout=30)
head = KafkaConsumer(enable_auto_commit=False, consumer_timeout_ms=5000, **common)
head.assign([sized])
head.seek_to_end(sized)
head_position = head.position(sized)
check(head_position == 40, "the head consumer starts at the end")
code, _ = alter("sized", {"retention.bytes": "5000"})
check(code == 0, "AlterConfigs sets retention.bytes")
check(describe("sized")["retention.bytes"][0] == "5000", "DescribeConfigs reports the new value")
wait_for(lambda: bounds(watcher, sized)[0] > 0, "retention.bytes shrinks the log")
start, end = bounds(watcher, sized)
check(end == 40 and 4 <= end - start <= 10, "about 5000 bytes of batches stay (log %d-%d)" % (start, end))
for i in range(5):
    producer.send("sized", value=b"tail-%d" % i, partition=0)
producer.flush(timeout=30)
tail = [m for m in head]
check([m.value for m in tail] == [b"tail-%d" % i for i in range(5)], "the head consumer reads on")
check(tail[0].offset == 40, "... from where it was")
head.close()
watcher.close()
producer.close()
admin.close()
print("retention checks passed")
