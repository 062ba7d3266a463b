// A fake of Google's Gemini, Cloud Text-to-Speech and Cloud Speech-to-Text REST APIs, from Google's API references:
// `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (system_instruction, contents of user/model parts, tools'
// functionDeclarations; server-sent GenerateContentResponse chunks, finishReason on the last), `POST /v1/text:synthesize`
// (input.text, voice.languageCode, audioConfig LINEAR16 + sampleRateHertz; base64 `audioContent`, a WAV of a tone) and
// `POST /v1/speech:recognize` (config LINEAR16 16 kHz + languageCode, base64 audio.content; results' alternatives). The
// key in `x-goog-api-key` or `?key=` (a wrong one: 400 INVALID_ARGUMENT API_KEY_INVALID; none: 403 PERMISSION_DENIED);
// errors as {error: {code, message, status, details}}. Scripted per request: an HTTP error (429 with RetryInfo), an error
// chunk mid-stream, a dropped connection, a stall.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { wavHeader } from '../../src/audio/wav.js';
import { HttpFake, localUrl, readBody, sendJson, toneBytes } from './fake-server.js';

export const GOOGLE_TONE_HZ = 700;

const JSON_UTF8 = 'application/json; charset=UTF-8';
const STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

export interface GoogleRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  aborted: boolean;
}

export interface GenerateRequest extends GoogleRequest {
  model: string;
  body: {
    system_instruction?: { parts: { text: string }[] };
    contents: { role: 'user' | 'model'; parts: Record<string, unknown>[] }[];
    tools?: { functionDeclarations: { name: string; description?: string; parameters?: unknown }[] }[];
  };
}

export type GoogleFailure = { status: number; retryDelay?: string } | { drop: true } | { stall: true };
export type GeminiAnswer = { text: string[]; functionCalls?: { name: string; args: unknown }[] } | GoogleFailure | { streamError: number; after: string[] } | { dropAfter: string[] } | { stall: string[] };
export type SpeechAnswer = { transcripts: string[] } | GoogleFailure;

export class FakeGoogle extends HttpFake {
  readonly generations: GenerateRequest[] = [];
  readonly syntheses: GoogleRequest[] = [];
  readonly recognitions: (GoogleRequest & { samples: Int16Array })[] = [];
  private readonly answers = { gemini: [] as GeminiAnswer[], tts: [] as GoogleFailure[], stt: [] as SpeechAnswer[] };

  private constructor(
    private readonly apiKey: string,
    /** Tone per character of synthesised text (ms). */
    private readonly msPerChar: number,
  ) {
    super();
  }

  static async start(apiKey: string, msPerChar = 20): Promise<FakeGoogle> {
    return new FakeGoogle(apiKey, msPerChar).listen();
  }

  /** The base URL standing in for all three hosts (generativelanguage, texttospeech, speech.googleapis.com). */
  get url(): string {
    return localUrl(this.server, 'http');
  }

  /** The next answer of Gemini (default: "OK."), of text:synthesize (default: the tone), of speech:recognize (default: "hello"). */
  gemini(answer: GeminiAnswer): void {
    this.answers.gemini.push(answer);
  }

  tts(answer: GoogleFailure): void {
    this.answers.tts.push(answer);
  }

  stt(answer: SpeechAnswer): void {
    this.answers.stt.push(answer);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const raw = await readBody(req);
    const error = (code: number, details: object[] = []) =>
      sendJson(res, code, { error: { code, message: `scripted ${STATUS[code] ?? 'UNKNOWN'} for key ${String(req.headers['x-goog-api-key'])}`, status: STATUS[code] ?? 'UNKNOWN', details } }, {}, JSON_UTF8);
    const key = req.headers['x-goog-api-key'] ?? url.searchParams.get('key');
    if (!key) return error(403);
    if (key !== this.apiKey) return error(400, [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }]);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString()) as Record<string, unknown>;
    } catch {
      return error(400);
    }
    const request: GoogleRequest = { path: url.pathname, query: url.searchParams, headers: req.headers, body, aborted: false };
    res.on('close', () => (request.aborted = !res.writableFinished));
    const fail = (answer: GoogleFailure): boolean => {
      if ('status' in answer) error(answer.status, answer.retryDelay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: answer.retryDelay }] : []);
      else if ('drop' in answer) {
        res.writeHead(200, { 'Content-Type': JSON_UTF8 });
        res.write('{"results": [', () => res.socket?.destroy());
      } // a stall: no answer until the client goes
      return true;
    };
    const generate = /^\/v1beta\/models\/([\w.-]+):streamGenerateContent$/.exec(url.pathname);
    if (req.method === 'POST' && generate && url.searchParams.get('alt') === 'sse') return this.generate(Object.assign(request, { model: generate[1]! }) as GenerateRequest, res, error, fail);
    if (req.method === 'POST' && url.pathname === '/v1/text:synthesize') {
      const { input, voice, audioConfig } = body as { input?: { text?: unknown }; voice?: { languageCode?: unknown }; audioConfig?: { audioEncoding?: unknown; sampleRateHertz?: unknown } };
      if (typeof input?.text !== 'string' || typeof voice?.languageCode !== 'string' || audioConfig?.audioEncoding !== 'LINEAR16') return error(400);
      this.syntheses.push(request);
      const answer = this.answers.tts.shift();
      if (answer && fail(answer)) return;
      const rate = Number(audioConfig.sampleRateHertz) || 24_000;
      const tone = toneBytes(Math.max(1, input.text.trim().length) * this.msPerChar, rate, GOOGLE_TONE_HZ);
      return sendJson(res, 200, { audioContent: Buffer.concat([wavHeader(tone.length / 2, rate), tone]).toString('base64') }, {}, JSON_UTF8);
    }
    if (req.method === 'POST' && url.pathname === '/v1/speech:recognize') {
      const { config, audio } = body as { config?: { encoding?: unknown; sampleRateHertz?: unknown; languageCode?: unknown }; audio?: { content?: unknown } };
      if (config?.encoding !== 'LINEAR16' || typeof config.sampleRateHertz !== 'number' || typeof config.languageCode !== 'string' || typeof audio?.content !== 'string') return error(400);
      const bytes = Buffer.from(audio.content, 'base64');
      const samples = new Int16Array(bytes.length >> 1);
      Buffer.from(samples.buffer).set(bytes.subarray(0, samples.byteLength));
      this.recognitions.push(Object.assign(request, { samples }));
      const answer = this.answers.stt.shift() ?? { transcripts: ['hello'] };
      if (!('transcripts' in answer) && fail(answer)) return;
      const transcripts = 'transcripts' in answer ? answer.transcripts : [];
      const results = transcripts.map((transcript, i) => ({ alternatives: [{ transcript, confidence: 0.92 }], resultEndTime: `${i + 1}.200s`, languageCode: config.languageCode }));
      return sendJson(res, 200, { ...(results.length > 0 ? { results } : {}), totalBilledTime: '2s', requestId: '4711' }, {}, JSON_UTF8);
    }
    error(404);
  }

  private generate(request: GenerateRequest, res: ServerResponse, error: (code: number) => void, fail: (answer: GoogleFailure) => boolean): void {
    const { contents } = request.body;
    if (!Array.isArray(contents) || contents.length === 0 || contents[0]!.role !== 'user') return error(400);
    this.generations.push(request);
    const answer = this.answers.gemini.shift() ?? { text: ['OK.'] };
    if ('status' in answer || 'drop' in answer || ('stall' in answer && answer.stall === true)) return void fail(answer as GoogleFailure);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const chunk = (parts: object[], finishReason?: string) =>
      res.write(`data: ${JSON.stringify({ candidates: [{ content: { parts, role: 'model' }, ...(finishReason ? { finishReason } : {}), index: 0 }], usageMetadata: { promptTokenCount: 12, totalTokenCount: 20 }, modelVersion: request.model })}\r\n\r\n`);
    const texts = (items: string[]) => items.forEach((text) => chunk([{ text }]));
    if ('dropAfter' in answer) {
      texts(answer.dropAfter);
      return void res.write('', () => res.socket?.destroy());
    }
    if ('stall' in answer) return texts(answer.stall as string[]);
    if ('streamError' in answer) {
      texts(answer.after);
      res.write(`data: ${JSON.stringify({ error: { code: answer.streamError, message: 'scripted', status: STATUS[answer.streamError] } })}\r\n\r\n`);
      return void res.end();
    }
    texts(answer.text);
    const calls = (answer.functionCalls ?? []).map((call, i) => ({ functionCall: { name: call.name, args: call.args }, ...(i === 0 ? { thoughtSignature: 'c2lnbmF0dXJl' } : {}) }));
    chunk(calls, 'STOP');
    res.end();
  }
}
