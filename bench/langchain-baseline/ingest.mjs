/**
 * The LangChain.js ingestion baseline for bench/ingest.ts: the loop its documentation teaches —
 * for each document, load it (PDFLoader / TextLoader), split it (RecursiveCharacterTextSplitter),
 * and `addDocuments` it to a PGVectorStore (which embeds through OpenAIEmbeddings, one request
 * per document of up to 512 chunks, then inserts the rows).
 *
 * Runs in its own process (pdf-parse's pdfjs-dist and SnapAgent's unpdf must not share one) with
 * its own dependencies (this folder's package.json). Plain JavaScript so the product's type check
 * never needs this folder's node_modules.
 *
 *   node bench/langchain-baseline/ingest.mjs '<json job>'   → prints one JSON line of results
 *
 * The job: { files: [{ path, type: 'pdf' | 'text' }], databaseUrl, tableName, baseURL, apiKey,
 * model, dimensions, chunkSize, chunkOverlap, length: 'tokens' | 'characters' }.
 */
import { TextLoader } from '@langchain/classic/document_loaders/fs/text';
import { PDFLoader } from '@langchain/community/document_loaders/fs/pdf';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { OpenAIEmbeddings } from '@langchain/openai';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { countTokens } from 'gpt-tokenizer';

const job = JSON.parse(process.argv[2] ?? '{}');

/** SnapAgent's own count (src/modules/documents/chunk/tokens.ts): o200k BPE, special tokens as text. */
const AS_PLAIN_TEXT = { disallowedSpecial: new Set() };
const tokens = (text) => (text.length === 0 ? 0 : countTokens(text, AS_PLAIN_TEXT));

const embeddings = new OpenAIEmbeddings({
  model: job.model,
  apiKey: job.apiKey,
  configuration: { baseURL: job.baseURL },
});
const store = await PGVectorStore.initialize(embeddings, {
  postgresConnectionOptions: { connectionString: job.databaseUrl },
  tableName: job.tableName,
  dimensions: job.dimensions,
  distanceStrategy: 'cosine',
});
const splitter = new RecursiveCharacterTextSplitter({
  chunkSize: job.chunkSize,
  chunkOverlap: job.chunkOverlap,
  ...(job.length === 'tokens' ? { lengthFunction: tokens } : {}),
});

let chunks = 0;
const started = performance.now();
for (const file of job.files) {
  const loader = file.type === 'pdf' ? new PDFLoader(file.path) : new TextLoader(file.path);
  const docs = await loader.load();
  const split = await splitter.splitDocuments(docs);
  await store.addDocuments(split);
  chunks += split.length;
}
const ms = performance.now() - started;
const stored = await store.pool.query(`SELECT count(*)::int AS n FROM ${job.tableName}`);
await store.end();
process.stdout.write(`${JSON.stringify({ documents: job.files.length, chunks, stored: stored.rows[0].n, ms })}\n`);
