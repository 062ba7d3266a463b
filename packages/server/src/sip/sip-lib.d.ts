// Type declarations for the parts of the `sip` npm package (kirm's stack, CommonJS) that the SIP layer uses.
declare module 'sip' {
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
    headers?: Record<string, string>;
  }
  export interface SipAor {
    name?: string;
    uri: string | SipUri;
    params: Record<string, string | null | undefined>;
  }
  export interface SipVia {
    version?: string;
    protocol?: string;
    host?: string;
    port?: number;
    params: Record<string, string | number | null | undefined>;
  }
  export type AuthHeader = Record<string, string | undefined> & { scheme?: string };
  export interface SipHeaders {
    via: SipVia[];
    to: SipAor;
    from: SipAor;
    'call-id': string;
    cseq: { seq: number; method: string };
    contact?: SipAor[] | '*';
    route?: SipAor[];
    'record-route'?: SipAor[];
    'content-type'?: string;
    'content-length'?: number;
    'www-authenticate'?: AuthHeader[];
    'proxy-authenticate'?: AuthHeader[];
    authorization?: AuthHeader[];
    'proxy-authorization'?: AuthHeader[];
    [name: string]: unknown;
  }
  export interface SipMessage {
    method?: string;
    uri?: string | SipUri;
    version?: string;
    status?: number;
    reason?: string;
    headers: SipHeaders;
    content?: string;
  }
  export interface Connection {
    send(m: SipMessage): void;
    release(): void;
    protocol: string;
  }
  export interface ServerTransaction {
    send(m: SipMessage): void;
    message(m: SipMessage, remote?: unknown): void;
    shutdown(): void;
  }
  export interface ClientTransaction {
    message(m: SipMessage, remote?: unknown): void;
    shutdown(): void;
  }
  export interface TransactionLayer {
    createServerTransaction(rq: SipMessage, cn: Connection): ServerTransaction;
    createClientTransaction(cn: Connection, rq: SipMessage, callback: (rs: SipMessage, remote?: unknown) => void): ClientTransaction;
    getServer(m: SipMessage): ServerTransaction | undefined;
    getClient(m: SipMessage): ClientTransaction | undefined;
    destroy(): void;
  }
  interface SipLib {
    parse(data: Buffer | string): SipMessage | undefined;
    stringify(m: SipMessage): string;
    makeResponse(rq: SipMessage, status: number, reason?: string, extension?: { headers?: Record<string, unknown>; content?: string }): SipMessage;
    parseUri(s: string | SipUri): SipUri | undefined;
    stringifyUri(uri: string | SipUri): string;
    stringifyAuthHeader(a: AuthHeader): string;
    parseAOR(data: { s: string; i: number }): SipAor;
    generateBranch(): string;
    copyMessage(m: SipMessage, deep?: boolean): SipMessage;
    makeTransactionLayer(options: Record<string, unknown>, open: (target: unknown, onError?: (e: Error) => void) => Connection): TransactionLayer;
  }
  const sip: SipLib;
  export default sip;
}

declare module 'sip/digest.js' {
  import type { SipMessage } from 'sip';
  export interface DigestClientContext { [k: string]: unknown }
  interface Digest {
    kd(...parts: string[]): string;
    calculateDigest(ctx: { ha1: string; method: string; nonce: string; nc?: string; cnonce?: string; qop?: string; uri: string; entity?: string }): string;
    signRequest(ctx: DigestClientContext | null | undefined, rq: SipMessage, rs?: SipMessage, creds?: { user: string; password: string; realm?: string }): DigestClientContext | null;
  }
  const digest: Digest;
  export default digest;
}
