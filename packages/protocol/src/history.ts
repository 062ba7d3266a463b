// Call history REST schemas (seed 001): GET /api/v1/calls list, /calls/count and /calls/stats for dashboards.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CallDirections, Dispositions } from './calls.js';

/** A string from a fixed set (JSON Schema `enum`, so a bad value is reported as "must be equal to one of the allowed values"). */
const StringEnum = <T extends readonly string[]>(values: T, description: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });

export const HISTORY_DEFAULT_LIMIT = 20;
/** A JSON Schema `pattern`: text without C0 control characters or DEL. */
const NO_CONTROL_CHARS = '^[^\\u0000-\\u001f\\u007f]*$';
export const HISTORY_MAX_LIMIT = 200;

/** The display status of a call still in progress (its disposition is only known at the end). */
export const LiveCallStatuses = ['RINGING', 'IN PROGRESS'] as const;
export type LiveCallStatus = (typeof LiveCallStatuses)[number];

/**
 * Dates are ISO 8601, UTC unless they carry an offset: a bare date `2026-04-13` (a whole UTC day) or a date-time
 * `2026-04-13T10:30`, `…T10:30:00`, `…T10:30:00.250`, each optionally followed by `Z` or `±HH:MM`.
 * The server checks the format and the calendar and answers 400 naming the parameter.
 */
export const HistoryDate = (description: string) => Type.String({ description });

const dateFilters = {
  date_from: Type.Optional(HistoryDate('Calls started at or after this instant; a bare date means from 00:00:00 UTC of that day.')),
  date_to: Type.Optional(
    HistoryDate('Calls started at or before this instant, inclusive at its precision: a bare date includes that whole UTC day, `T10:30` the whole minute.'),
  ),
};

const callFilters = {
  direction: Type.Optional(StringEnum(CallDirections, 'Only calls of this direction.')),
  disposition: Type.Optional(StringEnum(Dispositions, 'Only ended calls with this disposition.')),
  from: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Exact caller number.' })),
  to: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Exact destination number.' })),
  ...dateFilters,
  search: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      // No id or number holds one, and SQLite's full-text query parser ends a term at a NUL.
      pattern: NO_CONTROL_CHARS,
      description: 'Case-insensitive substring matched against id, from_number, to_number, disposition and direction; control characters (U+0000-U+001F, U+007F) are refused.',
    }),
  ),
};

const paging = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: HISTORY_MAX_LIMIT, default: HISTORY_DEFAULT_LIMIT, description: `Records per page (1-${HISTORY_MAX_LIMIT}).` }),
  ),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Records to skip.' })),
};

/** Query of GET /api/v1/calls; unknown parameters are rejected. */
export const CallHistoryQuery = Type.Object({ ...paging, ...callFilters }, { additionalProperties: false });
export type CallHistoryQuery = Static<typeof CallHistoryQuery>;

/** Query of GET /api/v1/calls/count: the list's filters; `limit`/`offset` are accepted and ignored. */
export const CallCountQuery = CallHistoryQuery;
export type CallCountQuery = CallHistoryQuery;

/** Query of GET /api/v1/calls/stats: an optional date range for the totals (`weekly` is always the last 7 days). */
export const CallStatsQuery = Type.Object(dateFilters, { additionalProperties: false });
export type CallStatsQuery = Static<typeof CallStatsQuery>;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** One call in the history list. Times are ISO 8601 UTC; durations are whole seconds. */
export const CallHistoryEntry = Type.Object({
  id: Type.String(),
  from_number: Type.String(),
  to_number: Type.String(),
  direction: StringEnum(CallDirections, 'inbound, outbound or internal.'),
  status: StringEnum(
    [...Dispositions, ...LiveCallStatuses],
    'The disposition once the call has ended (ANSWERED, NO ANSWER, BUSY, FAILED); while it is live, RINGING before an answer and IN PROGRESS after.',
  ),
  duration: Type.Integer({ description: 'Seconds from start to end, ringing included; 0 while the call is live.' }),
  talk_time: Type.Integer({ description: 'Seconds from answer to end; 0 when unanswered or live.' }),
  started_at: Type.String(),
  ended_at: Nullable(Type.String()),
  recording_url: Nullable(Type.String({ description: '`/api/v1/calls/{id}/recording` when the call has a recording, else null.' })),
});
export type CallHistoryEntry = Static<typeof CallHistoryEntry>;

/** GET /api/v1/calls: newest first (started_at, then id, descending). */
export const CallHistoryPage = Type.Object({
  data: Type.Array(CallHistoryEntry),
  total: Type.Integer({ description: 'Calls matching the filters.' }),
  page: Type.Integer({ description: 'floor(offset / limit) + 1.' }),
  pages: Type.Integer({ description: 'ceil(total / limit); 0 when nothing matches.' }),
});
export type CallHistoryPage = Static<typeof CallHistoryPage>;

export const CallCount = Type.Object({ count: Type.Integer() });
export type CallCount = Static<typeof CallCount>;

/** One UTC day of the weekly chart. */
export const CallStatsDay = Type.Object({
  date: Type.String({ description: 'YYYY-MM-DD (UTC).' }),
  inbound: Type.Integer(),
  outbound: Type.Integer(),
});
export type CallStatsDay = Static<typeof CallStatsDay>;

/** GET /api/v1/calls/stats. Totals cover date_from..date_to (all time without them); `weekly` does not. */
export const CallStats = Type.Object({
  total_calls: Type.Integer({ description: 'Every call in the range, live ones included.' }),
  inbound: Type.Integer(),
  outbound: Type.Integer(),
  internal: Type.Integer(),
  answered: Type.Integer({ description: 'Calls with disposition ANSWERED.' }),
  missed: Type.Integer({ description: 'Ended calls not ANSWERED (NO ANSWER, BUSY, FAILED); live calls are neither answered nor missed.' }),
  avg_duration: Type.Integer({ description: 'Mean duration in seconds of the ANSWERED calls, rounded; 0 when there are none.' }),
  weekly: Type.Array(CallStatsDay, {
    description: 'The last 7 UTC days including today, oldest first, one entry per day (zeros included): inbound and outbound call counts.',
  }),
});
export type CallStats = Static<typeof CallStats>;
