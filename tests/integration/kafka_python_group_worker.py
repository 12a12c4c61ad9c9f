"""One kafka-python group member for the group scenarios of kafka_clients_test.cpp.
Usage: kafka_python_group_worker.py BOOTSTRAP TOPIC GROUP OUTFILE DELAY_MS

Consumes TOPIC in GROUP and, for every record, writes `REC partition offset value` to
OUTFILE, then commits that record's next offset synchronously and writes
`COMMIT partition offset` once the broker acknowledged it (at-least-once processing).
`ASSIGN p,p,...` lines record each assignment. SIGTERM closes the consumer (LeaveGroup);
SIGKILL is the crash case. Exits by itself after 120 s at the latest."""
import signal
import sys
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

bootstrap, topic, group, outfile, delay_ms = sys.argv[1:6]
delay = int(delay_ms) / 1000.0
out = open(outfile, "a", buffering=1)
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", session_timeout_ms=3000,
                         heartbeat_interval_ms=300, max_poll_records=10,
                         api_version_auto_timeout_ms=10000, reconnect_backoff_max_ms=500)
consumer.subscribe([topic])
last_assignment = None
deadline = time.time() + 120
while not stop and time.time() < deadline:
    try:
        batches = consumer.poll(timeout_ms=100)
    except Exception as e:  # the broker restarting: keep going
        out.write("ERROR poll %s\n" % type(e).__name__)
        time.sleep(0.2)
        continue
    assignment = sorted(tp.partition for tp in consumer.assignment())
    if assignment != last_assignment:
        out.write("ASSIGN %s\n" % ",".join(str(p) for p in assignment))
        last_assignment = assignment
    for tp, records in batches.items():
        for r in records:
            if stop:
                break
            out.write("REC %d %d %s\n" % (r.partition, r.offset, r.value.decode()))
            time.sleep(delay)
            try:
                consumer.commit({TopicPartition(topic, r.partition): OffsetAndMetadata(r.offset + 1, "")})
                out.write("COMMIT %d %d\n" % (r.partition, r.offset + 1))
            except Exception as e:
                out.write("ERROR commit %s\n" % type(e).__name__)
consumer.close()
out.write("CLOSED\n")
