// Build-time stand-in for h264-profile-level-id: Astral's routers carry audio only, so mediasoup-client never matches H264.
export function isSameProfile() {
  return false;
}

export function generateProfileLevelIdStringForAnswer() {
  return undefined;
}
