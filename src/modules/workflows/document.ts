import { z } from 'zod';

/**
 * The stored workflow document: nodes with a `type` and a `data` object (the node's configuration,
 * checked by that type's own schema in `validate.ts`), and edges that connect them. The shape is the
 * one a React Flow editor renders (`id`, `type`, `position`, `data`; edges with `source`, `target`,
 * `source_handle` — `sourceHandle` is accepted too). Fields the engine does not know (editor state
 * such as `width` or `selected`) are kept on nodes so a round trip through the editor loses nothing.
 */

export const MAX_NODES = 200;
export const MAX_EDGES = 1000;

/** Ids appear inside references (`{{id.output}}`), so they are plain names. */
export const NodeIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_][\w-]*$/, 'letters, digits, _ and - only (it is used in {{id.output}} references)')
  .refine((id) => id !== 'sys', '"sys" is reserved for run-wide variables');

const HandleSchema = z.string().min(1).max(64);

export const WorkflowNodeSchema = z.looseObject({
  id: NodeIdSchema,
  type: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()).default({}),
  position: z.object({ x: z.number(), y: z.number() }).optional(),
});

export const WorkflowEdgeSchema = z
  .object({
    id: z.string().min(1).max(128).optional(),
    source: z.string().min(1).max(64),
    target: z.string().min(1).max(64),
    source_handle: HandleSchema.nullish(),
    sourceHandle: HandleSchema.nullish(),
  })
  .transform(({ sourceHandle, source_handle, ...edge }) => ({
    ...edge,
    source_handle: source_handle ?? sourceHandle ?? undefined,
  }));

export const WorkflowDocumentSchema = z.object({
  /** Format version, so a future change of shape can be migrated. */
  version: z.literal(1).default(1),
  name: z.string().max(200).optional(),
  description: z.string().max(2000).optional(),
  nodes: z.array(WorkflowNodeSchema).min(1).max(MAX_NODES),
  edges: z.array(WorkflowEdgeSchema).max(MAX_EDGES).default([]),
});

export type WorkflowDocumentInput = z.input<typeof WorkflowDocumentSchema>;
export type WorkflowDocument = z.output<typeof WorkflowDocumentSchema>;
export type WorkflowNode = z.output<typeof WorkflowNodeSchema>;
export type WorkflowEdge = z.output<typeof WorkflowEdgeSchema>;

/** A sub-graph (the body of an `iteration` node): the same shape without document metadata. */
export const SubgraphSchema = z.object({
  nodes: z.array(WorkflowNodeSchema).min(1).max(MAX_NODES),
  edges: z.array(WorkflowEdgeSchema).max(MAX_EDGES).default([]),
});
export type Subgraph = z.output<typeof SubgraphSchema>;
