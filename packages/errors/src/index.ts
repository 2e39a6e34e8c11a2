// @flashgraph/errors: one error base for every flashgraph package, the shared argument checks,
// and the value formatting both use. See README.md; every code is listed in docs/errors.md.

export {
  checkArray,
  checkArrayCopy,
  checkBoolean,
  checkFunction,
  checkInt,
  checkIntArray,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOptions,
  checkString,
  INT32_MAX,
  type IntRange,
  intRangeText,
  type NumberRange,
  optional,
  unreadable,
} from './check.js';
export { type ArgumentErrorCode, DisposedError, InvalidArgumentError } from './common-errors.js';
export { FlashgraphError, type FlashgraphErrorInit, isFlashgraphError } from './flashgraph-error.js';
export { formatBytes, formatValue } from './format.js';
