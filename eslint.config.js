import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import boundaries from 'eslint-plugin-boundaries';
import { IMPORT_RULES, PACKAGES } from './scripts/import-rules.js';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/fixtures/**',
      'bench/.work/**',
      '.px-data/**',
      'packages/admin/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The import table of docs/architecture.md, as a rule: a package imports only the packages
  // listed for it (scripts/import-rules.js), whether by package name or by a relative path.
  {
    files: ['packages/**/*.{ts,tsx,js,mjs}'],
    // The plugin template is a plugin author's project (it imports plugin-sdk), not CLI code.
    ignores: ['packages/cli/templates/**'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': PACKAGES.map((name) => ({ type: name, pattern: `packages/${name}` })),
      'import/resolver': { node: { extensions: ['.ts', '.tsx', '.js', '.mjs'], preserveSymlinks: false } },
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'allow',
          // @powerx/* resolve through node_modules links, so they count as external modules: check those too.
          checkAllOrigins: true,
          policies: PACKAGES.flatMap((name) => {
            const rule = IMPORT_RULES[name];
            const forbidden = PACKAGES.filter((other) => other !== name && !rule.imports.includes(other));
            const typesOnly = rule.typesOnly ?? [];
            return [
              ...(forbidden.length
                ? [
                    {
                      from: { element: { type: name } },
                      disallow: [
                        // by a relative path into another package's folder
                        { to: { element: { types: { anyOf: forbidden } } } },
                        // by package name (the workspace links resolve outside the resolver's reach)
                        {
                          dependency: {
                            source: forbidden.flatMap((p) => [`@powerx/${p}`, `@powerx/${p}/**`]),
                          },
                        },
                      ],
                      message: `${name} may import only ${rule.imports.join(', ') || 'nothing of ours'} (docs/architecture.md)`,
                    },
                  ]
                : []),
              ...(typesOnly.length
                ? [
                    {
                      from: { element: { type: name } },
                      disallow: [
                        { to: { element: { types: { anyOf: typesOnly } } }, dependency: { kind: 'value' } },
                        {
                          dependency: {
                            kind: 'value',
                            source: typesOnly.flatMap((p) => [`@powerx/${p}`, `@powerx/${p}/**`]),
                          },
                        },
                      ],
                      message: `${name} may import only types from ${typesOnly.join(', ')} (docs/architecture.md)`,
                    },
                  ]
                : []),
            ];
          }),
        },
      ],
    },
  },
  // Core reads its settings from CoreConfig (packages/core/src/config/), never from the environment.
  // The test-server helpers (PX_TEST_* of tests, benches and CI) are no core settings.
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: [
      'packages/core/src/config/core-config.ts',
      '**/*.test.ts',
      'packages/core/src/cluster/test-nats.ts',
      'packages/core/src/storage/scratch-schema.ts',
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read settings from CoreConfig (packages/core/src/config/README.md), not process.env.',
        },
      ],
    },
  },
);
