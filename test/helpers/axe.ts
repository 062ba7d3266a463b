// Runs axe-core in a page, open shadow roots included: WCAG 2.x A and AA, best practices and the experimental rules (not AAA, not deprecated).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** The violations axe-core finds in the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern (a script tag it would)
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  await finishTransitions(page);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: AxeApi }).axe;
    const rules = Object.fromEntries(axe.getRules().filter((r) => !r.tags.includes('deprecated') && !r.tags.includes('wcag2aaa')).map((r) => [r.ruleId, { enabled: true }]));
    const result = await axe.run(document, { rules, resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));

    interface AxeApi {
      getRules(): { ruleId: string; tags: string[] }[];
      run(context: Document, options: object): Promise<{ violations: AxeViolation[] }>;
    }
    interface AxeViolation {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: unknown[]; failureSummary?: string }[];
    }
  });
}

/**
 * Jumps every finite CSS transition and animation (document and open shadow roots) to its end, so axe judges the
 * colours the page settles on: a page that renders no frames (a busy machine, a background tab) can hold a colour
 * transition half-way (dark → light scheme) for seconds. Endless ones (the ringing pulse) are left running.
 */
async function finishTransitions(page: Page): Promise<void> {
  await page.evaluate(() => {
    const roots: (Document | ShadowRoot)[] = [document];
    for (let i = 0; i < roots.length; i++) {
      for (const el of roots[i]!.querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
    }
    const animations = new Set(roots.flatMap((root) => root.getAnimations()));
    for (const animation of animations) {
      if (animation.effect?.getComputedTiming().iterations !== Infinity) animation.finish();
    }
  });
}

/** One line per violation and one per offending element, for an assertion message. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => [`${v.id} (${v.impact}): ${v.help}`, ...v.nodes.map((n) => `  ${JSON.stringify(n.target)} ${n.failureSummary?.replace(/\s+/g, ' ') ?? ''}`)].join('\n'))
    .join('\n');
}
