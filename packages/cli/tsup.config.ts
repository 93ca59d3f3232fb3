import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/silt.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: ['src/index.ts'] },
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
