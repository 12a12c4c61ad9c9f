"""kafka-python (Debian's python3-kafka) against log compaction (cleanup.policy=compact): the
newest record of each key stays at its offset, older ones go, tombstones stay for
delete.retention.ms after compaction first cleaned them (whatever their own timestamp), then
go, the newest batch is never touched, a record without a key is refused (INVALID_RECORD), a
consumer positioned on a removed offset reads on from the next record, and __consumer_offsets
(compacted, written on every commit) shrinks.
Usage: kafka_python_compaction.py BOOTSTRAP. Exit status 0 when every check held."""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

from python_checks import check, wait_for

bootstrap = sys.argv[1]
common = dict(bootstrap_servers=bootstrap, api_version_auto_timeout_ms=10000)
admin = KafkaAdminClient(**common)


def read_all(topic):
    """Every record of partition 0 from the log start, as (offset, key, value)."""
    c = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest",
                      consumer_timeout_ms=3000, **common)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    end = c.end_offsets([tp])[tp]
    out = []
    deadline = time.time() + 30
    while c.position(tp) < end and time.time() < deadline:
        for records in c.poll(timeout_ms=1000).values():
            out += [(r.offset, r.key, r.value) for r in records]
    c.close()
    return out


admin.create_topics([NewTopic("changelog", 1, 1, topic_configs={
    "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "3600000"})])
producer = KafkaProducer(acks="all", linger_ms=0, **common)
offsets = {}
# Ten rounds of five keys, one batch each: k0..k4 = r0..r9.
for r in range(10):
    for k in range(5):
        md = producer.send("changelog", key=b"k%d" % k, value=b"r%d" % r, partition=0)
        producer.flush(timeout=30)
        offsets[(k, r)] = md.get(timeout=30).offset
# A tombstone for k3 stamped two hours ago, one for k2 stamped now: both stay, since
# delete.retention.ms counts from when compaction first cleaned them. Then one more batch: the
# newest, which compaction never touches.
old = int(time.time() * 1000) - 2 * 3600 * 1000
k3_tombstone = producer.send("changelog", key=b"k3", value=None, partition=0,
                             timestamp_ms=old).get(timeout=30).offset
k2_tombstone = producer.send("changelog", key=b"k2", value=None, partition=0).get(timeout=30).offset
last = producer.send("changelog", key=b"k0", value=b"newest", partition=0).get(timeout=30).offset
producer.flush(timeout=30)
check(last == 52, "53 records written")

# A record without a key: a compacted topic refuses it (Kafka's INVALID_RECORD, 87, which this
# kafka-python does not name), and stores nothing of it.
try:
    producer.send("changelog", value=b"no key", partition=0).get(timeout=30)
    check(False, "a record without a key is refused")
except Exception as e:  # kafka.errors.UnknownError (87)
    check("87" in str(e) or "Unknown" in type(e).__name__, "refused with INVALID_RECORD: %r" % e)

expected = [(offsets[(1, 9)], b"k1", b"r9"), (offsets[(4, 9)], b"k4", b"r9"),
            (offsets[(0, 9)], b"k0", b"r9"), (k3_tombstone, b"k3", None),
            (k2_tombstone, b"k2", None), (last, b"k0", b"newest")]
expected.sort()
wait_for(lambda: read_all("changelog") == expected,
         "compaction leaves the newest record of each key at its offset")
check(True, "both tombstones stay (an hour from their first compaction); the newest batch keeps k0")

# With delete.retention.ms=0 a tombstone goes at the compaction after the one that cleaned it,
# and its key with it.
admin.create_topics([NewTopic("deletions", 1, 1, topic_configs={
    "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0"})])
for key, value in [(b"a", b"1"), (b"b", b"1"), (b"a", None), (b"z", b"newest")]:
    producer.send("deletions", key=key, value=value, partition=0).get(timeout=30)
wait_for(lambda: read_all("deletions") == [(1, b"b", b"1"), (3, b"z", b"newest")],
         "the tombstone went, and the record it deleted")
check(True, "a tombstone goes once it has been clean for delete.retention.ms")

tp = TopicPartition("changelog", 0)
c = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="none", consumer_timeout_ms=5000, **common)
c.assign([tp])
check(c.beginning_offsets([tp])[tp] == 0, "the log start stays at 0")
check(c.end_offsets([tp])[tp] == 53, "the log end stays at 53")
c.seek(tp, 3)  # k3 at round 0: removed
got = []
deadline = time.time() + 30
while not got and time.time() < deadline:
    for records in c.poll(timeout_ms=1000).values():
        got += records
check(got and got[0].offset == expected[0][0],
      "a consumer on a removed offset reads on from the next record (no OFFSET_OUT_OF_RANGE)")
c.close()

# -- __consumer_offsets: compacted, one record per commit -------------------------------------
group = KafkaConsumer(group_id="committer", enable_auto_commit=False, **common)
group.assign([tp])
for i in range(40):
    group.commit({tp: OffsetAndMetadata(i, "")})
group.close()


def offsets_topic_shrank():
    records = read_all("__consumer_offsets")
    mine = [r for r in records if r[1] is not None and b"committer" in r[1]]
    return 0 < len(mine) < 10


wait_for(offsets_topic_shrank, "__consumer_offsets keeps only the newest commits of the group")
check(True, "40 commits left at most 9 records of the group in __consumer_offsets")
print("compaction checks passed")
