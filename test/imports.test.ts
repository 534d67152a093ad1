/**
 * The layers of functions/src import each other in one direction: no module reaches itself
 * through its imports, type-only and deferred (`import()`) ones included. When two modules need
 * each other's types, the types belong in a third, lower module (pipeline/inputs.ts is one).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { REPO } from './store/server-process.ts';

const SOURCE = join(REPO, 'functions', 'src');

function modules(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative module a file names: static imports and exports, type-only ones, and import(). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles.filter(({ fileName }) => fileName.startsWith('.')).map(({ fileName }) => resolve(dirname(file), fileName));
}

/** The cycles of the graph, each as the path that closes it (Tarjan's strongly connected components). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)!.includes(node)) components.push(component);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components;
}

describe('imports between the modules of functions/src', function () {
  it('form no cycle, type-only and deferred imports included', function () {
    const graph = new Map(modules(SOURCE).map((file) => [file, importsOf(file)]));
    assert.ok(graph.size > 50, `${graph.size} modules read`);
    const cycles = cyclesOf(graph).map((component) => component.map((file) => relative(SOURCE, file)).sort());
    assert.deepEqual(cycles, []);
  });

  it('are read as they are written (the check sees a cycle when there is one)', function () {
    const a = join(SOURCE, 'a.ts');
    const b = join(SOURCE, 'b.ts');
    assert.deepEqual(
      cyclesOf(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ).map((cycle) => cycle.length),
      [2],
    );
    assert.deepEqual(
      importsOf(join(SOURCE, 'pipeline', 'route.ts'))
        .map((file) => relative(SOURCE, file))
        .sort(),
      ['config/index.ts', 'pipeline/inputs.ts'],
    );
  });
});
