// Build-time stand-in for mediasoup-client's React Native handler, which a browser bundle never uses.
export class ReactNative106 {
  static createFactory() {
    throw new Error('React Native is not supported by the Astral browser widget');
  }
}
