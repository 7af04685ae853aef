import { z } from 'zod';
import type { LlmMessage } from '../../../providers/llm/spec.ts';
import { ModelIdSchema, ProviderNameSchema } from '../../bots/settings.ts';
import { callModel } from '../llm-call.ts';
import { defineNode, WorkflowNodeError } from '../node-definition.ts';
import type { VarType } from '../value-types.ts';

/**
 * A model fills declared parameters from text. The reply must be a JSON object that passes a zod
 * schema built from the declaration; if it does not, the model gets one chance to repair it with
 * the exact problems listed, and the node fails if the repair fails too.
 */

const PARAMETER_TYPES = [
  'string',
  'number',
  'boolean',
  'object',
  'array[string]',
  'array[number]',
  'array[object]',
] as const satisfies readonly VarType[];
type ParameterType = (typeof PARAMETER_TYPES)[number];

const Parameter = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z_]\w*$/, 'a name: letters, digits and _'),
  type: z.enum(PARAMETER_TYPES),
  description: z.string().max(2000).default(''),
  required: z.boolean().default(false),
  /** Allowed values of a string parameter. */
  enum: z.array(z.string().max(200)).min(1).max(100).optional(),
});
type Parameter = z.output<typeof Parameter>;

const ExtractorConfig = z
  .object({
    provider: ProviderNameSchema.optional(),
    model: ModelIdSchema.optional(),
    /** The text to read, e.g. `{{start.message}}`. */
    text: z.string().min(1).max(50_000),
    instructions: z.string().max(10_000).optional(),
    parameters: z.array(Parameter).min(1).max(30),
    temperature: z.number().min(0).max(2).default(0),
    max_tokens: z.number().int().min(1).max(16_000).default(1000),
  })
  .superRefine((c, ctx) => {
    const names = c.parameters.map((p) => p.name);
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', message: 'parameter names must differ', path: ['parameters'] });
    }
    c.parameters.forEach((p, i) => {
      if (p.enum && p.type !== 'string') {
        ctx.addIssue({ code: 'custom', message: 'enum is for string parameters', path: ['parameters', i, 'enum'] });
      }
    });
  });

export const parameterExtractorNode = defineNode({
  type: 'parameter_extractor',
  description: 'A model fills declared, typed parameters from text',
  configSchema: ExtractorConfig,
  outputs: (c) => Object.fromEntries(c.parameters.map((p) => [p.name, p.type])),
  uses: (c) => [
    { field: 'text', kind: 'template', text: c.text },
    ...(c.instructions === undefined
      ? []
      : [{ field: 'instructions', kind: 'template' as const, text: c.instructions }]),
  ],
  async run(config, ctx) {
    const text = ctx.render(config.text);
    const instructions = config.instructions === undefined ? '' : ctx.render(config.instructions);
    const schema = parametersSchema(config.parameters);
    const system = [
      'Extract the parameters described by this JSON Schema from the text the user sends.',
      JSON.stringify(parametersJsonSchema(config.parameters)),
      'Reply with one JSON object and nothing else. Use null for a parameter the text does not give.',
      instructions,
    ]
      .filter(Boolean)
      .join('\n\n');
    const choice = { provider: config.provider, model: config.model };
    const messages: LlmMessage[] = [{ role: 'user', content: text }];
    const request = { system, temperature: config.temperature, maxTokens: config.max_tokens };

    const first = await callModel(ctx, choice, { ...request, messages });
    let attempt = checkReply(first.text, schema);
    let repaired = false;
    if (!attempt.ok) {
      repaired = true;
      const repair: LlmMessage[] = [
        ...messages,
        { role: 'assistant', content: first.text },
        {
          role: 'user',
          content: `That reply cannot be used: ${attempt.problem}. Reply with the corrected JSON object only.`,
        },
      ];
      const second = await callModel(ctx, choice, { ...request, messages: repair });
      attempt = checkReply(second.text, schema);
      if (!attempt.ok) {
        throw new WorkflowNodeError(
          'extraction_failed',
          `The model did not return valid parameters after one repair: ${attempt.problem}`,
        );
      }
    }
    return { inputs: { text }, outputs: attempt.value, details: { repaired } };
  },
});

function parameterSchema(p: Parameter): z.ZodType {
  const numeric = (v: unknown) =>
    typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  const boolish = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);
  switch (p.type) {
    case 'string':
      return p.enum ? z.enum(p.enum as [string, ...string[]]) : z.string();
    case 'number':
      return z.preprocess(numeric, z.number());
    case 'boolean':
      return z.preprocess(boolish, z.boolean());
    case 'object':
      return z.record(z.string(), z.unknown());
    case 'array[string]':
      return z.array(z.string());
    case 'array[number]':
      return z.array(z.preprocess(numeric, z.number()));
    case 'array[object]':
      return z.array(z.record(z.string(), z.unknown()));
  }
}

/** The zod schema a reply must pass; absent optional parameters become null. */
export function parametersSchema(parameters: readonly Parameter[]): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const p of parameters) {
    const base = parameterSchema(p);
    shape[p.name] = p.required
      ? base
      : base
          .nullable()
          .optional()
          .transform((v) => v ?? null);
  }
  return z.object(shape);
}

/** The same declaration as JSON Schema, for the model to read. */
export function parametersJsonSchema(parameters: readonly Parameter[]): Record<string, unknown> {
  const jsonType = (t: ParameterType): Record<string, unknown> =>
    t.startsWith('array[')
      ? { type: 'array', items: jsonType(t.slice(6, -1) as ParameterType) }
      : { type: t === 'object' ? 'object' : t };
  return {
    type: 'object',
    properties: Object.fromEntries(
      parameters.map((p) => [
        p.name,
        {
          ...jsonType(p.type),
          ...(p.description ? { description: p.description } : {}),
          ...(p.enum ? { enum: p.enum } : {}),
        },
      ]),
    ),
    required: parameters.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
  };
}

type Checked = { ok: true; value: Record<string, unknown> } | { ok: false; problem: string };

function checkReply(reply: string, schema: z.ZodType<Record<string, unknown>>): Checked {
  const json = extractJsonObject(reply);
  if (json === undefined) return { ok: false, problem: 'it contains no JSON object' };
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(object)'}: ${i.message}`);
  return { ok: false, problem: problems.join('; ') };
}

/** The first JSON object in a reply, tolerating code fences and text around it. */
export function extractJsonObject(reply: string): unknown {
  const text = reply.replace(/```(?:json)?/gi, '');
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        try {
          return JSON.parse(text.slice(start, i + 1));
        } catch {
          break;
        }
      }
    }
  }
  return undefined;
}
