// kafkajs against Portask: produce keyed messages with headers to a 3-partition topic, then
// consume them through a consumer group and check every one (key, value, header, partition).
// Usage: node check.js BOOTSTRAP TOPIC GROUP. Exit status 0 when every message matched.
// With SASL_MECHANISM (plain, scram-sha-256, scram-sha-512), SASL_USER and SASL_PASSWORD in
// the environment it authenticates first; with SSL_CA (a PEM file) it connects with TLS,
// presenting SSL_CERT / SSL_KEY when those are set.
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, group] = process.argv.slice(2);
const sasl = process.env.SASL_MECHANISM
  ? { mechanism: process.env.SASL_MECHANISM, username: process.env.SASL_USER, password: process.env.SASL_PASSWORD }
  : undefined;
const ssl = process.env.SSL_CA
  ? {
      ca: [fs.readFileSync(process.env.SSL_CA)],
      cert: process.env.SSL_CERT ? fs.readFileSync(process.env.SSL_CERT) : undefined,
      key: process.env.SSL_KEY ? fs.readFileSync(process.env.SSL_KEY) : undefined,
    }
  : undefined;
const kafka = new Kafka({ clientId: 'portask-kafkajs', brokers: [bootstrap], logLevel: logLevel.WARN, sasl, ssl });

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  if (meta.topics[0].partitions.length !== 3) throw new Error('expected 3 partitions');
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  const sent = new Map();
  const messages = [];
  for (let i = 0; i < 60; i++) {
    const m = { key: `key-${i}`, value: `value-${i}`, partition: i % 3, headers: { n: String(i) } };
    messages.push(m);
    sent.set(m.key, m);
  }
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const received = new Map();
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.set(message.key.toString(), {
        value: message.value.toString(), partition, n: message.headers.n.toString(),
      });
      if (received.size === sent.size) finish();
    },
  });
  const timer = setTimeout(finish, 30000);
  await done;
  clearTimeout(timer);
  await consumer.disconnect();

  const bad = [];
  for (const [key, m] of sent) {
    const got = received.get(key);
    if (!got || got.value !== m.value || got.partition !== m.partition || got.n !== m.headers.n)
      bad.push(key);
  }
  if (bad.length) throw new Error(`${bad.length} messages missing or wrong: ${bad.slice(0, 5)}`);
  console.log(`kafkajs: ${received.size} messages checked`);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
