// Measures the widget bundle: raw and gzip -9 sizes of the script-tag IIFE, the ES module and the chunks loaded on demand.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { bytes, kib, row } from './stats.js';

const DIST = fileURLToPath(new URL('../packages/widget/dist/', import.meta.url));

/** Script-tag bundle target, gzip -9 (issue 12: <= 60 KB with every feature; the ES module no larger). */
export const BUNDLE_TARGET_BYTES = 60 * 1024;

export interface BundleSize {
  file: string;
  raw: number;
  gzip: number;
}

export function measureBundle(file: string): BundleSize {
  const data = readFileSync(DIST + file);
  return { file, raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
}

/** The table rows for both bundle flavours. */
export function bundleRows(): string[] {
  const iife = measureBundle('astral-phone.js');
  const esm = measureBundle('astral-phone.mjs');
  const verdict = iife.gzip <= BUNDLE_TARGET_BYTES ? 'within' : 'OVER';
  return [
    row('bundle astral-phone.js (script tag), raw', `${bytes(iife.raw).padStart(11)}   ${kib(iife.raw)}`),
    row(
      'bundle astral-phone.js (script tag), gzip -9',
      `${bytes(iife.gzip).padStart(11)}   ${kib(iife.gzip)}   target <= ${kib(BUNDLE_TARGET_BYTES)} = ${bytes(BUNDLE_TARGET_BYTES)} (${verdict}, ${((100 * iife.gzip) / BUNDLE_TARGET_BYTES).toFixed(0)}%)`,
    ),
    row('bundle astral-phone.mjs (ES module), raw', `${bytes(esm.raw).padStart(11)}   ${kib(esm.raw)}`),
    row(
      'bundle astral-phone.mjs (ES module), gzip -9',
      `${bytes(esm.gzip).padStart(11)}   ${kib(esm.gzip)}   ${esm.gzip <= iife.gzip ? 'no larger than' : 'LARGER than'} the script tag`,
    ),
    ...onDemandRows(),
    nativePhoneRow(iife),
  ];
}

/** Chunks beside the script, each downloaded only when a phone needs it (vite.config.ts LAZY_CHUNKS). */
const ON_DEMAND: [file: string, what: string][] = [
  ['astral-phone-mediasoup.mjs', 'mediasoup-client, fetched on connect'],
  ['astral-phone-sip.mjs', 'sip engine'],
  ['astral-phone-i18n-ru.mjs', 'Russian strings'],
  ['astral-phone-i18n-es.mjs', 'Spanish strings'],
  ['astral-phone-devices.mjs', 'device panel'],
  ['astral-phone-preflight.mjs', 'preflight test'],
];

function onDemandRows(): string[] {
  return ON_DEMAND.map(([file, what]) => {
    const size = measureBundle(file);
    return row(`bundle ${file} (${what}, on demand), gzip -9`, `${bytes(size.gzip).padStart(11)}   ${kib(size.gzip)}`);
  });
}

/** What a native (Astral engine) phone downloads before its first call: the script and mediasoup-client. */
function nativePhoneRow(iife: BundleSize): string {
  const total = iife.gzip + measureBundle('astral-phone-mediasoup.mjs').gzip;
  return row('bundle script + mediasoup chunk (a connected phone), gzip -9', `${bytes(total).padStart(11)}   ${kib(total)}`);
}
