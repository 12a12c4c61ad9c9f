"""A librdkafka idempotent producer (confluent-kafka, acks=all) against a Portask cluster while
the owners of its partitions are killed, one after another (kill -9).

Usage: cluster_failover.py BOOTSTRAP TOPIC PARTITIONS NODE=PID [NODE=PID ...] [--kills N]

Creates TOPIC, produces numbered messages round-robin over its partitions, and after a while
kills the node leading partition 0 (then, for each further kill, the leader of the partition
with the lowest number that a live node leads); keeps producing, and finally checks against
what a consumer reads back from the survivors:
  - every acknowledged message is stored exactly once, at the offset it was acknowledged at;
  - per partition, acknowledged messages are stored in the order they were produced;
  - after each kill, a partition the killed node led gets a successful acknowledgement again
    (the time from the kill to the first is printed).
Prints one JSON line with the measurements; exit status 0 when every check held."""
import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

args = sys.argv[1:]
kills = 2
if "--kills" in args:
    at = args.index("--kills")
    kills = int(args[at + 1])
    del args[at:at + 2]
bootstrap, topic, partitions = args[0], args[1], int(args[2])
pids = {int(n): int(p) for n, p in (a.split("=") for a in args[3:])}

conf = {"bootstrap.servers": bootstrap, "topic.metadata.refresh.interval.ms": 1000}
admin = AdminClient(conf)
for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
    future.result(timeout=60)


def leaders():
    md = admin.list_topics(topic, timeout=10)
    return {p: m.leader for p, m in md.topics[topic].partitions.items()}


# Every partition led by a live node before producing starts.
deadline = time.monotonic() + 60
while time.monotonic() < deadline and any(l < 0 for l in leaders().values()):
    time.sleep(0.2)

producer = Producer(dict(conf, **{"enable.idempotence": True, "acks": "all", "linger.ms": 5,
                                  "message.timeout.ms": 120000, "retry.backoff.ms": 50}))
acked = {}  # value -> (partition, offset, time)
produced_at = {}  # value -> when it was handed to the producer
failed = []


def on_delivery(err, msg):
    if err is not None:
        failed.append(str(err))
    else:
        acked[msg.value().decode()] = (msg.partition(), msg.offset(), time.monotonic())


produced = 0


def produce_for(seconds):
    global produced
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = "m-%07d" % produced
        try:
            producer.produce(topic, value=value.encode(), partition=produced % partitions,
                             on_delivery=on_delivery)
            produced_at[value] = time.monotonic()
            produced += 1
        except BufferError:
            pass
        producer.poll(0.002)


produce_for(2.0)
killed = []
for k in range(kills):
    now_leaders = leaders()
    alive = set(pids) - {v for v, _, _ in killed}
    victim = next((now_leaders[p] for p in sorted(now_leaders) if now_leaders[p] in alive), None)
    if victim is None or len(alive) < 2:
        break
    moved = [p for p, l in now_leaders.items() if l == victim]
    os.kill(pids[victim], signal.SIGKILL)
    killed.append((victim, moved, time.monotonic()))
    produce_for(8.0)
produce_for(1.0)
remaining = producer.flush(120)

# Read everything back from the survivors.
consumer = Consumer(dict(conf, **{"group.id": "failover-check", "enable.auto.commit": False,
                                  "auto.offset.reset": "earliest"}))
stored = {p: {} for p in range(partitions)}
ends = {}
for p in range(partitions):
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
    ends[p] = high
consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
want = sum(ends.values())
got = 0
deadline = time.monotonic() + 120
while got < want and time.monotonic() < deadline:
    msg = consumer.poll(1.0)
    if msg is None or msg.error():
        continue
    stored[msg.partition()][msg.offset()] = msg.value().decode()
    got += 1
consumer.close()

problems = []
if remaining:
    problems.append("%d messages never delivered" % remaining)
if failed:
    problems.append("%d deliveries failed, e.g. %s" % (len(failed), failed[0]))
if got < want:
    problems.append("read %d of %d stored messages" % (got, want))
seen = {}
for p, log in stored.items():
    for off, value in log.items():
        seen.setdefault(value, []).append((p, off))
for value, (p, off, _) in acked.items():
    if stored[p].get(off) != value:
        problems.append("%s acknowledged at %d/%d, stored there: %s" % (value, p, off, stored[p].get(off)))
    if len(seen.get(value, [])) != 1:
        problems.append("%s stored %d times" % (value, len(seen.get(value, []))))
for p in range(partitions):
    order = [int(v[2:]) for _, v in sorted(stored[p].items())]
    if order != sorted(order):
        problems.append("partition %d out of order" % p)
failovers = []
for victim, moved, at in killed:
    # Messages produced after the kill: only a new owner can have acknowledged them.
    firsts = [t - at for v, (p, _, t) in acked.items() if p in moved and produced_at[v] > at]
    if not firsts:
        problems.append("no acknowledgement on node %d's partitions after it was killed" % victim)
    else:
        failovers.append(round(min(firsts), 3))
print(json.dumps({"produced": produced, "acknowledged": len(acked), "stored": got,
                  "failed_deliveries": len(failed), "kills": [v for v, _, _ in killed],
                  "failover_seconds": failovers, "problems": problems[:20]}))
sys.exit(1 if problems else 0)
