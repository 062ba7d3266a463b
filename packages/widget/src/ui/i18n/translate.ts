// Fills a catalogue string's `{name}` placeholders.
import type { StringKey, Strings } from './en.js';

export type TranslateParams = Readonly<Record<string, string | number>>;

/** `strings[key]` with each `{param}` replaced (an unknown placeholder is left as written). */
export function translate(strings: Strings, key: StringKey, params?: TranslateParams): string {
  const text = strings[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
