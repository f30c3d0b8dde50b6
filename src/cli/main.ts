/** The `lilypad` command: one subcommand per role. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { LilypadError } from '../protocol/errors.js';
import { registerBridge } from './commands/bridge.js';
import { registerDeploy } from './commands/deploy.js';
import { registerDevnet } from './commands/devnet.js';
import { registerJobs } from './commands/jobs.js';
import { registerMediator } from './commands/mediator.js';
import { registerModule } from './commands/module.js';
import { registerModules } from './commands/modules.js';
import { registerResourceProvider } from './commands/resource-provider.js';
import { registerRun } from './commands/run.js';
import { registerSim } from './commands/sim.js';
import { registerSolver } from './commands/solver.js';
import { registerWeb } from './commands/web.js';
import { environmentHelp } from './environment.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('lilypad')
  .version(version)
  .description(
    'Lilypad: a decentralized compute network. Job creators and resource providers trade directly; ' +
      'a solver matches signed offers, contracts hold collateral and pay out, results are IPFS CIDs.',
  )
  .showHelpAfterError('(add --help for usage)')
  .addHelpText(
    'after',
    `${environmentHelp()}
Start here:
  $ npx lilypad run cowsay:v0.0.1 -i Message="moo"     runs on an embedded local network
  $ npx lilypad devnet                                  keeps a local network up for many runs
`,
  );

registerRun(program);
registerDevnet(program);
registerSolver(program);
registerResourceProvider(program);
registerBridge(program);
registerMediator(program);
registerDeploy(program);
registerJobs(program);
registerSim(program);
registerWeb(program);
registerModules(program);
registerModule(program);

try {
  await program.parseAsync();
} catch (error) {
  process.stderr.write(
    `error: ${error instanceof LilypadError ? error.describe() : ((error as Error).stack ?? String(error))}\n`,
  );
  process.exitCode = 1;
}
