// @platformatic/kafka (pure JavaScript, Kafka 3.5+ API versions) against Portask. Checks, in order:
//   admin: create a 3-partition topic and a scratch topic, list all topics, describe the topic's
//          configs, delete the scratch topic (and see it gone from the listing);
//   produce 60 keyed messages with a header to explicit partitions (i % 3), acks all;
//   read every partition with plain Fetch requests from offset 0 (no group) and check each
//   message (key, value, header, partition, offset);
//   consume through a consumer group (committed offsets, falling back to earliest), check all 60
//   arrive, commit the end offsets;
//   admin: list groups (includes GROUP), describe the group, fetch its committed offsets (equal
//   to the end offsets, 20 per partition), list the earliest and latest offsets.
// Usage: node check.js BOOTSTRAP TOPIC GROUP. Prints "platformatic-kafka: 60 messages checked"
// and exits 0 when everything matched; otherwise names each failed step and exits 1. A watchdog
// bounds the whole run to 60 s.
'use strict';
const util = require('node:util');
const {
  Admin, Producer, Consumer, ProduceAcks, ConfigResourceTypes, ListOffsetTimestamps,
  stringSerializers, stringDeserializers,
} = require('@platformatic/kafka');

const [bootstrap, topic, group] = process.argv.slice(2);
if (!group) {
  console.error('usage: node check.js BOOTSTRAP TOPIC GROUP');
  process.exit(2);
}
const scratch = `${topic}-scratch`;
const COUNT = 60;
const PARTITIONS = 3;
const PER_PARTITION = COUNT / PARTITIONS;
const base = { bootstrapBrokers: [bootstrap], timeout: 5000, connectTimeout: 5000, retries: 2, retryDelay: 250 };

let step = 'start';
const clients = [];
const watchdog = setTimeout(() => fail(new Error('timed out (60 s)')), 60000);

function fail(e) {
  console.error(`platformatic-kafka: FAILED during "${step}": ${e.message}`);
  process.exit(1);
}
// One line per distinct error (platformatic nests MultipleErrors): message, code, Kafka error, path.
function explain(e) {
  const lines = new Set();
  (function walk(err, depth) {
    if (!err || depth > 6) return;
    const bits = [err.message];
    if (err.code) bits.push(`code=${err.code}`);
    if (err.apiId) bits.push(`kafka=${err.apiId}(${err.apiCode})`);
    if (err.path) bits.push(`at ${err.path}`);
    if (err.minVersion !== undefined) bits.push(`broker versions ${err.minVersion}-${err.maxVersion}`);
    lines.add(bits.join(' '));
    for (const inner of err.errors || []) walk(inner, depth + 1);
    if (err.cause) walk(err.cause, depth + 1);
  })(e, 0);
  return [...lines].join('\n    ');
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
function track(client) {
  clients.push(client);
  return client;
}

function expected(i) {
  return { key: `key-${i}`, value: `value-${i}`, partition: i % PARTITIONS, n: String(i) };
}

async function createTopics(admin) {
  step = 'admin createTopics';
  const created = await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  check(created.length === 1 && created[0].name === topic, `createTopics answered ${util.inspect(created)}`);
  await admin.createTopics({ topics: [scratch], partitions: 1, replicas: 1 });
}

async function listTopics(admin) {
  step = 'admin listTopics (all-topics Metadata)';
  const names = await admin.listTopics();
  check(names.includes(topic) && names.includes(scratch), `listTopics lacks ${topic}/${scratch}: ${names}`);

  step = 'admin metadata for the topic';
  const meta = await admin.metadata({ topics: [topic] });
  const tm = meta.topics.get(topic);
  check(tm && tm.partitionsCount === PARTITIONS, `metadata: expected ${PARTITIONS} partitions, got ${tm && tm.partitionsCount}`);
}

async function describeConfigs(admin) {
  step = 'admin describeConfigs (topic)';
  const configs = await admin.describeConfigs({
    resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
  });
  check(configs.length === 1 && configs[0].resourceName === topic, `describeConfigs answered ${util.inspect(configs)}`);
  check(Array.isArray(configs[0].configs) && configs[0].configs.length > 0, 'describeConfigs: no configs');
}

async function deleteTopics(admin) {
  step = 'admin deleteTopics (scratch)';
  await admin.deleteTopics({ topics: [scratch] });
  const names = await admin.listTopics();
  check(!names.includes(scratch), `${scratch} still listed after deleteTopics: ${names}`);
}

async function produce() {
  step = 'produce 60 messages (acks all)';
  const producer = track(new Producer({ ...base, clientId: 'portask-platformatic-producer', serializers: stringSerializers }));
  const messages = [];
  for (let i = 0; i < COUNT; i++) {
    const m = expected(i);
    messages.push({ topic, key: m.key, value: m.value, partition: m.partition, headers: { n: m.n } });
  }
  const result = await producer.send({ messages, acks: ProduceAcks.ALL });
  check(result.offsets && result.offsets.length > 0, `send answered no offsets: ${util.inspect(result)}`);
  await producer.close();
}

// Plain Fetch requests on each partition's leader from offset 0: no group, no commits.
async function readPartitions() {
  step = 'read partitions with Fetch from offset 0';
  const consumer = track(new Consumer({ ...base, clientId: 'portask-platformatic-reader', groupId: `${group}-unused` }));
  const meta = await consumer.metadata({ topics: [topic] });
  const tm = meta.topics.get(topic);
  const seen = new Map();
  const deadline = Date.now() + 15000;
  for (let p = 0; p < PARTITIONS; p++) {
    let next = 0n;
    while (next < BigInt(PER_PARTITION)) {
      check(Date.now() < deadline, `partition ${p}: only ${next} messages fetched in 15 s`);
      const response = await consumer.fetch({
        node: tm.partitions[p].leader, maxWaitTime: 200, minBytes: 1, maxBytes: 1 << 20,
        topics: [{ topicId: tm.id, partitions: [{ partition: p, fetchOffset: next, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      });
      for (const t of response.responses) {
        for (const part of t.partitions) {
          check(part.errorCode === 0, `fetch partition ${p}: error code ${part.errorCode}`);
          check(part.partitionIndex === p, `fetch for partition ${p} answered partition ${part.partitionIndex}`);
          for (const batch of part.records || []) {
            for (const r of batch.records) {
              const offset = batch.firstOffset + BigInt(r.offsetDelta);
              if (offset < next) continue;
              check(offset === next, `partition ${p}: expected offset ${next}, got ${offset}`);
              const key = r.key.toString();
              const header = r.headers.find(([k]) => k.toString() === 'n');
              seen.set(key, { value: r.value.toString(), partition: p, n: header && header[1].toString() });
              next = offset + 1n;
            }
          }
        }
      }
    }
  }
  await consumer.close();
  compare(seen, 'partition read');
}

function compare(received, what) {
  const bad = [];
  for (let i = 0; i < COUNT; i++) {
    const m = expected(i);
    const got = received.get(m.key);
    if (!got || got.value !== m.value || got.partition !== m.partition || got.n !== m.n)
      bad.push(`${m.key}=${util.inspect(got)}`);
  }
  check(bad.length === 0, `${what}: ${bad.length} messages missing or wrong, e.g. ${bad.slice(0, 3).join(', ')}`);
  check(received.size === COUNT, `${what}: ${received.size} distinct keys, expected ${COUNT}`);
}

async function consumeGroup(admin) {
  step = 'group consumer: join and consume';
  const consumer = track(new Consumer({
    ...base, clientId: 'portask-platformatic-group', groupId: group, deserializers: stringDeserializers,
    sessionTimeout: 10000, heartbeatInterval: 500, maxWaitTime: 200, autocommit: false,
  }));
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest' });
  const received = new Map();
  const next = new Map();
  await withTimeout(new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('data', (message) => {
      received.set(message.key, { value: message.value, partition: message.partition, n: message.headers.get('n') });
      const after = message.offset + 1n;
      if (!next.has(message.partition) || next.get(message.partition) < after) next.set(message.partition, after);
      if (received.size === COUNT) resolve();
    });
  }), 30000, 'group consume').catch((e) => {
    throw new Error(`${e.message} (got ${received.size}/${COUNT})`, { cause: e });
  });
  compare(received, 'group consume');

  step = 'group consumer: commit offsets';
  const meta = await consumer.metadata({ topics: [topic] });
  const offsets = [...next].map(([partition, offset]) => ({
    topic, partition, offset, leaderEpoch: meta.topics.get(topic).partitions[partition].leaderEpoch,
  }));
  await consumer.commit({ offsets });
  const committed = await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2] }] });
  const mine = committed.get(topic) || [];
  check(mine.length === PARTITIONS && mine.every((o) => o === BigInt(PER_PARTITION)),
    `consumer listCommittedOffsets: expected ${PER_PARTITION} on every partition, got ${util.inspect(mine)}`);

  // The admin looks at the group while its member is still in it.
  step = 'admin listGroups';
  const groups = await admin.listGroups();
  check(groups.has(group), `listGroups lacks ${group}: ${[...groups.keys()]}`);

  step = 'admin describeGroups';
  const described = (await admin.describeGroups({ groups: [group] })).get(group);
  check(described, `describeGroups has no ${group}`);
  check(described.state === 'STABLE', `describeGroups: state ${described.state}, expected STABLE`);
  check(described.members.size === 1, `describeGroups: ${described.members.size} members, expected 1`);
  check(described.protocolType === 'consumer', `describeGroups: protocol type ${described.protocolType}`);

  step = 'close group consumer (leave group)';
  await stream.close();
  await consumer.close();
}

async function adminOffsets(admin) {
  step = 'admin listOffsets (earliest/latest)';
  const ends = {};
  for (const [label, timestamp, want] of [['earliest', ListOffsetTimestamps.EARLIEST, 0n], ['latest', ListOffsetTimestamps.LATEST, BigInt(PER_PARTITION)]]) {
    const listed = await admin.listOffsets({
      topics: [{ name: topic, partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, timestamp })) }],
    });
    const parts = listed.find((t) => t.name === topic)?.partitions || [];
    check(parts.length === PARTITIONS, `listOffsets ${label}: ${parts.length} partitions`);
    for (const p of parts) {
      check(p.offset === want, `listOffsets ${label}: partition ${p.partitionIndex} at ${p.offset}, expected ${want}`);
      if (label === 'latest') ends[p.partitionIndex] = p.offset;
    }
  }

  step = 'admin listConsumerGroupOffsets';
  const groups = await admin.listConsumerGroupOffsets({ groups: [group] });
  const g = groups.find((x) => x.groupId === group);
  const t = g && g.topics.find((x) => x.name === topic);
  check(t && t.partitions.length === PARTITIONS, `listConsumerGroupOffsets: ${util.inspect(groups, { depth: 5 })}`);
  for (const p of t.partitions)
    check(p.committedOffset === ends[p.partitionIndex],
      `committed offset of partition ${p.partitionIndex} is ${p.committedOffset}, end offset ${ends[p.partitionIndex]}`);
}

// Each section runs even when an earlier one failed (a failure further on is often caused by the
// first, but sometimes it is independent and worth seeing in the same run).
async function main() {
  const admin = track(new Admin({ ...base, clientId: 'portask-platformatic-admin' }));
  const failures = [];
  for (const section of [createTopics, listTopics, describeConfigs, deleteTopics, produce, readPartitions, consumeGroup, adminOffsets]) {
    try {
      await section(admin);
    } catch (e) {
      failures.push(e);
      console.error(`platformatic-kafka: FAILED during "${step}": ${explain(e)}`);
    }
  }
  step = 'close';
  await withTimeout(Promise.allSettled(clients.map((c) => (c instanceof Consumer ? c.close(true) : c.close()))), 3000, 'close')
    .catch(() => {});
  if (failures.length) {
    console.error(`platformatic-kafka: ${failures.length} section(s) failed, see above`);
    process.exit(1);
  }
  console.log(`platformatic-kafka: ${COUNT} messages checked`);
}

main().then(() => {
  clearTimeout(watchdog);
  process.exit(0);
}, (e) => fail(e));
