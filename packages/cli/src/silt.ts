#!/usr/bin/env node
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const e = error as { code?: string; message?: string };
    process.stderr.write(`silt: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
