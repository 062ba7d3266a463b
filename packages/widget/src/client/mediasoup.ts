// mediasoup-client's Device, alone: the WebRTC engine of the Astral engine, its own chunk (astral-phone-mediasoup.mjs).
export { Device } from 'mediasoup-client';
