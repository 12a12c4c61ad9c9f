"""kafka-python (Debian's python3-kafka) against Portask: produce keyed messages with headers
to a 3-partition topic, consume every partition from the beginning, and check every message.
Usage: kafka_python_check.py BOOTSTRAP TOPIC. Exit status 0 when every message matched.
Security from the environment: SECURITY_PROTOCOL (SSL, SASL_SSL, ...), SSL_CA, SSL_CERT,
SSL_KEY, SASL_MECHANISM, SASL_USER, SASL_PASSWORD."""
import os
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

bootstrap, topic = sys.argv[1], sys.argv[2]
security = {}
if os.environ.get("SECURITY_PROTOCOL"):
    security["security_protocol"] = os.environ["SECURITY_PROTOCOL"]
    for key, env in (("ssl_cafile", "SSL_CA"), ("ssl_certfile", "SSL_CERT"), ("ssl_keyfile", "SSL_KEY"),
                     ("sasl_mechanism", "SASL_MECHANISM"), ("sasl_plain_username", "SASL_USER"),
                     ("sasl_plain_password", "SASL_PASSWORD")):
        if os.environ.get(env):
            security[key] = os.environ[env]
# The topic needs 3 partitions: made here unless the caller made it.
admin = KafkaAdminClient(bootstrap_servers=bootstrap, api_version_auto_timeout_ms=10000, **security)
try:
    admin.create_topics([NewTopic(topic, 3, 1)])
except TopicAlreadyExistsError:
    pass
admin.close()
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", api_version_auto_timeout_ms=10000,
                         **security)
sent = {}
for i in range(60):
    key, value = b"key-%d" % i, b"value-%d" % i
    producer.send(topic, key=key, value=value, headers=[("n", str(i).encode())], partition=i % 3)
    sent[key] = (value, i % 3)
producer.flush(timeout=30)
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                         consumer_timeout_ms=5000, api_version_auto_timeout_ms=10000, **security)
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
