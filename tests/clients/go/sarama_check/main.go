// Sarama (Debian's golang-github-shopify-sarama-dev, 1.22) against Portask, speaking the
// protocol of the Kafka version it is told to: admin (from 0.10.1), keyed messages with
// headers (from 0.11) in the given compression, a plain partition consumer, a consumer group
// that commits, and the group's committed offsets read back.
// Usage: sarama_check BOOTSTRAP KAFKA_VERSION [none|gzip|snappy|lz4|zstd]
// Exit status 0 when every step matched; the failing step is printed otherwise.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

const keyed = 300   // sent one by one
const batched = 100 // sent as one SendMessages call

func fail(format string, args ...interface{}) {
	fmt.Printf("sarama: FAIL "+format+"\n", args...)
	os.Exit(1)
}

func compression(name string) sarama.CompressionCodec {
	switch name {
	case "gzip":
		return sarama.CompressionGZIP
	case "snappy":
		return sarama.CompressionSnappy
	case "lz4":
		return sarama.CompressionLZ4
	case "zstd":
		return sarama.CompressionZSTD
	case "none", "":
		return sarama.CompressionNone
	}
	fail("unknown compression %q", name)
	return sarama.CompressionNone
}

// counter is a group handler that marks every message and says when it has seen them all.
type counter struct {
	mu   sync.Mutex
	seen map[string]bool
	want int
	done chan struct{}
}

func (c *counter) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (c *counter) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (c *counter) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		s.MarkMessage(m, "")
		c.mu.Lock()
		value := string(m.Value)
		// A message may come again after a rebalance: done closes once, on the last new one.
		if !c.seen[value] {
			c.seen[value] = true
			if len(c.seen) == c.want {
				close(c.done)
			}
		}
		c.mu.Unlock()
	}
	return nil
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: sarama_check BOOTSTRAP KAFKA_VERSION [compression]")
	}
	bootstrap := []string{os.Args[1]}
	version, err := sarama.ParseKafkaVersion(os.Args[2])
	if err != nil {
		fail("version: %v", err)
	}
	codec := ""
	if len(os.Args) > 3 {
		codec = os.Args[3]
	}
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Compression = compression(codec)
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	topic := fmt.Sprintf("sarama-%s-%s-%d", os.Args[2], codec, time.Now().UnixNano())
	partitionCount := 3

	if version.IsAtLeast(sarama.V0_10_1_0) { // CreateTopics came with 0.10.1
		admin, err := sarama.NewClusterAdmin(bootstrap, cfg)
		if err != nil {
			fail("admin: %v", err)
		}
		detail := &sarama.TopicDetail{NumPartitions: int32(partitionCount), ReplicationFactor: 1}
		if err := admin.CreateTopic(topic, detail, false); err != nil {
			fail("create topic: %v", err)
		}
		if err := admin.CreateTopic(topic, detail, false); err != sarama.ErrTopicAlreadyExists {
			if te, ok := err.(*sarama.TopicError); !ok || te.Err != sarama.ErrTopicAlreadyExists {
				fail("second create topic: want 'topic already exists', got %v", err)
			}
		}
		described, err := admin.DescribeTopics([]string{topic})
		if err != nil || len(described) != 1 || len(described[0].Partitions) != partitionCount {
			fail("describe topics: %v %v", err, described)
		}
		if version.IsAtLeast(sarama.V0_11_0_0) { // ListTopics asks DescribeConfigs too
			topics, err := admin.ListTopics()
			if err != nil {
				fail("list topics: %v", err)
			}
			if d, ok := topics[topic]; !ok || d.NumPartitions != int32(partitionCount) {
				fail("list topics: %s missing or wrong: %+v", topic, d)
			}
		}
		admin.Close()
	} else {
		partitionCount = 1 // created on first use, with the broker's default of one partition
	}

	client, err := sarama.NewClient(bootstrap, cfg)
	if err != nil {
		fail("client: %v", err)
	}
	defer client.Close()
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		fail("producer: %v", err)
	}
	for i := 0; i < keyed; i++ {
		msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprint("k", i%7)),
			Value: sarama.StringEncoder(fmt.Sprint("v", i))}
		if version.IsAtLeast(sarama.V0_11_0_0) {
			msg.Headers = []sarama.RecordHeader{{Key: []byte("origin"), Value: []byte("sarama")}}
		}
		if _, _, err := producer.SendMessage(msg); err != nil {
			fail("send %d: %v", i, err)
		}
	}
	var batch []*sarama.ProducerMessage
	for i := 0; i < batched; i++ {
		batch = append(batch, &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprint("b", i))})
	}
	if err := producer.SendMessages(batch); err != nil {
		fail("send batch: %v", err)
	}
	producer.Close()

	partitions, err := client.Partitions(topic)
	if err != nil || len(partitions) != partitionCount {
		fail("partitions: %v %v", err, partitions)
	}
	ends := map[int32]int64{}
	total := int64(0)
	for _, p := range partitions {
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		oldest, err2 := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil || err2 != nil {
			fail("offsets of partition %d: %v %v", p, err, err2)
		}
		ends[p] = newest
		total += newest - oldest
	}
	if total != keyed+batched {
		fail("the partitions hold %d messages, want %d", total, keyed+batched)
	}

	// Every partition read from the start by a plain consumer, every message checked.
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		fail("consumer: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range partitions {
		if ends[p] == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			fail("consume partition %d: %v", p, err)
		}
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				value := string(m.Value)
				if value[0] == 'v' && version.IsAtLeast(sarama.V0_11_0_0) &&
					(len(m.Headers) != 1 || string(m.Headers[0].Key) != "origin" || string(m.Headers[0].Value) != "sarama") {
					fail("message %s at %d/%d: headers %v", value, p, m.Offset, m.Headers)
				}
				if value[0] == 'v' {
					if i, err := strconv.Atoi(value[1:]); err != nil || string(m.Key) != fmt.Sprint("k", i%7) {
						fail("message %s: key %q", value, m.Key)
					}
				}
				seen[value] = true
				done = m.Offset == ends[p]-1
			case e := <-pc.Errors():
				fail("partition %d: %v", p, e)
			case <-time.After(20 * time.Second):
				fail("partition %d: nothing more after %d messages", p, len(seen))
			}
		}
		pc.Close()
	}
	consumer.Close()
	if len(seen) != keyed+batched {
		fail("consumed %d distinct messages, want %d", len(seen), keyed+batched)
	}

	if version.IsAtLeast(sarama.V0_10_2_0) { // sarama's consumer groups need 0.10.2
		group := "group-" + topic
		g, err := sarama.NewConsumerGroup(bootstrap, group, cfg)
		if err != nil {
			fail("consumer group: %v", err)
		}
		c := &counter{seen: map[string]bool{}, want: keyed + batched, done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{topic}, c); err != nil {
					fmt.Println("sarama: group consume:", err)
					return
				}
			}
		}()
		go func() {
			for e := range g.Errors() {
				fmt.Println("sarama: group error:", e)
			}
		}()
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
			c.mu.Lock()
			got := len(c.seen)
			c.mu.Unlock()
			fail("group: %d of %d messages after 60 s", got, keyed+batched)
		}
		cancel()
		wg.Wait() // Consume returns once the session has committed what was marked
		if err := g.Close(); err != nil {
			fail("group close: %v", err)
		}
		offsets, err := sarama.NewOffsetManagerFromClient(group, client)
		if err != nil {
			fail("offset manager: %v", err)
		}
		for _, p := range partitions {
			pom, err := offsets.ManagePartition(topic, p)
			if err != nil {
				fail("committed offset of %d: %v", p, err)
			}
			if next, _ := pom.NextOffset(); next != ends[p] {
				fail("partition %d: committed %d, want %d", p, next, ends[p])
			}
			pom.Close()
		}
		offsets.Close()
	}
	if version.IsAtLeast(sarama.V0_10_1_0) {
		admin, err := sarama.NewClusterAdmin(bootstrap, cfg)
		if err != nil {
			fail("admin: %v", err)
		}
		if err := admin.DeleteTopic(topic); err != nil {
			fail("delete topic: %v", err)
		}
		admin.Close()
	}
	fmt.Printf("sarama %s %s: %d messages checked\n", os.Args[2], codec, len(seen))
}
