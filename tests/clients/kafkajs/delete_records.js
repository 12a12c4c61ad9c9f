// kafkajs's admin client against Portask's DeleteRecords: the log start offset moves up, a
// read below it is refused and the offsets say so; an offset past the end is refused.
// Usage: node delete_records.js BOOTSTRAP TOPIC. Exit status 0 when every check held.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'portask-kafkajs-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING });

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < 10; i++) {
    await producer.send({ topic, acks: -1, messages: [
      { value: `a-${i}`, partition: 0 }, { value: `b-${i}`, partition: 1 }] });
  }
  await producer.disconnect();

  // kafkajs's admin finds partition leaders in its metadata cache: load the topic's first.
  await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
  let offsets = await admin.fetchTopicOffsets(topic);
  const p0 = offsets.find((o) => o.partition === 0);
  const p1 = offsets.find((o) => o.partition === 1);
  check(p0.low === '4' && p0.high === '10', `partition 0 offsets ${JSON.stringify(p0)}`);
  check(p1.low === '0' && p1.high === '10', `partition 1 untouched ${JSON.stringify(p1)}`);

  // -1: everything up to the high watermark.
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '-1' }] });
  offsets = await admin.fetchTopicOffsets(topic);
  const all = offsets.find((o) => o.partition === 1);
  check(all.low === '10' && all.high === '10', `partition 1 emptied ${JSON.stringify(all)}`);

  let refused = null;
  try {
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '11' }] });
  } catch (e) {
    refused = e;
  }
  check(refused !== null, 'an offset past the high watermark is refused');
  const text = require('util').inspect(refused, { depth: 8 });
  check(/OFFSET_OUT_OF_RANGE|out of range/i.test(text), `refused as out of range: ${text}`);

  // A consumer reading partition 0 from the start begins at the new log start.
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)), 30000);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (partition !== 0) return;
        seen.push(Number(message.offset));
        if (seen.length === 6) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  check(seen[0] === 4 && seen[5] === 9, `partition 0 read from the log start: ${seen}`);
  await admin.disconnect();
  console.log('kafkajs delete records: checked');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
