import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, isAuditAction } from './audit-actions.ts';
import { BUS_EVENTS, isBusEventName } from './bus-events.ts';

const NAME = /^[a-z]+(\.[a-z_]+)+$/;

describe('the registries of audit actions and bus events', () => {
  it('names every audit action in lower-case dotted form and says what it records', () => {
    for (const [name, meaning] of Object.entries(AUDIT_ACTIONS)) {
      expect(name).toMatch(NAME);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });

  it("names every bus event in lower-case dotted form, none in the plugins' tenant.* space", () => {
    for (const [name, meaning] of Object.entries(BUS_EVENTS)) {
      expect(name).toMatch(NAME);
      expect(name.startsWith('tenant.')).toBe(false);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });

  it('tells a registered name from an unknown one', () => {
    expect(isAuditAction('plugin.install.completed')).toBe(true);
    expect(isAuditAction('plugin.install.done')).toBe(false);
    expect(isAuditAction('toString')).toBe(false);
    expect(isBusEventName('plugin.dev.reloaded')).toBe(true);
    expect(isBusEventName('plugin.dev.reload')).toBe(false);
  });
});
