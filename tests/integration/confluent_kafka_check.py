"""confluent-kafka (Debian's python3-confluent-kafka, on librdkafka) against Portask: create a
3-partition topic, produce keyed messages with headers, consume them through a consumer
group, and check every one. Usage: confluent_kafka_check.py BOOTSTRAP TOPIC GROUP.
Security from the environment: SECURITY_PROTOCOL (SSL, SASL_SSL, ...), SSL_CA, SSL_CERT,
SSL_KEY, SASL_MECHANISM, SASL_USER, SASL_PASSWORD. Exit status 0 when every message matched."""
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
conf = {"bootstrap.servers": bootstrap}
if os.environ.get("SECURITY_PROTOCOL"):
    conf["security.protocol"] = os.environ["SECURITY_PROTOCOL"]
    for key, env in (("ssl.ca.location", "SSL_CA"), ("ssl.certificate.location", "SSL_CERT"),
                     ("ssl.key.location", "SSL_KEY"), ("sasl.mechanisms", "SASL_MECHANISM"),
                     ("sasl.username", "SASL_USER"), ("sasl.password", "SASL_PASSWORD")):
        if os.environ.get(env):
            conf[key] = os.environ[env]

admin = AdminClient(conf)
for future in admin.create_topics([NewTopic(topic, 3, 1)]).values():
    future.result(timeout=30)

producer = Producer(dict(conf, acks="all"))
failures = []
sent = {}
for i in range(60):
    key, value = b"key-%d" % i, b"value-%d" % i
    producer.produce(topic, key=key, value=value, headers=[("n", str(i).encode())], partition=i % 3,
                     on_delivery=lambda err, msg: err and failures.append(err))
    sent[key] = (value, i % 3)
producer.flush(30)
if failures:
    print("delivery failed:", failures)
    sys.exit(1)

consumer = Consumer(dict(conf, **{"group.id": group, "auto.offset.reset": "earliest",
                                  "enable.auto.commit": False}))
consumer.subscribe([topic])
received = {}
deadline = time.monotonic() + 60
while len(received) < len(sent) and time.monotonic() < deadline:
    m = consumer.poll(1.0)
    if m is None:
        continue
    if m.error():
        if m.error().code() != KafkaError._PARTITION_EOF:
            print("consume error:", m.error())
        continue
    received[m.key()] = (m.value(), m.partition(), dict(m.headers() or []))
consumer.commit(asynchronous=False)
consumer.close()

bad = [k for k, (v, p) in sent.items()
       if k not in received or received[k][0] != v or received[k][1] != p
       or received[k][2].get("n") != k.split(b"-")[1]]
print("sent %d, received %d, mismatched %d" % (len(sent), len(received), len(bad)))
sys.exit(0 if not bad and len(received) == len(sent) else 1)
