// Types for @echogarden/fvad-wasm (it ships none): its default export instantiates the emscripten module (see vad.ts).
declare module '@echogarden/fvad-wasm' {
  const createFvad: () => Promise<unknown>;
  export default createFvad;
}
