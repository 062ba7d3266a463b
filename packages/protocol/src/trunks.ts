// Admin contract for SIP trunks (carrier connections) and the phone numbers (DIDs) that route inbound calls.
import { Type, type Static } from '@sinclair/typebox';

export const TrunkTransports = ['udp', 'tcp', 'tls'] as const;
export const TrunkCodecs = ['PCMU', 'PCMA'] as const;
export const TrunkStatuses = ['registered', 'reachable', 'unreachable', 'auth_failed', 'unknown'] as const;
export const NumberDestinationTypes = ['extension', 'queue', 'ivr', 'ai_agent'] as const;

/** Usable in a channel id (`SIP/<name>-0000001a`). */
const TrunkName = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });
/** A hostname or an IPv4/IPv6 address (checked further by the server). */
const Host = Type.String({ minLength: 1, maxLength: 253 });
/** Printable ASCII without spaces. */
const Username = Type.String({ pattern: '^[!-~]{1,128}$' });
const Password = Type.String({ minLength: 1, maxLength: 256 });
const Realm = Type.String({ pattern: '^[!-~]{1,128}$' });
/** E.164-ish: an optional leading +, then 2-20 digits. */
export const PhoneNumber = Type.String({ pattern: '^\\+?[0-9]{2,20}$' });
const Codecs = Type.Array(Type.Union(TrunkCodecs.map((c) => Type.Literal(c))), { minItems: 1, maxItems: TrunkCodecs.length, uniqueItems: true });
/** IPv4/IPv6 addresses or CIDR blocks the trunk's inbound INVITEs may come from (empty: the host's address). */
const AllowedIps = Type.Array(Type.String({ minLength: 2, maxLength: 49 }), { maxItems: 100 });

const trunkFields = {
  host: Host,
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  transport: Type.Union(TrunkTransports.map((t) => Type.Literal(t))),
  register: Type.Boolean(),
  /** Preference order. */
  codecs: Codecs,
  allowed_ips: AllowedIps,
  /** The instance's trunk for outbound calls (exactly one trunk is the default once any exists). */
  default: Type.Boolean(),
};

export const CreateTrunkBody = Type.Object(
  {
    name: TrunkName,
    host: Host,
    port: Type.Optional(trunkFields.port),
    transport: Type.Optional(trunkFields.transport),
    username: Type.Optional(Username),
    password: Type.Optional(Password),
    realm: Type.Optional(Realm),
    caller_id: Type.Optional(PhoneNumber),
    register: Type.Optional(trunkFields.register),
    codecs: Type.Optional(trunkFields.codecs),
    allowed_ips: Type.Optional(trunkFields.allowed_ips),
    default: Type.Optional(trunkFields.default),
  },
  { additionalProperties: false },
);
export type CreateTrunkBody = Static<typeof CreateTrunkBody>;

const nullable = <T extends Parameters<typeof Type.Optional>[0]>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

/** Omitted fields keep their value; `null` clears username, password, realm or caller_id. */
export const UpdateTrunkBody = Type.Object(
  {
    name: Type.Optional(TrunkName),
    host: Type.Optional(Host),
    port: Type.Optional(trunkFields.port),
    transport: Type.Optional(trunkFields.transport),
    username: nullable(Username),
    password: nullable(Password),
    realm: nullable(Realm),
    caller_id: nullable(PhoneNumber),
    register: Type.Optional(trunkFields.register),
    codecs: Type.Optional(trunkFields.codecs),
    allowed_ips: Type.Optional(trunkFields.allowed_ips),
    default: Type.Optional(trunkFields.default),
  },
  { additionalProperties: false },
);
export type UpdateTrunkBody = Static<typeof UpdateTrunkBody>;

/** A trunk as the API shows it: never the password, only whether one is set. */
export const TrunkResponse = Type.Object({
  id: Type.String(),
  name: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  transport: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  has_password: Type.Boolean(),
  realm: Type.Union([Type.String(), Type.Null()]),
  register: Type.Boolean(),
  caller_id: Type.Union([Type.String(), Type.Null()]),
  codecs: Type.Array(Type.String()),
  allowed_ips: Type.Array(Type.String()),
  default: Type.Boolean(),
  status: Type.Union(TrunkStatuses.map((s) => Type.Literal(s))),
});
export type TrunkResponse = Static<typeof TrunkResponse>;

export const CreateNumberBody = Type.Object(
  {
    number: PhoneNumber,
    /** An extension (may register later), or the number of an existing queue or IVR menu. */
    destination: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@+*#-]+$' }),
    destination_type: Type.Union(NumberDestinationTypes.map((t) => Type.Literal(t))),
    /** The trunk the number arrives on; omitted or null: any trunk of the instance. */
    trunk_id: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{1,20}$' }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type CreateNumberBody = Static<typeof CreateNumberBody>;

export const NumberResponse = Type.Object({
  number: Type.String(),
  destination: Type.String(),
  destination_type: Type.String(),
  trunk_id: Type.Union([Type.String(), Type.Null()]),
});
export type NumberResponse = Static<typeof NumberResponse>;
