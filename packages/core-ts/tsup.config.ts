import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/log.ts', 'src/level.ts', 'src/versioned.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
