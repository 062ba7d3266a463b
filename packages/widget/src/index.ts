// @astral/widget entry: registers <astral-phone> and exports the headless AstralClient for custom UIs.
export { AstralClient } from './client/astral-client.js';
export { AstralError } from './client/signaling.js';
export type { AstralClientEvents, AstralClientOptions, CallEndedDetail, CallInfo, CallStats } from './client/types.js';
export type { AudioDevice, AudioProcessing, DeviceChangedDetail, DeviceLists, DeviceManager, OutputTarget } from './client/devices.js';
export { AstralPhone } from './ui/astral-phone.js';
