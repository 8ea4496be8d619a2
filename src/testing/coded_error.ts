/**
 * The base of the embedded cluster's internal errors that a handler turns
 * into a Kafka error code in its response (a refused batch, a refused topic).
 *
 * @module
 */

/** An error carrying the Kafka error code a handler answers with. */
export class CodedError extends Error {
  /** Kafka error code to answer with. */
  readonly errorCode: number;

  /** Builds the error. */
  constructor(message: string, errorCode: number) {
    super(message);
    this.errorCode = errorCode;
  }
}
