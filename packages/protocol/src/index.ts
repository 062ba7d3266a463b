// Public entry of @astral/protocol: everything the server and the widget agree on.
export * from './errors.js';
export * from './destination.js';
export * from './calls.js';
export * from './rest.js';
export * from './history.js';
export * from './events.js';
export * from './voice.js';
export * from './control.js';
export * from './routing.js';
export * from './trunks.js';
