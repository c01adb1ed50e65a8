/**
 * @module test/helpers/axe
 * axe-core, the WCAG rule engine, run in real Chromium pages. Its source is loaded as a
 * DevTools init script of the browser context (`addInitScript`), which the page's
 * Content-Security-Policy does not govern (an inline `<script>` would be refused, rightly): the
 * gateway's CSP stays as it ships and no context needs `bypassCSP`. The rules are WCAG 2.0 and
 * 2.1, levels A and AA, plus axe's best practices (landmarks, heading order, unique names).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');

/** The rule sets every audited page must pass. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

export interface AxeViolation {
  rule: string;
  impact: string;
  help: string;
  /** Each offending element: its CSS selector and axe's summary of what to fix. */
  nodes: { target: string; summary: string }[];
}

/** Every document the context opens from now on has axe (sent once, compiled by Chromium at each load). */
export async function loadAxe(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: AXE_SOURCE });
}

/**
 * Runs axe over the page as it is now (viewport, colour scheme) and returns its violations,
 * and the text whose colour contrast axe could not decide (reported as `color-contrast-undecided`:
 * unchecked contrast is how a dark-mode regression would slip through).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate<boolean>('typeof window.axe === "object"')))
    throw new Error(`axe is not loaded in ${page.url()}: call loadAxe(context) before opening the page`);
  const options = { runOnly: { type: 'tag', values: AXE_TAGS }, resultTypes: ['violations', 'incomplete'] };
  // A string expression: tsconfig has no DOM types.
  return page.evaluate<AxeViolation[]>(`axe.run(document, ${JSON.stringify(options)}).then((r) => [
    ...r.violations,
    ...r.incomplete
      .filter((i) => i.id === 'color-contrast')
      .map((i) => ({ ...i, id: 'color-contrast-undecided', help: "axe could not check this text's colour contrast" })),
  ].map((v) => ({
    rule: v.id,
    impact: v.impact || '',
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary || '' })),
  })))`);
}

/** One paragraph per violation: rule, impact and help, then every element with what to fix. */
export function describeViolations(violations: readonly AxeViolation[]): string {
  return violations
    .map(
      (v) =>
        `${v.rule} (${v.impact}): ${v.help}\n` +
        v.nodes.map((n) => `  at ${n.target}\n    ${n.summary.replace(/\n/g, '\n    ')}`).join('\n'),
    )
    .join('\n');
}
