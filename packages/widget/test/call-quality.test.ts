// Call-quality warnings (thresholds, raise/clear hysteresis, the flat-microphone rule) from scripted samples, the MOS
// estimate and verdicts, the preflight report, and the element's warning indicator and preflight button.
import '../src/ui/astral-phone.js';
import { callQualityOf, estimateMos, QualityMonitor, sampleBetween, type QualitySample, type QualityWarning } from '../src/client/call-quality.js';
import { preflightReport } from '../src/client/preflight.js';
import type { CallStats, PreflightReport } from '../src/client/types.js';
import { assert, deepEqual, emit, equal, mountPhone, part, startCall, text, unmountAll, waitFor } from './helpers.js';

afterEach(unmountAll);

const GOOD: QualitySample = { rttMs: 20, jitterMs: 2, lossPercent: 0, mos: 4.4, inputLevel: 0.2, muted: false };

/** A monitor and the raised (+name) / cleared (-name) log it produced. */
function monitor(): { m: QualityMonitor; log: string[]; details: QualityWarning[] } {
  const log: string[] = [];
  const details: QualityWarning[] = [];
  const m = new QualityMonitor((raised, w) => (log.push(`${raised ? '+' : '-'}${w.name}`), details.push(w)));
  return { m, log, details };
}

/** Varying microphone levels, so the flat-input rule stays quiet. */
const speaking = (i: number): QualitySample => ({ ...GOOD, inputLevel: i % 2 ? 0.1 : 0.4 });

describe('call-quality warnings', () => {
  it('high-packet-loss is raised at the third of five samples over 1 %, and cleared only once five in a row are under', () => {
    const { m, log, details } = monitor();
    const losses = [0, 5, 0, 5, 5, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0];
    const after: string[][] = [];
    losses.forEach((lossPercent, i) => {
      m.push({ ...speaking(i), lossPercent });
      after.push([...log]);
    });
    equal(after[3]!.length, 0, 'two crossings of five raise nothing');
    deepEqual(after[4], ['+high-packet-loss'], 'the third crossing raises');
    deepEqual(details[0], { name: 'high-packet-loss', value: 5, threshold: 1 }, 'with the figure and the threshold');
    // Samples 5..8 are clean, but sample 4 (5 %) is still among the last five until sample 9.
    deepEqual(after[8], ['+high-packet-loss'], 'still raised while a crossing stays in the window');
    deepEqual(after[9], ['+high-packet-loss'], 'a fresh crossing (2 %) keeps it raised');
    deepEqual(after[13], ['+high-packet-loss'], 'one crossing among the last five keeps it raised');
    deepEqual(after[14], ['+high-packet-loss', '-high-packet-loss'], 'five clean samples in a row clear it');
  });

  it('high-rtt, high-jitter and low-mos follow Twilio thresholds (400 ms, 30 ms, MOS 3.5), each on its own', () => {
    const { m, log } = monitor();
    for (let i = 0; i < 3; i++) m.push({ ...speaking(i), rttMs: 400, jitterMs: 30, mos: 3.5 });
    deepEqual(log, [], 'exactly at the thresholds is fine');
    for (let i = 0; i < 3; i++) m.push({ ...speaking(i), rttMs: 450 });
    deepEqual(log, ['+high-rtt'], 'RTT over 400 ms');
    for (let i = 0; i < 3; i++) m.push({ ...speaking(i), rttMs: 450, jitterMs: 45, mos: 3.2 });
    deepEqual(log, ['+high-rtt', '+high-jitter', '+low-mos'], 'jitter and MOS join');
    for (let i = 0; i < 5; i++) m.push(speaking(i));
    deepEqual(log.slice(3).sort(), ['-high-jitter', '-high-rtt', '-low-mos'], 'all clear after five good samples');
    deepEqual(m.warnings, [], 'nothing left raised');
  });

  it('samples without audio (no MOS, unknown RTT) neither raise nor clear low-mos and high-rtt', () => {
    const { m, log } = monitor();
    for (let i = 0; i < 3; i++) m.push({ ...speaking(i), mos: 2 });
    deepEqual(log, ['+low-mos'], 'raised');
    for (let i = 0; i < 5; i++) m.push({ ...speaking(i), mos: null, rttMs: 0 });
    deepEqual(log, ['+low-mos'], 'gaps decide nothing');
    for (let i = 0; i < 4; i++) m.push(speaking(i));
    deepEqual(log, ['+low-mos'], 'four good samples after the gap are not five');
    m.push(speaking(4));
    deepEqual(log, ['+low-mos', '-low-mos'], 'five are');
  });

  it('constant-audio-input-level: a flat unmuted microphone for ten samples, cleared when the level moves; never while muted', () => {
    const { m, log } = monitor();
    for (let i = 0; i < 9; i++) m.push({ ...GOOD, inputLevel: 0 });
    deepEqual(log, [], 'nine flat samples are not enough');
    m.push({ ...GOOD, inputLevel: 0 });
    deepEqual(log, ['+constant-audio-input-level'], 'the tenth raises');
    m.push({ ...GOOD, inputLevel: 0.3 });
    deepEqual(log, ['+constant-audio-input-level', '-constant-audio-input-level'], 'speech clears it');
    const muted = monitor();
    for (let i = 0; i < 12; i++) muted.m.push({ ...GOOD, inputLevel: 0, muted: true });
    deepEqual(muted.log, [], 'a muted microphone is meant to be flat');
    for (let i = 0; i < 9; i++) muted.m.push({ ...GOOD, inputLevel: 0 });
    deepEqual(muted.log, [], 'the muted samples do not count toward the ten');
  });

  it('ice-connectivity-lost follows the media path; reset clears whatever is raised', () => {
    const { m, log } = monitor();
    m.setConnectivity(false);
    m.setConnectivity(false);
    deepEqual(log, ['+ice-connectivity-lost'], 'raised once');
    m.setConnectivity(true);
    deepEqual(log, ['+ice-connectivity-lost', '-ice-connectivity-lost'], 'cleared when back');
    for (let i = 0; i < 3; i++) m.push({ ...speaking(i), lossPercent: 10 });
    m.setConnectivity(false);
    m.reset();
    deepEqual(log.slice(2).sort(), ['+high-packet-loss', '+ice-connectivity-lost', '-high-packet-loss', '-ice-connectivity-lost'], 'reset clears both');
  });

  it('sampleBetween takes the loss of the interval, not of the call so far', () => {
    const stats = (received: number, lost: number): CallStats => ({
      packetsSent: 0, packetsReceived: received, bytesReceived: 0, audioLevel: 0, inputLevel: 0.5, jitter: 0.004, roundTripTime: 0.05, packetsLost: lost, mos: null, codec: 'opus', iceCandidates: null,
    });
    const s = sampleBetween(stats(1000, 100), stats(1045, 105), false);
    equal(s.lossPercent, 10, '5 of 50 due in the interval');
    equal(s.rttMs, 50, 'RTT in ms');
    equal(s.jitterMs, 4, 'jitter in ms');
    assert(s.mos !== null && s.mos < 4, `10 % loss costs MOS (${s.mos})`);
    equal(sampleBetween(stats(1000, 0), stats(1000, 0), false).mos, null, 'no MOS for an interval without audio');
  });
});

describe('MOS estimate and verdict', () => {
  it('a clean LAN path scores excellent; loss and latency bring it down through Twilio’s ranges', () => {
    const clean = estimateMos(1, 1, 0)!;
    assert(clean > 4.4 && clean < 4.6, `clean path ${clean}`);
    equal(callQualityOf(clean), 'excellent', 'clean path verdict');
    const lossy = estimateMos(50, 10, 5)!;
    const worse = estimateMos(300, 40, 10)!;
    assert(lossy < clean && worse < lossy, 'monotonic in trouble');
    equal(estimateMos(10, 1, 60), 1, 'loss beyond the model scores the floor');
    equal(estimateMos(-1, 1, 0), null, 'nonsense input has no score');
    deepEqual([4.3, 4.2, 4.1, 4.0, 3.7, 3.6, 3.1, 3.0].map(callQualityOf), ['excellent', 'great', 'great', 'good', 'good', 'fair', 'fair', 'degraded'], 'ranges');
    equal(callQualityOf(null), 'degraded', 'nothing came back');
  });

  it('preflightReport averages the samples and names the candidates', () => {
    const last: CallStats = {
      packetsSent: 400, packetsReceived: 396, bytesReceived: 1, audioLevel: 0, inputLevel: 0, jitter: 0.001, roundTripTime: 0.002, packetsLost: 4, mos: 4.4, codec: 'opus',
      iceCandidates: { local: 'host', remote: 'relay', protocol: 'udp' },
    };
    const r = preflightReport([{ ...GOOD, rttMs: 10, mos: 4.4 }, { ...GOOD, rttMs: 30, mos: 4.0 }], last, ['high-jitter'], 8000);
    deepEqual(r.rtt, { min: 10, average: 20, max: 30 }, 'RTT figure');
    equal(r.callQuality, 'great', 'average MOS 4.2');
    equal(r.packetLoss, 1, '4 of 400');
    equal(r.isTurnRequired, true, 'a relay candidate means TURN');
    deepEqual(r.warnings, ['high-jitter'], 'warnings kept');
  });
});

describe('<astral-phone> quality UI', () => {
  it('shows an indicator while a warning is raised in a call, re-dispatches the events composed, and drops it when the call ends', async () => {
    const { el, client } = await mountPhone();
    const seen: string[] = [];
    document.body.addEventListener('astral-warning', (e) => e.composed && seen.push(`+${e.detail.name}`));
    document.body.addEventListener('astral-warning-cleared', (e) => e.composed && seen.push(`-${e.detail.name}`));
    await startCall(el, client);
    equal(part(el, 'quality-warning'), null, 'no indicator while all is well');
    await emit(el, client, 'warning', { name: 'high-packet-loss', value: 12, threshold: 1 });
    await emit(el, client, 'warning', { name: 'low-mos', value: 3, threshold: 3.5 });
    const indicator = part(el, 'quality-warning')!;
    equal(indicator.dataset.warnings, 'high-packet-loss low-mos', 'both named');
    assert(text(indicator).includes('Audio is being lost'), `worded: ${text(indicator)}`);
    await emit(el, client, 'warning-cleared', { name: 'high-packet-loss' });
    equal(part(el, 'quality-warning')!.dataset.warnings, 'low-mos', 'one left');
    deepEqual(seen, ['+high-packet-loss', '+low-mos', '-high-packet-loss'], 'composed events reach the page');
    client.emit('call', { call: null });
    await emit(el, client, 'state', { state: 'ready' });
    equal(part(el, 'quality-warning'), null, 'gone after the call');
  });

  it('"Test my connection" runs the client’s preflight, shows progress, then the verdict and figures', async () => {
    let finish: (r: PreflightReport) => void = () => undefined;
    const { el, client } = await mountPhone((c) => {
      (c as unknown as { preflight: () => Promise<PreflightReport> }).preflight = () => new Promise((r) => (finish = r));
    });
    const button = part<HTMLButtonElement>(el, 'preflight-button')!;
    equal(text(button), 'Test my connection', 'labelled');
    button.click();
    await el.updateComplete;
    assert(button.disabled, 'one test at a time');
    await emit(el, client, 'preflight-progress', { elapsedMs: 3000, durationMs: 8000, sample: GOOD });
    equal(text(button), 'Testing\u2026 5 s', 'counts down');
    finish({
      callQuality: 'excellent', mos: { min: 4.4, average: 4.4, max: 4.4 }, rtt: { min: 1, average: 2, max: 3 }, jitter: { min: 0, average: 1, max: 2 }, packetLoss: 0,
      packetsSent: 400, packetsReceived: 400, codec: 'opus', iceCandidates: { local: 'host', remote: 'host', protocol: 'udp' }, isTurnRequired: false, warnings: [], durationMs: 8000,
    });
    const result = await waitFor(() => (part(el, 'preflight-result')?.dataset.verdict ? part(el, 'preflight-result') : null), 'the verdict');
    equal(result.dataset.verdict, 'excellent', 'verdict attribute');
    assert(text(result).includes('Connection: excellent') && text(result).includes('RTT 2 ms'), `shown: ${text(result)}`);
    assert(!part<HTMLButtonElement>(el, 'preflight-button')!.disabled, 'can test again');
  });

  it('no preflight button for a client without preflight (the sip engine)', async () => {
    const { el } = await mountPhone();
    equal(part(el, 'preflight-button'), null, 'hidden');
  });
});
