/** One problem found by `validateWorkflow`, with a stable code an editor can act on. */
export type ProblemCode =
  | 'invalid_document'
  | 'duplicate_node_id'
  | 'unknown_node_type'
  | 'missing_field'
  | 'invalid_config'
  | 'missing_start'
  | 'multiple_starts'
  | 'missing_end'
  | 'dangling_edge'
  | 'duplicate_edge'
  | 'missing_handle'
  | 'invalid_handle'
  | 'unconnected_branch'
  | 'start_has_inputs'
  | 'end_has_outputs'
  | 'cycle'
  | 'unreachable_node'
  | 'no_path_to_end'
  | 'invalid_reference'
  | 'unknown_variable'
  | 'variable_not_upstream'
  | 'type_mismatch'
  | 'nested_too_deep';

export interface WorkflowProblem {
  code: ProblemCode;
  message: string;
  node_id?: string | undefined;
  /** Set for problems inside an iteration's sub-graph: the iteration node's id. */
  parent_node_id?: string | undefined;
  edge_id?: string | undefined;
  /** Where in the document: `data.prompt`, `edges[3].target`… */
  field?: string | undefined;
}
