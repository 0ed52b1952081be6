/** JSON Schema (draft 2020-12) documents of the `--json` output, made from the zod schemas with z.toJSONSchema. */
import { z } from 'zod';
import { RESULT_COMMANDS, schemaFileName, type ResultCommand } from './names.js';
import { commandEnvelopeSchema, envelopeSchema } from './results.js';

/** The JSON Schema of one command's `--json` document, or of the envelope of any command. */
export function jsonSchemaOf(name: ResultCommand | undefined): Record<string, unknown> {
  return z.toJSONSchema(name ? commandEnvelopeSchema(name) : envelopeSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
}

/** The text of a schema as shipped: indented JSON and a final newline. */
export function schemaText(name: ResultCommand | undefined): string {
  return `${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`;
}

/** Every schema file of the package: envelope.json and one per command (`cluster-status.json`, …). */
export function schemaFiles(): Array<{ file: string; text: string }> {
  return [
    { file: schemaFileName('envelope'), text: schemaText(undefined) },
    ...RESULT_COMMANDS.map((name) => ({ file: schemaFileName(name), text: schemaText(name) })),
  ];
}
