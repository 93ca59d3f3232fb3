/** The `silt` command line: parses arguments and dispatches to a command. */
import { doctor, formatDoctor } from './doctor.js';

export const USAGE = `Usage: silt <command> [options]

Commands:
  doctor [--json]   platform, Node version, accelerator in use, native load error, self-test timings
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
