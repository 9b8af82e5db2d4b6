import 'dotenv/config';
import { fileURLToPath } from 'node:url';

interface Command {
  summary: string;
  usage: string;
  /** Runs the command; `args` are what followed its name. */
  run(args: string[]): Promise<void>;
  /** The command prints its own --help. */
  ownHelp?: boolean;
}

/** The existing scripts read process.argv themselves: run one as if it had been started directly. */
async function runScript(file: string, args: string[]): Promise<void> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  process.argv = [process.argv[0] as string, path, ...args];
  await import(path);
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'serve the API until SIGTERM or SIGINT, then drain and exit',
    usage: 'stockhold serve\n\nConfigured by environment variables (see .env.example): PORT, HOST, DATABASE_URL, WORKERS, ...',
    async run() {
      const { reportStartFailure, runServer } = await import('../startup/run-server.js');
      await runServer().catch(reportStartFailure);
    },
  },
  migrate: {
    summary: 'bring the schema of DATABASE_URL up to date, then exit',
    usage: 'stockhold migrate\n\nApplies pending migrations of the store DATABASE_URL names.',
    run: (args) => runScript('./migrate.ts', args),
  },
  seed: {
    summary: 'upsert the demo catalog into DATABASE_URL',
    usage: 'stockhold seed\n\nInserts or updates the eight demo products; a second run changes nothing.',
    run: (args) => runScript('./seed.ts', args),
  },
  verify: {
    summary: 'check every counter against the ledger, reservations and orders',
    usage: 'stockhold verify [--json]',
    ownHelp: true,
    run: (args) => runScript('./verify.ts', args),
  },
  'flash-sale': {
    summary: 'rehearse a flash sale against a running deployment',
    usage: 'stockhold flash-sale --url http://127.0.0.1:5000 --sku CAMERA001 --users 5000',
    ownHelp: true,
    run: (args) => runScript('./flash-sale.ts', args),
  },
  backup: {
    summary: 'copy the SQLite database into a file while the server keeps serving',
    usage: 'stockhold backup <file>',
    ownHelp: true,
    async run(args) {
      const { backupCommand } = await import('./backup-command.js');
      process.exitCode = await backupCommand(args).catch(commandFailed('backup'));
    },
  },
  restore: {
    summary: 'put a backup in place of the SQLite database and check the books balance',
    usage: 'stockhold restore <backup-file> [--force]',
    ownHelp: true,
    async run(args) {
      const { restoreCommand } = await import('./restore-command.js');
      process.exitCode = await restoreCommand(args).catch(commandFailed('restore'));
    },
  },
  doctor: {
    summary: 'print the effective configuration and check the store, Redis and the clock',
    usage:
      'stockhold doctor\n\nOne line per check; exits 1 when one fails. Secrets in the printed configuration are masked.',
    async run() {
      const { runDoctor } = await import('./doctor.js');
      process.exitCode = await runDoctor(process.env, (line) => process.stdout.write(`${line}\n`));
    },
  },
};

/** One line on stderr and exit status 2: nothing was done. */
const commandFailed = (name: string) => (err: unknown): number => {
  process.stderr.write(`stockhold ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  return 2;
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ['usage: stockhold <command> [options]', '', 'commands:', ...lines, `  ${'help'.padEnd(width)}  show this help`, '', 'stockhold <command> --help shows a command\'s options.'].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? args[0] : undefined;
    const command = topic === undefined ? undefined : COMMANDS[topic];
    process.stdout.write(`${command ? command.usage : help()}\n`);
    if (name === undefined) process.exitCode = 2;
    return;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`stockhold: unknown command "${name}"\n\n${help()}\n`);
    process.exitCode = 2;
    return;
  }
  if (!command.ownHelp && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${command.usage}\n`);
    return;
  }
  await command.run(args);
}

await main(process.argv.slice(2));
