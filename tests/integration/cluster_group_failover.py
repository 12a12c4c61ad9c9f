"""A consumer group against a Portask cluster whose group coordinator is killed (kill -9)
while the group consumes.

Usage: cluster_group_failover.py BOOTSTRAP TOPIC GROUP CLIENT NODE=PID [NODE=PID ...]
CLIENT: "confluent" (librdkafka) or "kafka-python".

Produces 3000 numbered messages over 6 partitions, then consumes them in GROUP, committing
after every batch; once a third is consumed, kills the group's coordinator (as
FindCoordinator names it). Checks: every message is consumed (at least once); the committed
offsets, read back every half second, never go backwards; consumption and commits resume
after the kill (the times are printed). One JSON line; exit status 0 when every check held."""
import json
import os
import signal
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient

bootstrap, topic, group, client = sys.argv[1:5]
pids = {int(n): int(p) for n, p in (a.split("=") for a in sys.argv[5:])}
partitions, total = 6, 3000

admin = AdminClient({"bootstrap.servers": bootstrap})
for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
    future.result(timeout=60)
producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                     "message.timeout.ms": 120000})
failed = []
for i in range(total):
    while True:
        try:
            producer.produce(topic, value=b"g-%05d" % i, partition=i % partitions,
                             on_delivery=lambda err, msg: err and failed.append(str(err)))
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
if producer.flush(120) or failed:
    print(json.dumps({"problems": ["producing failed: %s" % failed[:3]]}))
    sys.exit(1)


def coordinator():
    a = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=10000)
    try:
        return a._find_coordinator_ids([group])[group]
    finally:
        a.close()


if client == "confluent":
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    consumer.subscribe([topic])

    def poll():
        msgs = consumer.consume(200, 0.5)
        return [m.value().decode() for m in msgs if not m.error()]

    def commit():
        try:
            consumer.commit(asynchronous=False)
            return True
        except Exception:
            return False

else:
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap.split(","), group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=10000, heartbeat_interval_ms=500,
                             request_timeout_ms=15000)

    def poll():
        out = []
        for records in consumer.poll(500, max_records=200).values():
            out.extend(r.value.decode() for r in records)
        return out

    def commit():
        try:
            consumer.commit()
            return True
        except Exception:
            return False


# Committed offsets as the store has them, through an admin client of its own (a consumer's
# committed() may answer from its own cache).
offsets_admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=10000)


def committed():
    found = offsets_admin.list_consumer_group_offsets(group)
    return {tp.partition: meta.offset for tp, meta in found.items() if tp.topic == topic}


seen = set()
problems = []
last_committed = {}
killed_at = None
victim = None
first_message_after = None
first_commit_after = None
next_check = 0
deadline = time.monotonic() + 240
while len(seen) < total and time.monotonic() < deadline:
    values = poll()
    now = time.monotonic()
    if values:
        seen.update(values)
        if killed_at is not None and first_message_after is None:
            first_message_after = now - killed_at
        if commit() and killed_at is not None and first_commit_after is None:
            first_commit_after = time.monotonic() - killed_at
    if now >= next_check:
        next_check = now + 0.5
        try:
            for p, off in committed().items():
                if off is None or off < 0:
                    continue
                if off < last_committed.get(p, -1):
                    problems.append("partition %d committed offset went back from %d to %d"
                                    % (p, last_committed[p], off))
                last_committed[p] = max(off, last_committed.get(p, -1))
        except Exception:
            pass  # the coordinator is moving
    if killed_at is None and len(seen) >= total // 3:
        victim = coordinator()
        if victim not in pids or len(pids) < 2:
            problems.append("coordinator %s is not a node of this test" % victim)
            break
        os.kill(pids[victim], signal.SIGKILL)
        killed_at = time.monotonic()
consumer.close()
offsets_admin.close()

if len(seen) < total:
    problems.append("consumed %d of %d messages" % (len(seen), total))
if killed_at is None:
    problems.append("the coordinator was never killed")
elif first_message_after is None or first_commit_after is None:
    problems.append("consumption or commits never resumed after the kill")
print(json.dumps({"client": client, "coordinator_killed": victim, "consumed": len(seen),
                  "resumed_seconds": first_message_after, "first_commit_seconds": first_commit_after,
                  "problems": problems[:20]}))
sys.exit(1 if problems else 0)
