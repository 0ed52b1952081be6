/** Option value parsers shared by the command definitions, with messages that name the flag. */
import { InvalidArgumentError } from 'commander';
import { isPositiveWhole } from '../../config/env-vars.js';

/** A commander arg parser for positive integers with a clear message. */
export function positiveInt(flag: string): (v: string) => number {
  return (v: string) => {
    if (!isPositiveWhole(v)) throw new InvalidArgumentError(`${flag} must be a positive whole number, got '${v}'`);
    return Number(v);
  };
}

/** A commander arg parser for whole numbers from 0. */
export function nonNegativeInt(flag: string): (v: string) => number {
  return (v: string) => {
    if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number from 0, got '${v}'`);
    return Number(v);
  };
}
