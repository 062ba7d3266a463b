// SDP helpers: building our G.711 SDP, parsing offers (session/media-level c=, static payload types), negotiation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSdp, negotiate, parseSdp } from '../src/sip/sdp.js';

test('buildSdp writes a G.711 audio SDP with telephone-event, ptime and direction', () => {
  const sdp = buildSdp({ ip: '203.0.113.5', port: 40000, codec: 'PCMA', payloadType: 8, telephoneEventPt: 101, direction: 'sendonly', sessionId: '123', version: 2 });
  assert.match(sdp, /^v=0\r\n/);
  assert.match(sdp, /\r\no=astral 123 2 IN IP4 203\.0\.113\.5\r\n/);
  assert.match(sdp, /\r\nc=IN IP4 203\.0\.113\.5\r\n/);
  assert.match(sdp, /\r\nm=audio 40000 RTP\/AVP 8 101\r\n/);
  assert.match(sdp, /\r\na=rtpmap:8 PCMA\/8000\r\n/);
  assert.match(sdp, /\r\na=rtpmap:101 telephone-event\/8000\r\n/);
  assert.match(sdp, /\r\na=fmtp:101 0-16\r\n/);
  assert.match(sdp, /\r\na=ptime:20\r\n/);
  assert.match(sdp, /\r\na=sendonly\r\n/);
  const parsed = parseSdp(sdp);
  assert.deepEqual(parsed, { ip: '203.0.113.5', port: 40000, codecs: [{ name: 'PCMA', payloadType: 8, clockRate: 8000 }], telephoneEventPt: 101, direction: 'sendonly' });
  const noDtmf = buildSdp({ ip: '10.0.0.1', port: 5000, codec: 'PCMU', payloadType: 0, telephoneEventPt: null, direction: 'sendrecv', sessionId: '1', version: 1 });
  assert.doesNotMatch(noDtmf, /telephone-event/);
  assert.match(noDtmf, /m=audio 5000 RTP\/AVP 0\r\n/);
});

test('parseSdp: static payload types without rtpmap, media-level connection, direction default', () => {
  const offer = 'v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 18 0 8 96\r\nc=IN IP4 198.51.100.9\r\na=rtpmap:18 G729/8000\r\na=rtpmap:96 telephone-event/8000\r\n';
  const p = parseSdp(offer);
  assert.ok(p);
  assert.equal(p.ip, '198.51.100.9');
  assert.equal(p.port, 30000);
  assert.deepEqual(p.codecs.map((c) => [c.name, c.payloadType]), [['G729', 18], ['PCMU', 0], ['PCMA', 8]]);
  assert.equal(p.telephoneEventPt, 96);
  assert.equal(p.direction, 'sendrecv');
  assert.deepEqual(negotiate(p, ['PCMA', 'PCMU']), { codec: 'PCMU', payloadType: 0, telephoneEventPt: 96 });
  assert.deepEqual(negotiate(p, ['PCMA']), { codec: 'PCMA', payloadType: 8, telephoneEventPt: 96 });
});

test('parseSdp: session-level connection, inactive; negotiate null when nothing allowed', () => {
  const offer = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=inactive\r\nm=audio 4000 RTP/AVP 9 0\r\n';
  const p = parseSdp(offer);
  assert.ok(p);
  assert.equal(p.ip, '192.0.2.1');
  assert.equal(p.direction, 'inactive');
  assert.equal(negotiate(p, ['PCMA']), null);
  assert.deepEqual(negotiate(p, ['PCMU']), { codec: 'PCMU', payloadType: 0, telephoneEventPt: null });
});

test('parseSdp: null for junk, no audio, no address', () => {
  assert.equal(parseSdp(''), null);
  assert.equal(parseSdp('hello world'), null);
  assert.equal(parseSdp('\u0000\u0001garbage=\r\n'), null);
  assert.equal(parseSdp('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n'), null);
  assert.equal(parseSdp('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n'), null);
});
