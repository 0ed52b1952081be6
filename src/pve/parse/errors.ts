/** The one exception the parsers throw: output that cannot be understood at all. */

/** Longest excerpt kept in a ParseError, so a report stays one short line. */
const EXCERPT_MAX = 120;

/** Show control characters, so an excerpt cannot break the terminal or the log line it lands in. */
export function excerptOf(input: unknown, max = EXCERPT_MAX): string {
  const text = typeof input === 'string' ? input : input === undefined ? '' : String(input);
  const visible = text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return visible.length > max ? `${visible.slice(0, max)}…` : visible;
}

/** Unparseable tool output; names the tool and quotes the offending text so the report can point at it. */
export class ParseError extends Error {
  readonly tool: string;
  readonly excerpt: string;

  constructor(tool: string, message: string, input: unknown = '', options?: ErrorOptions) {
    super(`${tool}: ${message}`, options);
    this.name = 'ParseError';
    this.tool = tool;
    this.excerpt = excerptOf(input);
  }
}
