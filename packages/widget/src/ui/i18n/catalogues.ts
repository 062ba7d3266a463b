// Picks a catalogue for a language tag: English is built in, the others load on demand (own chunks in the widget build).
import { en, type Strings } from './en.js';

/** Languages with a complete catalogue. */
export const LANGUAGES = ['en', 'ru', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

const loaded = new Map<Language, Strings>([['en', en]]);

/** The supported language for a BCP 47 tag (`ru-RU` → `ru`), or null. */
export function supportedLanguage(tag: string | null | undefined): Language | null {
  const primary = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return (LANGUAGES as readonly string[]).includes(primary) ? (primary as Language) : null;
}

/** The catalogue if already loaded (English always is). */
export function loadedCatalogue(lang: Language): Strings | undefined {
  return loaded.get(lang);
}

/** Loads a catalogue (once). vite.config.ts rewrites these imports to sibling files of the widget script. */
export async function loadCatalogue(lang: Language): Promise<Strings> {
  const ready = loaded.get(lang);
  if (ready) return ready;
  const { strings } = lang === 'ru' ? await import('./ru.js') : await import('./es.js');
  loaded.set(lang, strings);
  return strings;
}
