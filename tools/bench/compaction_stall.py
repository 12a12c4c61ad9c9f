"""Load and readout for tools/bench/run-compaction-stall: how long a compacted partition's
compaction holds redis-server (which runs one script at a time, and nothing else meanwhile).
Produces N1 records over K keys in small batches (many stream entries), waits for the
compactions, produces N2 more over the same keys, waits again, then prints the stream's
length and the slowest commands redis-server logged (SLOWLOG).
Usage: compaction_stall.py BOOTSTRAP REDIS_PORT N1 N2 K WAIT_S"""
import socket
import sys
import time
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from keyed_producer import produce_keyed

bootstrap, redis_port = sys.argv[1], int(sys.argv[2])
n1, n2, keys, wait_s = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
topic = "kv"


def redis(*args):
    """One command to redis-server over RESP; the parsed reply."""
    with socket.create_connection(("127.0.0.1", redis_port)) as s:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        f = s.makefile("rb")

        def parse():
            line = f.readline()
            kind, rest = line[:1], line[1:-2]
            if kind == b"*":
                return [parse() for _ in range(int(rest))]
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2]
            if kind == b":":
                return int(rest)
            return rest
        return parse()


def produce(first, n):
    # Small batches: every 20 records one batch, one stream entry.
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 20,
                  "acks": "all", "queue.buffering.max.messages": 1000000})
    produce_keyed(p, topic, first, n, keys, b"v" * 100, 120)


admin = AdminClient({"bootstrap.servers": bootstrap})
config = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01"}
for f in admin.create_topics([NewTopic(topic, 1, 1, config=config)]).values():
    f.result()
key = "portask:{kv:0}:log"  # the default key prefix (docs/storage.md)
redis("SLOWLOG", "RESET")
produce(0, n1)
print("stream entries after producing %d records: %d" % (n1, redis("XLEN", key)))
time.sleep(wait_s)
print("after compacting: %d" % redis("XLEN", key))
produce(0, n2)
time.sleep(wait_s)
print("after producing %d more and compacting: %d" % (n2, redis("XLEN", key)))
rows = sorted(((e[2], e[3]) for e in redis("SLOWLOG", "GET", 100000)), key=lambda r: -r[0])
evals = [d for d, args in rows if args[0].upper() in (b"EVAL", b"EVALSHA")]
others = [(d, args) for d, args in rows if args[0].upper() not in (b"EVAL", b"EVALSHA")]
print("scripts (compaction steps and other scripts) over the threshold: %d, longest %.1f ms, %.1f ms in all"
      % (len(evals), max(evals, default=0) / 1000, sum(evals) / 1000))
for d, args in others[:3]:
    print("other command: %.1f ms %s" % (d / 1000, b" ".join(a[:32] for a in args[:6]).decode(errors="replace")))
