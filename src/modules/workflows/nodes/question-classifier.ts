import { z } from 'zod';
import { ModelIdSchema, ProviderNameSchema } from '../../bots/settings.ts';
import { callModel } from '../llm-call.ts';
import { defineNode } from '../node-definition.ts';

/**
 * A model reads the input and picks one of N labelled classes; the node branches on the class id.
 * Models do not always answer with just the id, so the answer is read generously (JSON, the id or
 * label in any case, the class number, or the one class named in a sentence) and falls back to the
 * default class — the trace says which rule matched.
 */

const ClassId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w-]+$/, 'letters, digits, _ and - only');

const ClassifierConfig = z
  .object({
    provider: ProviderNameSchema.optional(),
    model: ModelIdSchema.optional(),
    /** The text to classify, usually `{{start.message}}`. */
    query: z.string().min(1).max(20_000),
    classes: z
      .array(z.object({ id: ClassId, label: z.string().min(1).max(200), description: z.string().max(2000).optional() }))
      .min(2)
      .max(20),
    /** Taken when the model's answer names no class; the first class when absent. */
    default_class: ClassId.optional(),
    instructions: z.string().max(10_000).optional(),
    temperature: z.number().min(0).max(2).default(0),
    max_tokens: z.number().int().min(1).max(4000).default(64),
  })
  .superRefine((c, ctx) => {
    const ids = c.classes.map((k) => k.id);
    if (new Set(ids).size !== ids.length)
      ctx.addIssue({ code: 'custom', message: 'class ids must differ', path: ['classes'] });
    if (c.default_class !== undefined && !ids.includes(c.default_class)) {
      ctx.addIssue({ code: 'custom', message: 'default_class must be one of the class ids', path: ['default_class'] });
    }
  });

export interface ClassChoice {
  id: string;
  label: string;
}

export const questionClassifierNode = defineNode({
  type: 'question_classifier',
  description: 'A model picks one of several classes; branches by class id',
  configSchema: ClassifierConfig,
  branches: (c) => c.classes.map((k) => k.id),
  outputs: () => ({ class_id: 'string', class_label: 'string' }),
  uses: (c) => [
    { field: 'query', kind: 'template', text: c.query },
    ...(c.instructions === undefined
      ? []
      : [{ field: 'instructions', kind: 'template' as const, text: c.instructions }]),
  ],
  async run(config, ctx) {
    const query = ctx.render(config.query);
    const instructions = config.instructions === undefined ? '' : ctx.render(config.instructions);
    const list = config.classes
      .map((k, i) => `${i + 1}. ${k.id}: ${k.label}${k.description ? ` — ${k.description}` : ''}`)
      .join('\n');
    const system = [
      'You classify the user input into exactly one of these categories:',
      list,
      instructions,
      `Reply with the category id only (for example: ${config.classes[0]?.id}), nothing else.`,
    ]
      .filter(Boolean)
      .join('\n\n');
    const reply = await callModel(
      ctx,
      { provider: config.provider, model: config.model },
      {
        system,
        messages: [{ role: 'user', content: query }],
        temperature: config.temperature,
        maxTokens: config.max_tokens,
      },
    );
    const parsed = parseClassAnswer(reply.text, config.classes);
    const fallbackId = config.default_class ?? (config.classes[0] as ClassChoice).id;
    const chosen = parsed?.choice ?? (config.classes.find((k) => k.id === fallbackId) as ClassChoice);
    return {
      branch: chosen.id,
      inputs: { query },
      outputs: { class_id: chosen.id, class_label: chosen.label },
      details: { raw_answer: reply.text, matched_by: parsed?.matchedBy ?? 'default' },
    };
  },
});

/** Which class a model's answer names, and how that was decided; undefined when none clearly. */
export function parseClassAnswer(
  raw: string,
  classes: readonly ClassChoice[],
): { choice: ClassChoice; matchedBy: string } | undefined {
  const cleaned = raw
    .replace(/```[a-z]*\n?|```/gi, '')
    .trim()
    .replace(/^["'`*\s]+|["'`*.!\s]+$/g, '');
  const key = (s: string) => s.trim().toLowerCase();

  const json = /\{[\s\S]*\}/.exec(cleaned)?.[0];
  if (json) {
    try {
      const obj = JSON.parse(json) as Record<string, unknown>;
      for (const field of ['class_id', 'id', 'class', 'category', 'label']) {
        const value = obj[field];
        if (typeof value === 'string' || typeof value === 'number') {
          const inner = parseClassAnswer(String(value), classes);
          if (inner) return { choice: inner.choice, matchedBy: `json.${field}` };
        }
      }
    } catch {
      // Not JSON after all; the rules below still apply.
    }
  }

  const byId = classes.find((k) => key(k.id) === key(cleaned));
  if (byId) return { choice: byId, matchedBy: 'id' };
  const byLabel = classes.find((k) => key(k.label) === key(cleaned));
  if (byLabel) return { choice: byLabel, matchedBy: 'label' };
  const number = /^(?:category\s*|class\s*)?#?(\d{1,2})$/i.exec(cleaned);
  if (number) {
    const byIndex = classes[Number(number[1]) - 1];
    if (byIndex) return { choice: byIndex, matchedBy: 'number' };
  }

  // A sentence: accept it only when it names exactly one class (by id or label).
  const lower = cleaned.toLowerCase();
  const named = classes.filter((k) => mentions(lower, key(k.id)) || mentions(lower, key(k.label)));
  if (named.length === 1) return { choice: named[0] as ClassChoice, matchedBy: 'mention' };
  return undefined;
}

function mentions(text: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escaped}($|[^\\p{L}\\p{N}_])`, 'u').test(text);
}
