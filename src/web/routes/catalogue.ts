/** What anyone may read: the module catalogue and the network's activity as this app sees it. */
import type { FastifyInstance } from 'fastify';
import { builtinModules } from '../../modules/registry.js';
import { resolveModule } from '../../modules/resolve.js';
import type { WebContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import type { ModuleView, NetworkView } from '../schemas.js';

const median = (values: bigint[]): bigint | undefined => {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor(sorted.length / 2)];
};

export function registerCatalogueRoutes(app: FastifyInstance, context: WebContext): void {
  const { jobs, network, limiter } = context;

  const moduleView = async (ref: string): Promise<ModuleView> => {
    const { cid, manifest } = await resolveModule(ref);
    return {
      ref,
      cid,
      name: manifest.name,
      version: manifest.version,
      description: manifest.description,
      executor: manifest.executor,
      inputs: manifest.inputs,
      spec: manifest.spec,
      timeoutSeconds: manifest.timeoutSeconds,
      typicalPrice: median(jobs.costs({ module: ref }))?.toString() ?? null,
    };
  };

  app.get('/api/v1/modules', async (request) => {
    limiter.take(`ip:${request.ip}`);
    return Promise.all(builtinModules().map(moduleView));
  });

  app.get('/api/v1/modules/:ref', async (request) => {
    limiter.take(`ip:${request.ip}`);
    const { ref } = request.params as { ref: string };
    if (!builtinModules().includes(ref))
      throw new NotFoundError(`no module ${ref} in the catalogue`, {
        hint: 'list them with GET /api/v1/modules',
      });
    return moduleView(ref);
  });

  app.get('/api/v1/network', async (request): Promise<NetworkView> => {
    limiter.take(`ip:${request.ip}`);
    const now = Date.now();
    const hourAgo = now - 3600_000;
    const recent = jobs.recent(hourAgo);
    const lastHour = Array.from({ length: 60 }, (_, i) => ({
      minute: Math.floor(hourAgo / 60_000) + i + 1,
      jobs: 0,
      paid: 0,
    }));
    for (const job of recent) {
      const bucket = lastHour[Math.min(59, Math.floor((job.createdAt - hourAgo) / 60_000))];
      if (!bucket) continue;
      bucket.jobs++;
      if (job.status === 'paid') bucket.paid++;
    }
    const costs = recent.flatMap((job) => (job.cost === null ? [] : [BigInt(job.cost)]));
    const sorted = [...costs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      chainId: network.chainId,
      solver: network.solver,
      solverUrl: network.solverUrl,
      providersOnline: new Set(recent.flatMap((job) => (job.provider ? [job.provider.toLowerCase()] : [])))
        .size,
      jobsPerMinute: recent.filter((job) => job.createdAt >= now - 600_000).length / 10,
      prices: {
        min: sorted[0]?.toString() ?? null,
        median: median(sorted)?.toString() ?? null,
        max: sorted.at(-1)?.toString() ?? null,
      },
      lastHour: lastHour.map((b) => ({ ...b, minute: b.minute * 60_000 })),
    };
  });
}
