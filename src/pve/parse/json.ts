/** JSON decoding and the lenient scalar schemas that `pvesh --output-format json` needs. */
import { z } from 'zod';
import { jsonScalarsOf } from './json-text.js';

export { entryType, parseJsonText, validate } from './json-text.js';

/** zInt: integers as numbers or numeric strings; zNum: numbers, occasionally numeric strings; zFlag: Perl booleans (json-text.ts). */
export const { zInt, zNum, zFlag } = jsonScalarsOf(z);
