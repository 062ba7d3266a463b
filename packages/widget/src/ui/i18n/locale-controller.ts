// Chooses <astral-phone>'s language (own lang, nearest ancestor's, the document's, the browser's, else English) and serves its strings.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { en, type StringKey, type StringOverrides, type Strings } from './en.js';
import { loadCatalogue, loadedCatalogue, supportedLanguage, type Language } from './catalogues.js';

export type TranslateParams = Readonly<Record<string, string | number>>;

/** `text` with each `{param}` replaced (an unknown placeholder is left as written). */
function fill(text: string, params?: TranslateParams): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** `tag` for Intl when it is valid and of the chosen language (`ru-RU` keeps its region), else the language itself. */
function intlLocale(tag: string, lang: Language): string {
  if (supportedLanguage(tag) !== lang) return lang;
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? lang;
  } catch {
    return lang; // e.g. `ru_RU`, which Intl refuses
  }
}

/** The `lang` of the element itself or of its nearest ancestor, crossing shadow roots; '' when none. */
export function inheritedLang(el: Element): string {
  for (let node: Element | null = el; node; ) {
    const lang = node.getAttribute('lang');
    if (lang) return lang;
    node = node.parentElement ?? ((node.getRootNode() as ShadowRoot).host || null);
  }
  return '';
}

/** Re-renders its host when the language resolves to another catalogue, or that catalogue arrives. */
export class LocaleController implements ReactiveController {
  /** The BCP 47 tag Intl formats with (the one asked for when it has a catalogue, else `en`). */
  locale = 'en';
  private lang: Language = 'en';
  private catalogue: Strings = en;
  private overrides: StringOverrides = {};
  private readonly observer = new MutationObserver(() => this.resolve());

  constructor(private readonly host: ReactiveControllerHost & HTMLElement) {
    host.addController(this);
  }

  /** The host's `strings` property: a partial catalogue laid over the chosen one. */
  setOverrides(overrides: StringOverrides | null | undefined): void {
    this.overrides = overrides ?? {};
  }

  /** The string for `key` in the chosen language (an override first), placeholders filled. */
  t(key: StringKey, params?: TranslateParams): string {
    return fill(this.overrides[key] ?? this.catalogue[key], params);
  }

  hostConnected(): void {
    this.observer.observe(this.host, { attributes: true, attributeFilter: ['lang'] });
    this.observer.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
    this.resolve();
  }

  hostDisconnected(): void {
    this.observer.disconnect();
  }

  hostUpdate(): void {
    this.resolve(); // an ancestor's lang may have changed since
  }

  private resolve(): void {
    const asked = inheritedLang(this.host) || navigator.language || 'en';
    const lang = supportedLanguage(asked) ?? 'en';
    const locale = intlLocale(asked, lang);
    if (lang === this.lang && locale === this.locale) return;
    this.lang = lang;
    this.locale = locale;
    const ready = loadedCatalogue(lang);
    if (ready) {
      this.catalogue = ready;
      this.host.requestUpdate();
      return;
    }
    loadCatalogue(lang).then(
      (strings) => {
        if (this.lang !== lang) return;
        this.catalogue = strings;
        this.host.requestUpdate();
      },
      () => undefined, // the chunk failed to load: English stays
    );
  }
}

/** What templates need from the controller: strings and the Intl locale. */
export type Localizer = Pick<LocaleController, 't' | 'locale'>;
