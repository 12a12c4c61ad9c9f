// node-rdkafka (a current librdkafka, built from source by npm ci) against Portask. Checks, in order:
//   admin: create a 3-partition topic and a scratch topic, list all topics (the all-topics
//          Metadata request), delete the scratch topic (and see it gone from the listing);
//   produce 60 keyed messages with a header to explicit partitions (i % 3), acks all, and wait
//   for every delivery report;
//   assign the 3 partitions explicitly from offset 0 (no group) and check every message (key,
//   value, header, partition, offset);
//   consume through a consumer group (subscribe, auto.offset.reset=earliest), check all 60
//   arrive, commit the end offsets; read them back with committed() (20 per partition);
//   list offsets: queryWatermarkOffsets (earliest/latest) and offsetsForTimes(0).
// node-rdkafka's AdminClient has only createTopic/deleteTopic/createPartitions: describing
// configs, listing/describing groups and the admin OffsetFetch are covered by the
// @platformatic/kafka and kafkajs checks instead.
// Usage: node check.js BOOTSTRAP TOPIC GROUP. Prints "node-rdkafka: 60 messages checked" and
// exits 0 when everything matched; otherwise names each failed step and exits 1. A watchdog
// bounds the whole run to 60 s. RDKAFKA_DEBUG=protocol,broker,... turns on librdkafka debug logs.
'use strict';
const Kafka = require('node-rdkafka');

const [bootstrap, topic, group] = process.argv.slice(2);
if (!group) {
  console.error('usage: node check.js BOOTSTRAP TOPIC GROUP');
  process.exit(2);
}
const scratch = `${topic}-scratch`;
const COUNT = 60;
const PARTITIONS = 3;
const PER_PARTITION = COUNT / PARTITIONS;
const OP_TIMEOUT = 5000;
const base = {
  'metadata.broker.list': bootstrap,
  'socket.timeout.ms': 10000,
  ...(process.env.RDKAFKA_DEBUG ? { debug: process.env.RDKAFKA_DEBUG } : {}),
};
const events = { event_cb: true }; // producers and consumers only: the AdminClient refuses it

let step = 'start';
const clients = [];
const clientErrors = new Set(); // librdkafka's own error events: connection drops, parse failures
const watchdog = setTimeout(() => {
  console.error(`node-rdkafka: FAILED during "${step}": timed out (60 s)`);
  report();
  process.exit(1);
}, 60000);

function report() {
  if (clientErrors.size) console.error(`node-rdkafka: librdkafka errors:\n    ${[...clientErrors].slice(0, 20).join('\n    ')}`);
}
function explain(e) {
  if (!e) return String(e);
  const bits = [e.message || String(e)];
  if (e.code !== undefined) bits.push(`code=${e.code}`);
  if (e.origin) bits.push(`origin=${e.origin}`);
  return bits.join(' ');
}
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}
// Calls a node-style method with a trailing callback, bounded.
function call(what, fn) {
  return withTimeout(new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value)))),
    OP_TIMEOUT + 2000, what);
}
function track(client, name) {
  clients.push(client);
  client.on('event.error', (e) => clientErrors.add(`${name}: ${explain(e)}`));
  client.on('event.log', (log) => {
    if (process.env.RDKAFKA_DEBUG) console.error(`${name} ${log.fac}: ${log.message}`);
  });
  return client;
}
function connect(client, what) {
  // connect() with its defaults fetches the metadata of all topics, as most apps do
  // (librdkafka >= 2.3 sends that request with trailing bytes).
  return call(`${what} connect`, (cb) => client.connect({ timeout: OP_TIMEOUT }, cb));
}
function disconnect(client) {
  return withTimeout(new Promise((resolve) => client.disconnect(() => resolve())), 5000, 'disconnect').catch(() => {});
}

function expected(i) {
  return { key: `key-${i}`, value: `value-${i}`, partition: i % PARTITIONS, n: String(i) };
}
function record(received, m) {
  const header = (m.headers || []).find((h) => Object.prototype.hasOwnProperty.call(h, 'n'));
  received.set(String(m.key), { value: m.value.toString(), partition: m.partition, n: header && header.n.toString(), offset: m.offset });
}
function compare(received, what) {
  const bad = [];
  for (let i = 0; i < COUNT; i++) {
    const m = expected(i);
    const got = received.get(m.key);
    if (!got || got.value !== m.value || got.partition !== m.partition || got.n !== m.n)
      bad.push(`${m.key}=${JSON.stringify(got)}`);
  }
  check(bad.length === 0, `${what}: ${bad.length} messages missing or wrong, e.g. ${bad.slice(0, 3).join(', ')}`);
}

let admin;
let producer;

async function createTopics() {
  step = 'admin createTopic';
  admin = Kafka.AdminClient.create({ ...base, 'client.id': 'portask-rdkafka-admin' });
  await call('createTopic', (cb) => admin.createTopic({ topic, num_partitions: PARTITIONS, replication_factor: 1 }, OP_TIMEOUT, cb));
  await call('createTopic scratch', (cb) => admin.createTopic({ topic: scratch, num_partitions: 1, replication_factor: 1 }, OP_TIMEOUT, cb));
}

async function startProducer() {
  step = 'producer connect';
  producer = track(new Kafka.Producer({ ...base, ...events, 'client.id': 'portask-rdkafka-producer', dr_cb: true },
    { 'request.required.acks': -1 }), 'producer');
  await connect(producer, 'producer');
}

async function listTopics() {
  step = 'list topics (getMetadata allTopics)';
  const meta = await call('getMetadata', (cb) => producer.getMetadata({ allTopics: true, timeout: OP_TIMEOUT }, cb));
  const names = meta.topics.map((t) => t.name);
  check(names.includes(topic) && names.includes(scratch), `all-topics metadata lacks ${topic}/${scratch}: ${names}`);
  const t = meta.topics.find((x) => x.name === topic);
  check(t.partitions.length === PARTITIONS, `metadata: ${t.partitions.length} partitions, expected ${PARTITIONS}`);
}

async function deleteTopics() {
  step = 'admin deleteTopic (scratch)';
  await call('deleteTopic', (cb) => admin.deleteTopic(scratch, OP_TIMEOUT, cb));
  step = 'list topics after delete';
  const meta = await call('getMetadata', (cb) => producer.getMetadata({ allTopics: true, timeout: OP_TIMEOUT }, cb));
  check(!meta.topics.some((t) => t.name === scratch), `${scratch} still listed after deleteTopic`);
}

async function produce() {
  step = 'produce 60 messages (acks all)';
  const reports = new Map();
  const delivered = new Promise((resolve) => {
    producer.on('delivery-report', (err, r) => {
      reports.set(r.opaque, err ? explain(err) : r);
      if (reports.size === COUNT) resolve();
    });
  });
  producer.setPollInterval(50);
  for (let i = 0; i < COUNT; i++) {
    const m = expected(i);
    producer.produce(topic, m.partition, Buffer.from(m.value), m.key, Date.now(), i, [{ n: m.n }]);
  }
  await withTimeout(delivered, 15000, `delivery reports (${reports.size}/${COUNT})`);
  const failed = [...reports].filter(([, r]) => typeof r === 'string');
  check(failed.length === 0, `${failed.length} deliveries failed, e.g. ${failed.slice(0, 3).map(([i, r]) => `#${i}: ${r}`)}`);
  for (const [i, r] of reports)
    check(r.partition === expected(i).partition, `message ${i} delivered to partition ${r.partition}`);
}

// Reads messages with consume(n) until `want` have arrived or the time runs out.
async function drain(consumer, received, want, ms, what) {
  const deadline = Date.now() + ms;
  while (received.size < want) {
    check(Date.now() < deadline, `${what}: ${received.size}/${want} messages in ${ms / 1000} s`);
    const batch = await call(`${what} consume`, (cb) => consumer.consume(100, cb));
    for (const m of batch) record(received, m);
  }
}

async function readPartitions() {
  step = 'assign partitions from offset 0';
  const consumer = track(new Kafka.KafkaConsumer({
    ...base, ...events, 'client.id': 'portask-rdkafka-reader', 'group.id': `${group}-assign`, 'enable.auto.commit': false,
  }, {}), 'reader');
  await connect(consumer, 'reader');
  consumer.setDefaultConsumeTimeout(200);
  consumer.assign([0, 1, 2].map((partition) => ({ topic, partition, offset: 0 })));
  const received = new Map();
  try {
    await drain(consumer, received, COUNT, 15000, 'assigned read');
  } finally {
    await disconnect(consumer);
  }
  compare(received, 'assigned read');
  for (let i = 0; i < COUNT; i++) {
    const got = received.get(expected(i).key);
    check(got.offset === Math.floor(i / PARTITIONS), `key-${i} at offset ${got.offset}, expected ${Math.floor(i / PARTITIONS)}`);
  }
}

async function consumeGroup() {
  step = 'group consumer: join and consume';
  const consumer = track(new Kafka.KafkaConsumer({
    ...base, ...events, 'client.id': 'portask-rdkafka-group', 'group.id': group, 'enable.auto.commit': false,
    'session.timeout.ms': 10000, 'heartbeat.interval.ms': 500, offset_commit_cb: true,
  }, { 'auto.offset.reset': 'earliest' }), 'group');
  try {
    await connect(consumer, 'group consumer');
    consumer.setDefaultConsumeTimeout(200);
    consumer.subscribe([topic]);
    const received = new Map();
    await drain(consumer, received, COUNT, 30000, 'group consume');
    compare(received, 'group consume');

    step = 'group consumer: commit offsets';
    const ends = [0, 1, 2].map((partition) => ({ topic, partition, offset: PER_PARTITION }));
    const committedEvent = new Promise((resolve, reject) => {
      consumer.once('offset.commit', (err, offsets) => (err ? reject(err) : resolve(offsets)));
    });
    consumer.commit(ends);
    // librdkafka serves the commit callback from the consumer queue: keep polling it meanwhile.
    let waiting = true;
    const poll = (async () => {
      while (waiting) await call('consume while committing', (cb) => consumer.consume(1, cb));
    })();
    try {
      await withTimeout(committedEvent, OP_TIMEOUT, 'offset commit callback');
    } finally {
      waiting = false;
      await poll;
    }

    step = 'group consumer: committed()';
    const toppars = [0, 1, 2].map((partition) => ({ topic, partition }));
    const committed = await call('committed', (cb) => consumer.committed(toppars, OP_TIMEOUT, cb));
    for (const tp of committed)
      check(tp.offset === PER_PARTITION, `committed offset of partition ${tp.partition} is ${tp.offset}, expected ${PER_PARTITION}`);
    check(committed.length === PARTITIONS, `committed() answered ${committed.length} partitions`);

    step = 'list offsets (queryWatermarkOffsets, offsetsForTimes)';
    for (let p = 0; p < PARTITIONS; p++) {
      const w = await call('queryWatermarkOffsets', (cb) => consumer.queryWatermarkOffsets(topic, p, OP_TIMEOUT, cb));
      check(w.lowOffset === 0 && w.highOffset === PER_PARTITION,
        `partition ${p} watermarks ${w.lowOffset}-${w.highOffset}, expected 0-${PER_PARTITION}`);
    }
    const times = await call('offsetsForTimes',
      (cb) => consumer.offsetsForTimes([0, 1, 2].map((partition) => ({ topic, partition, offset: 0 })), OP_TIMEOUT, cb));
    for (const tp of times) check(tp.offset === 0, `offsetsForTimes(0) of partition ${tp.partition} is ${tp.offset}`);
  } finally {
    await disconnect(consumer); // leaves the group
  }
}

// Each section runs even when an earlier one failed: a later failure is often caused by the first,
// but sometimes it is independent and worth seeing in the same run.
async function main() {
  const failures = [];
  for (const section of [createTopics, startProducer, listTopics, deleteTopics, produce, readPartitions, consumeGroup]) {
    try {
      await section();
    } catch (e) {
      failures.push(e);
      console.error(`node-rdkafka: FAILED during "${step}": ${explain(e)}`);
    }
  }
  step = 'close';
  if (producer) await disconnect(producer);
  if (admin) admin.disconnect();
  if (failures.length) throw new Error(`${failures.length} section(s) failed, see above`);
  console.log(`node-rdkafka: ${COUNT} messages checked`);
}

main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}, (e) => {
  console.error(`node-rdkafka: ${e.message}`);
  report();
  process.exit(1);
});
