// segmentio/kafka-go (Debian's golang-github-segmentio-kafka-go-dev, 0.2) against Portask:
// create a topic, write keyed messages in batches, read each partition's bounds from its
// leader, read everything through a consumer group that commits every message, then check
// that a new member of the group starts after those commits.
// Usage: kafka_go_check BOOTSTRAP. Exit status 0 when every message came back.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

const messages = 500
const partitions = 2

func fail(format string, args ...interface{}) {
	fmt.Printf("kafka-go: FAIL "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: kafka_go_check BOOTSTRAP")
	}
	bootstrap := os.Args[1]
	topic := fmt.Sprintf("kafka-go-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	conn, err := kafka.DialContext(ctx, "tcp", bootstrap)
	if err != nil {
		fail("dial: %v", err)
	}
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}); err != nil {
		fail("create topic: %v", err)
	}
	conn.Close()

	w := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{bootstrap}, Topic: topic, BatchSize: 50,
		BatchTimeout: 10 * time.Millisecond})
	var batch []kafka.Message
	for i := 0; i < messages; i++ {
		batch = append(batch, kafka.Message{Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprint("v", i))})
	}
	if err := w.WriteMessages(ctx, batch...); err != nil {
		fail("write: %v", err)
	}
	w.Close()

	stored := int64(0)
	for p := 0; p < partitions; p++ {
		leader, err := kafka.DialLeader(ctx, "tcp", bootstrap, topic, p)
		if err != nil {
			fail("dial the leader of %d: %v", p, err)
		}
		first, last, err := leader.ReadOffsets()
		if err != nil {
			fail("offsets of %d: %v", p, err)
		}
		stored += last - first
		leader.Close()
	}
	if stored != messages {
		fail("the partitions hold %d messages, want %d", stored, messages)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, GroupID: "group-" + topic, Topic: topic,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	seen := map[string]string{}
	for len(seen) < messages {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			fail("fetch after %d messages: %v", len(seen), err)
		}
		seen[string(m.Value)] = string(m.Key)
		if err := r.CommitMessages(ctx, m); err != nil {
			fail("commit: %v", err)
		}
	}
	r.Close()
	// The group's commits hold: a new member of the group starts after them, so the first
	// message it reads is one written after they were made (without them it would start at
	// the first offset and read v0).
	w = kafka.NewWriter(kafka.WriterConfig{Brokers: []string{bootstrap}, Topic: topic})
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("after"), Value: []byte("after")}); err != nil {
		fail("write after the commits: %v", err)
	}
	w.Close()
	r = kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, GroupID: "group-" + topic, Topic: topic,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	next, err := r.FetchMessage(ctx)
	if err != nil {
		fail("fetch after the commits: %v", err)
	}
	if string(next.Value) != "after" {
		fail("a new member of the group read %q first, not the message after the commits", next.Value)
	}
	r.Close()
	for i := 0; i < messages; i++ {
		if key, ok := seen[fmt.Sprint("v", i)]; !ok || key != fmt.Sprint("k", i) {
			fail("message v%d: key %q, read %v", i, key, ok)
		}
	}
	fmt.Printf("kafka-go: %d messages checked\n", len(seen))
}
