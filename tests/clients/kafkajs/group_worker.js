// One kafkajs group member for the group scenarios (same output as
// tests/integration/kafka_python_group_worker.py): `ASSIGN p,p`, `REC partition offset
// value`, `COMMIT partition next-offset` once acknowledged, `CLOSED`. SIGTERM disconnects
// (LeaveGroup). Usage: node group_worker.js BOOTSTRAP TOPIC GROUP OUTFILE DELAY_MS
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, group, outfile, delayMs] = process.argv.slice(2);
const out = fs.openSync(outfile, 'a');
const write = (line) => fs.writeSync(out, line + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const kafka = new Kafka({ clientId: 'kafkajs-worker', brokers: [bootstrap], logLevel: logLevel.WARN });
// Fetches wait at most 500 ms: kafkajs heartbeats between fetches, and the session is 3 s.
const consumer = kafka.consumer({ groupId: group, sessionTimeout: 3000, heartbeatInterval: 300,
                                  rebalanceTimeout: 10000, maxWaitTimeInMs: 500 });
let closing = false;

async function main() {
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const parts = (payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
    write(`ASSIGN ${parts.join(',')}`);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message, heartbeat }) => {
      write(`REC ${partition} ${message.offset} ${message.value.toString()}`);
      await sleep(Number(delayMs));
      const next = (BigInt(message.offset) + 1n).toString();
      try {
        await consumer.commitOffsets([{ topic, partition, offset: next }]);
        // Once disconnect() has begun, kafkajs resolves commitOffsets without sending it.
        write(closing ? `UNSENT ${partition} ${next}` : `COMMIT ${partition} ${next}`);
      } catch (e) {
        write(`ERROR commit ${e.type || e.name}`);
      }
      await heartbeat();
    },
  });
}

async function close() {
  if (closing) return;
  closing = true;
  try { await consumer.disconnect(); } finally { write('CLOSED'); process.exit(0); }
}
process.on('SIGTERM', close);
setTimeout(close, 120000);
main().catch((e) => { write(`ERROR ${e.message}`); process.exit(1); });
