"""Load for tools/bench/run-compaction-soak: creates TOPIC (one partition, cleanup.policy=compact)
and produces N records over K keys (values of SIZE bytes) with librdkafka (confluent-kafka),
acks=all. Usage: keyed_producer.py BOOTSTRAP TOPIC N K SIZE"""
import sys
import time
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, n, keys, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})]).values():
    f.result()
p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
value = b"v" * size
start = time.time()
for i in range(n):
    while True:
        try:
            p.produce(topic, key=b"key-%d" % (i % keys), value=value, partition=0)
            break
        except BufferError:
            p.poll(0.01)
    if i % 10000 == 0:
        p.poll(0)
p.flush(60)
print("produced %d in %.2f s" % (n, time.time() - start))
