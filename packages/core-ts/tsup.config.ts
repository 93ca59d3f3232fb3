import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/log.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
