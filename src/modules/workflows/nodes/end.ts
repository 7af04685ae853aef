import { z } from 'zod';
import { defineNode, type NodeDefinition } from '../node-definition.ts';
import { mergeSources, toSources } from '../sources.ts';

const EndConfig = z.object({
  /** The answer text, e.g. `{{llm_1.text}}`; streamed as it is produced. */
  answer: z.string().min(1).max(50_000),
  /** References to lists of sources cited with the answer, e.g. `{{knowledge_1.sources}}`. */
  sources: z
    .union([z.string().max(200), z.array(z.string().max(200)).max(20)])
    .optional()
    .transform((s) => (s === undefined ? [] : Array.isArray(s) ? s : [s])),
});
type EndConfig = z.output<typeof EndConfig>;

const end: NodeDefinition<EndConfig> = {
  type: 'end',
  description: 'Returns the answer, with the sources it cites',
  role: 'end',
  configSchema: EndConfig,
  outputs: () => ({ answer: 'string', sources: 'array[object]' }),
  uses: (c) => [
    { field: 'answer', kind: 'template', text: c.answer },
    ...c.sources.map((text, i) => ({
      field: `sources[${i}]`,
      kind: 'reference' as const,
      text,
      accepts: ['array[object]', 'array[any]'] as const,
    })),
  ],
  answer: (c) => ({ template: c.answer, sources: c.sources }),
  async run(config, ctx) {
    const sources = mergeSources(config.sources.map((s) => toSources(ctx.resolve(s))));
    return { outputs: { answer: ctx.render(config.answer), sources } };
  },
};

/** The terminal node: what the run answers. A workflow may have several (one per branch). */
export const endNode = defineNode(end);

/** `answer` is accepted as another name of `end`, as some editors call it. */
export const answerNode = defineNode({ ...end, type: 'answer' });
