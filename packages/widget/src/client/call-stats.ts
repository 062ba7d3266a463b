// statsFrom: the CallStats both engines report (native MediaSession, sip SipMedia), summed from WebRTC stats reports.
import type { CallStats } from './types.js';

/** Sums the audio RTP entries of `reports` (absent ones skipped) into CallStats; RTT from the nominated candidate pair. */
export function statsFrom(reports: Iterable<RTCStatsReport | undefined>): CallStats {
  const stats: CallStats = { packetsSent: 0, packetsReceived: 0, bytesReceived: 0, audioLevel: 0, jitter: 0, roundTripTime: 0, packetsLost: 0 };
  for (const report of reports) {
    report?.forEach((s: Record<string, number | string | boolean>) => {
      const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
      if (s.kind !== undefined && s.kind !== 'audio') return;
      if (s.type === 'outbound-rtp') stats.packetsSent += n('packetsSent');
      else if (s.type === 'inbound-rtp') {
        stats.packetsReceived += n('packetsReceived');
        stats.bytesReceived += n('bytesReceived');
        stats.packetsLost += n('packetsLost');
        stats.jitter = Math.max(stats.jitter, n('jitter'));
        stats.audioLevel = Math.max(stats.audioLevel, n('audioLevel'));
      } else if (s.type === 'candidate-pair' && s.nominated && n('currentRoundTripTime') > 0) {
        stats.roundTripTime = n('currentRoundTripTime');
      }
    });
  }
  return stats;
}
