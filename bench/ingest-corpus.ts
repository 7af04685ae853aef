/**
 * The ingestion benchmark's corpus, generated deterministically (same seed, same bytes): English
 * prose about a few business and technical topics, as multi-page PDFs (pdf-lib, one paragraph
 * list per page) and plain-text files. Written to a folder so both pipelines read the same files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makePdf } from '../test/fixtures/documents.ts';
import { seededRandom } from '../test/fixtures/text.ts';

export interface CorpusFile {
  filename: string;
  path: string;
  type: 'pdf' | 'text';
  bytes: Uint8Array;
  /** Characters of prose the file holds (before PDF layout). */
  characters: number;
}

export interface CorpusOptions {
  /** Number of documents; about two in five are PDFs. */
  documents: number;
  seed?: number;
}

interface Topic {
  name: string;
  subjects: string[];
  verbs: string[];
  objects: string[];
  tails: string[];
}

const TOPICS: Topic[] = [
  {
    name: 'support-handbook',
    subjects: [
      'The support team',
      'Every agent on duty',
      'A customer who writes in',
      'The escalation manager',
      'Our billing desk',
      'The night shift',
    ],
    verbs: ['reviews', 'answers', 'records', 'escalates', 'refunds', 'confirms', 'follows up on'],
    objects: [
      'each open ticket',
      'the disputed invoice',
      'a delayed shipment',
      'the warranty claim',
      'password reset requests',
      'the returned items',
    ],
    tails: [
      'within one business day',
      'before the end of the shift',
      'unless the customer asks otherwise',
      'as the refund policy describes',
      'using the shared checklist',
      'and notes the outcome in the ticket',
    ],
  },
  {
    name: 'engineering-report',
    subjects: [
      'The platform team',
      'Our deployment pipeline',
      'The storage cluster',
      'Each service owner',
      'The on-call engineer',
      'The new indexing job',
    ],
    verbs: ['reduced', 'measured', 'migrated', 'monitored', 'rolled back', 'profiled', 'documented'],
    objects: [
      'the median request latency',
      'the nightly backup window',
      'three legacy databases',
      'the memory usage of the workers',
      'a failing release',
      'the search query planner',
    ],
    tails: [
      'during the second quarter',
      'after the incident review',
      'with no customer impact',
      'ahead of the holiday freeze',
      'by about forty percent',
      'while traffic kept growing',
    ],
  },
  {
    name: 'clinical-summary',
    subjects: [
      'The study group',
      'Patients in the treatment arm',
      'The research nurse',
      'The review committee',
      'Participants over sixty',
      'The principal investigator',
    ],
    verbs: ['reported', 'showed', 'completed', 'compared', 'tolerated', 'recorded', 'analysed'],
    objects: [
      'a significant reduction in symptoms',
      'the twelve week protocol',
      'blood pressure at every visit',
      'the primary outcome measures',
      'the adjusted dose',
      'adverse events in both arms',
    ],
    tails: [
      'relative to the placebo group',
      'according to the trial registry',
      'although the sample was small',
      'and no serious events occurred',
      'at the final follow-up visit',
      'which supports a larger trial',
    ],
  },
  {
    name: 'city-planning',
    subjects: [
      'The city council',
      'The transport department',
      'Local residents',
      'The planning commission',
      'The parks office',
      'Neighbourhood associations',
    ],
    verbs: ['approved', 'debated', 'funded', 'surveyed', 'proposed', 'delayed', 'opposed'],
    objects: [
      'the new cycling lanes',
      'a budget for road repairs',
      'the riverside housing project',
      'extended library hours',
      'the bus network redesign',
      'a tree planting programme',
    ],
    tails: [
      'at the public hearing last month',
      'after a long consultation',
      'despite concerns about parking',
      'to be completed next spring',
      'with support from the regional fund',
      'in response to many complaints',
    ],
  },
];

const CONNECTORS = [
  'However,',
  'In addition,',
  'As a result,',
  'For example,',
  'Meanwhile,',
  'In practice,',
  'By contrast,',
  'Overall,',
];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function sentence(random: () => number, topic: Topic): string {
  const lead = random() < 0.25 ? `${pick(random, CONNECTORS)} ` : '';
  const subject = pick(random, topic.subjects);
  const body = `${subject} ${pick(random, topic.verbs)} ${pick(random, topic.objects)} ${pick(random, topic.tails)}`;
  const text = lead ? `${lead}${subject[0]!.toLowerCase()}${body.slice(1)}` : body;
  return `${text}${random() < 0.08 ? '?' : '.'}`;
}

function paragraph(random: () => number, topic: Topic): string {
  const count = 4 + Math.floor(random() * 5);
  return Array.from({ length: count }, () => sentence(random, topic)).join(' ');
}

/**
 * Writes `options.documents` files into `dir` and returns them in upload order. PDFs have 2–5
 * pages of 4–5 paragraphs; text files 8–18 paragraphs: each makes several 512-token chunks.
 */
export async function generateCorpus(dir: string, options: CorpusOptions): Promise<CorpusFile[]> {
  const random = seededRandom(options.seed ?? 20_251_125);
  await mkdir(dir, { recursive: true });
  const files: CorpusFile[] = [];
  for (let i = 0; i < options.documents; i++) {
    const topic = TOPICS[i % TOPICS.length]!;
    const number = String(i + 1).padStart(3, '0');
    if (i % 5 === 1 || i % 5 === 3) {
      const pages = Array.from({ length: 2 + Math.floor(random() * 4) }, () =>
        Array.from({ length: 4 + Math.floor(random() * 2) }, () => paragraph(random, topic)),
      );
      const bytes = await makePdf(pages, { title: `${topic.name} ${number}` });
      const filename = `${number}-${topic.name}.pdf`;
      files.push({
        filename,
        path: join(dir, filename),
        type: 'pdf',
        bytes,
        characters: pages.flat().join('\n\n').length,
      });
    } else {
      const text = Array.from({ length: 8 + Math.floor(random() * 11) }, () => paragraph(random, topic)).join('\n\n');
      const filename = `${number}-${topic.name}.txt`;
      files.push({
        filename,
        path: join(dir, filename),
        type: 'text',
        bytes: new TextEncoder().encode(`${text}\n`),
        characters: text.length,
      });
    }
  }
  await Promise.all(files.map((f) => writeFile(f.path, f.bytes)));
  return files;
}
