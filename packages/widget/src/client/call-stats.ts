// statsFrom: the CallStats both engines report (native MediaSession, sip SipMedia), summed from WebRTC stats reports.
import { estimateMos } from './call-quality.js';
import type { CallStats } from './types.js';

type Entry = Record<string, number | string | boolean>;

/** Sums the audio RTP entries of `reports` (absent ones skipped) into CallStats; RTT and candidates from the nominated pair. */
export function statsFrom(reports: Iterable<RTCStatsReport | undefined>): CallStats {
  const stats: CallStats = {
    packetsSent: 0, packetsReceived: 0, bytesReceived: 0, audioLevel: 0, inputLevel: 0, jitter: 0, roundTripTime: 0, packetsLost: 0,
    mos: null, codec: null, iceCandidates: null,
  };
  for (const report of reports) {
    const get = (id: unknown) => (typeof id === 'string' ? (report?.get(id) as Entry | undefined) : undefined);
    report?.forEach((s: Entry) => {
      const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
      if (s.kind !== undefined && s.kind !== 'audio') return;
      const codec = () => String(get(s.codecId)?.mimeType ?? '').replace(/^audio\//i, '') || null;
      if (s.type === 'outbound-rtp') {
        stats.packetsSent += n('packetsSent');
        stats.codec = codec() ?? stats.codec;
      } else if (s.type === 'media-source') stats.inputLevel = Math.max(stats.inputLevel, n('audioLevel'));
      else if (s.type === 'inbound-rtp') {
        stats.packetsReceived += n('packetsReceived');
        stats.bytesReceived += n('bytesReceived');
        stats.packetsLost += n('packetsLost');
        stats.jitter = Math.max(stats.jitter, n('jitter'));
        stats.audioLevel = Math.max(stats.audioLevel, n('audioLevel'));
        stats.codec ??= codec();
      } else if (s.type === 'candidate-pair' && s.nominated && typeof s.currentRoundTripTime === 'number') {
        // Two transports (send, receive): the slower path; on loopback Chromium reports a sub-millisecond RTT as 0.
        stats.roundTripTime = Math.max(stats.roundTripTime, n('currentRoundTripTime'));
        const [local, remote] = [get(s.localCandidateId), get(s.remoteCandidateId)];
        if (local && remote) stats.iceCandidates = { local: String(local.candidateType), remote: String(remote.candidateType), protocol: String(local.protocol) };
      }
    });
  }
  const due = stats.packetsReceived + stats.packetsLost;
  if (stats.packetsReceived > 0) stats.mos = estimateMos(stats.roundTripTime * 1000, stats.jitter * 1000, due > 0 ? (100 * stats.packetsLost) / due : 0);
  return stats;
}
