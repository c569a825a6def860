export * from './context.ts';
export * from './define-plugin.ts';
export * from './router.ts';
export * from './errors.ts';
export * from './node-adapter.ts';
