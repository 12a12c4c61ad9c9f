"""kafka-python (Debian's python3-kafka) against Portask: produce keyed messages with headers
to a 3-partition topic, consume every partition from the beginning, and check every message.
Usage: kafka_python_check.py BOOTSTRAP TOPIC. Exit status 0 when every message matched."""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", api_version_auto_timeout_ms=10000)
sent = {}
for i in range(60):
    key, value = b"key-%d" % i, b"value-%d" % i
    producer.send(topic, key=key, value=value, headers=[("n", str(i).encode())], partition=i % 3)
    sent[key] = (value, i % 3)
producer.flush(timeout=30)
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                         consumer_timeout_ms=5000, api_version_auto_timeout_ms=10000)
partitions = [TopicPartition(topic, p) for p in range(3)]
consumer.assign(partitions)
consumer.seek_to_beginning(*partitions)
received = {}
for m in consumer:
    received[m.key] = (m.value, m.partition, dict(m.headers))
    if len(received) == len(sent):
        break
consumer.close()

bad = [k for k, (v, p) in sent.items()
       if k not in received or received[k][0] != v or received[k][1] != p
       or received[k][2].get("n") != k.split(b"-")[1]]
print("sent %d, received %d, mismatched %d" % (len(sent), len(received), len(bad)))
sys.exit(0 if not bad and len(received) == len(sent) else 1)
