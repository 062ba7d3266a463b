// End to end: AI agent calls in the demo pages. A widget calls the built-in agent (agent:akylai) and the operator dashboard
// shows that call's transcript beside its recording; a call without an agent shows none (and no error); the demo page's
// "Call the agent" button puts Alice on a call with the agent; a media-stream bot's own transcript (its call-completed
// webhook) shows too.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { createAgent, defaultInstanceId, setWebhookSecret } from '../helpers/agents.js';
import { openCallerPhone } from '../helpers/mic.js';
import { postCallCompleted, startMediaStreamBot, type MediaStreamBot, type StartMessage } from '../helpers/media-stream-bot.js';
import { mintToken, type RunningServer } from '../helpers/server.js';
import { startStage, type Stage } from '../helpers/stage.js';

const SECRET = 'whsec_dash_' + Math.random().toString(36).slice(2);

let stage: Stage;
let bot: MediaStreamBot;
before(async () => {
  stage = await startStage({ browsers: { a: 440, b: 1000 } });
  bot = await startMediaStreamBot();
  const instanceId = await defaultInstanceId(stage.server);
  await createAgent(stage.server, instanceId, { key: 'dashbot', name: 'Dashboard bot', provider: 'pipecat', url: bot.url });
  await setWebhookSecret(stage.server, instanceId, SECRET);
});
afterEach(() => stage.closePhones());
after(async () => {
  await bot?.close();
  await stage?.close();
});

interface Transcript {
  call_id: string;
  agent: string;
  provider_transcript: string | null;
  turns: { role: 'agent' | 'user'; text: string; at: string }[];
}

/** The server's transcript of a call (the API the dashboard's proxy calls), polled until `ready` accepts it. */
async function transcriptOf(server: RunningServer, callId: string, ready: (t: Transcript) => boolean, timeoutMs = 15_000): Promise<Transcript> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const res = await fetch(`${server.url}/api/v1/calls/${callId}/transcript`, { headers: { 'x-api-key': server.apiKey } });
    last = `${res.status} ${await res.text()}`;
    if (res.ok) {
      const t = JSON.parse(last.slice(4)) as Transcript;
      if (ready(t)) return t;
    }
    if (Date.now() > deadline) throw new Error(`transcript of call ${callId} not ready: ${last}\n${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Opens the dashboard on one call (as a shared link would: ?call=<id>). */
async function dashboardOn(callId: string): Promise<Page> {
  const page = await stage.browsers.a!.newPage();
  await page.goto(`${stage.server.url}/dashboard.html?call=${callId}`);
  await page.locator('#details').waitFor();
  await page.locator('#timeline li').first().waitFor();
  return page;
}

test('a call with the agent shows its transcript, greeting first, beside its recording', async () => {
  const { server } = stage;
  // A quiet caller (the steerable microphone at its noise floor): a tone would be heard as the caller talking over the greeting.
  const { phone: caller } = await openCallerPhone(stage.browsers.a!, stage.site.url, server.url, await mintToken(server, 'agent-caller', { extension: '2201' }));
  await caller.waitState('ready');
  const callId = (await caller.invoke('call', 'agent:akylai')) as string;
  await caller.waitState('in-call');

  // While the call goes on, the open dashboard shows the turns as they come.
  const page = await dashboardOn(callId);
  const section = page.locator('#transcript');
  await section.waitFor({ state: 'visible' });
  await page
    .locator('#turns li[data-role="agent"]')
    .first()
    .waitFor({ timeout: 15_000 })
    .catch(async (err: Error) => {
      const api = await fetch(`${server.url}/api/v1/calls/${callId}/transcript`, { headers: { 'x-api-key': server.apiKey } }).then((r) => r.text());
      const log = server.output().split('\n').filter((l) => /agent/i.test(l)).slice(-10).join('\n');
      throw new Error(`${err.message}\nphone: ${await caller.state()}\nAPI transcript: ${api}\nserver: ${log}`);
    });
  assert.match(await page.locator('#transcript-summary').innerText(), /so far/, 'a live call says its transcript is not final');
  await new Promise((r) => setTimeout(r, 2000));
  await caller.invoke('hangup');
  await caller.waitState('ready');
  const stored = await transcriptOf(server, callId, (t) => t.turns.some((turn) => turn.role === 'agent'));
  const greeting = stored.turns[0]!;
  assert.equal(greeting.role, 'agent', 'the agent speaks first');
  assert.ok(greeting.text.trim().length > 0, 'the greeting has words');

  // Once the call has ended the panel reloads on its own: the final transcript beside the recording.
  await page.waitForFunction(() => !/so far/.test((document.getElementById('transcript-summary') as HTMLElement).textContent ?? ''), undefined, { timeout: 10_000 });
  assert.match(await page.locator('#transcript-summary').innerText(), /With agent akylai/);
  const turns = page.locator('#turns li');
  assert.equal(await turns.count(), stored.turns.length, 'one list item per stored turn');
  const first = turns.first();
  assert.equal(await first.getAttribute('data-role'), 'agent');
  assert.match(await first.locator('.turn-who').innerText(), /Agent\s+akylai/);
  assert.equal((await first.locator('.turn-text').innerText()).trim(), greeting.text.trim(), "the greeting's words, as stored");
  assert.equal(await first.locator('time').getAttribute('datetime'), greeting.at);
  assert.match(await first.locator('time').innerText(), /\d{2}:\d{2}:\d{2}/);
  // the section sits right after the recording in the details panel
  const order = await page.evaluate(() => [...document.querySelectorAll('#details > section')].map((s) => s.className));
  assert.deepEqual(order, ['recording', 'transcript', 'journey']);
  assert.match(await page.locator('#timeline').innerText(), /Agent/, 'the journey has the Agent step');
  assert.equal(await page.locator('#alerts').innerText(), '', 'no error alert');
  // no provider (the built-in agent has none): no provider transcript box
  assert.equal(stored.provider_transcript, null);
  assert.equal(await page.locator('#provider-transcript').isVisible(), false);
  const duration = await page.waitForFunction(() => {
    const audio = document.getElementById('audio') as HTMLAudioElement | null;
    return audio && Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : null;
  });
  assert.ok(((await duration.jsonValue()) as number) > 2, 'the recording of the agent call loads in the player');
  await page.close();
  await caller.page.close();
});

test('a call without an agent shows no transcript and no error', async () => {
  const { server } = stage;
  const alice = await stage.phone('a', await mintToken(server, 'plain-alice', { extension: '2211' }));
  const bob = await stage.phone('b', await mintToken(server, 'plain-bob', { extension: '2212' }));
  const callId = (await alice.invoke('call', '2212')) as string;
  await bob.waitState('incoming');
  await bob.invoke('answer');
  await alice.waitState('in-call');
  await alice.invoke('hangup');
  await bob.waitState('ready');
  const res = await fetch(`${server.url}/api/v1/calls/${callId}/transcript`, { headers: { 'x-api-key': server.apiKey } });
  assert.equal(res.status, 404);

  const page = await dashboardOn(callId);
  // the transcript request has settled once the recording has (both start together); give it a moment more
  await page.waitForFunction(() => (document.getElementById('recording-note') as HTMLElement).textContent !== 'Loading the recording…');
  await page.waitForTimeout(500);
  assert.equal(await page.locator('#transcript').isVisible(), false);
  assert.equal(await page.locator('#turns li').count(), 0);
  assert.equal(await page.locator('#alerts').innerText(), '', 'the 404 is not an error');
  await page.close();
});

test("the demo page's Call the agent button puts Alice on a call with the agent", async () => {
  const { server } = stage;
  const page = await stage.browsers.a!.newPage();
  await page.goto(`${server.url}/`);
  const button = page.getByRole('button', { name: 'Call the agent' });
  assert.equal(await button.getAttribute('aria-describedby'), 'agent-hint');
  assert.match(await page.locator('#agent-hint').innerText(), /opening hours/i);
  // Alice alone is enough: the agent needs no second phone
  await page.waitForFunction(() => !(document.getElementById('alice-calls-agent') as HTMLButtonElement).disabled, undefined, { timeout: 15_000 });
  await button.click();
  await page.waitForFunction(() => (document.getElementById('phone-alice') as unknown as { state: string }).state === 'in-call', undefined, { timeout: 10_000 });
  const remote = await page.evaluate(
    () => (document.getElementById('phone-alice') as unknown as { client: { activeCall: { id: string; remote: { identity: string; displayName: string } } } }).client.activeCall,
  );
  assert.equal(remote.remote.identity, 'agent:akylai');
  assert.equal(remote.remote.displayName, 'Akylai');
  assert.equal(await button.isDisabled(), true, 'no second call while in one');
  assert.match(await page.locator('#try-status').innerText(), /on a call with the agent/);
  assert.match(await page.locator('#event-log').innerText(), /to Akylai \(AI agent\)/);
  await page.evaluate(() => (document.getElementById('phone-alice') as unknown as { hangup(): Promise<void> }).hangup());
  await page.waitForFunction(() => (document.getElementById('phone-alice') as unknown as { state: string }).state === 'ready');
  assert.equal(await button.isDisabled(), false);
  // the call was a real agent call: the server has its transcript
  await transcriptOf(server, remote.id, (t) => t.agent === 'akylai');
  await page.close();
});

test("a media-stream bot's own transcript (its call-completed webhook) shows as the provider's transcript", async () => {
  const { server } = stage;
  const caller = await stage.phone('a', await mintToken(server, 'bot-caller', { extension: '2221' }));
  const callId = (await caller.invoke('call', 'agent:dashbot')) as string;
  const stream = await bot.nextStream();
  const start = (await stream.waitEvent('start')) as StartMessage;
  await caller.waitState('in-call');
  await caller.invoke('hangup');
  await caller.waitState('ready');
  await stream.waitEvent('stop');
  // text that must stay text: the dashboard never parses what a provider sends as HTML
  const transcript = 'agent: Hello <b>there</b> & welcome.\nuser: Hi!\nagent: Goodbye.';
  const posted = await postCallCompleted(server.url, SECRET, { event_type: 'call.completed', provider_call_id: start.start.callSid, status: 'completed', transcript, duration: 3 });
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  await transcriptOf(server, callId, (t) => t.provider_transcript === transcript);

  const page = await dashboardOn(callId);
  await page.locator('#provider-transcript').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#provider-transcript-text').textContent(), transcript);
  assert.equal(await page.locator('#provider-transcript-text b').count(), 0, 'no markup from the provider');
  assert.match(await page.locator('#transcript-summary').innerText(), /dashbot/);
  assert.equal(await page.locator('#alerts').innerText(), '', 'no error alert');
  await page.close();
});
