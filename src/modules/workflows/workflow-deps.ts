import type { LlmModel } from '../../providers/llm/spec.ts';

/**
 * What the engine needs from the rest of the product, passed in by the caller: retrieval on a bot,
 * a way to pick a chat model, and the network. Nothing here imports another module, so the engine
 * runs the same behind the chat route, the test-run route, or a unit test with fakes.
 */

export type RetrievalMode = 'vector' | 'fulltext' | 'hybrid';

/** Same shape as a bot's retrieval filters in its settings. */
export interface RetrievalFilters {
  document_ids?: string[] | undefined;
  file_types?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface RetrievedChunk {
  chunkId: string | number;
  documentId: string;
  filename: string;
  content: string;
  score: number;
  page?: number | undefined;
  section?: string | undefined;
}

export interface RetrieveOptions {
  topK: number;
  mode: RetrievalMode;
  filters?: RetrievalFilters | undefined;
  signal?: AbortSignal | undefined;
}

export interface LlmChoice {
  provider?: string | undefined;
  model?: string | undefined;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (like `dns.lookup(host, { all: true })`). */
export type DnsLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface WorkflowLimits {
  /** Wall-clock budget of one run, sub-graphs included. */
  maxRunMs: number;
  /** Node executions one run may start, iterations' inner nodes included. */
  maxSteps: number;
  /** Nodes of one graph running at the same time. */
  maxParallelNodes: number;
  /** Upper bound of an iteration node's `max_items`. */
  maxIterationItems: number;
  /** Upper bound of an iteration node's `concurrency`. */
  maxIterationConcurrency: number;
  /** Upper bound (and default) of an http_request node's timeout. */
  httpTimeoutMs: number;
  /** Upper bound (and default) of an http_request node's response size, after decompression. */
  httpMaxResponseBytes: number;
  httpMaxRedirects: number;
  /** Let http_request reach private, loopback and link-local addresses (self-hosted intranets). */
  allowPrivateNetwork: boolean;
  /** Finer than the switch above: CIDRs (e.g. `10.20.0.0/16`) that are reachable although private. */
  allowedPrivateNetworks: string[];
  /** Longer strings are cut in traces (inputs and outputs), so a stored trace stays small. */
  traceMaxStringChars: number;
}

export const DEFAULT_WORKFLOW_LIMITS: Readonly<WorkflowLimits> = {
  maxRunMs: 120_000,
  maxSteps: 200,
  maxParallelNodes: 8,
  maxIterationItems: 100,
  maxIterationConcurrency: 8,
  httpTimeoutMs: 15_000,
  httpMaxResponseBytes: 1024 * 1024,
  httpMaxRedirects: 5,
  allowPrivateNetwork: false,
  allowedPrivateNetworks: [],
  traceMaxStringChars: 4000,
};

export interface WorkflowDeps {
  retrieve(botId: string, query: string, options: RetrieveOptions): Promise<RetrievedChunk[]>;
  llm: { resolve(choice?: LlmChoice): LlmModel | undefined };
  /**
   * Replaces the built-in HTTP client of http_request (e.g. to go through an egress proxy). The
   * URL of every hop is still checked, but only the built-in client also pins the connection to
   * the address that was checked; prefer leaving this unset.
   */
  fetch?: typeof fetch | undefined;
  dnsLookup?: DnsLookup | undefined;
  /** Milliseconds since the epoch; used for trace timestamps and `sys.now`. */
  clock?: { now(): number } | undefined;
  limits?: Partial<WorkflowLimits> | undefined;
}

/** Deps with every optional part filled in, as nodes see them. */
export interface ResolvedWorkflowDeps extends WorkflowDeps {
  clock: { now(): number };
  limits: WorkflowLimits;
}

export function resolveWorkflowDeps(deps: WorkflowDeps): ResolvedWorkflowDeps {
  return {
    ...deps,
    clock: deps.clock ?? { now: () => Date.now() },
    limits: { ...DEFAULT_WORKFLOW_LIMITS, ...definedOnly(deps.limits ?? {}) },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
