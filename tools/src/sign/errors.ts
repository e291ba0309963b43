import { WasmOciError } from "../util/errors.ts";

/**
 * Codes for malformed modules, signature data and key files. Every parser in this folder throws
 * only these (never a RangeError from an out-of-bounds read), so callers and property tests can
 * rely on "typed error or result".
 */
export type SignErrorCode =
  | "WASM_BAD_PREAMBLE"
  | "WASM_TRUNCATED"
  | "WASM_VARINT_OVERLONG"
  | "WASM_SECTION_PAST_END"
  | "WASM_BAD_SECTION_NAME"
  | "SIG_MALFORMED"
  | "SIG_UNSUPPORTED"
  | "SIG_LIMIT"
  | "SIG_NOT_FIRST"
  | "SIG_NONE"
  | "SIG_ALREADY_ATTACHED"
  | "SIG_DUPLICATE"
  | "KEY_MALFORMED"
  | "KEY_UNSUPPORTED"
  | "KEY_ENCRYPTED"
  | "KEY_MISMATCH";

export class SignFormatError extends WasmOciError {
  constructor(code: SignErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? {} : { details });
    this.name = "SignFormatError";
  }
}
