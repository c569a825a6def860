/**
 * Which of our packages each package may import: the table of docs/architecture.md, read by the
 * eslint boundaries rule (eslint.config.js) and by its test (tests/integration/lint/).
 * `typesOnly`: allowed for `import type` only (the Admin must not bundle protocol's runtime).
 */
export const IMPORT_RULES = {
  protocol: { imports: [] },
  'package-format': { imports: ['protocol'] },
  'plugin-sdk': { imports: ['protocol'] },
  runtime: { imports: ['protocol', 'plugin-sdk'] },
  core: { imports: ['protocol', 'package-format', 'plugin-sdk', 'runtime'] },
  cli: { imports: ['protocol', 'package-format'] },
  admin: { imports: ['protocol'], typesOnly: ['protocol'] },
};

export const PACKAGES = Object.keys(IMPORT_RULES);
