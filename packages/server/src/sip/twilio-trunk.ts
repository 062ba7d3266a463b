// Keeps an instance's Twilio Elastic SIP trunk in step with its voice channel's twilio_account_sid / _auth_token /
// _phone_number: provisions it in the Twilio account (trunk, credential list with a generated digest login, the number,
// the Origination URL of this server when it knows its public SIP URI) and keeps the local trunk `twilio` that reaches
// it and admits Twilio's INVITEs; removes both when the credentials are cleared or the channel goes.
import { randomBytes, randomInt } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { SecretBoxError, type SecretBox } from '../auth/secret-box.js';
import type { Store } from '../store/index.js';
import type { Trunk } from '../store/trunks.js';
import type { VoiceChannelChanges, VoiceCredential } from '../store/voice-channels.js';
import { AppError } from '../util/errors.js';
import { KeyedQueue } from '../util/keyed-queue.js';
import { TwilioError, TwilioRest, type TwilioResource, type TwilioSettings } from './twilio-rest.js';

/** The local trunk Astral keeps for the Twilio credentials (one per instance). */
export const TWILIO_TRUNK_NAME = 'twilio';
/** The digest usernames Astral generates: how its own `twilio` trunk is told from one an admin made (Twilio allows 32 chars). */
const GENERATED_USERNAME = /^astral[0-9a-f]{16}$/;
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** The three settings a Twilio trunk needs. */
interface TwilioAccount {
  accountSid: string;
  authToken: string;
  phoneNumber: string;
}

interface DigestLogin {
  username: string;
  password: string;
}

/** Twilio's rule for credential passwords: at least 12 characters, a digit, upper and lower case. */
function generatedPassword(): string {
  for (;;) {
    const p = Array.from({ length: 24 }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
    if (/\d/.test(p) && /[a-z]/.test(p) && /[A-Z]/.test(p)) return p;
  }
}

const isOurs = (trunk: Trunk | undefined): trunk is Trunk => trunk !== undefined && GENERATED_USERNAME.test(trunk.username ?? '');
const friendlyName = (instanceId: string) => `Astral ${instanceId}`;

/** What a failed Twilio request means for the POST: refused credentials or number (422), else Twilio unavailable (503). */
function refusal(err: unknown): AppError {
  if (!(err instanceof TwilioError)) throw err;
  if (err.status === 401 || err.status === 403) {
    return new AppError('bad_request', `twilio_auth_token: Twilio refused the Account SID and Auth Token (${err.status}${err.code === null ? '' : `, error ${err.code}`}); nothing was saved`);
  }
  return new AppError('unavailable', `the Twilio trunk could not be set up: ${err.message}; nothing was saved, POST again`);
}

export interface TwilioTrunksDeps {
  store: Store;
  /** Opens the voice channel's credentials (SecretPurposes.voiceCredentials). */
  voiceSecrets: SecretBox;
  /** Seals the local trunk's password (SecretPurposes.trunkPassword). */
  trunkSecrets: SecretBox;
  settings: TwilioSettings;
  /** The SIP side re-reads the instance's trunks (TrunkDirectory.refresh). */
  onTrunksChanged(instanceId: string): void;
  log: FastifyBaseLogger;
}

export class TwilioTrunks {
  /** Per instance, the change in progress: changes are applied one after another. */
  private readonly changes = new KeyedQueue();

  constructor(private readonly deps: TwilioTrunksDeps) {}

  /**
   * Runs `save` (a voice channel POST's `changes`, or its DELETE: null) with the Twilio trunk kept in step: provisioned
   * at Twilio before saving (a refusal throws and nothing is saved), the local trunk written or removed after.
   */
  apply<T>(instanceId: string, changes: VoiceChannelChanges | null, save: () => Promise<T>): Promise<T> {
    return this.changes.run(instanceId, () => this.applyNow(instanceId, changes, save));
  }

  private async applyNow<T>(instanceId: string, changes: VoiceChannelChanges | null, save: () => Promise<T>): Promise<T> {
    const { store } = this.deps;
    const current = await this.currentAccount(instanceId);
    const next = changes && this.nextAccount(current.settings, changes);
    const local = await store.trunks.byName(instanceId, TWILIO_TRUNK_NAME);
    const touched = changes !== null && (changes.twilioPhoneNumber !== undefined || Object.keys(changes.credentials).some((n) => n.startsWith('twilio_')));
    if (!next) {
      if (isOurs(local)) await store.trunks.remove(instanceId, local.id); // 409 while numbers arrive on it: nothing changed
      if (current.account) await this.teardown(current.account, instanceId);
      const saved = await save();
      if (isOurs(local)) this.deps.onTrunksChanged(instanceId);
      return saved;
    }
    if (local && !isOurs(local)) throw new AppError('conflict', `a trunk named ${TWILIO_TRUNK_NAME} exists that Astral did not make; rename it so Astral can keep its Twilio trunk under that name`);
    if (!touched && local) return save();
    const sameAccount = current.account?.accountSid === next.accountSid;
    const known = sameAccount && local ? await this.loginOf(local) : null;
    const { domainName, login } = await this.provision(next, instanceId, known).catch((err: unknown) => {
      throw refusal(err);
    });
    if (current.account && !sameAccount) await this.teardown(current.account, instanceId);
    const saved = await save();
    await this.writeLocal(instanceId, local, next, domainName, login);
    this.deps.onTrunksChanged(instanceId);
    return saved;
  }

  /** The stored Twilio settings (the credentials as far as they open) and the account they make up, if complete. */
  private async currentAccount(instanceId: string): Promise<{ settings: Partial<TwilioAccount>; account: TwilioAccount | null }> {
    const channel = await this.deps.store.voiceChannels.get(instanceId);
    if (!channel) return { settings: {}, account: null };
    const creds = await this.deps.store.voiceChannels.credentials(instanceId, this.deps.voiceSecrets).catch((err: unknown) => {
      if (err instanceof SecretBoxError) return {} as Partial<Record<VoiceCredential, string>>;
      throw err;
    });
    const settings = { accountSid: creds.twilio_account_sid, authToken: creds.twilio_auth_token, phoneNumber: channel.twilioPhoneNumber ?? undefined };
    return { settings, account: complete(settings) };
  }

  /** The settings after `changes` (omitted: kept, empty: cleared); null unless all three are set. */
  private nextAccount(current: Partial<TwilioAccount>, changes: VoiceChannelChanges): TwilioAccount | null {
    const pick = (change: string | undefined, kept: string | undefined) => (change === undefined ? kept : change || undefined);
    return complete({
      accountSid: pick(changes.credentials.twilio_account_sid, current.accountSid),
      authToken: pick(changes.credentials.twilio_auth_token, current.authToken),
      phoneNumber: pick(changes.twilioPhoneNumber, current.phoneNumber),
    });
  }

  private async loginOf(local: Trunk): Promise<DigestLogin | null> {
    try {
      const full = await this.deps.store.trunks.withSecret(local.id, this.deps.trunkSecrets);
      return full?.username && full.password ? { username: full.username, password: full.password } : null;
    } catch {
      return null; // sealed under another ASTRAL_SECRET_KEY: a new login replaces it
    }
  }

  /**
   * Makes sure the account has Astral's trunk (found by FriendlyName, else created), its credential list with our login
   * (`known` when the local trunk still has it, else a new one replacing any other), the number on the trunk.
   */
  private async provision(account: TwilioAccount, instanceId: string, known: DigestLogin | null): Promise<{ domainName: string; login: DigestLogin }> {
    const rest = new TwilioRest(this.deps.settings, account.accountSid, account.authToken);
    const name = friendlyName(instanceId);
    const numbers = await rest.list('api', rest.accountPath(`/IncomingPhoneNumbers.json?PhoneNumber=${encodeURIComponent(account.phoneNumber)}`), 'incoming_phone_numbers');
    const number = numbers.find((n) => n.phone_number === account.phoneNumber);
    if (!number) throw new AppError('bad_request', `twilio_phone_number: ${account.phoneNumber} is not a phone number of this Twilio account (buy it or port it first); nothing was saved`);

    const trunk =
      (await rest.list('trunking', '/v1/Trunks', 'trunks')).find((t) => t.friendly_name === name) ??
      (await rest.create('trunking', '/v1/Trunks', { FriendlyName: name, DomainName: `astral-${instanceId.slice(0, 8)}-${randomBytes(5).toString('hex')}.pstn.twilio.com` }));
    const domainName = String(trunk.domain_name);

    const listsPath = rest.accountPath('/SIP/CredentialLists.json');
    const list = (await rest.list('api', listsPath, 'credential_lists')).find((l) => l.friendly_name === name) ?? (await rest.create('api', listsPath, { FriendlyName: name }));
    const login = await this.ensureLogin(rest, list, known);
    const trunkPath = `/v1/Trunks/${encodeURIComponent(trunk.sid)}`;
    const associated = await rest.list('trunking', `${trunkPath}/CredentialLists`, 'credential_lists');
    if (!associated.some((l) => l.sid === list.sid)) await rest.create('trunking', `${trunkPath}/CredentialLists`, { CredentialListSid: list.sid });

    const onTrunk = await rest.list('trunking', `${trunkPath}/PhoneNumbers`, 'phone_numbers');
    if (!onTrunk.some((n) => n.sid === number.sid)) await rest.create('trunking', `${trunkPath}/PhoneNumbers`, { PhoneNumberSid: number.sid });
    // A number Astral put on its trunk before (the channel's number changed) goes back to the account.
    for (const old of onTrunk.filter((n) => n.sid !== number.sid)) await rest.call('DELETE', 'trunking', `${trunkPath}/PhoneNumbers/${encodeURIComponent(old.sid)}`);
    await this.ensureOrigination(rest, trunkPath, name);
    this.deps.log.info({ instanceId, domainName, trunkSid: trunk.sid }, 'twilio: Elastic SIP trunk provisioned');
    return { domainName, login };
  }

  /** Our login in the list: the known one when Twilio still has it, else a new one (other usernames in our list go). */
  private async ensureLogin(rest: TwilioRest, list: TwilioResource, known: DigestLogin | null): Promise<DigestLogin> {
    const path = rest.accountPath(`/SIP/CredentialLists/${encodeURIComponent(list.sid)}/Credentials`);
    const credentials = await rest.list('api', `${path}.json`, 'credentials');
    if (known && credentials.some((c) => c.username === known.username)) return known;
    for (const stale of credentials) await rest.call('DELETE', 'api', `${path}/${encodeURIComponent(stale.sid)}.json`);
    const login = { username: `astral${randomBytes(8).toString('hex')}`, password: generatedPassword() };
    await rest.create('api', `${path}.json`, { Username: login.username, Password: login.password });
    return login;
  }

  /**
   * The trunk's Origination URL to this server (ours: named after the instance), once; one of ours pointing elsewhere
   * (the public SIP URI changed, or is no longer set) goes. URLs an admin added in the console stay.
   */
  private async ensureOrigination(rest: TwilioRest, trunkPath: string, name: string): Promise<void> {
    const { sipUrl } = this.deps.settings.origination;
    const ours = (await rest.list('trunking', `${trunkPath}/OriginationUrls`, 'origination_urls')).filter((u) => u.friendly_name === name);
    if (sipUrl && !ours.some((u) => u.sip_url === sipUrl)) {
      await rest.create('trunking', `${trunkPath}/OriginationUrls`, { FriendlyName: name, SipUrl: sipUrl, Priority: '10', Weight: '10', Enabled: 'true' });
    }
    for (const stale of ours.filter((u) => u.sip_url !== sipUrl)) await rest.call('DELETE', 'trunking', `${trunkPath}/OriginationUrls/${encodeURIComponent(stale.sid)}`);
  }

  /** Deletes Astral's trunk and credential list from the account; a failure is logged, the local side goes on. */
  private async teardown(account: TwilioAccount, instanceId: string): Promise<void> {
    const rest = new TwilioRest(this.deps.settings, account.accountSid, account.authToken);
    const name = friendlyName(instanceId);
    try {
      for (const trunk of (await rest.list('trunking', '/v1/Trunks', 'trunks')).filter((t) => t.friendly_name === name)) {
        await rest.call('DELETE', 'trunking', `/v1/Trunks/${encodeURIComponent(trunk.sid)}`);
      }
      for (const list of (await rest.list('api', rest.accountPath('/SIP/CredentialLists.json'), 'credential_lists')).filter((l) => l.friendly_name === name)) {
        await rest.call('DELETE', 'api', rest.accountPath(`/SIP/CredentialLists/${encodeURIComponent(list.sid)}.json`));
      }
      this.deps.log.info({ instanceId }, 'twilio: Elastic SIP trunk and credential list deleted');
    } catch (err) {
      if (!(err instanceof TwilioError)) throw err;
      this.deps.log.warn({ instanceId, reason: err.message, friendlyName: name }, 'twilio: could not delete the trunk and credential list; delete them in the Twilio console');
    }
  }

  private async writeLocal(instanceId: string, local: Trunk | undefined, account: TwilioAccount, domainName: string, login: DigestLogin): Promise<void> {
    const { sip } = this.deps.settings;
    const fields = {
      name: TWILIO_TRUNK_NAME,
      host: sip.host ?? domainName,
      port: sip.port,
      transport: sip.transport,
      username: login.username,
      passwordSealed: this.deps.trunkSecrets.seal(login.password),
      realm: null,
      callerId: account.phoneNumber,
      register: false,
      codecs: ['PCMU', 'PCMA'] as const,
      // Twilio's INVITEs (calls to the number) come from its signalling addresses: admitted by address, no digest.
      allowedIps: [...this.deps.settings.origination.signallingIps],
    };
    if (local) await this.deps.store.trunks.update(instanceId, local.id, { ...fields, codecs: [...fields.codecs] });
    else await this.deps.store.trunks.create({ instanceId, ...fields, codecs: [...fields.codecs] });
  }
}

function complete(s: Partial<TwilioAccount>): TwilioAccount | null {
  return s.accountSid && s.authToken && s.phoneNumber ? { accountSid: s.accountSid, authToken: s.authToken, phoneNumber: s.phoneNumber } : null;
}
