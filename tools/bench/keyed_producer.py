"""Load for tools/bench/run-compaction-soak: creates TOPIC (one partition, cleanup.policy=compact)
and produces N records over K keys (values of SIZE bytes) with librdkafka (confluent-kafka),
acks=all. Usage: keyed_producer.py BOOTSTRAP TOPIC N K SIZE"""
import sys
import time
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def produce_keyed(producer, topic, first, n, keys, value, flush_s):
    """Records first..first+n-1 to partition 0, record i under key "key-<i mod keys>"."""
    for i in range(first, first + n):
        while True:
            try:
                producer.produce(topic, key=b"key-%d" % (i % keys), value=value, partition=0)
                break
            except BufferError:
                producer.poll(0.01)
        if i % 5000 == 0:
            producer.poll(0)
    producer.flush(flush_s)


if __name__ == "__main__":
    bootstrap, topic = sys.argv[1], sys.argv[2]
    n, keys, size = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})]).values():
        f.result()
    start = time.time()
    produce_keyed(Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"}),
                  topic, 0, n, keys, b"v" * size, 60)
    print("produced %d in %.2f s" % (n, time.time() - start))
