/**
 * The cloud client against a real loopback HTTP server: answers, SSE streams with tool calls,
 * budgets, retries, 429, the breaker, malformed answers, hangs and interrupts. Every request goes
 * through the real Egress (guard + LevelDB audit).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PrivacyTier } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { AuditLog, isEgressEntry } from '../../daemon/router/audit-log.js';
import { CircuitBreaker } from '../../daemon/router/breaker.js';
import { MAX_TRANSCRIPT_CHARS } from '../../daemon/router/cloud-api.js';
import { CloudClient } from '../../daemon/router/cloud-client.js';
import { MAX_CHAT_CHARS } from '../../daemon/router/cloud-sse.js';
import { Egress } from '../../daemon/router/egress.js';
import { openStore, type Store } from '../../daemon/storage/store.js';
import { type Clock, SystemClock } from '../../daemon/util/clock.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import {
  CHAT,
  chatChunk,
  defaultTranscription,
  FakeOpenAIServer,
  TRANSCRIPTIONS,
} from '../helpers/fake-openai-server.js';
import { until } from '../helpers/wait.js';

let server: FakeOpenAIServer;
let dir: string;
let store: Store;
const clock = new SystemClock();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-router-'));
  store = await openStore(dir);
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  server = await FakeOpenAIServer.start();
});
afterEach(async () => {
  await server.close();
});

function setup(
  o: {
    retries?: number;
    timeoutMs?: number;
    threshold?: number;
    breakerClock?: Clock;
    clientClock?: Clock;
  } = {},
) {
  const audit = new AuditLog(store);
  const egress = new Egress({ audit, clock, logger: silentLogger() });
  const breaker = new CircuitBreaker({
    clock: o.breakerClock ?? clock,
    failureThreshold: o.threshold ?? 5,
    cooldownMs: 1000,
  });
  const client = new CloudClient({
    baseUrl: server.baseUrl,
    apiKey: 'sk-test',
    chatModel: 'gpt-test',
    transcriptionModel: 'whisper-test',
    timeoutMs: o.timeoutMs ?? 5000,
    retries: o.retries ?? 2,
    clock: o.clientClock ?? clock,
    breaker,
    transmit: egress.transmit,
    retryBaseMs: 10,
    random: () => 0.5,
  });
  return { audit, egress, breaker, client };
}

const ctx = (tier: PrivacyTier = 'public', correlationId = 'c-1') => ({
  tier,
  reason: 'confidence_below_threshold',
  correlationId,
  sourceId: 'env-1',
});
const samples = Int16Array.from({ length: 1600 }, (_, i) => Math.round(8000 * Math.sin(i / 5)));
const audio = { samples, sampleRateHz: 16_000 };
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );

describe('cloud client over real HTTP', () => {
  it('transcribes: multipart WAV with the exact samples, bearer key, verbose_json parsed, audited', async () => {
    const { client, audit } = setup();
    const since = Date.now();
    const r = await client.transcribe(audio, {
      context: ctx('public', 'c-tx'),
      budgetMs: 3000,
      language: 'en',
    });
    expect(r.text).toBe('turn on the kitchen light');
    expect(r.avgLogProb).toBeCloseTo(-0.05);
    expect(r.durationMs).toBeCloseTo(1400);
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.path).toBe(TRANSCRIPTIONS);
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(String(req.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    expect(req.body.includes(Buffer.from(samples.buffer))).toBe(true);
    expect(req.body.includes(Buffer.from('name="model"\r\n\r\nwhisper-test'))).toBe(true);
    const entries = (await audit.list({ sinceMs: since }))
      .filter(isEgressEntry)
      .filter((e) => e.correlationId === 'c-tx');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      dataKind: 'audio',
      bytes: req.body.length,
      path: '/v1/audio/transcriptions',
      outcome: 'sent',
    });
    expect(entries[0]!.host).toBe(new URL(server.baseUrl).host);
    expect(entries[0]!.payloadRef).toMatch(/^sha256:[0-9a-f]{64}@env-1$/);
  });

  it('streams chat: content deltas in order and tool_calls assembled from fragments', async () => {
    server.script(CHAT, {
      kind: 'sse',
      intervalMs: 5,
      chunks: [
        chatChunk({ role: 'assistant', content: 'Turning ' }),
        chatChunk({ content: 'on.' }),
        chatChunk({
          tool_calls: [
            { index: 0, id: 'call_a', type: 'function', function: { name: 'light', arguments: '' } },
          ],
        }),
        chatChunk({ tool_calls: [{ index: 0, function: { arguments: '{"room":' } }] }),
        chatChunk({ tool_calls: [{ index: 0, function: { arguments: '"kitchen"}' } }] }),
        chatChunk({}, 'tool_calls'),
      ],
    });
    const { client } = setup();
    const deltas: string[] = [];
    const r = await client.chat(
      {
        messages: [{ role: 'user', content: 'turn on the kitchen light' }],
        tools: [{ type: 'function', function: { name: 'light', parameters: { type: 'object' } } }],
        onDelta: (d) => deltas.push(d),
      },
      { context: ctx('sensitive'), budgetMs: 3000 },
    );
    expect(deltas).toEqual(['Turning ', 'on.']);
    expect(r.content).toBe('Turning on.');
    expect(r.finishReason).toBe('tool_calls');
    expect(r.toolCalls).toEqual([{ id: 'call_a', name: 'light', arguments: '{"room":"kitchen"}' }]);
    const sent = JSON.parse(server.requests[0]!.body.toString()) as {
      stream: boolean;
      tools: unknown[];
      model: string;
    };
    expect(sent).toMatchObject({ stream: true, model: 'gpt-test' });
    expect(sent.tools).toHaveLength(1);
  });

  it('aborts a slow answer at the budget', async () => {
    // The server never answers; the budget runs on a virtual clock the test moves.
    server.script(TRANSCRIPTIONS, { kind: 'hang' });
    const clientClock = new VirtualClock(0);
    const { client } = setup({ clientClock });
    const call = codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 300 }));
    let settled = false;
    void call.then(() => {
      settled = true;
    });
    await until('the request to reach the server', () => server.requests.length === 1);
    await clientClock.advanceTo(299);
    expect(settled).toBe(false);
    await clientClock.advanceTo(300);
    await until('the call to end at the budget', () => settled);
    expect(await call).toBe('E_CLOUD_TIMEOUT');
    // Aborted, not waited out: the client closed the connection, and did not try again.
    await until(
      'the client to close the connection',
      () => server.requests[0]!.clientClosedAtMs !== undefined,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('retries 5xx and network errors, then succeeds', async () => {
    server.script(TRANSCRIPTIONS, { kind: 'status', status: 503 }, { kind: 'destroy' });
    const { client, breaker } = setup({ retries: 2 });
    const r = await client.transcribe(audio, { context: ctx(), budgetMs: 3000 });
    expect(r.text).toBe('turn on the kitchen light');
    expect(server.requests).toHaveLength(3);
    expect(breaker.state()).toBe('closed');
  });

  it('honours Retry-After on 429 when it fits the budget, gives up when it does not', async () => {
    server.script(TRANSCRIPTIONS, { kind: 'status', status: 429, headers: { 'retry-after': '0' } });
    const { client } = setup();
    await client.transcribe(audio, { context: ctx(), budgetMs: 3000 });
    expect(server.requests).toHaveLength(2);

    server.script(TRANSCRIPTIONS, { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 2000 }))).toBe(
      'E_CLOUD_RATE_LIMITED',
    );
    expect(server.requests).toHaveLength(3); // no retry: 30 s is past the budget
  });

  it('does not retry a client error (4xx) and does not count it against the cloud', async () => {
    server.script(TRANSCRIPTIONS, { kind: 'status', status: 401 });
    const { client, breaker } = setup({ threshold: 1 });
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 2000 }))).toBe('E_CLOUD_HTTP');
    expect(server.requests).toHaveLength(1);
    expect(breaker.state()).toBe('closed');
  });

  it('opens the breaker after consecutive failures, then recovers through one half-open probe', async () => {
    const breakerClock = new VirtualClock(0);
    server.setDefault(TRANSCRIPTIONS, { kind: 'status', status: 500 });
    const { client, breaker } = setup({ retries: 2, threshold: 3, breakerClock });
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 3000 }))).toBe('E_CLOUD_HTTP');
    expect(server.requests).toHaveLength(3);
    expect(breaker.state()).toBe('open');
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 3000 }))).toBe(
      'E_CLOUD_BREAKER_OPEN',
    );
    expect(server.requests).toHaveLength(3); // refused without touching the network

    await breakerClock.advanceTo(1000);
    expect(breaker.state()).toBe('half_open');
    server.setDefault(TRANSCRIPTIONS, { kind: 'json', body: { text: 'back' } });
    const r = await client.transcribe(audio, { context: ctx(), budgetMs: 3000 });
    expect(r.text).toBe('back');
    expect(breaker.state()).toBe('closed');
  });

  it('a failed half-open probe re-opens without retrying', async () => {
    const breakerClock = new VirtualClock(0);
    server.setDefault(TRANSCRIPTIONS, { kind: 'status', status: 502 });
    const { client, breaker } = setup({ retries: 0, threshold: 1, breakerClock });
    await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 3000 }));
    await breakerClock.advanceTo(1000);
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 3000 }))).toBe('E_CLOUD_HTTP');
    expect(breaker.state()).toBe('open');
    expect(server.requests).toHaveLength(2);
  });

  it('rejects malformed JSON without retrying', async () => {
    server.script(TRANSCRIPTIONS, { kind: 'raw', body: '{"text": "unterminated' });
    const { client } = setup();
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 2000 }))).toBe(
      'E_CLOUD_BAD_RESPONSE',
    );
    server.script(CHAT, { kind: 'sse', chunks: ['{oops'] });
    expect(
      await codeOf(
        client.chat({ messages: [{ role: 'user', content: 'x' }] }, { context: ctx(), budgetMs: 2000 }),
      ),
    ).toBe('E_CLOUD_BAD_RESPONSE');
    expect(server.requests).toHaveLength(2);
  });

  it('refuses answers past their size caps: a 20k-word transcript, a 2 MiB body, an endless chat', async () => {
    const words = Array.from({ length: 20_000 }, (_, i) => ['turn', 'on', 'the', 'light'][i % 4]).join(' ');
    server.script(TRANSCRIPTIONS, defaultTranscription(words));
    const { client } = setup({ retries: 0 });
    const tx = client.transcribe(audio, { context: ctx(), budgetMs: 3000 });
    const err = await tx.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_CLOUD_BAD_RESPONSE' });
    expect((err as Error).message).toContain(`${MAX_TRANSCRIPT_CHARS} characters`);
    // A body far beyond any real answer is not read to its end.
    server.script(TRANSCRIPTIONS, {
      kind: 'raw',
      body: JSON.stringify({ text: 'x', pad: 'y'.repeat(2 << 20) }),
    });
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 3000 }))).toBe(
      'E_CLOUD_BAD_RESPONSE',
    );
    // A stream that keeps talking: content past the cap ends the call.
    const chunk = chatChunk({ content: 'z'.repeat(4096) });
    server.script(CHAT, { kind: 'sse', chunks: Array(MAX_CHAT_CHARS / 4096 + 2).fill(chunk) });
    const chat = client.chat(
      { messages: [{ role: 'user', content: 'x' }] },
      { context: ctx(), budgetMs: 5000 },
    );
    expect(await codeOf(chat)).toBe('E_CLOUD_BAD_RESPONSE');
    // Tool-call indexes are the cloud's to choose: a stream naming thousands is cut off.
    const many = Array.from({ length: 200 }, (_, index) =>
      chatChunk({ tool_calls: [{ index, id: `c${index}`, function: { name: 'log', arguments: '{}' } }] }),
    );
    server.script(CHAT, { kind: 'sse', chunks: many });
    const calls = client.chat(
      { messages: [{ role: 'user', content: 'x' }] },
      { context: ctx(), budgetMs: 5000 },
    );
    expect(await codeOf(calls)).toBe('E_CLOUD_BAD_RESPONSE');
  });

  it('times out a hanging connection per attempt and retries within the budget', async () => {
    server.setDefault(TRANSCRIPTIONS, { kind: 'hang' });
    const { client } = setup({ retries: 1, timeoutMs: 200 });
    expect(await codeOf(client.transcribe(audio, { context: ctx(), budgetMs: 3000 }))).toBe(
      'E_CLOUD_TIMEOUT',
    );
    expect(server.requests).toHaveLength(2);
  });

  it('an interrupt cancels a streaming call promptly and closes the connection', async () => {
    server.script(CHAT, {
      kind: 'sse',
      intervalMs: 20,
      chunks: [chatChunk({ content: 'a' }), chatChunk({ content: 'b' })],
      done: false,
      hang: true,
    });
    const { client, breaker } = setup({ threshold: 1 });
    const interrupt = new AbortController();
    const deltas: string[] = [];
    const call = client.chat(
      {
        messages: [{ role: 'user', content: 'x' }],
        onDelta: (d) => {
          deltas.push(d);
          if (deltas.length === 2) interrupt.abort();
        },
      },
      { context: ctx(), budgetMs: 10_000, signal: interrupt.signal },
    );
    expect(await codeOf(call)).toBe('E_CLOUD_ABORTED');
    expect(deltas).toEqual(['a', 'b']);
    await until(
      'the client to close the connection',
      () => server.requests[0]!.clientClosedAtMs !== undefined,
    );
    expect(breaker.state()).toBe('closed'); // a user's interrupt says nothing about the cloud's health
  });

  it('the egress guard refuses audio under a non-public tier: nothing reaches the server, refusal audited', async () => {
    const { client, egress, audit } = setup();
    for (const tier of ['sensitive', 'private', 'local_only'] as const) {
      expect(
        await codeOf(client.transcribe(audio, { context: ctx(tier, `guard-${tier}`), budgetMs: 2000 })),
      ).toBe('E_PRIVACY_VIOLATION');
    }
    // local_only refuses even text
    expect(
      await codeOf(
        client.chat(
          { messages: [{ role: 'user', content: 'hi' }] },
          { context: ctx('local_only', 'guard-text'), budgetMs: 2000 },
        ),
      ),
    ).toBe('E_PRIVACY_VIOLATION');
    expect(server.requests).toHaveLength(0);
    expect(egress.violations).toBe(4);
    const refused = (await audit.list()).filter((e) => String(e.correlationId).startsWith('guard-'));
    expect(refused.map((e) => e.outcome)).toEqual(['refused', 'refused', 'refused', 'refused']);
  });
});
