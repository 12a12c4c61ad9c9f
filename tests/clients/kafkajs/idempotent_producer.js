// A kafkajs idempotent producer for portask-chaos: sends "<name>-<n>" to partition n % PARTITIONS,
// one message at a time, about RATE per second, and appends to OUTFILE `ACK partition offset
// value` for each acknowledged message and `FAIL value reason` for each it gave up on.
// SIGTERM: finish the send in flight, disconnect, exit.
// Usage: node idempotent_producer.js BOOTSTRAP TOPIC PARTITIONS NAME OUTFILE RATE
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, partitionsArg, name, outfile, rateArg] = process.argv.slice(2);
const partitions = Number(partitionsArg);
const interval = 1000 / Math.max(1, Number(rateArg));
const out = fs.openSync(outfile, 'a');
const write = (line) => fs.writeSync(out, line + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Retries long enough to outlast any single fault the chaos run injects: giving up on a send
// whose outcome is unknown would let kafkajs reuse its sequence for the next message.
const kafka = new Kafka({
  clientId: `chaos-${name}`, brokers: [bootstrap], logLevel: logLevel.NOTHING,
  connectionTimeout: 3000, requestTimeout: 10000,
  retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 1000 },
});
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });

async function main() {
  await producer.connect();
  let next = Date.now();
  for (let n = 0; !stopping; n++) {
    const value = `${name}-${n}`;
    const partition = n % partitions;
    try {
      const [r] = await producer.send({ topic, acks: -1, messages: [{ value, partition }] });
      write(`ACK ${r.partition} ${r.baseOffset} ${value}`);
    } catch (e) {
      write(`FAIL ${value} ${(e && e.type) || (e && e.name) || 'error'}`);
    }
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait); else if (wait < -1000) next = Date.now();
  }
  await producer.disconnect().catch(() => {});
}

main().then(() => process.exit(0), (e) => { write(`FATAL ${e && e.message}`); process.exit(1); });
