import { InvalidOptionError } from '../errors.js';
import { checkInteger, checkOneOf, checkString, describe } from '../validate.js';
import type { StreamOptions } from './options.js';

/**
 * Checks the options of `scoreStream` that need no model and no broker.
 * @throws {@link InvalidOptionError} naming the first invalid option.
 */
export function checkStreamOptions(options: StreamOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`Expected an options object, got ${describe(options)}`);
  }
  checkBrokers(options.brokers);
  checkString('groupId', options.groupId, false);
  checkTopics(options);
  if (typeof options.model !== 'string' && !(options.model instanceof Uint8Array)) {
    throw new InvalidOptionError(
      `Expected \`model\` to be a file path or a Uint8Array, got ${describe(options.model)}`,
    );
  }
  checkString('modelVersion', options.modelVersion);
  checkString('transform', options.transform);
  checkString('transactionalId', options.transactionalId);
  checkString('clientId', options.clientId);
  checkList('features', options.features, 1);
  checkList('passthrough', options.passthrough, 0);
  checkOneOf('delivery', options.delivery, ['at-least-once', 'exactly-once']);
  checkOneOf('startFrom', options.startFrom, ['earliest', 'latest']);
  checkOneOf('isolation', options.isolation, ['read_committed', 'read_uncommitted']);
  checkFunction('decode', options.decode);
  checkFunction('kafkaClient', options.kafkaClient);
  checkFunction('onEvent', options.onEvent);
  checkNumbers(options);
  checkEventTime(options);
  checkWindow(options);
}

function checkBrokers(brokers: unknown): void {
  const valid =
    Array.isArray(brokers) &&
    brokers.length > 0 &&
    brokers.every((broker) => typeof broker === 'string' && /^[^\s:]+:\d{1,5}$/.test(broker));
  if (!valid) {
    throw new InvalidOptionError(
      `Expected \`brokers\` to list host:port addresses, got ${describe(brokers)}`,
      { fix: 'Pass for example ["127.0.0.1:9092"]' },
    );
  }
}

function checkTopics(options: StreamOptions): void {
  checkString('inputTopic', options.inputTopic, false);
  checkString('outputTopic', options.outputTopic, false);
  checkString('deadLetterTopic', options.deadLetterTopic);
  checkString('lateTopic', options.lateTopic);
  const outputs = {
    outputTopic: options.outputTopic,
    deadLetterTopic: options.deadLetterTopic,
    lateTopic: options.lateTopic,
    'window.topic': options.window?.topic,
  };
  for (const [name, topic] of Object.entries(outputs)) {
    if (topic === options.inputTopic) {
      throw new InvalidOptionError(
        `Expected \`${name}\` to differ from \`inputTopic\`, got "${topic}" for both`,
        { fix: 'Write results to another topic than the one the scorer reads' },
      );
    }
  }
}

function checkList(name: string, value: unknown, minimum: number): void {
  if (value === undefined) return;
  const valid =
    Array.isArray(value) &&
    value.length >= minimum &&
    value.every((item) => typeof item === 'string' && item.length > 0);
  if (!valid) {
    const what = minimum > 0 ? 'at least one field name' : 'field names';
    throw new InvalidOptionError(`Expected \`${name}\` to list ${what}, got ${describe(value)}`);
  }
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
}

function checkNumbers(options: StreamOptions): void {
  checkInteger('maxBatchEvents', options.maxBatchEvents, 1);
  checkInteger('maxBatchWaitMs', options.maxBatchWaitMs, 0);
  checkInteger('maxBufferedEvents', options.maxBufferedEvents, options.maxBatchEvents ?? 1);
  checkInteger('workers', options.workers, 1);
  checkInteger('intraOpThreads', options.intraOpThreads, 1);
  checkInteger('maxRetries', options.maxRetries, 0);
  checkInteger('retryDelayMs', options.retryDelayMs, 0);
  checkInteger('batchTimeoutMs', options.batchTimeoutMs, 1);
  checkInteger('sessionTimeoutMs', options.sessionTimeoutMs, 1);
  checkInteger('heartbeatIntervalMs', options.heartbeatIntervalMs, 1);
  checkInteger('rebalanceTimeoutMs', options.rebalanceTimeoutMs, 1);
  checkInteger('fetchMaxWaitMs', options.fetchMaxWaitMs, 0);
  checkInteger('fetchPartitionMaxBytes', options.fetchPartitionMaxBytes, 1);
  checkInteger('transactionTimeoutMs', options.transactionTimeoutMs, 1000);
  checkInteger('metricsIntervalMs', options.metricsIntervalMs, 100);
  checkInteger('shutdownTimeoutMs', options.shutdownTimeoutMs, 0);
  const session = options.sessionTimeoutMs;
  const heartbeat = options.heartbeatIntervalMs;
  if (session !== undefined && heartbeat !== undefined && heartbeat >= session) {
    throw new InvalidOptionError(
      `Expected \`heartbeatIntervalMs\` (${heartbeat}) to be less than ` +
        `\`sessionTimeoutMs\` (${session})`,
      { fix: 'Use a heartbeat interval of at most a third of the session timeout' },
    );
  }
}

function checkEventTime(options: StreamOptions): void {
  const eventTime = options.eventTime;
  if (eventTime === undefined) return;
  if (typeof eventTime !== 'object' || eventTime === null) {
    throw new InvalidOptionError(
      `Expected \`eventTime\` to be an object, got ${describe(eventTime)}`,
    );
  }
  checkString('eventTime.field', eventTime.field);
  checkInteger('eventTime.maxOutOfOrdernessMs', eventTime.maxOutOfOrdernessMs, 0);
  checkInteger('eventTime.allowedLatenessMs', eventTime.allowedLatenessMs, 0);
  checkInteger('eventTime.idlePartitionTimeoutMs', eventTime.idlePartitionTimeoutMs, 1);
}

function checkWindow(options: StreamOptions): void {
  const window = options.window;
  if (window === undefined) return;
  if (typeof window !== 'object' || window === null) {
    throw new InvalidOptionError(`Expected \`window\` to be an object, got ${describe(window)}`);
  }
  checkString('window.topic', window.topic, false);
  if (window.sizeMs === undefined) {
    throw new InvalidOptionError('Missing `window.sizeMs`', {
      fix: 'Set the window length in milliseconds',
    });
  }
  checkInteger('window.sizeMs', window.sizeMs, 1);
  checkString('window.scoreColumn', window.scoreColumn);
}
