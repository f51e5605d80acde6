import type { Command } from 'commander';
import { SluiceError } from '../../domain/errors.js';
import {
  describePipeline,
  type PipelineDescription,
  type JoinDescription,
  type StageDescription,
  type WindowDescription,
} from '../../node/describe.js';
import { resolveNamespace } from '../../node/options.js';
import { documented } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';
import { collect, keyValues } from '../parse.js';
import { loadPipelines } from './worker.js';

/** `sluice describe <module> [pipeline]`: the stages, hops, state topics and sinks that will run. */
export function registerDescribe(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('describe <module> [pipeline]')
    .description(
      "print a module's pipelines (or one) as they will run: stages in order with kind, name and state topic, the hops they are cut into (where records are repartitioned), branches and sinks; connects to nothing",
    )
    .option(
      '--arg <k=v>',
      'an argument for the pipeline factory, as submit takes it (repeatable); one not given shows as <k>',
      collect,
      [],
    );
  documented(
    cmd,
    '{ "pipelines": [{ "pipeline": string, "source": { "topics": string[], "format": string, "bounded": boolean }, "hops": [{ "index": number, "group": string, "reads": string[], "stages": Stage[], "writes": string[] }], "sinks": [{ "topic": string, "format": string }] }] }\nStage: { "name", "kind", "stateful": boolean, "stateTopic": string | null, "keyedBy": "groupingKey" | "recordKey" | null, "branches": [{ "name", "predicate": boolean, "stages": Stage[], "sink": { "topic", "format" } }] | null }\nTopic and group names hold <jobId> where the job id goes.',
    [
      ['sluice describe ./pipelines.js', 'every pipeline the module exports'],
      [
        'sluice describe ./pipelines.js order-totals --arg input=orders --arg output=totals',
        'one pipeline, its factory given the arguments a job would give it',
      ],
    ],
  ).action(async (module: string, name: string | undefined, o: DescribeFlags) => {
    const namespace = resolveNamespace(globals().namespace);
    const args = placeholders(keyValues(o.arg));
    const loaded = await loadPipelines([module]);
    const chosen = name === undefined ? loaded : loaded.filter((p) => p.name === name);
    if (chosen.length === 0)
      throw new SluiceError(
        'SLUICE_USAGE',
        `${module} exports no pipeline "${name ?? ''}"; it exports ${loaded.map((p) => p.name).join(', ') || 'none'}.`,
        { details: { module, pipeline: name ?? null } },
      );
    const pipelines = chosen.map((p) => describePipeline(p.name, p.factory(args), namespace));
    emit(o, { pipelines }, () => pipelines.map(render).join('\n\n'));
  });
}

interface DescribeFlags {
  json?: boolean;
  arg: string[];
}

/** The factory's arguments: those given, and `<name>` for any other it reads. */
function placeholders(given: Record<string, string>): Record<string, string> {
  return new Proxy(given, {
    get: (target, key) =>
      typeof key !== 'string' ? undefined : key in target ? target[key] : `<${key}>`,
  });
}

/** The human rendering: hops in order, each stage on a line, branches indented under theirs. */
export function render(d: PipelineDescription): string {
  const lines = [
    `${d.pipeline}`,
    `  source: ${d.source.topics.join(', ')} (${d.source.format}${d.source.bounded ? ', bounded' : ''})`,
  ];
  for (const hop of d.hops) {
    const how = hop.index === 0 || hop.otherSideOf ? 'reads' : 'repartitioned through';
    const side = hop.otherSideOf ? ` (the other side of stream join ${hop.otherSideOf})` : '';
    lines.push(`  hop ${hop.index + 1}: group ${hop.group}, ${how} ${hop.reads.join(', ')}${side}`);
    for (const s of hop.stages) lines.push(...stageLines(s, '    '));
    lines.push(`    → writes ${hop.writes.join(', ')}`);
  }
  lines.push(`  sinks: ${d.sinks.map((s) => `${s.topic} (${s.format})`).join(', ')}`);
  return lines.join('\n');
}

/** One line saying what a window stage's windows are, where its time comes from, what is late. */
function windowLine(w: WindowDescription): string {
  const shape =
    w.kind === 'tumbling'
      ? `tumbling ${w.sizeMs} ms`
      : w.kind === 'hopping'
        ? `hopping ${w.sizeMs} ms every ${w.advanceMs} ms`
        : `session, gap ${w.gapMs} ms`;
  const time = w.eventTime === 'function' ? 'the timestamp function' : "the records' timestamps";
  const late = w.lateTopic ? `late values → ${w.lateTopic}` : 'late values dropped, counted';
  const emits = w.emit === 'close' ? 'emits when a window closes' : 'emits every update';
  return `window: ${shape}, grace ${w.graceMs} ms, out of order ${w.outOfOrderMs} ms, event time from ${time}; ${emits}; ${late}`;
}

function stageLines(s: StageDescription, indent: string): string[] {
  const keyed = s.keyedBy === 'recordKey' ? "the record's key" : 'groupingKey';
  const state = s.join
    ? `  ${joinLine(s.join)}, state ${s.stateTopic ?? ''}`
    : s.stateTopic
      ? `  stateful, keyed by ${keyed}, state ${s.stateTopic}`
      : '';
  const lines = [`${indent}${s.kind.padEnd(12)} ${s.name}${state}`];
  if (s.window) lines.push(`${indent}  ${windowLine(s.window)}`);
  for (const b of s.branches ?? []) {
    const when = b.predicate ? '' : ' (default: what no predicate matched)';
    lines.push(`${indent}  branch ${b.name}${when} → ${b.sink.topic} (${b.sink.format})`);
    for (const inner of b.stages) lines.push(...stageLines(inner, `${indent}    `));
  }
  if (s.kind === 'branch' && !s.branches?.some((b) => !b.predicate))
    lines.push(`${indent}  (items no predicate matched are dropped, counted as unrouted)`);
  return lines;
}

function joinLine(j: JoinDescription): string {
  if (j.table)
    return `${j.type} join with table ${j.table.topic} (${j.table.format}, read whole by each task)`;
  const other = j.other ? `${j.other.topics.join(', ')} (${j.other.format})` : '?';
  const late = j.lateTopic ? `late records → ${j.lateTopic}` : 'late records dropped, counted';
  return `${j.type} join with stream ${other} within ±${j.windowMs ?? 0} ms, grace ${j.graceMs ?? 0} ms, ${late}`;
}
