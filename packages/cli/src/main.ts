/** The `silt` command line: parses arguments and dispatches to a command. */
import { formatDemo, parseDemoArgs, runDemo } from './demo.js';
import { doctor, formatDoctor } from './doctor.js';

export const USAGE = `Usage: silt <command> [options]

Commands:
  doctor [--json]   platform, Node version, accelerator in use, native load error, self-test timings
  demo [--keys N] [--seconds S] [--dir PATH] [--json]
                    load N keys (default 200000) into a temporary database (or the missing or empty
                    directory PATH, which is kept), churn it for S seconds (default 4: overwrites,
                    deletes, getSync reads checked against a model, then a range scan), flush and
                    compact; print ops/s per phase, files per level, disk bytes and the accelerator
  help              this text

Environment:
  SILTDB_NATIVE     off = TypeScript only; require = fail unless native loads; unset = native if it works
`;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs the command and returns the process exit code. */
export async function main(argv: readonly string[], io: Io = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor': {
      const unknown = rest.filter((a) => a !== '--json');
      if (unknown.length > 0) {
        io.err(`silt doctor: unknown option ${unknown[0]}\n`);
        return 2;
      }
      const report = doctor(env);
      io.out(rest.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
      return report.ok ? 0 : 1;
    }
    case 'demo': {
      const options = parseDemoArgs(rest);
      if (typeof options === 'string') {
        io.err(`silt demo: ${options}\n\n${USAGE}`);
        return 2;
      }
      try {
        const report = await runDemo(options, env);
        io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDemo(report)}\n`);
        return 0;
      } catch (error) {
        const e = error as { code?: unknown; message?: unknown };
        const code = typeof e?.code === 'string' ? e.code : 'ERROR';
        io.err(`silt demo: [${code}] ${String(e?.message ?? error)}\n`);
        return 1;
      }
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.err(`silt: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}
