// Scores a Kafka topic of customer events with the churn model, as one member of a
// consumer group, and prints a few results and the summary.
//
//   bash scripts/kafka.sh start          # a local broker on 127.0.0.1:19092
//   npm run build && node examples/stream/run.mjs
//
// BROKERS (default 127.0.0.1:19092) and EVENTS (default 5000) change the broker and the
// number of events. Each run uses new topics, so it can be repeated.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, Producer } from '@platformatic/kafka';
import { scoreStream } from 'batchscore';

const here = dirname(fileURLToPath(import.meta.url));
const brokers = (process.env.BROKERS ?? '127.0.0.1:19092').split(',');
const events = Number(process.env.EVENTS ?? 5000);
const run = Date.now().toString(36);
const topics = {
  input: `customers-${run}`,
  output: `churn-scores-${run}`,
  deadLetter: `customers-dlq-${run}`,
  late: `customers-late-${run}`,
  windows: `churn-windows-${run}`,
};

// 1. Create the topics: the scorer never creates topics.
const admin = new Admin({ clientId: 'stream-example', bootstrapBrokers: brokers });
await admin.createTopics({ topics: Object.values(topics), partitions: 3, replicas: 1 });
await admin.close();

// 2. Send one JSON event per customer, keyed by customer id, and two bad events.
const jsonl = execFileSync(
  process.execPath,
  [
    join(here, '..', 'churn', 'generate.mjs'),
    '--rows',
    String(events),
    '--format',
    'jsonl',
    '--quiet',
  ],
  { maxBuffer: 1024 * 1024 * 1024 },
).toString();
const customers = jsonl
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));
const producer = new Producer({
  clientId: 'stream-example',
  bootstrapBrokers: brokers,
  idempotent: true,
  acks: -1,
});
const messages = customers.map((customer) => ({
  topic: topics.input,
  key: Buffer.from(customer.customer_id),
  value: Buffer.from(JSON.stringify(customer)),
}));
messages.push({ topic: topics.input, key: Buffer.from('bad-1'), value: Buffer.from('{"age": ') });
messages.push({
  topic: topics.input,
  key: Buffer.from('bad-2'),
  value: Buffer.from('{"age": "old"}'),
});
for (let start = 0; start < messages.length; start += 1000) {
  await producer.send({ messages: messages.slice(start, start + 1000) });
}
await producer.close();

// 3. Score until every event has a result or a dead letter, then stop.
const controller = new AbortController();
let done = 0;
const summary = await scoreStream({
  brokers,
  groupId: `churn-scorer-${run}`,
  inputTopic: topics.input,
  outputTopic: topics.output,
  deadLetterTopic: topics.deadLetter,
  lateTopic: topics.late,
  window: { topic: topics.windows, sizeMs: 60_000 },
  model: join(here, '..', 'churn', 'model', 'churn.onnx'),
  modelVersion: 'churn-gb-1',
  passthrough: ['customer_id'],
  signal: controller.signal,
  onEvent: (event) => {
    if (event.type === 'batch') done += event.scored + event.deadLettered + event.late;
    if (event.type === 'dead-letter') {
      process.stderr.write(
        `dead letter at offset ${event.origin.offset}: ${event.code}: ${event.message}\n`,
      );
    }
    if (done >= messages.length) controller.abort();
  },
});

const { eventsScored, deadLettered, eventsPerSecondOverall, batchLatencyMs, workers } = summary;
console.log(
  JSON.stringify(
    { eventsScored, deadLettered, eventsPerSecondOverall, batchLatencyMs, workers },
    null,
    2,
  ),
);
console.log(`Results are in topic ${topics.output}; read them with any Kafka consumer.`);
