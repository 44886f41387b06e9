/*
 * rownd-adonis
 *
 * Serves the stand-in Hub where Rownd serves its own: `/static/scripts/rph.mjs`
 * (loaded as a module) and `/static/scripts/rph.js` (the nomodule fallback).
 * One file serves both; it guards itself against running twice on a page.
 */

import { readFile } from 'node:fs/promises'
import { EmulatorHttpError, CORS_HEADERS, type RouteCall } from './http.ts'
import type { EmulatorContext } from './context.ts'

/**
 * Next to this module in the sources (src/testing/hub/rph.js) and in the
 * build (build/src/testing/hub/rph.js, copied by scripts/copy_assets.js)
 */
export const STAND_IN_HUB_FILE = new URL('../hub/rph.js', import.meta.url)

let cached: Promise<Buffer> | undefined

function loadHub(): Promise<Buffer> {
  cached ??= readFile(STAND_IN_HUB_FILE).catch((error: unknown) => {
    cached = undefined
    throw error
  })
  return cached
}

export async function hubScriptRoute(_ctx: EmulatorContext, { req, res }: RouteCall) {
  req.resume()
  let body: Buffer
  try {
    body = await loadHub()
  } catch {
    throw new EmulatorHttpError(
      500,
      'E_HUB_MISSING',
      'The stand-in Hub script is missing from the package (src/testing/hub/rph.js)'
    )
  }
  if (res.writableEnded || res.destroyed || res.headersSent) return
  res.writeHead(200, {
    // Module scripts from another origin need CORS; the content type must be JavaScript
    ...CORS_HEADERS,
    'content-type': 'text/javascript; charset=utf-8',
    'content-length': String(body.length),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}
