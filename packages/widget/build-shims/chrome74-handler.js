// Build-time stand-in for mediasoup-client's Chrome74 handler (Chromium 74-110, all from before March 2023): the widget needs Chromium 111+.
export class Chrome74 {
  static createFactory() {
    throw new Error('This browser is too old for the Astral widget: it needs Chromium 111 or later');
  }
}
