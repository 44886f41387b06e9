/*
 * rownd-adonis
 *
 * HTTP plumbing of the emulator: reading bounded JSON bodies, writing
 * responses with CORS, and Rownd's error envelope.
 */

import { STATUS_CODES } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'

/** Largest accepted request body */
const BODY_LIMIT = 64 * 1024

/** Beyond this we stop draining an oversized body and drop the connection */
const DISCARD_LIMIT = 1024 * 1024

/**
 * Error rendered as Rownd's error envelope
 */
export class EmulatorHttpError extends Error {
  status: number
  code: string
  closeConnection: boolean

  constructor(status: number, code: string, message: string, closeConnection = false) {
    super(message)
    this.status = status
    this.code = code
    this.closeConnection = closeConnection
  }
}

/** A 400 with the validation code every route uses */
export function invalid(message: string): EmulatorHttpError {
  return new EmulatorHttpError(400, 'E_VALIDATION', message)
}

/** What a route handler receives */
export interface RouteCall {
  req: IncomingMessage
  res: ServerResponse
  /** Path parameters (`:app`, `:user`...), URL-decoded */
  params: Record<string, string>
  query: URLSearchParams
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Constant-time comparison of a header value with a secret */
export function safeEqual(given: string | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** First value of a request header */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** Every response is readable cross-origin: browsers call the emulator from app pages */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
}

/** Answers a CORS preflight for any route */
export function sendPreflight(req: IncomingMessage, res: ServerResponse) {
  req.resume()
  if (res.writableEnded || res.destroyed) return
  res.writeHead(204, {
    ...CORS_HEADERS,
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers':
      'content-type, authorization, x-rownd-app-key, x-rownd-hub-key, x-rownd-app-secret',
    'access-control-max-age': '600',
  })
  res.end()
}

/** Writes a JSON (or, through `extra`, any) body once; later writes are ignored */
export function sendRaw(
  res: ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {}
) {
  if (res.writableEnded || res.destroyed || res.headersSent) return
  const noBody = status === 204 || status === 304
  res.writeHead(status, {
    ...CORS_HEADERS,
    ...(noBody
      ? {}
      : {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(Buffer.byteLength(body)),
        }),
    ...extra,
  })
  res.end(noBody ? undefined : body)
}

export function send(res: ServerResponse, status: number, body?: unknown) {
  sendRaw(res, status, body === undefined ? '' : JSON.stringify(body))
}

/** Rownd's error envelope: `{ statusCode, error, code, message, messages }` */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  close = false
) {
  const envelope = {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    code,
    message,
    messages: [],
  }
  sendRaw(res, status, JSON.stringify(envelope), close ? { connection: 'close' } : {})
}

/**
 * Reads a JSON body of at most 64 KiB. Larger bodies are drained (up to
 * 1 MiB) and refused with a 413; beyond that the connection is dropped.
 */
export function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(header(req, 'content-length'))
    if (declared > DISCARD_LIMIT) {
      reject(new EmulatorHttpError(413, 'E_PAYLOAD_TOO_LARGE', 'Request body too large', true))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > DISCARD_LIMIT) {
        req.destroy()
        return
      }
      if (size > BODY_LIMIT) {
        tooLarge = true
        chunks.length = 0
        return
      }
      chunks.push(chunk)
    })
    req.on('error', reject)
    req.on('end', () => {
      if (tooLarge) {
        reject(new EmulatorHttpError(413, 'E_PAYLOAD_TOO_LARGE', 'Request body too large'))
        return
      }
      const text = Buffer.concat(chunks).toString('utf8')
      if (text.trim() === '') return resolve(undefined)
      try {
        resolve(JSON.parse(text))
      } catch {
        reject(new EmulatorHttpError(400, 'E_INVALID_JSON', 'Request body is not valid JSON'))
      }
    })
  })
}

/** Reads a JSON object body; `optional` accepts an empty body as `{}` */
export async function readObject(
  req: IncomingMessage,
  optional = false
): Promise<Record<string, unknown>> {
  const body = await readBody(req)
  if (body === undefined && optional) return {}
  if (!isPlainObject(body)) throw invalid('Request body must be a JSON object')
  return body
}
