// SecretBox: authenticated encryption of secrets kept at rest (SIP trunk passwords, vendor credentials, webhook secrets).
// AES-256-GCM under a key derived with HKDF-SHA256 from the server's secret key and a purpose label, so each use
// has its own key and a sealed value from one purpose never opens under another.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT = Buffer.from('astral/secret-box', 'utf8');

/** Purpose labels in use; a label is part of the key, so it never changes once data is sealed under it. */
export const SecretPurposes = {
  trunkPassword: 'sip-trunk-password/v1',
  voiceCredentials: 'voice-channel-credentials/v1',
  webhookSecret: 'webhook-signing-secret/v1',
  /** Not a box: the key the dashboard's session cookies are signed with. */
  dashboardCookie: 'dashboard-session-cookie/v1',
} as const;

/** A 32-byte key of its own for one purpose, derived with HKDF-SHA256 from the server's secret key. */
export function deriveKey(secretKey: Buffer, purpose: string): Buffer {
  if (secretKey.length < 16) throw new SecretBoxError('the secret key is too short');
  if (!purpose) throw new SecretBoxError('a purpose label is required');
  return Buffer.from(hkdfSync('sha256', secretKey, SALT, Buffer.from(purpose, 'utf8'), 32));
}

export class SecretBoxError extends Error {}

export class SecretBox {
  readonly #key: Buffer;

  constructor(secretKey: Buffer, purpose: string) {
    this.#key = deriveKey(secretKey, purpose);
  }

  /** `v1.<iv>.<ciphertext>.<tag>`, base64url parts; a fresh random IV each time. */
  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** The plaintext; throws SecretBoxError when the value is malformed, tampered with or sealed under another key. */
  open(sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed value');
    const [iv, ciphertext, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('not a sealed value');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('the sealed value does not open under this key (tampered, or another key or purpose)');
    }
  }

  /** Keeps the derived key out of logs and inspection. */
  toJSON(): string {
    return '[SecretBox]';
  }
}
