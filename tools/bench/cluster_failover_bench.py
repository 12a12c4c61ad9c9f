"""Failover time of a Portask cluster: from `kill -9` of a partition's owner to the first
acknowledged write on a partition it owned, over many kills (docs/benchmarks.md).

Usage: cluster_failover_bench.py PORTASK_BINARY STORE_URL NODES KILLS WORKDIR

Starts NODES nodes (ids 1..NODES) on free loopback ports, creates a 12-partition topic, and
produces (librdkafka via confluent-kafka, idempotent, acks=all) all the time. Each round kills
the leader of one partition (taking turns), measures the failover, restarts the killed node
under the same id once its registration has expired, and waits until every partition has a
live leader again. Prints every measurement, then the median, p90 and p99 (nearest rank)."""
import os
import signal
import socket
import subprocess
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

binary, store, nodes, kills, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
partitions = 12


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ports = {i: (free_port(), free_port(), free_port()) for i in range(1, nodes + 1)}
procs = {}


def start(i):
    native, kafka, http = ports[i]
    log = open(os.path.join(work, "node-%d.log" % i), "a")
    # A restarted node's id is refused until its last registration expires: retry until it
    # stays up.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        p = subprocess.Popen([binary, "--store", store, "--node-id", str(i), "--port", str(native),
                              "--kafka-port", str(kafka), "--http-port", str(http), "--log-level", "warn"],
                             stdout=log, stderr=log)
        for _ in range(100):
            if p.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", kafka), timeout=0.2).close()
                procs[i] = p
                return
            except OSError:
                time.sleep(0.05)
        if p.poll() is None:
            p.kill()
        time.sleep(0.25)
    raise SystemExit("node %d did not start" % i)


for i in ports:
    start(i)
bootstrap = ",".join("127.0.0.1:%d" % ports[i][1] for i in ports)
topic = "failover-bench"
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
    f.result(timeout=60)


per_node = {i: AdminClient({"bootstrap.servers": "127.0.0.1:%d" % ports[i][1]}) for i in ports}


def leaders(client=None):
    md = (client or admin).list_topics(topic, timeout=10)
    live = set(md.brokers)
    return {p: (m.leader if m.leader in live else -1) for p, m in md.topics[topic].partitions.items()}


def agreed():
    seen = [leaders(c) for c in per_node.values()]
    first = seen[0]
    return first if all(l > 0 for l in first.values()) and all(s == first for s in seen) else None


def settle():
    # Every node names the same live leader for every partition, and still does a while later
    # (a restarted node takes its partitions back over a round or two).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        first = agreed()
        if first is not None:
            time.sleep(2.0)
            if agreed() == first:
                return
        time.sleep(0.1)
    raise SystemExit("partitions did not all get a stable leader")


last_ack = {}
producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                     "linger.ms": 1, "message.timeout.ms": 120000, "retry.backoff.ms": 20,
                     "topic.metadata.refresh.interval.ms": 1000})


def on_delivery(err, msg):
    # (when produced, when its acknowledgement was seen): delivery reports run in poll(), so
    # one the killed node sent just before it died can be seen after the kill.
    if err is None:
        last_ack.setdefault(msg.partition(), []).append((float(msg.key()), time.monotonic()))


counter = 0


def produce_until(done, limit):
    global counter
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            producer.produce(topic, key=repr(time.monotonic()).encode(), value=b"x" * 100,
                             partition=counter % partitions, on_delivery=on_delivery)
            counter += 1
        except BufferError:
            pass
        producer.poll(0.001)
        if done():
            return True
    return False


settle()
produce_until(lambda: False, 1.0)
times = []
for k in range(kills):
    settle()
    now_leaders = agreed()
    victim = now_leaders[k % partitions]
    moved = [p for p, l in now_leaders.items() if l == victim]
    for p in moved:
        last_ack[p] = []
    procs[victim].send_signal(signal.SIGKILL)
    procs[victim].wait()
    killed = time.monotonic()
    # Only a message produced after the kill proves a new owner acknowledged it.
    if not produce_until(lambda: any(sent > killed for p in moved for sent, _ in last_ack.get(p, [])), 60):
        raise SystemExit("no acknowledgement on a moved partition within 60 s")
    first = min(seen for p in moved for sent, seen in last_ack[p] if sent > killed) - killed
    times.append(first)
    print("kill %2d: node %d (%d partitions) -> first acknowledgement after %.3f s" % (k + 1, victim, len(moved), first),
          flush=True)
    start(victim)
producer.flush(60)
for p in procs.values():
    p.send_signal(signal.SIGTERM)
for p in procs.values():
    p.wait()
ranked = sorted(times)


def rank(q):
    return ranked[max(0, min(len(ranked) - 1, int(-(-q * len(ranked) // 1)) - 1))]


print("failover over %d kills: median %.3f s, p90 %.3f s, p99 %.3f s, max %.3f s"
      % (len(times), rank(0.5), rank(0.9), rank(0.99), ranked[-1]))
