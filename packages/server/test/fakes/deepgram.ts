// A Deepgram live-transcription fake (wss://api.deepgram.com/v1/listen), from Deepgram's streaming docs: `Authorization:
// Token <key>` checked at the upgrade (401 otherwise), binary linear16 audio in, `Results` (interim, is_final, speech_final)
// out as scripted by the test, `CloseStream` answered with `Metadata` and a close; a scripted drop closes mid-stream. Given
// transcripts, it listens itself: an utterance is audio with energy, ended (as Deepgram's endpointing does) by the
// session's `endpointing` ms of silence; an interim result while it speaks, then the final with `speech_final`.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { refuseUpgrade, WebSocketFake } from './fake-server.js';

export interface DeepgramSession {
  query: URLSearchParams;
  socket: WebSocket;
  /** Bytes of audio received. */
  audioBytes: number;
  /** The loudest 20 ms of audio received (RMS of 16-bit samples), and how much of it was voiced (ms). */
  peakRms: number;
  voicedMs: number;
  /** The utterances it heard and answered by itself (listening mode). */
  utterances: HeardUtterance[];
  closeStream: boolean;
  closed: boolean;
}

/** Listening mode: the fake finds utterances in the audio and answers each with the next transcript. */
export interface DeepgramListening {
  transcripts: string[];
  /** Silence that ends an utterance (ms of audio); default: the session's `endpointing` parameter, as on the service. */
  endpointingMs?: number;
  /** Processing time before the final result is sent (ms). */
  delayMs?: number;
}

export interface HeardUtterance {
  transcript: string;
  /** performance.now() of the utterance's last voiced frame's arrival, and of its final result going out. */
  lastVoicedAt: number;
  finalAt: number;
}

/** A 20 ms frame at least this loud (RMS of 16-bit samples, about -36 dBFS) is voiced. */
const VOICED_RMS = 500;
/** An utterance is at least this much voiced audio (ms); the interim result comes after INTERIM_AFTER_MS of it. */
const MIN_UTTERANCE_MS = 100;
const INTERIM_AFTER_MS = 200;
const FRAME_BYTES = 640;

export class FakeDeepgram extends WebSocketFake<DeepgramSession> {
  private constructor(
    private readonly apiKey: string,
    private readonly listening: DeepgramListening | null,
  ) {
    super();
    this.server.on('upgrade', (req: IncomingMessage, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/v1/listen') return refuseUpgrade(socket, 404);
      if (req.headers.authorization !== `Token ${this.apiKey}`) return refuseUpgrade(socket, 401);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, url.searchParams));
    });
  }

  static async start(apiKey: string, listening: DeepgramListening | null = null): Promise<FakeDeepgram> {
    return new FakeDeepgram(apiKey, listening).listen();
  }

  private handedOut = 0;

  /** The next session not yet handed out, once it has received `bytes` of audio. */
  async session(bytes = 0): Promise<DeepgramSession> {
    for (;;) {
      const next = this.sessions[this.handedOut];
      if (next && next.audioBytes >= bytes) {
        this.handedOut++;
        return next;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** A `Results` message as Deepgram streams it. */
  results(session: DeepgramSession, transcript: string, opts: { isFinal: boolean; speechFinal?: boolean }): void {
    session.socket.send(
      JSON.stringify({
        type: 'Results',
        channel_index: [0, 1],
        duration: 1.0,
        start: 0,
        is_final: opts.isFinal,
        speech_final: opts.speechFinal ?? false,
        channel: { alternatives: [{ transcript, confidence: 0.98, words: [] }] },
        metadata: { request_id: 'fake', model_info: { name: 'nova-3', version: 'fake', arch: 'fake' }, model_uuid: 'fake' },
        from_finalize: false,
      }),
    );
  }

  /** The connection drops mid-stream (no close frame). */
  drop(session: DeepgramSession): void {
    session.socket.terminate();
  }

  private accept(socket: WebSocket, query: URLSearchParams): void {
    const session: DeepgramSession = { query, socket, audioBytes: 0, peakRms: 0, voicedMs: 0, utterances: [], closeStream: false, closed: false };
    this.sessions.push(session);
    const listen = this.listener(session);
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        session.audioBytes += data.length;
        for (let at = 0; at + 1 < data.length; at += FRAME_BYTES) listen(data.subarray(at, Math.min(data.length, at + FRAME_BYTES) & ~1));
        return;
      }
      const message = JSON.parse(data.toString()) as { type?: string };
      if (message.type === 'CloseStream') {
        session.closeStream = true;
        socket.send(JSON.stringify({ type: 'Metadata', transaction_key: 'deprecated', request_id: 'fake', sha256: '', created: new Date().toISOString(), duration: 0, channels: 1 }));
        socket.close(1000);
      }
    });
    socket.on('close', () => (session.closed = true));
  }

  /** Measures each frame; in listening mode, ends utterances after the endpointing silence and answers them. */
  private listener(session: DeepgramSession): (frame: Buffer) => void {
    const endpointingMs = this.listening?.endpointingMs ?? Number(session.query.get('endpointing') ?? 10);
    let voiced = 0;
    let silent = 0;
    let lastVoicedAt = 0;
    let interim = false;
    return (frame) => {
      const samples = new Int16Array(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length));
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / Math.max(1, samples.length));
      const ms = samples.length / 16;
      session.peakRms = Math.max(session.peakRms, rms);
      if (rms >= VOICED_RMS) {
        session.voicedMs += ms;
        voiced += ms;
        silent = 0;
        lastVoicedAt = performance.now();
      } else silent += ms;
      const listening = this.listening;
      if (!listening || voiced === 0) return;
      const transcript = listening.transcripts[0] ?? '';
      if (!interim && voiced >= INTERIM_AFTER_MS) {
        interim = true;
        this.results(session, transcript.split(' ')[0] ?? '', { isFinal: false });
      }
      if (silent < endpointingMs) return;
      if (voiced >= MIN_UTTERANCE_MS) {
        listening.transcripts.shift();
        const heard = { transcript, lastVoicedAt, finalAt: 0 };
        const final = () => {
          heard.finalAt = performance.now();
          session.utterances.push(heard);
          if (session.socket.readyState === session.socket.OPEN) this.results(session, transcript, { isFinal: true, speechFinal: true });
        };
        if (listening.delayMs) setTimeout(final, listening.delayMs);
        else final();
      }
      voiced = 0;
      interim = false;
    };
  }
}
