// README's <astral-phone> reference checked against the widget source: attributes, properties, methods, events, slots, parts, custom properties.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const UI = `${ROOT}packages/widget/src/ui/`;

function source(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** Every .ts file of the element's UI (its chunks included). */
const uiFiles = (readdirSync(UI, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => source(UI + f));
const phoneFile = source(`${UI}astral-phone.ts`);

/** The rows of README's `<astral-phone>` table, by their first cell. */
function readmeRows(): Map<string, string> {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('### `<astral-phone>`'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| |')));
  const rows = new Map<string, string>();
  for (const line of table.split('\n').slice(3)) {
    const cells = line.split(' | ');
    rows.set(cells[0]!.replace(/^\|\s*/, ''), cells.slice(1).join(' | '));
  }
  return rows;
}

function row(label: string): string {
  const found = [...readmeRows()].find(([name]) => name.startsWith(label));
  assert.ok(found, `README's <astral-phone> table has a "${label}" row`);
  return found[1];
}

const matches = (text: string, pattern: RegExp): string[] => [...text.matchAll(pattern)].map((m) => m[1]!);

function same(documented: Iterable<string>, inCode: Iterable<string>, what: string): void {
  const doc = new Set(documented);
  const code = new Set(inCode);
  assert.ok(code.size > 0, `found ${what} in the code`);
  const undocumented = [...code].filter((n) => !doc.has(n)).sort();
  const stale = [...doc].filter((n) => !code.has(n)).sort();
  assert.deepEqual({ undocumented, stale }, { undocumented: [], stale: [] }, `${what}: README vs code`);
}

function hidden(member: ts.ClassElement): boolean {
  const mods = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
  return mods.some((m) => [ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.StaticKeyword, ts.SyntaxKind.OverrideKeyword].includes(m.kind));
}

const memberName = (m: ts.ClassElement): string => (m.name && ts.isIdentifier(m.name) ? m.name.text : '');

function phoneClass(): ts.ClassDeclaration {
  let found: ts.ClassDeclaration | undefined;
  walk(phoneFile, (n) => {
    if (ts.isClassDeclaration(n) && n.name?.text === 'AstralPhone') found = n;
  });
  assert.ok(found, 'class AstralPhone');
  return found;
}

/** `static properties`: attribute names, and the properties without an attribute (state-only ones are internal). */
function reactiveProperties(): { attributes: string[]; properties: string[] } {
  const decl = phoneClass().members.find((m) => memberName(m) === 'properties' && ts.isPropertyDeclaration(m)) as ts.PropertyDeclaration;
  const attributes: string[] = [];
  const properties: string[] = [];
  for (const prop of (decl.initializer as ts.ObjectLiteralExpression).properties) {
    const name = (prop.name as ts.Identifier).text;
    const options = new Map<string, ts.Expression>();
    for (const o of ((prop as ts.PropertyAssignment).initializer as ts.ObjectLiteralExpression).properties) {
      options.set((o.name as ts.Identifier).text, (o as ts.PropertyAssignment).initializer);
    }
    if (options.get('state')?.kind === ts.SyntaxKind.TrueKeyword) continue;
    const attribute = options.get('attribute');
    if (attribute?.kind === ts.SyntaxKind.FalseKeyword) properties.push(name);
    else attributes.push(attribute && ts.isStringLiteral(attribute) ? attribute.text : name.toLowerCase());
  }
  return { attributes, properties };
}

/** Attributes the element's code reads or writes by name on itself (`state`, reflected) or its ancestors (`lang`). */
function namedAttributes(): string[] {
  const names: string[] = [];
  for (const file of [phoneFile, source(`${UI}i18n/locale-controller.ts`)]) {
    walk(file, (n) => {
      if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && ['getAttribute', 'setAttribute'].includes(n.expression.name.text)) {
        const [arg] = n.arguments;
        if (arg && ts.isStringLiteral(arg)) names.push(arg.text);
      }
    });
  }
  return names;
}

/** The string values of `const name = {...}` (an object literal) in `file`. */
function objectValues(file: ts.SourceFile, name: string): string[] {
  const values: string[] = [];
  walk(file, (n) => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === name && n.initializer && ts.isObjectLiteralExpression(n.initializer)) {
      for (const p of n.initializer.properties) if (ts.isPropertyAssignment(p) && ts.isStringLiteral(p.initializer)) values.push(p.initializer.text);
    }
  });
  return values;
}

/** The literal text of every template in `file`, and for each `part=${param}` the strings its function is called with. */
function templateParts(file: ts.SourceFile): string[] {
  const names: string[] = [];
  const fromText = (text: string) => {
    for (const attr of matches(text, /\b(?:export)?parts?="([^"$]+)"/g)) names.push(...attr.split(/\s+/));
  };
  const dynamic: { fn: string; index: number }[] = [];
  walk(file, (n) => {
    if (ts.isNoSubstitutionTemplateLiteral(n)) fromText(n.text);
    if (!ts.isTemplateExpression(n)) return;
    fromText(n.head.text);
    let before = n.head.text;
    for (const span of n.templateSpans) {
      fromText(span.literal.text);
      if (/\bpart=$/.test(before) && ts.isIdentifier(span.expression)) {
        const param = span.expression.text;
        let fn: ts.Node | undefined = n.parent;
        while (fn && !ts.isFunctionDeclaration(fn)) fn = fn.parent;
        assert.ok(fn?.name, `part=\${${param}} in ${file.fileName} sits in a named function`);
        const index = fn.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === param);
        assert.ok(index >= 0, `part=\${${param}} in ${file.fileName} is a parameter of ${fn.name.text}`);
        dynamic.push({ fn: fn.name.text, index });
      }
      before = span.literal.text;
    }
  });
  for (const { fn, index } of dynamic) {
    walk(file, (n) => {
      if (!ts.isCallExpression(n) || !ts.isIdentifier(n.expression) || n.expression.text !== fn) return;
      const arg = n.arguments[index];
      assert.ok(arg && ts.isStringLiteral(arg), `${fn}() in ${file.fileName} is given its part name as a string`);
      names.push(arg.text);
    });
  }
  return names;
}

/** The text of every template literal of the UI (CSS and HTML). */
function templateTexts(): string[] {
  const texts: string[] = [];
  for (const file of uiFiles) {
    walk(file, (n) => {
      if (ts.isNoSubstitutionTemplateLiteral(n)) texts.push(n.text);
      if (ts.isTemplateExpression(n)) texts.push(n.head.text, ...n.templateSpans.map((s) => s.literal.text));
    });
  }
  return texts;
}

/** The class comment's `@tag` list (`@csspart a, b`), as names matching `pattern`. */
function classDocList(tag: string, pattern: RegExp): string[] {
  const doc = ts.getJSDocTags(phoneClass()).filter((t) => t.tagName.text === tag);
  assert.ok(doc.length, `AstralPhone's comment has @${tag}`);
  return doc.flatMap((t) => matches(ts.getTextOfJSDocComment(t.comment) ?? '', pattern));
}

describe('README <astral-phone> reference matches the code', () => {
  it('attributes: the reactive ones, plus state (reflected) and lang (read from the element or its ancestors)', () => {
    same(matches(row('attributes'), /`([a-z][a-z0-9-]*)(?:="[^"`]*")?`/g), [...reactiveProperties().attributes, ...namedAttributes()], 'attributes');
  });

  it('properties: public getters and attribute-less reactive properties', () => {
    const getters = phoneClass()
      .members.filter((m) => ts.isGetAccessorDeclaration(m) && !hidden(m))
      .map(memberName);
    same(matches(row('properties'), /`([a-zA-Z]+)`:/g), [...getters, ...reactiveProperties().properties], 'properties');
  });

  it('methods: every public method', () => {
    const methods = phoneClass()
      .members.filter((m) => ts.isMethodDeclaration(m) && !hidden(m))
      .map(memberName);
    same(matches(row('methods'), /`([a-zA-Z]+)\(/g), methods, 'methods');
  });

  it('events: every client event the element re-dispatches, cancelable ones named as such', () => {
    const controller = source(`${UI}client-controller.ts`);
    const events = objectValues(controller, 'REDISPATCH');
    same(matches(row('events'), /`(astral-[a-z-]+)`/g), events, 'events');
    same(classDocList('fires', /(astral-[a-z-]+)/g), events, '@fires in the class comment');
    let cancelable: string[] = [];
    walk(controller, (n) => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === 'CANCELABLE' && n.initializer && ts.isNewExpression(n.initializer)) {
        cancelable = (n.initializer.arguments![0] as ts.ArrayLiteralExpression).elements.map((e) => `astral-${(e as ts.StringLiteral).text}`);
      }
    });
    const documented = matches(row('events'), /cancelable: ([^|]*?)(?:\)|$)/g).flatMap((t) => matches(t, /`(astral-[a-z-]+)`/g));
    same(documented, cancelable, 'cancelable events (README: "cancelable: `astral-…`")');
  });

  it('slots: every named <slot> of the templates', () => {
    const slots = templateTexts().flatMap((t) => matches(t, /<slot name="([a-z-]+)"/g));
    same(matches(row('slots'), /`slot="([a-z-]+)"`/g), slots, 'slots');
    same(classDocList('slot', /\b([a-z][a-z-]*) —/g), slots, '@slot in the class comment');
  });

  it('parts: every part="…" (and exported part) of the templates, the lazy device panel included', () => {
    const parts = new Set(uiFiles.flatMap(templateParts));
    same(matches(row('parts'), /`([a-z][a-z0-9-]*)`/g), parts, 'parts');
    same(classDocList('csspart', /([a-z][a-z0-9-]*)/g), parts, '@csspart in the class comment');
  });

  it('custom properties: every --astral-* the styles read', () => {
    const props = templateTexts().flatMap((t) => matches(t, /var\(\s*(--astral-[a-z0-9-]+)/g));
    same(matches(row('custom properties'), /`(--astral-[a-z0-9-]+)`/g), props, 'custom properties');
    same(classDocList('cssprop', /(--astral-[a-z0-9-]+)/g), props, '@cssprop in the class comment');
  });
});
