"""Reads a /metrics body with the official Prometheus Python parser and checks that every
family has a real type (an interleaved or misnamed family comes out as 'unknown') and a
sample (promtool lints only families with samples: one the test's traffic leaves empty is
checked by neither), and that the families Portask documents are there with their types."""
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
families = {f.name: f for f in text_string_to_metric_families(text)}
untyped = [n for n, f in families.items() if f.type in ("unknown", "untyped")]
assert not untyped, f"families without a type: {untyped}"
empty = [n for n, f in families.items() if not f.samples]
assert not empty, f"families without a sample (give the test traffic that reaches them): {empty}"
expected = {
    "portask_requests": "counter",
    "portask_messages_in": "counter",
    "portask_open_connections": "gauge",
    "portask_request_duration_seconds": "histogram",
    "portask_store_command_duration_seconds": "histogram",
    "portask_kafka_request_duration_seconds": "histogram",
    "portask_produce_batch_records": "histogram",
    "portask_consumer_group_lag": "gauge",
    "portask_consumer_group_total_lag": "gauge",
    "portask_listener_connections": "gauge",
    "portask_fetch_wait_seconds": "histogram",
    "portask_build_info": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_cpu_seconds": "counter",
}
for name, kind in expected.items():
    assert name in families, f"missing family {name}; have {sorted(families)}"
    assert families[name].type == kind, f"{name} is {families[name].type}, not {kind}"
publish = [s for s in families["portask_request_duration_seconds"].samples
           if s.labels.get("request") == "publish" and s.name.endswith("_count")]
assert publish and publish[0].value >= 1, "publish latency not counted"
buckets = [s for s in families["portask_request_duration_seconds"].samples
           if s.labels.get("request") == "publish" and s.name.endswith("_bucket")]
values = [s.value for s in buckets]
assert values == sorted(values), "buckets are not cumulative"
assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == publish[0].value
print(f"metrics check passed: {len(families)} families")
