/**
 * The shipped alert rules, checked and unit-tested by promtool (Debian's `prometheus` package,
 * installed by .ci/run): syntax, and a firing and a not-firing case for every rule in
 * deploy/prometheus/alerts.test.yml.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { repoRoot } from '../../support/core-kit.ts';

const run = promisify(execFile);
const dir = join(repoRoot, 'deploy/prometheus');

async function promtool(args: string[], cwd = dir): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('promtool is not installed: apt-get install -y prometheus (see .ci/run)', {
        cause: error,
      });
    return { code: Number(e.code ?? 1), out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('alert rules (promtool)', () => {
  it('alerts.yml is valid and holds the five alerts, each with summary, description and a runbook section', async () => {
    const checked = await promtool(['check', 'rules', 'alerts.yml']);
    expect(checked.out).toContain('SUCCESS: 5 rules found');
    expect(checked.code).toBe(0);
    const rules = (
      parse(await readFile(join(dir, 'alerts.yml'), 'utf8')) as {
        groups: Array<{ rules: Array<{ alert: string; annotations: Record<string, string> }> }>;
      }
    ).groups.flatMap((g) => g.rules);
    const operations = await readFile(join(repoRoot, 'docs/operations.md'), 'utf8');
    for (const rule of rules) {
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.description, rule.alert).toBeTruthy();
      const anchor = `runbook-${rule.alert.toLowerCase()}`;
      // Absolute with the external label runbook_base (see the head of alerts.yml), relative without it.
      expect(rule.annotations.runbook_url, rule.alert).toBe(
        `{{ with $externalLabels.runbook_base }}{{ . }}/{{ end }}docs/operations.md#${anchor}`,
      );
      // The runbook heading exists (GitHub anchors: lower case, spaces to dashes).
      expect(operations, rule.alert).toContain(`## Runbook: ${rule.alert}`);
    }
  });

  it('promtool test rules passes: every rule fires when it should and stays quiet otherwise', async () => {
    const tested = await promtool(['test', 'rules', 'alerts.test.yml']);
    expect(tested.out).toContain('SUCCESS');
    expect(tested.code).toBe(0);
  });

  it('alerts.test.yml has a firing and a not-firing case for every rule', async () => {
    const tests = (
      parse(await readFile(join(dir, 'alerts.test.yml'), 'utf8')) as {
        tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
      }
    ).tests.flatMap((t) => t.alert_rule_test);
    const rules = (
      parse(await readFile(join(dir, 'alerts.yml'), 'utf8')) as {
        groups: Array<{ rules: Array<{ alert: string }> }>;
      }
    ).groups.flatMap((g) => g.rules);
    for (const { alert } of rules) {
      const cases = tests.filter((t) => t.alertname === alert);
      expect(
        cases.some((c) => c.exp_alerts.length > 0),
        `${alert} firing`,
      ).toBe(true);
      expect(
        cases.some((c) => c.exp_alerts.length === 0),
        `${alert} not firing`,
      ).toBe(true);
    }
  });

  it('promtool test rules fails when a rule is broken (the tests do test something)', async () => {
    // A copy of the rules with the signature threshold raised from 3 to 4 must fail its tests.
    const tmp = await mkdtemp(join(tmpdir(), 'px-rules-'));
    try {
      const rules = await readFile(join(dir, 'alerts.yml'), 'utf8');
      await writeFile(
        join(tmp, 'alerts.yml'),
        rules.replace(
          '(plugin_package_signature_failures_consecutive) >= 3',
          '(plugin_package_signature_failures_consecutive) >= 4',
        ),
      );
      await copyFile(join(dir, 'alerts.test.yml'), join(tmp, 'alerts.test.yml'));
      const { code, out } = await promtool(['test', 'rules', 'alerts.test.yml'], tmp);
      expect(code).not.toBe(0);
      expect(out).toContain('PluginPackageSignatureFailuresInARow');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
