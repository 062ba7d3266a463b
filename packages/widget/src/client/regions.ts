// Region latency: round-trip time to each RTC region's endpoint, best of three, for the server's automatic region choice.
export async function measureRegionRtts(server: string, regions: { id: string; endpoint: string }[]): Promise<Record<string, number>> {
  const rtts: Record<string, number> = {};
  for (const region of regions) {
    const url = `${region.endpoint || server}/healthz`;
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const ok = await fetch(url, { cache: 'no-store' }).then((r) => r.ok, () => false);
      if (ok) best = Math.min(best, performance.now() - start);
    }
    if (Number.isFinite(best)) rtts[region.id] = Math.round(best * 10) / 10;
  }
  return rtts;
}
