"""What idle partitions cost and give back: a release broker (memory store) with a short
partition_idle_ms; kafka-python writes one 100-byte message to each of 10,000 partitions,
twice; the broker's RSS is read after each round, once the partitions have stopped, and
12 s after that.
Usage: python3 tools/bench/passivation_rss.py [BROKER_BINARY] [IDLE_MS]
(default build/release/bin/portask, 10000 ms). Loopback only; the broker is stopped at the end."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build/release/bin/portask")
idle_ms = sys.argv[2] if len(sys.argv) > 2 else "10000"
partitions = 10000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


port, kafka_port, http_port = free_port(), free_port(), free_port()
broker = subprocess.Popen([binary, "--port", str(port), "--kafka-port", str(kafka_port),
                           "--http-port", str(http_port), "--partition-idle-ms", idle_ms,
                           "--log-retention-check-interval-ms", "500", "--log-level", "warn"])


def rss_mib():
    with open("/proc/%d/status" % broker.pid) as f:
        return int(next(l for l in f if l.startswith("VmRSS")).split()[1]) // 1024


def metric(name):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http_port).read().decode()
    return float(next(l for l in text.splitlines() if l.startswith(name + " ")).split()[1])


try:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", kafka_port)).close()
            break
        except OSError:
            time.sleep(0.05)
    print("started: %d MiB" % rss_mib())
    admin = KafkaAdminClient(bootstrap_servers="127.0.0.1:%d" % kafka_port)
    admin.create_topics([NewTopic("wide", partitions, 1)])
    producer = KafkaProducer(bootstrap_servers="127.0.0.1:%d" % kafka_port, acks="all", linger_ms=50)
    for round_ in (1, 2):
        for p in range(partitions):
            producer.send("wide", value=b"x" * 100, partition=p)
        producer.flush(timeout=120)
        time.sleep(1)  # one retention pass: the live-partition gauge is fresh
        print("round %d: every partition written: %d MiB, %d partitions live"
              % (round_, rss_mib(), metric("portask_partitions_live")))
        deadline = time.time() + 120
        while metric("portask_partitions_live") > 0 and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(1)
        print("round %d: all stopped: %d MiB, %d stopped so far"
              % (round_, rss_mib(), metric("portask_partitions_passivated_total")))
        # jemalloc returns freed pages over its decay time (10 s), glibc at the retention
        # pass's malloc_trim: a second look once both have had their time.
        time.sleep(12)
        print("round %d: 12 s later: %d MiB" % (round_, rss_mib()))
finally:
    broker.terminate()
    broker.wait()
