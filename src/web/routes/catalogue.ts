/** What anyone may read: the module catalogue, with each module's typical price in this app. */
import type { FastifyInstance } from 'fastify';
import { builtinModules } from '../../modules/registry.js';
import { resolveModule } from '../../modules/resolve.js';
import type { WebContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { median } from '../median.js';
import type { ModuleView } from '../schemas.js';

export function registerCatalogueRoutes(app: FastifyInstance, context: WebContext): void {
  const { jobs, limiter } = context;

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
}
