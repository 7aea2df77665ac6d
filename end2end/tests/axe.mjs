// Accessibility checks with axe-core, run inside a page under test.
//
// moim's pages have a strict Content-Security-Policy (scripts only with the
// page's nonce, no 'unsafe-eval'), so axe cannot come in by a <script> tag:
// page.addScriptTag is refused, and the refusal is a console CSP report that
// fails the test (people.mjs, pageErrors). Playwright's page.evaluate reaches
// the page through the DevTools protocol, and Chromium lets the code that one
// protocol call runs use eval past the page's CSP until the call's task ends
// (an eval after a timer inside the same evaluate is refused). So axe's source
// goes in as the expression of one evaluate and runs at once, defining
// window.axe; axe.run needs no eval, so the second evaluate that runs it
// keeps within the page's policy.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const AXE_PATH = fileURLToPath(new URL('../node_modules/axe-core/axe.min.js', import.meta.url));
let axeSource;

/** Puts axe-core into the page's main world, once per document. */
async function injectAxe(page) {
  if (await page.evaluate(() => typeof window.axe?.run === 'function')) return;
  axeSource ??= readFileSync(AXE_PATH, 'utf8');
  // The string form: Playwright evaluates it as a script in the page. The
  // trailing `void 0` keeps the script's last value from being sent back.
  await page.evaluate(`${axeSource}\n;void 0`);
}

/**
 * Text on the page whose colour contrast fails WCAG 2 AA, as axe-core's
 * `color-contrast` rule sees it: one `{ id, target, summary }` per element,
 * `target` a CSS selector and `summary` axe's reason with the colours and
 * ratio found. Elements axe cannot judge (text over an image or a gradient)
 * are not reported. Frames are not entered.
 */
export async function contrastProblems(page) {
  await injectAxe(page);
  return page.evaluate(async () => {
    const results = await window.axe.run(document, {
      runOnly: { type: 'rule', values: ['color-contrast'] },
      resultTypes: ['violations'],
      iframes: false,
    });
    return results.violations.flatMap((rule) =>
      rule.nodes.map((node) => ({
        id: rule.id,
        target: node.target.map((part) => [].concat(part).join(' >>> ')).join(' '),
        summary: [...node.any, ...node.all, ...node.none].map((check) => check.message).join(' ') || node.failureSummary,
      })),
    );
  });
}
