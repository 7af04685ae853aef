import { z } from 'zod';
import { defineNode } from '../node-definition.ts';

/** Builds text from variables: substitution only, no expressions, so the result is predictable. */
export const templateNode = defineNode({
  type: 'template',
  description: 'Text built from variables ({{node.output}} substitution)',
  configSchema: z.object({ template: z.string().max(100_000) }),
  outputs: () => ({ text: 'string' }),
  uses: (c) => [{ field: 'template', kind: 'template', text: c.template }],
  async run(config, ctx) {
    return { outputs: { text: ctx.render(config.template) } };
  },
});
