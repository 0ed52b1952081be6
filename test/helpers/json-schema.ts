/**
 * Checks a `--json` document against the schema of its command twice: with the zod schema (strict
 * objects: an unknown field fails) and with the JSON Schema pvx ships, through a JSON Schema
 * validator of its own (so the shipped files are proven, not only the zod source).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { isResultCommand, type ResultCommand } from '../../src/schema/names.js';
import { jsonSchemaOf } from '../../src/schema/json-schema.js';
import { commandEnvelopeSchema, envelopeSchema } from '../../src/schema/results.js';

const ajv = new Ajv2020({ strict: true, allErrors: true });
const compiled = new Map<string, ValidateFunction>();

function jsonSchemaValidator(name: ResultCommand | undefined): ValidateFunction {
  const key = name ?? '';
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(jsonSchemaOf(name));
    compiled.set(key, v);
  }
  return v;
}

/** Parse `stdout` (one `--json` document) and throw, naming every problem, unless both schemas accept it; returns the document. */
export function validEnvelope(stdout: string): { command: string; ok: boolean; result?: unknown } & Record<string, unknown> {
  const doc = JSON.parse(stdout) as { command?: unknown } & Record<string, unknown>;
  const name = typeof doc.command === 'string' && isResultCommand(doc.command) ? doc.command : undefined;
  const parsed = (name ? commandEnvelopeSchema(name) : envelopeSchema).safeParse(doc);
  if (!parsed.success) throw new Error(`--json output of '${String(doc.command)}' does not match its zod schema:\n${z.prettifyError(parsed.error)}\n${stdout}`);
  const v = jsonSchemaValidator(name);
  if (!v(doc)) throw new Error(`--json output of '${String(doc.command)}' does not match its JSON Schema:\n${ajv.errorsText(v.errors, { separator: '\n' })}\n${stdout}`);
  return parsed.data as ReturnType<typeof validEnvelope>;
}
