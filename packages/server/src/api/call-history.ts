// GET /api/v1/calls, /calls/count and /calls/stats (seed 001): filtered call history, counts and dashboard stats.
import {
  CallCount,
  CallCountQuery,
  CallHistoryPage,
  CallHistoryQuery,
  CallStats,
  CallStatsQuery,
  ErrorBody,
  HISTORY_DEFAULT_LIMIT,
} from '@astral/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiKeyService } from '../auth/api-keys.js';
import { toHistoryEntry, type CallHistoryStore, type HistoryFilter } from '../store/call-history.js';
import { AppError } from '../util/errors.js';
import { requireApiKey } from './auth.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const DAY_MS = 86_400_000;
/** started_at strings are Date#toISOString, which has 4-digit years only in this range. */
const MIN_MS = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * An ISO 8601 date or date-time as the span [start, end) it names: a bare date is its whole UTC day; a date-time
 * (UTC unless it has an offset) spans its precision: a minute, a second or a millisecond. null when malformed.
 */
export function parseIsoSpan(value: string): { start: number; end: number } | null {
  const m = ISO_DATE.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return null;
  if (h === undefined) return { start: date.getTime(), end: date.getTime() + DAY_MS };
  const [hour, minute, second] = [Number(h), Number(mi), Number(s ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMin = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
    if (oh > 23 || om > 59) return null;
    offsetMin = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const start = date.getTime() + ((hour * 60 + minute - offsetMin) * 60 + second) * 1000 + ms;
  return { start, end: start + (frac !== undefined ? 1 : s !== undefined ? 1000 : 60_000) };
}

const DATE_HELP = 'must be an ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS[.sss]][Z|±HH:MM])';

/** date_from/date_to → [startedFrom, startedBefore): date_from inclusive from its start, date_to inclusive to its end. */
function dateRange(q: { date_from?: string; date_to?: string }): Pick<HistoryFilter, 'startedFrom' | 'startedBefore'> {
  const span = (field: 'date_from' | 'date_to') => {
    const value = q[field];
    if (value === undefined) return undefined;
    const parsed = parseIsoSpan(value);
    if (!parsed) throw new AppError('bad_request', `querystring.${field}: ${DATE_HELP}`);
    return parsed;
  };
  const from = span('date_from');
  const to = span('date_to');
  return {
    // Bounds outside the years 0000-9999 bound nothing (and would not compare as strings).
    startedFrom: from && from.start >= MIN_MS ? new Date(from.start).toISOString() : undefined,
    startedBefore: to && to.end <= MAX_MS ? new Date(to.end).toISOString() : undefined,
  };
}

const toFilter = (q: CallHistoryQuery): HistoryFilter => ({
  direction: q.direction,
  disposition: q.disposition,
  from: q.from,
  to: q.to,
  search: q.search,
  ...dateRange(q),
});

export const callHistoryApi: FastifyPluginAsync<{ keys: ApiKeyService; history: CallHistoryStore }> = async (app, { keys, history }) => {
  // Authentication runs before validation: a caller without a valid key learns nothing about the query format.
  const onRequest = requireApiKey(keys, 'calls.read');
  const errors = { '4xx': ErrorBody };

  app.get<{ Querystring: CallHistoryQuery }>(
    '/api/v1/calls',
    { schema: { querystring: CallHistoryQuery, response: { 200: CallHistoryPage, ...errors } }, onRequest },
    async (request): Promise<CallHistoryPage> => {
      const { limit = HISTORY_DEFAULT_LIMIT, offset = 0 } = request.query;
      const { rows, total } = await history.list(request.apiKey!.instanceId, toFilter(request.query), limit, offset);
      return { data: rows.map(toHistoryEntry), total, page: Math.floor(offset / limit) + 1, pages: Math.ceil(total / limit) };
    },
  );

  app.get<{ Querystring: CallCountQuery }>(
    '/api/v1/calls/count',
    { schema: { querystring: CallCountQuery, response: { 200: CallCount, ...errors } }, onRequest },
    async (request): Promise<CallCount> => ({ count: await history.count(request.apiKey!.instanceId, toFilter(request.query)) }),
  );

  app.get<{ Querystring: CallStatsQuery }>(
    '/api/v1/calls/stats',
    { schema: { querystring: CallStatsQuery, response: { 200: CallStats, ...errors } }, onRequest },
    async (request): Promise<CallStats> => {
      const { startedFrom, startedBefore } = dateRange(request.query);
      return history.stats(request.apiKey!.instanceId, { from: startedFrom, before: startedBefore });
    },
  );
};
