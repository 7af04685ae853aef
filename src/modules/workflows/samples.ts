import type { WorkflowDocumentInput } from './document.ts';

/**
 * Ready-made workflows: a starting point in an editor and the documentation's examples
 * (docs/workflows/*.json hold the same documents; a test keeps them equal).
 */

/** The original's pipeline, Start → Knowledge → LLM → End, with sources cited. */
export const basicRagWorkflow: WorkflowDocumentInput = {
  version: 1,
  name: 'Knowledge base answer',
  description: "The plain RAG pipeline as a workflow: search the bot's documents, answer with a model, cite sources.",
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: {} },
    {
      id: 'knowledge_1',
      type: 'knowledge',
      position: { x: 280, y: 0 },
      data: { query: '{{start.message}}', top_k: 5, mode: 'hybrid' },
    },
    {
      id: 'llm_1',
      type: 'llm',
      position: { x: 560, y: 0 },
      data: {
        system:
          'You are a helpful assistant. Answer the question using only the context below. If the context does not contain the answer, say that you do not know. Cite passages by their number, like [1].\n\nContext:\n{{knowledge_1.result}}',
        prompt: '{{start.message}}',
        history: '{{start.history}}',
        temperature: 0.7,
        max_tokens: 2000,
      },
    },
    {
      id: 'end',
      type: 'end',
      position: { x: 840, y: 0 },
      data: { answer: '{{llm_1.text}}', sources: '{{knowledge_1.sources}}' },
    },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'knowledge_1' },
    { id: 'e2', source: 'knowledge_1', target: 'llm_1' },
    { id: 'e3', source: 'llm_1', target: 'end' },
  ],
};

/**
 * A classifier routes each question to one of two knowledge bases (documents tagged
 * `category: billing` or `technical`), each with its own prompt and its own end node.
 */
export const classifierRoutingWorkflow: WorkflowDocumentInput = {
  version: 1,
  name: 'Support router',
  description: 'Classifies the question, then answers from billing or technical documents with a matching prompt.',
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 120 }, data: {} },
    {
      id: 'classify',
      type: 'question_classifier',
      position: { x: 280, y: 120 },
      data: {
        query: '{{start.message}}',
        classes: [
          { id: 'billing', label: 'Billing', description: 'invoices, payments, refunds, plans and prices' },
          {
            id: 'technical',
            label: 'Technical',
            description: 'installation, errors, configuration, how the product works',
          },
        ],
        default_class: 'technical',
      },
    },
    {
      id: 'knowledge_billing',
      type: 'knowledge',
      position: { x: 560, y: 0 },
      data: { query: '{{start.message}}', top_k: 4, mode: 'hybrid', filters: { metadata: { category: 'billing' } } },
    },
    {
      id: 'llm_billing',
      type: 'llm',
      position: { x: 840, y: 0 },
      data: {
        system:
          'You are the billing assistant. Be precise about amounts and dates and never promise a refund. Answer only from these passages and cite them like [1]:\n\n{{knowledge_billing.result}}',
        prompt: '{{start.message}}',
        temperature: 0.2,
      },
    },
    {
      id: 'end_billing',
      type: 'end',
      position: { x: 1120, y: 0 },
      data: { answer: '{{llm_billing.text}}', sources: '{{knowledge_billing.sources}}' },
    },
    {
      id: 'knowledge_technical',
      type: 'knowledge',
      position: { x: 560, y: 240 },
      data: { query: '{{start.message}}', top_k: 6, mode: 'hybrid', filters: { metadata: { category: 'technical' } } },
    },
    {
      id: 'llm_technical',
      type: 'llm',
      position: { x: 840, y: 240 },
      data: {
        system:
          'You are the technical support assistant. Give step-by-step instructions when they help. Answer only from these passages and cite them like [1]:\n\n{{knowledge_technical.result}}',
        prompt: '{{start.message}}',
        history: '{{start.history}}',
        temperature: 0.5,
      },
    },
    {
      id: 'end_technical',
      type: 'end',
      position: { x: 1120, y: 240 },
      data: { answer: '{{llm_technical.text}}', sources: '{{knowledge_technical.sources}}' },
    },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'classify' },
    { id: 'e2', source: 'classify', source_handle: 'billing', target: 'knowledge_billing' },
    { id: 'e3', source: 'knowledge_billing', target: 'llm_billing' },
    { id: 'e4', source: 'llm_billing', target: 'end_billing' },
    { id: 'e5', source: 'classify', source_handle: 'technical', target: 'knowledge_technical' },
    { id: 'e6', source: 'knowledge_technical', target: 'llm_technical' },
    { id: 'e7', source: 'llm_technical', target: 'end_technical' },
  ],
};

export const sampleWorkflows = {
  'basic-rag': basicRagWorkflow,
  'classifier-routing': classifierRoutingWorkflow,
} as const;
