// Component tests for <astral-phone>'s languages: catalogues complete and consistent, the language chosen from lang
// (own, ancestor, document) or overridden by `strings`, Russian and Spanish on screen, Intl talk time; media preferences.
import { emulateMedia } from '@web/test-runner-commands';
import '../src/ui/astral-phone.js';
import type { AstralPhone } from '../src/ui/astral-phone.js';
import { formatDuration } from '../src/ui/call-timer.js';
import { en, type StringKey, type Strings } from '../src/ui/i18n/en.js';
import { loadCatalogue, supportedLanguage } from '../src/ui/i18n/catalogues.js';
import { BOB, assert, callInfo, emit, equal, mount, mountPhone, part, startCall, text, unmountAll, waitFor } from './helpers.js';

afterEach(unmountAll);

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

/** Waits until the status line reads `label` (a catalogue may still be loading). */
async function statusReads(el: AstralPhone, label: string): Promise<void> {
  await waitFor(() => text(part(el, 'status')).includes(label), `status reads ${label}, not ${text(part(el, 'status'))}`);
}

describe('<astral-phone> catalogues', () => {
  it('ru and es have every English key, non-empty, with the same placeholders', async () => {
    for (const lang of ['ru', 'es'] as const) {
      const strings: Strings = await loadCatalogue(lang);
      for (const key of Object.keys(en) as StringKey[]) {
        assert(strings[key]?.trim(), `${lang} has ${key}`);
        equal(placeholders(strings[key]), placeholders(en[key]), `${lang} ${key} placeholders`);
      }
      equal(Object.keys(strings).length, Object.keys(en).length, `${lang} has no extra keys`);
    }
  });

  it('maps language tags to catalogues', () => {
    equal(supportedLanguage('ru-RU'), 'ru', 'region subtag');
    equal(supportedLanguage('es_419'), 'es', 'underscore');
    equal(supportedLanguage('EN'), 'en', 'case');
    equal(supportedLanguage('de'), null, 'unsupported');
  });
});

describe('<astral-phone> language choice', () => {
  it('is English by default, Russian with lang="ru" on the element, back to English when removed', async () => {
    const { el } = await mountPhone();
    await statusReads(el, 'Ready');
    el.setAttribute('lang', 'ru');
    await statusReads(el, 'Готов');
    equal(part<HTMLInputElement>(el, 'input')!.placeholder, 'Номер или имя', 'placeholder translated');
    equal(text(part(el, 'call-button')), 'Позвонить', 'call button translated');
    el.removeAttribute('lang');
    await statusReads(el, 'Ready');
  });

  it("follows the nearest ancestor's lang, then the document's; its own lang wins", async () => {
    const box = mount(document.createElement('div'));
    box.lang = 'es-MX';
    const el = document.createElement('astral-phone');
    box.append(el);
    const { el: plain } = await mountPhone();
    await statusReads(el, 'Sin conexión');
    await statusReads(plain, 'Ready');
    const before = document.documentElement.lang;
    document.documentElement.lang = 'ru';
    try {
      await statusReads(plain, 'Готов');
      await statusReads(el, 'Sin conexión'); // the nearer ancestor still decides
      el.lang = 'en';
      await statusReads(el, 'Offline');
    } finally {
      document.documentElement.lang = before;
    }
    await statusReads(plain, 'Ready');
  });

  it('takes a POSIX-style tag (ru_RU), which Intl itself refuses', async () => {
    const { el, client } = await mountPhone();
    el.lang = 'ru_RU';
    await statusReads(el, 'Готов');
    await startCall(el, client, { answeredAt: Date.now() - 5_000 });
    equal(text(part(el, 'timer')), '00:05', 'timer formatted');
  });

  it('falls back to English for a language without a catalogue', async () => {
    const { el } = await mountPhone();
    el.lang = 'de';
    await el.updateComplete;
    await statusReads(el, 'Ready');
  });

  it('takes partial overrides from the strings property, over any language', async () => {
    const { el } = await mountPhone();
    el.strings = { 'controls.call': 'Dial', 'state.ready': 'Free' };
    await statusReads(el, 'Free');
    equal(text(part(el, 'call-button')), 'Dial', 'overridden');
    equal(text(part(el, 'hangup-button')), 'Hang up', 'the rest stays English');
    el.lang = 'es';
    await waitFor(() => text(part(el, 'hangup-button')) === 'Colgar', 'Spanish underneath');
    equal(text(part(el, 'call-button')), 'Dial', 'the override still wins');
  });
});

describe('<astral-phone> in Russian and Spanish', () => {
  it('shows an incoming call in Russian and announces it assertively', async () => {
    const { el, client } = await mountPhone();
    el.lang = 'ru';
    await statusReads(el, 'Готов');
    client.emit('call', { call: callInfo({ direction: 'incoming' }) });
    client.emit('state', { state: 'incoming' });
    await emit(el, client, 'incoming', { callId: 'call-1', from: BOB });
    equal(text(part(el, 'accept-button')), 'Принять', 'accept');
    equal(text(part(el, 'decline-button')), 'Отклонить', 'decline');
    equal(part(el, 'accept-button')!.getAttribute('aria-label'), 'Принять вызов от Bob Smith', 'accept label names the caller');
    const announcer = el.shadowRoot!.querySelector('[aria-live="assertive"]');
    equal(text(announcer), 'Входящий вызов от Bob Smith', 'assertive announcement');
  });

  it('shows a call in Spanish with the talk time and the end reason', async () => {
    const { el, client } = await mountPhone();
    el.lang = 'es';
    await statusReads(el, 'Listo');
    await startCall(el, client, { answeredAt: Date.now() - 65_400, remoteMuted: true });
    await statusReads(el, 'En llamada');
    equal(text(part(el, 'timer')), '01:05', 'timer');
    assert(text(part(el, 'remote-muted')).includes('Bob Smith tiene el micrófono silenciado'), text(part(el, 'remote-muted')));
    equal(text(part(el, 'transfer-button')), 'Transferir', 'transfer panel');
    client.emit('call', { call: null });
    client.emit('state', { state: 'ready' });
    await emit(el, client, 'call-ended', { callId: 'call-1', reason: 'declined', disposition: 'NO ANSWER', duration: 0 });
    equal(text(part(el, 'last-call')), 'Llamada rechazada', 'end reason');
    assert(text(part(el, 'status')).includes('Llamada rechazada'), 'the end reason is in the polite status region');
  });
});

describe('talk time through Intl', () => {
  it('formats with Intl.DurationFormat, in the locale digits', () => {
    equal(formatDuration(65_999, 'ru'), '01:05', 'ru');
    equal(formatDuration(3_725_000, 'es'), '1:02:05', 'es hours');
    equal(formatDuration(65_000, 'ar-EG'), '\u0660\u0661:\u0660\u0665', 'Arabic-Indic digits');
  });

  it('falls back to Intl.NumberFormat without Intl.DurationFormat', () => {
    const intl = Intl as unknown as { DurationFormat?: unknown };
    const saved = intl.DurationFormat;
    delete intl.DurationFormat;
    try {
      equal(formatDuration(65_999, 'fr'), '01:05', 'minutes and seconds');
      equal(formatDuration(3_725_000, 'fr'), '1:02:05', 'hours');
      equal(formatDuration(5_000, 'hi-IN-u-nu-deva'), '\u0966\u0966:\u0966\u096B', 'Devanagari digits');
    } finally {
      intl.DurationFormat = saved;
    }
  });
});

describe('<astral-phone> media preferences', () => {
  afterEach(() => emulateMedia({ colorScheme: 'light', reducedMotion: 'no-preference' }));

  it('stops the ringing pulse under prefers-reduced-motion', async () => {
    const { el, client } = await mountPhone();
    client.emit('state', { state: 'incoming' });
    await emit(el, client, 'incoming', { callId: 'c', from: BOB });
    assert(getComputedStyle(part(el, 'incoming')!).animationName !== 'none', 'pulses by default');
    await emulateMedia({ reducedMotion: 'reduce' });
    equal(getComputedStyle(part(el, 'incoming')!).animationName, 'none', 'no pulse');
  });

  it('turns dark under prefers-color-scheme: dark, unless the site sets --astral-bg', async () => {
    const { el } = await mountPhone();
    const card = el.shadowRoot!.querySelector('.phone')!;
    equal(getComputedStyle(card).backgroundColor, 'rgb(255, 255, 255)', 'light');
    await emulateMedia({ colorScheme: 'dark' });
    equal(getComputedStyle(card).backgroundColor, 'rgb(22, 27, 34)', 'dark');
    el.style.setProperty('--astral-bg', 'rgb(1, 2, 3)');
    equal(getComputedStyle(card).backgroundColor, 'rgb(1, 2, 3)', 'the custom property still wins');
  });

  it('shows focus with a visible outline on :focus-visible', async () => {
    const { el } = await mountPhone();
    const input = part<HTMLInputElement>(el, 'input')!;
    input.focus(); // programmatic focus on a text field matches :focus-visible
    assert(input.matches(':focus-visible'), 'focus-visible');
    equal(getComputedStyle(input).outlineStyle, 'solid', 'outline shown');
  });
});
