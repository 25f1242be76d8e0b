// Wire-level pieces of the Bedrock Runtime protocol: event-stream frames and
// restJson error responses, shaped like the ones real Bedrock sends.
import { EventStreamCodec } from '@smithy/eventstream-codec'
import type { MessageHeaders } from '@smithy/eventstream-codec'
import { fromUtf8, toUtf8 } from '@smithy/util-utf8'

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream'

const codec = new EventStreamCodec(toUtf8, fromUtf8)

function jsonFrame(headers: MessageHeaders, payload: unknown): Uint8Array {
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) })
}

export type StreamEventType = 'messageStart' | 'contentBlockDelta' | 'contentBlockStop' | 'messageStop' | 'metadata'

/** One `:message-type event` frame, e.g. encodeEvent("messageStart", { role: "assistant" }). */
export function encodeEvent(eventType: StreamEventType, payload: unknown): Uint8Array {
  return jsonFrame(
    {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    payload,
  )
}

/** Exception types that ConverseStream may deliver inside the stream (lower camel case on the wire). */
export type StreamExceptionType =
  | 'internalServerException'
  | 'modelStreamErrorException'
  | 'validationException'
  | 'throttlingException'
  | 'serviceUnavailableException'

/** One `:message-type exception` frame: the SDK throws it from the for-await loop. */
export function encodeException(exceptionType: StreamExceptionType, payload: { message: string } & Record<string, unknown>): Uint8Array {
  return jsonFrame(
    {
      ':exception-type': { type: 'string', value: exceptionType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    payload,
  )
}

/**
 * What [[malformed]] sends: a contentBlockDelta frame with one bit of its prelude checksum
 * flipped. Its length is right, so a decoder that trusts it reads the whole frame before the
 * checksum fails it, with the response still open on its connection.
 */
export function malformedFrame(): Uint8Array {
  const frame = encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'never shown ' } })
  frame[11]! ^= 0x01
  return frame
}

/** The total length the [[hugeframe]] prelude claims: 4 GiB less 16 bytes, near the format's 32-bit maximum. */
export const HUGE_FRAME_BYTES = 0xffff_fff0

/**
 * What [[hugeframe]] sends: the 12-byte prelude of one message claiming HUGE_FRAME_BYTES, with a
 * correct checksum, so a decoder that trusts it waits for (and buffers) 4 GiB.
 */
export function hugeFramePrelude(): Uint8Array {
  const prelude = new Uint8Array(12)
  const view = new DataView(prelude.buffer)
  view.setUint32(0, HUGE_FRAME_BYTES, false)
  view.setUint32(4, 64, false)
  view.setUint32(8, crc32(prelude.subarray(0, 8)), false)
  return prelude
}

/** CRC-32 (IEEE), as event-stream preludes and messages use it. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffff_ffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb8_8320 : crc >>> 1
  }
  return (crc ^ 0xffff_ffff) >>> 0
}

/** Decode a whole event-stream body into frames (used by tests and debugging). */
export function decodeFrames(bytes: Uint8Array): { headers: Record<string, unknown>; body: unknown }[] {
  const out: { headers: Record<string, unknown>; body: unknown }[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = 0
  while (offset + 4 <= bytes.byteLength) {
    const length = view.getUint32(offset, false) // each frame starts with its total length
    const message = codec.decode(bytes.subarray(offset, offset + length))
    offset += length
    const headers: Record<string, unknown> = {}
    for (const [name, header] of Object.entries(message.headers)) headers[name] = header.value
    out.push({ headers, body: JSON.parse(toUtf8(message.body)) })
  }
  return out
}

/** An error answered before any stream starts: HTTP status + x-amzn-errortype + {"message"}. */
export interface ErrorReply {
  status: number
  type: string
  message: string
}

export const errors = {
  throttling: (): ErrorReply => ({
    status: 429,
    type: 'ThrottlingException',
    message: 'Too many requests, please wait before trying again.',
  }),
  serviceUnavailable: (): ErrorReply => ({
    status: 503,
    type: 'ServiceUnavailableException',
    message: 'Bedrock is unable to process your request.',
  }),
  internal: (): ErrorReply => ({
    status: 500,
    type: 'InternalServerException',
    message: 'The system encountered an unexpected error during processing. Try your request again.',
  }),
  validation: (message: string): ErrorReply => ({ status: 400, type: 'ValidationException', message }),
  accessDenied: (): ErrorReply => ({
    status: 403,
    type: 'AccessDeniedException',
    message: "You don't have access to the model with the specified model ID.",
  }),
  /** A control-plane list the caller's IAM policy does not allow (Bedrock's own wording). */
  listDenied: (operation: string, account = '123456789012'): ErrorReply => ({
    status: 403,
    type: 'AccessDeniedException',
    message: `User: arn:aws:iam::${account}:user/emulator is not authorized to perform: bedrock:${operation} because no identity-based policy allows the bedrock:${operation} action`,
  }),
  unrecognizedClient: (): ErrorReply => ({
    status: 403,
    type: 'UnrecognizedClientException',
    message: 'The security token included in the request is invalid.',
  }),
  /** What Bedrock answers a bearer token it does not accept, expired or wrong alike. */
  invalidApiKey: (): ErrorReply => ({
    status: 403,
    type: 'AccessDeniedException',
    message: 'Authentication failed: Please make sure your API Key is valid.',
  }),
  /** A bearer token that is not a Bedrock API key at all. */
  malformedApiKey: (): ErrorReply => ({
    status: 403,
    type: 'UnrecognizedClientException',
    message: 'Invalid API Key format: Must start with pre-defined prefix',
  }),
  expiredApiKey: (): ErrorReply => ({
    status: 403,
    type: 'ExpiredTokenException',
    message: 'Bearer Token has expired',
  }),
  missingAuthentication: (): ErrorReply => ({
    status: 403,
    type: 'MissingAuthenticationTokenException',
    message: 'Missing Authentication Token',
  }),
  notFound: (): ErrorReply => ({
    status: 404,
    type: 'ResourceNotFoundException',
    message: 'Could not resolve the foundation model from the provided model identifier.',
  }),
  modelTimeout: (): ErrorReply => ({
    status: 408,
    type: 'ModelTimeoutException',
    message: 'Model has timed out in processing the request. Try your request again.',
  }),
  modelError: (): ErrorReply => ({
    status: 424,
    type: 'ModelErrorException',
    message: 'The model encountered an error while processing the request.',
  }),
  unknownOperation: (): ErrorReply => ({
    status: 404,
    type: 'UnknownOperationException',
    message: 'Unknown operation.',
  }),
  profileRequired: (modelId: string): ErrorReply => ({
    status: 400,
    type: 'ValidationException',
    message:
      `Invocation of model ID ${modelId} with on-demand throughput isn\u2019t supported. ` +
      'Retry your request with the ID or ARN of an inference profile that contains this model.',
  }),
}

export function errorBody(error: ErrorReply): string {
  return JSON.stringify({ message: error.message })
}
