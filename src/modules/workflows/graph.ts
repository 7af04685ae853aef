/**
 * Structural facts about a node graph that both the validator and the executor rely on: edges by
 * node, a deterministic topological order, cycles, reachability, and which nodes make an end node
 * certain to run (for streaming). Edges whose endpoints do not exist are ignored here (the
 * validator reports them).
 */

export interface GraphNodeInfo {
  id: string;
  /** Branch handles of a branching node; undefined when the node continues on every edge. */
  branches: readonly string[] | undefined;
  role?: 'start' | 'end' | undefined;
}

export interface GraphEdge {
  id?: string | undefined;
  source: string;
  target: string;
  source_handle?: string | undefined;
}

export interface GraphAnalysis {
  inbound: ReadonlyMap<string, readonly GraphEdge[]>;
  outbound: ReadonlyMap<string, readonly GraphEdge[]>;
  /** Topological order, ties broken by document order; nodes on cycles come last. */
  order: readonly string[];
  /** Strongly connected components with a cycle (including self-loops), in document order. */
  cycles: readonly string[][];
  /** Nodes reachable from a start node. */
  reachable: ReadonlySet<string>;
  /** Nodes from which some end node can be reached. */
  reachesEnd: ReadonlySet<string>;
  /** Nodes with a path to `id` (not `id` itself unless on a cycle). */
  ancestors(id: string): ReadonlySet<string>;
  /**
   * Nodes N such that once N starts, `endId` will run unless the run fails: N reaches `endId` by a
   * path on which N and every node in between continue on all edges (no branching node). Under
   * the join rule (a node runs when all its inbound edges settled and at least one is active) the
   * end node's inbound edge from that path is then active.
   */
  certifiers(endId: string): ReadonlySet<string>;
}

export function analyzeGraph(nodes: readonly GraphNodeInfo[], edges: readonly GraphEdge[]): GraphAnalysis {
  const byId = new Map(nodes.map((n, i) => [n.id, { ...n, index: i }]));
  const inbound = new Map<string, GraphEdge[]>(nodes.map((n) => [n.id, []]));
  const outbound = new Map<string, GraphEdge[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) {
    if (!byId.has(e.source) || !byId.has(e.target)) continue;
    outbound.get(e.source)?.push(e);
    inbound.get(e.target)?.push(e);
  }
  const succ = (id: string) => (outbound.get(id) ?? []).map((e) => e.target);
  const pred = (id: string) => (inbound.get(id) ?? []).map((e) => e.source);

  const reachable = closure(
    nodes.filter((n) => n.role === 'start').map((n) => n.id),
    succ,
  );
  const reachesEnd = closure(
    nodes.filter((n) => n.role === 'end').map((n) => n.id),
    pred,
  );

  const cycles = stronglyConnected(nodes, succ).filter(
    (scc) => scc.length > 1 || succ(scc[0] as string).includes(scc[0] as string),
  );

  // Kahn's algorithm, always taking the earliest node in document order that is free.
  const indegree = new Map(nodes.map((n) => [n.id, pred(n.id).length]));
  const order: string[] = [];
  const done = new Set<string>();
  for (;;) {
    const next = nodes.find((n) => !done.has(n.id) && indegree.get(n.id) === 0);
    if (!next) break;
    done.add(next.id);
    order.push(next.id);
    for (const t of succ(next.id)) indegree.set(t, (indegree.get(t) ?? 0) - 1);
  }
  for (const n of nodes) if (!done.has(n.id)) order.push(n.id);

  const ancestorMemo = new Map<string, ReadonlySet<string>>();
  const certifierMemo = new Map<string, ReadonlySet<string>>();
  const continuesOnAllEdges = (id: string) => byId.get(id)?.branches === undefined;

  return {
    inbound,
    outbound,
    order,
    cycles,
    reachable,
    reachesEnd,
    ancestors(id) {
      let set = ancestorMemo.get(id);
      if (!set) {
        set = closure(pred(id), pred);
        ancestorMemo.set(id, set);
      }
      return set;
    },
    certifiers(endId) {
      let set = certifierMemo.get(endId);
      if (!set) {
        set = closure(pred(endId).filter(continuesOnAllEdges), (id) => pred(id).filter(continuesOnAllEdges));
        certifierMemo.set(endId, set);
      }
      return set;
    },
  };
}

/** Every node reachable from `seeds` (seeds included) following `next`. */
function closure(seeds: readonly string[], next: (id: string) => string[]): Set<string> {
  const seen = new Set<string>(seeds);
  const stack = [...seeds];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    for (const n of next(id)) {
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(n);
    }
  }
  return seen;
}

/** Tarjan's algorithm; components listed by their first node in document order. */
function stronglyConnected(nodes: readonly GraphNodeInfo[], succ: (id: string) => string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;

  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of succ(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      out.push(component);
    }
  };
  for (const n of nodes) if (!index.has(n.id)) visit(n.id);

  const position = new Map(nodes.map((n, i) => [n.id, i]));
  for (const c of out) c.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
  return out.sort((a, b) => (position.get(a[0] as string) ?? 0) - (position.get(b[0] as string) ?? 0));
}
