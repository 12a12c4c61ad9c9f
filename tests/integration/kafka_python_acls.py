"""ACLs through a real admin client: kafka-python (Debian's python3-kafka) as the admin user
creates topics and ACL bindings over SASL SCRAM-SHA-512, then acts as user alice (SCRAM-SHA-256)
and checks what the broker allows her: reading topic `orders` and writing topics prefixed
`logs-`, joining group `readers` only, seeing but not reading `payments`; a DENY beats the prefixed ALLOW; deleting her READ
binding takes her access away.
Usage: kafka_python_acls.py BOOTSTRAP ADMIN_PASSWORD ALICE_PASSWORD. Exit status 0 when every
check held; each failed check is printed."""
import faulthandler
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                         KafkaAdminClient, NewTopic, ResourcePattern, ResourcePatternFilter, ResourceType)
from kafka.errors import KafkaError

bootstrap, admin_password, alice_password = sys.argv[1:4]
faulthandler.dump_traceback_later(150, exit=True)  # bounded: a hang shows where it hung
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def sasl(user, password, mechanism):
    return dict(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                sasl_plain_username=user, sasl_plain_password=password, api_version_auto_timeout_ms=10000)


def refused(action):
    """The name of the error `action` raised, or None when it succeeded."""
    try:
        action()
        return None
    except KafkaError as e:
        return type(e).__name__


admin = KafkaAdminClient(**sasl("admin", admin_password, "SCRAM-SHA-512"))
admin.create_topics([NewTopic("orders", 1, 1), NewTopic("payments", 1, 1), NewTopic("logs-app", 1, 1),
                     NewTopic("logs-secret", 1, 1)])
alice = "User:alice"
bindings = [
    ACL(alice, "*", ACLOperation.READ, ACLPermissionType.ALLOW,
        ResourcePattern(ResourceType.TOPIC, "orders", ACLResourcePatternType.LITERAL)),
    ACL(alice, "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
        ResourcePattern(ResourceType.TOPIC, "logs-", ACLResourcePatternType.PREFIXED)),
    ACL(alice, "*", ACLOperation.WRITE, ACLPermissionType.DENY,
        ResourcePattern(ResourceType.TOPIC, "logs-secret", ACLResourcePatternType.LITERAL)),
    ACL(alice, "*", ACLOperation.READ, ACLPermissionType.ALLOW,
        ResourcePattern(ResourceType.GROUP, "readers", ACLResourcePatternType.LITERAL)),
    # DESCRIBE without READ: alice sees these topics and their offsets, but reads nothing.
    # (Without DESCRIBE kafka-python 2.0 waits for metadata forever instead of failing.)
    ACL(alice, "*", ACLOperation.DESCRIBE, ACLPermissionType.ALLOW,
        ResourcePattern(ResourceType.TOPIC, "payments", ACLResourcePatternType.LITERAL)),
    ACL(alice, "*", ACLOperation.DESCRIBE, ACLPermissionType.ALLOW,
        ResourcePattern(ResourceType.TOPIC, "orders", ACLResourcePatternType.LITERAL)),
]
created = admin.create_acls(bindings)
check(len(created["succeeded"]) == 6 and not created["failed"], "admin created 6 ACL bindings: %s" % created["failed"])
described, error = admin.describe_acls(ACLFilter(alice, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                                 ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
check(len(described) == 6, "describe_acls lists alice's 6 bindings (got %d)" % len(described))

# The admin writes to orders for alice to read.
producer = KafkaProducer(**sasl("admin", admin_password, "SCRAM-SHA-512"))
producer.send("orders", b"order-1").get(timeout=20)
producer.close()

as_alice = sasl("alice", alice_password, "SCRAM-SHA-256")

# Writing: logs-app is allowed by the prefix; orders is not; logs-secret is denied.
producer = KafkaProducer(max_block_ms=5000, **as_alice)
check(refused(lambda: producer.send("logs-app", b"line").get(timeout=20)) is None, "alice writes to logs-app")
err = refused(lambda: producer.send("orders", b"x").get(timeout=20))
check(err is not None and "Authorization" in err, "alice cannot write to orders (%s)" % err)
err = refused(lambda: producer.send("logs-secret", b"x").get(timeout=20))
check(err is not None and "Authorization" in err, "DENY on logs-secret beats the prefixed ALLOW (%s)" % err)
producer.close()


def read_all(topic, group=None):
    consumer = KafkaConsumer(group_id=group, enable_auto_commit=False, consumer_timeout_ms=5000,
                             auto_offset_reset="earliest", **as_alice)
    try:
        if group:
            consumer.subscribe([topic])
        else:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
        return [m.value for m in consumer]
    finally:
        consumer.close()


got = []
err = refused(lambda: got.extend(read_all("orders")))
check(err is None and got == [b"order-1"], "alice reads orders (%s, %s)" % (err, got))
err = refused(lambda: read_all("payments"))
check(err is not None and "Authorization" in err, "alice cannot read payments (%s)" % err)
got = []
err = refused(lambda: got.extend(read_all("orders", "readers")))
check(err is None and got == [b"order-1"], "alice reads orders in group readers (%s, %s)" % (err, got))
err = refused(lambda: read_all("orders", "writers"))
check(err is not None and "Authorization" in err, "alice cannot join group writers (%s)" % err)

# Taking the binding away takes the access away. Two filters match it: as Kafka's KRaft
# controller does, it is listed under each.
deleted = admin.delete_acls([ACLFilter(alice, None, ACLOperation.READ, ACLPermissionType.ALLOW,
                                       ResourcePatternFilter(ResourceType.TOPIC, "orders",
                                                             ACLResourcePatternType.LITERAL)),
                             ACLFilter(alice, None, ACLOperation.READ, ACLPermissionType.ALLOW,
                                       ResourcePatternFilter(ResourceType.TOPIC, "orders",
                                                             ACLResourcePatternType.ANY))])
check(len(deleted) == 2 and len(deleted[0][1]) == 1 and len(deleted[1][1]) == 1,
      "admin deleted alice's READ on orders, listed under both filters: %s" % (deleted,))
err = refused(lambda: read_all("orders"))
check(err is not None and "Authorization" in err, "after the delete alice cannot read orders (%s)" % err)
admin.close()
print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
