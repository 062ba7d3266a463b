// An OpenAI audio fake, from OpenAI's API reference: `POST /v1/audio/transcriptions` (multipart/form-data: `file` a WAV,
// `model`, `language`, `response_format`; `{ "text" }` back) and `POST /v1/audio/speech` (JSON `model`, `input`, `voice`,
// `response_format: "pcm"`; a chunked body of 24 kHz 16-bit mono PCM, here a tone). `Authorization: Bearer <key>`
// (401 `invalid_api_key` otherwise). Scripted per request: an HTTP error (with retry-after), a drop mid-body, a stall.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpFake, localUrl, readBody, sendJson, toneBytes } from './fake-server.js';

export const SPEECH_RATE = 24_000;
export const SPEECH_TONE_HZ = 600;

export interface TranscriptionRequest {
  model: string;
  language: string | null;
  responseFormat: string | null;
  /** The uploaded file: its name, type, and the PCM of its WAV (after checking the header says 16-bit mono). */
  fileName: string;
  fileType: string;
  sampleRate: number;
  samples: Int16Array;
}

export interface SpeechRequest {
  body: { model: string; input: string; voice: string; response_format?: string };
  aborted: boolean;
}

export type AudioAnswer = { ok: true; text?: string } | { status: number; code: string; retryAfter?: number } | { drop: true } | { stall: true };

export class FakeOpenAiAudio extends HttpFake {
  readonly transcriptions: TranscriptionRequest[] = [];
  readonly speeches: SpeechRequest[] = [];
  private readonly answers: AudioAnswer[] = [];

  private constructor(
    private readonly apiKey: string,
    /** Tone per character of speech input (ms). */
    private readonly msPerChar: number,
  ) {
    super();
  }

  static async start(apiKey: string, msPerChar = 20): Promise<FakeOpenAiAudio> {
    return new FakeOpenAiAudio(apiKey, msPerChar).listen();
  }

  /** The base URL, up to and including /v1. */
  get url(): string {
    return localUrl(this.server, 'http', '/v1');
  }

  /** The answer to the next request of either endpoint (default: a transcript "hello there" / the tone). */
  answer(answer: AudioAnswer): void {
    this.answers.push(answer);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = req.method === 'POST' ? req.url : null;
    if (route !== '/v1/audio/transcriptions' && route !== '/v1/audio/speech') return void res.writeHead(404).end();
    const body = await readBody(req);
    const error = (status: number, code: string, headers: Record<string, string> = {}) =>
      sendJson(res, status, { error: { message: `Incorrect API key provided: ${String(req.headers.authorization)}`, type: 'invalid_request_error', param: null, code } }, headers);
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return error(401, 'invalid_api_key');
    const answer = this.answers.shift() ?? { ok: true };
    if (route === '/v1/audio/transcriptions') return this.transcribe(req, body, res, answer, error);
    const request: SpeechRequest = { body: JSON.parse(body.toString()) as SpeechRequest['body'], aborted: false };
    this.speeches.push(request);
    res.on('close', () => (request.aborted = !res.writableFinished));
    if ('status' in answer) return error(answer.status, answer.code, answer.retryAfter ? { 'retry-after': String(answer.retryAfter) } : {});
    if (request.body.response_format !== 'pcm' || !request.body.input) return error(400, 'invalid_value');
    res.writeHead(200, { 'Content-Type': 'audio/pcm', 'Transfer-Encoding': 'chunked' });
    const tone = toneBytes(request.body.input.length * this.msPerChar, SPEECH_RATE, SPEECH_TONE_HZ);
    const chunk = 4801; // odd on purpose: samples straddle chunks, as over a real connection
    if ('drop' in answer) return void res.write(tone.subarray(0, chunk), () => res.socket?.destroy());
    if ('stall' in answer) return void res.write(tone.subarray(0, chunk));
    for (let at = 0; at < tone.length; at += chunk) res.write(tone.subarray(at, at + chunk));
    res.end();
  }

  private async transcribe(req: IncomingMessage, body: Buffer, res: ServerResponse, answer: AudioAnswer, error: (status: number, code: string, headers?: Record<string, string>) => void): Promise<void> {
    if ('status' in answer) return error(answer.status, answer.code, answer.retryAfter ? { 'retry-after': String(answer.retryAfter) } : {});
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('multipart/form-data')) return error(400, 'invalid_value');
    const form = await new Response(new Uint8Array(body), { headers: { 'Content-Type': type } }).formData();
    const file = form.get('file');
    const model = form.get('model');
    if (!(file instanceof Blob) || typeof model !== 'string') return error(400, 'invalid_value');
    const wav = Buffer.from(await file.arrayBuffer());
    if (wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 16) !== 'WAVEfmt ' || wav.readUInt16LE(22) !== 1 || wav.readUInt16LE(34) !== 16) return error(400, 'invalid_value');
    const data = wav.subarray(44, 44 + wav.readUInt32LE(40));
    this.transcriptions.push({
      model,
      language: form.get('language') as string | null,
      responseFormat: form.get('response_format') as string | null,
      fileName: (file as File).name,
      fileType: file.type,
      sampleRate: wav.readUInt32LE(24),
      samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    });
    if ('drop' in answer) return void res.socket?.destroy();
    if ('stall' in answer) return;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ text: ('text' in answer && answer.text) || 'hello there', usage: { type: 'tokens', input_tokens: 10, output_tokens: 2, total_tokens: 12 } }));
  }
}
