"""kafka-python speaking Kafka 0.10.0's protocol (api_version pinned, no ApiVersions): Produce
v2 with message sets of magic 1 (timestamps, no headers) and Fetch v2, against Portask.
Usage: kafka_python_old_protocol.py BOOTSTRAP TOPIC. Exit status 0 when every message
produced is read back with its key, value and timestamp."""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
old = dict(bootstrap_servers=bootstrap, api_version=(0, 10, 0))
producer = KafkaProducer(acks="all", **old)
sent = {}
for i in range(10):
    key, value, ts = f"k{i}".encode(), f"v{i}".encode(), 1_700_000_000_000 + i
    producer.send(topic, key=key, value=value, partition=0, timestamp_ms=ts).get(timeout=30)
    sent[key] = (value, ts)
producer.close(timeout=30)

consumer = KafkaConsumer(consumer_timeout_ms=10_000, **old)
consumer.assign([TopicPartition(topic, 0)])
consumer.seek_to_beginning()
got = {}
for m in consumer:  # ends at the 10th message, or after 10 s without one
    got[m.key] = (m.value, m.timestamp)
    if len(got) == len(sent):
        break
consumer.close()
if got != sent:
    print(f"mismatch: sent {sent} got {got}")
    sys.exit(1)
print(f"{len(got)} magic-1 messages checked")
