import { z } from 'zod';

/**
 * A bot's settings: prompt, model choices, retrieval and chunking. Stored as JSON; every field is
 * optional and falls back to the operator's defaults. Unknown keys are stripped. Providers are
 * chosen by name among those the operator configured — never by URL.
 */
/** Providers are chosen by name among those the operator configured — never by URL. */
export const ProviderNameSchema = z.enum(['anthropic', 'openai', 'bedrock', 'openai-compatible']);
/** `none` makes the bot answer extractively (best passages with citations) even when an LLM is configured. */
const ProviderName = z.enum([...ProviderNameSchema.options, 'none']);
/** A model by its plain id; a URL is refused, so a setting can never point a call elsewhere. */
export const ModelIdSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[\w.:/@-]+$/, 'letters, digits and . : / @ - _ only')
  .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v), 'a model id, not a URL');

export const BotSettingsSchema = z.object({
  prompt: z
    .object({
      system: z.string().max(20_000).optional(),
      /** What the bot answers when retrieval finds nothing relevant. */
      no_answer: z.string().max(2_000).optional(),
    })
    .optional(),
  llm: z
    .object({
      provider: ProviderName.optional(),
      model: ModelIdSchema.optional(),
      temperature: z.number().min(0).max(2).optional(),
      max_tokens: z.number().int().min(1).max(64_000).optional(),
    })
    .optional(),
  embedding: z
    .object({
      provider: z.enum(['bedrock', 'openai', 'local', 'none']).optional(),
      model: ModelIdSchema.optional(),
      dimensions: z.number().int().min(8).max(16_000).optional(),
    })
    .optional(),
  retrieval: z
    .object({
      mode: z.enum(['vector', 'fulltext', 'hybrid']).optional(),
      top_k: z.number().int().min(1).max(100).optional(),
      score_threshold: z.number().min(0).max(1).optional(),
      vector_weight: z.number().min(0).max(1).optional(),
      rerank: z.boolean().optional(),
      filters: z
        .object({
          document_ids: z.array(z.uuid()).max(1000).optional(),
          file_types: z.array(z.string().max(20)).max(20).optional(),
          metadata: z.record(z.string().max(100), z.unknown()).optional(),
        })
        .optional(),
    })
    .optional(),
  chunking: z
    .object({
      chunk_size: z.number().int().min(64).max(4096).optional(),
      chunk_overlap: z.number().int().min(0).max(2048).optional(),
    })
    .refine((c) => c.chunk_overlap === undefined || c.chunk_size === undefined || c.chunk_overlap < c.chunk_size, {
      message: 'chunk_overlap must be smaller than chunk_size',
    })
    .optional(),
  widget: z
    .object({
      allowed_origins: z.array(z.string().max(300)).max(50).optional(),
      title: z.string().max(200).optional(),
      welcome_message: z.string().max(2000).optional(),
    })
    .optional(),
});

export type BotSettings = z.infer<typeof BotSettingsSchema>;

/** Section-wise merge: a PATCH replaces the keys it names and keeps the others. */
export function mergeSettings(current: BotSettings, patch: BotSettings): BotSettings {
  const merged: Record<string, unknown> = { ...current };
  for (const [section, value] of Object.entries(patch)) {
    const before = (current as Record<string, unknown>)[section];
    merged[section] =
      value && typeof value === 'object' && !Array.isArray(value) && before && typeof before === 'object'
        ? { ...(before as object), ...(value as object) }
        : value;
  }
  return merged as BotSettings;
}
