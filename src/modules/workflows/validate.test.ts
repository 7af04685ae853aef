import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateWorkflow } from './validate.ts';
import type { ProblemCode, WorkflowProblem } from './workflow-problem.ts';

const node = (id: string, type: string, data: Record<string, unknown> = {}) => ({ id, type, data });
const edge = (source: string, target: string, source_handle?: string) =>
  source_handle === undefined ? { source, target } : { source, target, source_handle };
const start = node('start', 'start');
const end = (id = 'end', answer = '{{start.message}}') => node(id, 'end', { answer });
const llm = (id: string, prompt = '{{start.message}}') => node(id, 'llm', { prompt });

function problems(doc: unknown): WorkflowProblem[] {
  const result = validateWorkflow(doc);
  assert.equal(result.ok, false, 'expected the document to be rejected');
  return result.errors;
}

function expectProblem(doc: unknown, code: ProblemCode, match: Partial<WorkflowProblem> = {}): WorkflowProblem {
  const list = problems(doc);
  const found = list.find((p) => p.code === code && Object.entries(match).every(([k, v]) => p[k as 'code'] === v));
  assert.ok(found, `expected ${code} ${JSON.stringify(match)} in ${JSON.stringify(list, null, 2)}`);
  return found;
}

describe('validateWorkflow', () => {
  it('accepts a minimal workflow and compiles it', () => {
    const result = validateWorkflow({ nodes: [start, end()], edges: [edge('start', 'end')] });
    assert.equal(result.ok, true);
    assert.deepEqual(result.errors, []);
    assert.equal(result.workflow?.graph.startId, 'start');
    assert.deepEqual(result.workflow?.graph.endIds, ['end']);
  });

  it('accepts React Flow edges (sourceHandle) and editor fields on nodes', () => {
    const doc = {
      nodes: [
        { ...start, position: { x: 0, y: 0 }, width: 150, selected: true },
        node('check', 'condition', { conditions: [{ variable: '{{start.message}}', operator: 'not_empty' }] }),
        end('yes'),
        end('no'),
      ],
      edges: [
        { id: 'a', source: 'start', target: 'check', sourceHandle: null },
        { id: 'b', source: 'check', target: 'yes', sourceHandle: 'true' },
        { id: 'c', source: 'check', target: 'no', sourceHandle: 'false' },
      ],
    };
    const result = validateWorkflow(doc);
    assert.deepEqual(result.errors, []);
    assert.equal(result.workflow?.document.edges[1]?.source_handle, 'true');
    assert.equal((result.workflow?.document.nodes[0] as Record<string, unknown> | undefined)?.width, 150);
  });

  it('reports a malformed document with the field at fault', () => {
    expectProblem({ nodes: 'nope' }, 'invalid_document', { field: 'nodes' });
    expectProblem({ nodes: [{ type: 'start', data: {} }] }, 'invalid_document', { field: 'nodes[0].id' });
    expectProblem({ nodes: [node('a b', 'start')] }, 'invalid_document', { field: 'nodes[0].id' });
  });

  it('reports duplicate ids and unknown node types', () => {
    expectProblem({ nodes: [start, start, end()], edges: [edge('start', 'end')] }, 'duplicate_node_id', {
      node_id: 'start',
      field: 'nodes[1].id',
    });
    const p = expectProblem(
      { nodes: [start, node('x', 'code'), end()], edges: [edge('start', 'x'), edge('x', 'end')] },
      'unknown_node_type',
      { node_id: 'x' },
    );
    assert.match(p.message, /known types: .*llm/);
  });

  it('reports missing required fields and invalid values from the node schema', () => {
    const doc = {
      nodes: [start, node('llm_1', 'llm', { temperature: 5 }), end()],
      edges: [edge('start', 'llm_1'), edge('llm_1', 'end')],
    };
    expectProblem(doc, 'missing_field', { node_id: 'llm_1', field: 'data.prompt' });
    expectProblem(doc, 'invalid_config', { node_id: 'llm_1', field: 'data.temperature' });
    expectProblem(
      {
        nodes: [start, node('k', 'knowledge', { query: 'x', top_k: 0 }), end()],
        edges: [edge('start', 'k'), edge('k', 'end')],
      },
      'invalid_config',
      { field: 'data.top_k' },
    );
  });

  it('requires exactly one start and at least one end', () => {
    expectProblem({ nodes: [end()], edges: [] }, 'missing_start');
    expectProblem({ nodes: [start], edges: [] }, 'missing_end');
    expectProblem(
      { nodes: [start, node('start2', 'start'), end()], edges: [edge('start', 'end'), edge('start2', 'end')] },
      'multiple_starts',
      { node_id: 'start2' },
    );
  });

  it('reports edges to nowhere and duplicate edges', () => {
    const doc = { nodes: [start, end()], edges: [edge('start', 'end'), edge('start', 'ghost'), edge('start', 'end')] };
    const p = expectProblem(doc, 'dangling_edge', { field: 'edges[1]' });
    assert.match(p.message, /ghost/);
    expectProblem(doc, 'duplicate_edge', { field: 'edges[2]' });
  });

  it('checks branch handles: required on branching nodes, known, all connected, absent elsewhere', () => {
    const classifier = node('c', 'question_classifier', {
      query: '{{start.message}}',
      classes: [
        { id: 'a', label: 'A' },
        { id: 'b', label: 'B' },
      ],
    });
    expectProblem(
      { nodes: [start, classifier, end()], edges: [edge('start', 'c'), edge('c', 'end')] },
      'missing_handle',
      { node_id: 'c' },
    );
    expectProblem(
      {
        nodes: [start, classifier, end()],
        edges: [edge('start', 'c'), edge('c', 'end', 'a'), edge('c', 'end', 'zzz')],
      },
      'invalid_handle',
      { node_id: 'c' },
    );
    expectProblem(
      { nodes: [start, classifier, end()], edges: [edge('start', 'c'), edge('c', 'end', 'a')] },
      'unconnected_branch',
      { node_id: 'c' },
    );
    expectProblem({ nodes: [start, end()], edges: [edge('start', 'end', 'true')] }, 'invalid_handle', {
      node_id: 'start',
    });
  });

  it('refuses edges into start and out of an end', () => {
    const doc = {
      nodes: [start, node('t', 'template', { template: 'x' }), end()],
      edges: [edge('start', 't'), edge('t', 'end'), edge('end', 'start')],
    };
    expectProblem(doc, 'start_has_inputs');
    expectProblem(doc, 'end_has_outputs');
  });

  it('reports cycles', () => {
    const t = (id: string) => node(id, 'template', { template: 'x' });
    const p = expectProblem(
      {
        nodes: [start, t('a'), t('b'), end()],
        edges: [edge('start', 'a'), edge('a', 'b'), edge('b', 'a'), edge('b', 'end')],
      },
      'cycle',
      { node_id: 'a' },
    );
    assert.match(p.message, /a → b/);
    expectProblem(
      { nodes: [start, t('a'), end()], edges: [edge('start', 'a'), edge('a', 'a'), edge('a', 'end')] },
      'cycle',
    );
  });

  it('reports unreachable nodes and nodes with no way to an end', () => {
    const doc = {
      nodes: [start, node('lonely', 'template', { template: 'x' }), node('dead', 'template', { template: 'y' }), end()],
      edges: [edge('start', 'end'), edge('start', 'dead'), edge('lonely', 'end')],
    };
    expectProblem(doc, 'unreachable_node', { node_id: 'lonely' });
    expectProblem(doc, 'no_path_to_end', { node_id: 'dead' });
    const p = expectProblem(
      { nodes: [start, node('t', 'template', { template: 'x' }), end()], edges: [edge('start', 't')] },
      'no_path_to_end',
      { node_id: 'start' },
    );
    assert.match(p.message, /no path from start/);
  });

  it('reports malformed references', () => {
    const doc = { nodes: [start, llm('l', 'Answer {{query}}'), end()], edges: [edge('start', 'l'), edge('l', 'end')] };
    expectProblem(doc, 'invalid_reference', { node_id: 'l', field: 'data.prompt' });
    const agg = node('agg', 'variable_aggregator', { variables: ['plain text'] });
    expectProblem(
      { nodes: [start, agg, end()], edges: [edge('start', 'agg'), edge('agg', 'end')] },
      'invalid_reference',
      { field: 'data.variables[0]' },
    );
    // JSON in a prompt is not a reference and is left alone.
    const ok = validateWorkflow({
      nodes: [start, llm('l', 'Reply like {{"a": 1}} to {{start.message}}'), end()],
      edges: [edge('start', 'l'), edge('l', 'end')],
    });
    assert.deepEqual(ok.errors, []);
  });

  it('reports references to variables nobody produces', () => {
    const run = (prompt: string) => ({
      nodes: [start, llm('l', prompt), end()],
      edges: [edge('start', 'l'), edge('l', 'end')],
    });
    expectProblem(run('{{ghost.text}}'), 'unknown_variable', { node_id: 'l', field: 'data.prompt' });
    const p = expectProblem(run('{{start.mesage}}'), 'unknown_variable');
    assert.match(p.message, /has no output "mesage" \(it has: message, history, session_id\)/);
    expectProblem(run('{{sys.user_id}}'), 'unknown_variable');
    expectProblem(run('{{start.message.length}}'), 'unknown_variable');
    assert.deepEqual(validateWorkflow(run('{{sys.session_id}} {{start.history.0.content}}')).errors, []);
  });

  it('reports references to nodes that are not upstream', () => {
    // Two parallel branches: one cannot read the other's output, and a node cannot read itself.
    const doc = {
      nodes: [
        start,
        llm('a'),
        llm('b', '{{a.text}}'),
        llm('c', '{{c.text}}'),
        end('end', '{{a.text}}{{b.text}}{{c.text}}'),
      ],
      edges: [
        edge('start', 'a'),
        edge('start', 'b'),
        edge('start', 'c'),
        edge('a', 'end'),
        edge('b', 'end'),
        edge('c', 'end'),
      ],
    };
    expectProblem(doc, 'variable_not_upstream', { node_id: 'b' });
    expectProblem(doc, 'variable_not_upstream', { node_id: 'c' });
    // The end node after the join may read all three.
    assert.equal(
      problems(doc).some((p) => p.node_id === 'end'),
      false,
    );
  });

  it('reports type mismatches where types are declared', () => {
    const iteration = node('it', 'iteration', {
      items: '{{start.message}}',
      graph: { nodes: [node('s2', 'start'), end('e2', '{{it.item}}')], edges: [edge('s2', 'e2')] },
    });
    expectProblem(
      { nodes: [start, iteration, end()], edges: [edge('start', 'it'), edge('it', 'end')] },
      'type_mismatch',
      { node_id: 'it', field: 'data.items' },
    );
    const cond = node('c', 'condition', { conditions: [{ variable: '{{start.history}}', operator: 'gt', value: 3 }] });
    const p = expectProblem(
      {
        nodes: [start, cond, end('y'), end('n')],
        edges: [edge('start', 'c'), edge('c', 'y', 'true'), edge('c', 'n', 'false')],
      },
      'type_mismatch',
      { node_id: 'c' },
    );
    assert.match(p.message, /array\[object\], but .* needs number or string/);
    expectProblem(
      {
        nodes: [start, node('end', 'end', { answer: 'x', sources: '{{start.message}}' })],
        edges: [edge('start', 'end')],
      },
      'type_mismatch',
      { field: 'data.sources[0]' },
    );
    const agg = node('agg', 'variable_aggregator', { variables: ['{{start.message}}', '{{start.history}}'] });
    expectProblem({ nodes: [start, agg, end()], edges: [edge('start', 'agg'), edge('agg', 'end')] }, 'type_mismatch', {
      node_id: 'agg',
      field: 'data.variables',
    });
  });

  it('checks an iteration sub-graph with the iteration variables in scope', () => {
    const iteration = (inner: Record<string, unknown>[], innerEdges: Record<string, unknown>[]) => ({
      nodes: [
        start,
        node('extract', 'parameter_extractor', {
          text: '{{start.message}}',
          parameters: [{ name: 'topics', type: 'array[string]' }],
        }),
        node('it', 'iteration', { items: '{{extract.topics}}', graph: { nodes: inner, edges: innerEdges } }),
        end('end', '{{it.text}}'),
      ],
      edges: [edge('start', 'extract'), edge('extract', 'it'), edge('it', 'end')],
    });
    const good = iteration(
      [
        node('s2', 'start'),
        llm('l2', 'About {{it.item}} (#{{it.index}}) for {{start.message}}'),
        end('e2', '{{l2.text}}'),
      ],
      [edge('s2', 'l2'), edge('l2', 'e2')],
    );
    assert.deepEqual(validateWorkflow(good).errors, []);

    const bad = iteration(
      [node('s2', 'start'), llm('l2', '{{it.item.0}} {{end.answer}}'), end('e2', '{{l2.text}}')],
      [edge('s2', 'l2')],
    );
    const list = problems(bad);
    assert.ok(
      list.every((p) => p.parent_node_id === 'it'),
      JSON.stringify(list),
    );
    assert.ok(list.some((p) => p.code === 'unknown_variable' && /string has no field "0"/.test(p.message)));
    assert.ok(list.some((p) => p.code === 'variable_not_upstream' && /"end"/.test(p.message)));
    assert.ok(list.some((p) => p.code === 'no_path_to_end'));
  });

  it('limits how deep iterations nest', () => {
    let graph: Record<string, unknown> = { nodes: [node('s4', 'start'), end('e4', 'x')], edges: [edge('s4', 'e4')] };
    for (const depth of [3, 2, 1, 0]) {
      const id = `it${depth}`;
      const s = `s${depth}`;
      const e = `e${depth}`;
      graph = {
        nodes: [node(s, 'start'), node(id, 'iteration', { items: `{{${s}.history}}`, graph }), end(e, 'x')],
        edges: [edge(s, id), edge(id, e)],
      };
    }
    expectProblem(graph, 'nested_too_deep', { node_id: 'it3' });
  });

  it('lists every problem at once', () => {
    const doc = {
      nodes: [start, node('x', 'nope'), llm('l', '{{ghost.text}}'), node('k', 'knowledge', {})],
      edges: [edge('start', 'l'), edge('l', 'missing')],
    };
    const codes = new Set(problems(doc).map((p) => p.code));
    for (const code of ['unknown_node_type', 'missing_end', 'dangling_edge', 'unknown_variable', 'missing_field']) {
      assert.ok(codes.has(code as ProblemCode), `missing ${code} in ${[...codes].join(', ')}`);
    }
  });
});
